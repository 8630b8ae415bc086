#!/bin/bash
# Window F (issue 9's "Done when", sled): before = 77f62e6, after = the branch (the exp build
# with no experiment variable set), interleaved twice, each with its own generator; then the
# tick of each at 10^4 and 10^5 credentials.
out=/work/w-perf/bench/results/2026-12-02d-perf
B=/work/tt-perf-before/release; A=/work/tt-perf/bin-exp
EXTRA="--duration 5s --warmup 1s --rounds 2" $out/load-pair.sh $out/F 2 before=$B after=$A
for b in before=$B after=$A; do
  name=${b%%=*}; dir=${b#*=}; s=$(mktemp -d /work/tt-perf/scratch.XXXX)
  { date -u +%T; uptime; } > $out/F/$name.tick.txt
  $dir/recert-bench tick --sizes 10000,100000 --due 100 --ticks 5 --scratch $s --json $out/F/$name.tick.json >> $out/F/$name.tick.txt 2>&1
  echo "$name tick rc=$?" >> $out/F/log
  rm -rf $s
done
