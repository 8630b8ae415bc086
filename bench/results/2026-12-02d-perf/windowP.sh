#!/bin/bash
# Window P (issue 10 point 6, PostgreSQL): the branch's build (bin-exp, no experiment
# variable) on a scripts/pg-cluster cluster (PG_URL), fresh database per run: the four
# classes alone; the tick at 10^4 and 10^5 credentials on PostgreSQL and on sled; then
# (window P2) the import of 10^6 courses (20,000 holders x 50, one call).
out=/work/w-perf/bench/results/2026-12-02d-perf
A=/work/tt-perf/bin-exp
mkdir -p $out/P
case ${1:-load} in
load)
  PG_URL=$PG_URL MIX=log=1,compliance=1,list=1,deadlines=1 EXTRA="--duration 5s --warmup 1s --rounds 2" \
    $out/load-pair.sh $out/P 1 pg=$A ;;
tick)
  for eng in pg sled; do
    s=$(mktemp -d /work/tt-perf/scratch.XXXX); args=(); [ $eng = pg ] && args=(--database-url "$PG_URL")
    { date -u +%T; uptime; } > $out/P/$eng.tick.txt
    $A/recert-bench tick --sizes 10000,100000 --due 100 --ticks 5 --scratch $s "${args[@]}" --json $out/P/$eng.tick.json >> $out/P/$eng.tick.txt 2>&1
    echo "$eng tick rc=$?" >> $out/P/log; rm -rf $s
  done ;;
import)
  s=$(mktemp -d /work/tt-perf/scratch.XXXX)
  { date -u +%T; uptime; } > $out/P/pg-20000.import.txt
  $A/recert-bench seed --data-dir $s/i --holders 20000 --courses-per-holder 50 --import-holders 20000 --database-url "$PG_URL" --json $out/P/pg-20000.import.json >> $out/P/pg-20000.import.txt 2>&1
  echo "pg import rc=$?" >> $out/P/log; rm -rf $s ;;
esac
