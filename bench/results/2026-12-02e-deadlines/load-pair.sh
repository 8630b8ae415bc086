#!/bin/bash
# load-pair.sh OUT ROUNDS NAME=DIR[=ENV] ...: for each round, for each build (DIR: a release
# dir with recertd and recert-bench; ENV: VAR=VALUE set for its daemon), a fresh daemon on a
# fresh data dir (or, with PG_URL set, a fresh database of that cluster) and
# `recert-bench load --mix $MIX --mode alone` against it. The generator is $GEN/recert-bench
# when GEN is set, else the build's own. Run inside /tmp/quiet.sh.
# EXTRA: more load flags (default: 5s, 1s warm-up, 2 rounds).
out=$1; rounds=$2; shift 2
mkdir -p "$out"
extra=${EXTRA:---duration 5s --warmup 1s --rounds 2}
mix=${MIX:-log=1,compliance=1}
for r in $(seq 1 "$rounds"); do
  for build in "$@"; do
    name=${build%%=*}; rest=${build#*=}; dir=${rest%%=*}; envset=""
    [ "$rest" != "$dir" ] && envset=${rest#*=}
    data=$(mktemp -d /work/tt-perf/scratch.XXXX)
    args=()
    if [ -n "${PG_URL:-}" ]; then
      db=bench_${name//-/_}_$r
      psql "$PG_URL" -qAt -c "SET client_min_messages=warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
      args=(--database-url "${PG_URL%/*}/$db")
    fi
    env $envset "$dir/recertd" --listen 127.0.0.1:0 --data-dir "$data/d" "${args[@]}" > "$out/$name-$r.daemon.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 300); do grep -q "listening on" "$out/$name-$r.daemon.log" && break; sleep 0.05; done; sleep 0.3
    addr=$(grep -o "listening on [^ ]*" "$out/$name-$r.daemon.log" | head -1 | awk '{print $3}')
    tok=""; [ -f "$data/d/admin.token" ] && tok=$(cat "$data/d/admin.token")
    { date -u +%T; uptime; echo "build=$dir env=$envset ${args[*]}"; } > "$out/$name-$r.load.txt"
    RECERT_TOKEN=$tok "${GEN:-$dir}/recert-bench" load --url "http://$addr" --daemon-pid $pid \
      --mix "$mix" --mode alone $extra --json "$out/$name-$r.load.json" >> "$out/$name-$r.load.txt" 2>&1
    echo "$name $r rc=$?" >> "$out/log"
    kill $pid; timeout 20 tail --pid=$pid -f /dev/null || kill -9 $pid
    rm -rf "$data"
  done
done
