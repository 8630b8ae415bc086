#!/bin/bash
# Window A (sled, compliance alone): the steps of issue 9's compliance regression, interleaved
# twice. head = main at d2a4455 (the branch's base); exp = the branch with env-gated
# experiment hooks (exp-hooks.patch) and h2 0.4.20 whose unvectored cut-off is read from
# RECERT_PERF_H2_CHAIN (default 1024, h2's constant). Every run uses head's generator.
out=/work/w-perf/bench/results/2026-12-02d-perf
H=/work/tt-perf/bin-head; X=/work/tt-perf/bin-exp
GEN=$H MIX=compliance=1 EXTRA="--duration 5s --warmup 1s --rounds 2" $out/load-pair.sh $out/A 2 \
  head=$H \
  oldwire=$X=RECERT_PERF_EXP=nocache,oldwire \
  oldwire-h2-4096=$X="RECERT_PERF_EXP=nocache,oldwire RECERT_PERF_H2_CHAIN=4096" \
  onewire=$X=RECERT_PERF_EXP=nocache \
  cached=$X
