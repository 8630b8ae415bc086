#!/bin/bash
# Issue 10's PostgreSQL figures again, before and after batching the read paths, sled and
# PostgreSQL back to back in one sitting, each step inside /tmp/quiet.sh (the other sessions'
# processes paused for at most 8 minutes). PostgreSQL is a throwaway cluster of
# scripts/pg-cluster (same machine, default configuration, fsync on); PG_BASE is its URL.
# B is the directory of the release binaries, TAG names the output files (before, after).
#   load: recertd on a fresh data dir / a fresh database, recert-bench load, 4 classes alone
#   tick: recert-bench tick --sizes 10000,100000 (sled stores / fresh databases)
set -u
B=${B:?B=directory of recertd, recert-bench}
TAG=${TAG:?TAG=before or after}
OUT=$(cd "$(dirname "$0")" && pwd)
S=/tmp/h-pg-bench; mkdir -p $S
fresh_db() { psql "$PG_BASE" -qAt -c "SET client_min_messages=warning" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null; echo "${PG_BASE%/*}/$1"; }
load() { # engine
  rm -rf $S/d; mkdir -p $S/d
  args=(); [ $1 = pg ] && args=(--database-url "$(fresh_db bench_load_$TAG)")
  $B/recertd --listen 127.0.0.1:50987 --data-dir $S/d "${args[@]}" > $OUT/$TAG-$1.daemon.log 2>&1 &
  pid=$!
  for _ in $(seq 150); do [ -s $S/d/admin.token ] && break; sleep 0.2; done; sleep 1
  uptime > $OUT/$TAG-$1.load.txt
  RECERT_TOKEN=$(cat $S/d/admin.token) $B/recert-bench load --url http://127.0.0.1:50987 --daemon-pid $pid \
    --mix log=1,compliance=1,list=1,deadlines=1 --mode alone --duration 6s --warmup 2s --rounds 3 \
    --json $OUT/$TAG-$1.load.json >> $OUT/$TAG-$1.load.txt 2>&1
  echo "$TAG $1 load rc=$?" >> $OUT/log
  kill $pid; wait $pid
}
tick() { # engine
  rm -rf $S/t; mkdir -p $S/t
  args=(); [ $1 = pg ] && args=(--database-url "$PG_BASE")
  uptime > $OUT/$TAG-$1.tick.txt
  $B/recert-bench tick --sizes 10000,100000 --due 100 --ticks 5 --scratch $S/t "${args[@]}" --json $OUT/$TAG-$1.tick.json >> $OUT/$TAG-$1.tick.txt 2>&1
  echo "$TAG $1 tick rc=$?" >> $OUT/log
}
for step in ${STEPS:-load tick}; do
  case $step in
    load) load sled; load pg ;;
    load-pg) load pg ;;
    tick) tick sled; tick pg ;;
    tick-pg) tick pg ;;
  esac
done
rm -rf $S
