#!/bin/bash
# sled and PostgreSQL side by side, each pair run back to back in one sitting, on the shared
# 2-core machine with the other sessions' builds running (nothing paused): the uptime line
# before each run says the load. PostgreSQL is the throwaway cluster of scripts/pg-cluster
# (same machine, default config, fsync on); PG_BASE is its URL.
#   load:   recertd on a fresh data dir / a fresh database, recert-bench load, 4 classes alone
#   tick:   recert-bench tick --sizes 10000,100000 (sled stores / fresh databases)
#   import: recert-bench seed --import-holders: 20,000 holders x 50 courses (10^6 courses)
set -u
B=${B:-/work/t-ops/release}
OUT=$(cd "$(dirname "$0")" && pwd)
S=/tmp/h-ops-bench; mkdir -p $S
: > $OUT/log
fresh_db() { psql "$PG_BASE" -qAt -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null; echo "${PG_BASE%/*}/$1"; }
load() { # engine round
  rm -rf $S/d; mkdir -p $S/d
  args=(); [ $1 = pg ] && args=(--database-url "$(fresh_db bench_load_$2)")
  $B/recertd --listen 127.0.0.1:50997 --data-dir $S/d "${args[@]}" > $OUT/$1-$2.daemon.log 2>&1 &
  pid=$!; sleep 2
  uptime > $OUT/$1-$2.load.txt
  RECERT_TOKEN=$(cat $S/d/admin.token) $B/recert-bench load --url http://127.0.0.1:50997 --daemon-pid $pid \
    --mix log=1,compliance=1,list=1,deadlines=1 --mode alone --duration 6s --warmup 2s --rounds 3 \
    --json $OUT/$1-$2.load.json >> $OUT/$1-$2.load.txt 2>&1
  echo "$1 $2 load rc=$?" >> $OUT/log
  kill $pid; wait $pid
}
tick() {
  rm -rf $S/t; mkdir -p $S/t
  args=(); [ $1 = pg ] && args=(--database-url "$PG_BASE")
  uptime > $OUT/$1.tick.txt
  $B/recert-bench tick --sizes 10000,100000 --due 100 --ticks 5 --scratch $S/t "${args[@]}" --json $OUT/$1.tick.json >> $OUT/$1.tick.txt 2>&1
  echo "$1 tick rc=$?" >> $OUT/log
}
import() { # engine holders-per-call
  rm -rf $S/i; mkdir -p $S/i
  args=(); [ $1 = pg ] && args=(--database-url "$PG_BASE")
  uptime > $OUT/$1-$2.import.txt
  $B/recert-bench seed --data-dir $S/i --holders 20000 --courses-per-holder 50 --import-holders $2 "${args[@]}" --json $OUT/$1-$2.import.json >> $OUT/$1-$2.import.txt 2>&1
  echo "$1 $2 import rc=$?" >> $OUT/log
}
perf_auth() { # where a compliance request's daemon CPU goes: the auth path's share
  rm -rf $S/d; mkdir -p $S/d
  $B/recertd --listen 127.0.0.1:50997 --data-dir $S/d > $OUT/perf.daemon.log 2>&1 &
  pid=$!; sleep 2
  uptime > $OUT/perf.load.txt
  RECERT_TOKEN=$(cat $S/d/admin.token) $B/recert-bench load --url http://127.0.0.1:50997 --daemon-pid $pid \
    --mix compliance=1 --mode alone --duration 20s --warmup 2s --rounds 2 >> $OUT/perf.load.txt 2>&1 &
  lp=$!; sleep 6
  perf record -e cpu-clock -F 1999 -p $pid -o $S/perf.data -- sleep 14 2> $OUT/perf.record.txt
  wait $lp
  perf report -i $S/perf.data --no-children --sort symbol --stdio 2>/dev/null | head -150 > $OUT/perf.report.txt
  echo "perf rc=$?" >> $OUT/log
  kill $pid; wait $pid
}
for step in ${STEPS:-load tick import}; do
  case $step in
    load) load sled 1; load pg 1 ;;
    load2) load sled 2; load pg 2 ;;
    tick) tick sled; tick pg ;;
    import) import sled 200; import pg 20000 ;;
    perf) perf_auth ;;
  esac
done
rm -rf $S
