#!/bin/bash
# ListDeadlines alone on PostgreSQL and sled, before (the perf sitting's build: main at
# 3e0c... with the answer cache, /work/tt-perf/bin-exp) and after (the dues rows from the dues
# index, /work/tt-dues/release), fresh database / data dir per run, interleaved.
out=/work/w-dues/bench/results/2026-12-02e-deadlines
EXTRA="--duration 5s --warmup 1s --rounds 1"
PG_URL=$PG_URL MIX=deadlines=1 EXTRA="$EXTRA" $out/load-pair.sh $out/pg 2 before=/work/tt-perf/bin-exp after=/work/tt-dues/release
MIX=deadlines=1 EXTRA="$EXTRA" $out/load-pair.sh $out/sled 1 before=/work/tt-perf/bin-exp after=/work/tt-dues/release
