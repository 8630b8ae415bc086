#!/bin/bash
# Window 1: log+compliance alone, before/after interleaved twice; the in-process auth
# figure; a flat profile of the after daemon under log load; the cold team board.
out=/work/w-core/bench/results/2026-12-02b-core
B=/work/tt-before/release; A=/work/tt-core/release
cd "$out"
$out/load-pair.sh $out/load 2 before=$B after=$A
uptime > $out/auth.txt
$A/recert-bench auth --scratch /work/tt-core --json $out/auth.json >> $out/auth.txt 2>&1
# profile: after daemon, log class alone
data=$(mktemp -d /work/tt-core/scratch.XXXX)
$A/recertd --listen 127.0.0.1:0 --data-dir $data/d > $out/profile.daemon.log 2>&1 &
pid=$!
for _ in $(seq 1 200); do grep -q "listening on" $out/profile.daemon.log && break; sleep 0.05; done
addr=$(grep -o "listening on [^ ]*" $out/profile.daemon.log | head -1 | awk '{print $3}')
(sleep 4; perf record -F 999 -p $pid -o /work/tt-core/perf.data -- sleep 6 > /dev/null 2>&1) &
RECERT_TOKEN=$(cat $data/d/admin.token) $A/recert-bench load --url http://$addr --daemon-pid $pid \
  --mix log=1 --mode alone --duration 8s --warmup 2s --rounds 2 > $out/profile.load.txt 2>&1
wait %2 2>/dev/null; sleep 1
kill $pid; wait $pid; rm -rf $data
perf report -i /work/tt-core/perf.data --no-children --sort symbol --stdio 2>/dev/null | grep -v "^#" | grep "%" | head -60 > $out/profile.log-course.txt
uptime > $out/team-status.txt
$A/recert-bench team-status --members 1000 --courses 5 --runs 20 --scratch /work/tt-core --json $out/team-status.json >> $out/team-status.txt 2>&1
