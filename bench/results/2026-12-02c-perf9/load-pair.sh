#!/bin/bash
# load-pair.sh OUT ROUNDS NAME=DIR[=VAR] ...: for each round, for each build (DIR: a release
# dir with recertd and recert-bench; VAR: an environment variable set to 1 for its daemon),
# a fresh daemon on a fresh data dir and
# `recert-bench load --mix log=1,compliance=1 --mode alone` against it (its own generator).
# Run inside /tmp/quiet.sh. EXTRA: more load flags (default: 6s, 2s warm-up, 3 rounds).
out=$1; rounds=$2; shift 2
mkdir -p "$out"
extra=${EXTRA:---duration 6s --warmup 2s --rounds 3}
for r in $(seq 1 "$rounds"); do
  for build in "$@"; do
    name=${build%%=*}; rest=${build#*=}; dir=${rest%%=*}; var=""
    [ "$rest" != "$dir" ] && var=${rest#*=}
    data=$(mktemp -d /work/tt-perf9/scratch.XXXX)
    if [ -n "$var" ]; then
      env "$var=1" "$dir/recertd" --listen 127.0.0.1:0 --data-dir "$data/d" > "$out/$name-$r.daemon.log" 2>&1 &
    else
      "$dir/recertd" --listen 127.0.0.1:0 --data-dir "$data/d" > "$out/$name-$r.daemon.log" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 1 200); do grep -q "listening on" "$out/$name-$r.daemon.log" && break; sleep 0.05; done
    addr=$(grep -o "listening on [^ ]*" "$out/$name-$r.daemon.log" | head -1 | awk '{print $3}')
    tok=""; [ -f "$data/d/admin.token" ] && tok=$(cat "$data/d/admin.token")
    uptime > "$out/$name-$r.load.txt"
    RECERT_TOKEN=$tok "$dir/recert-bench" load --url "http://$addr" --daemon-pid $pid \
      --mix log=1,compliance=1 --mode alone $extra >> "$out/$name-$r.load.txt" 2>&1
    echo "$name $r rc=$?" >> "$out/log"
    kill $pid; timeout 20 tail --pid=$pid -f /dev/null || kill -9 $pid
    rm -rf "$data"
  done
done
