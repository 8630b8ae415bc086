#!/bin/bash
# Window L (sled, log-course alone): what the audit entry, its holder index and the holder's
# version stamp cost a course, as upper bounds of folding them (each left out by an
# experiment hook of the exp build), interleaved twice with head and exp as built.
out=/work/w-perf/bench/results/2026-12-02d-perf
H=/work/tt-perf/bin-head; X=/work/tt-perf/bin-exp
GEN=$H MIX=log=1 EXTRA="--duration 5s --warmup 1s --rounds 2" $out/load-pair.sh $out/L 2 \
  head=$H exp=$X no-history-index=$X=RECERT_PERF_EXP=nohistidx \
  no-history=$X=RECERT_PERF_EXP=nohist no-version-stamp=$X=RECERT_PERF_EXP=noversion
