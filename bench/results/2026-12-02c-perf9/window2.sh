#!/bin/bash
# Window 2: the experiment binary (no-reasons-experiment.patch on 20d42c7): as built (logs
# the first ListCompliance answer's encoded size) and with RECERT_PERF9_NO_REASONS=1 (the
# answer without `counted` and `not_counted`), interleaved with the after build.
out=/work/w-perf9/bench/results/2026-12-02c-perf9
A=/work/tt-perf9/after-bin; X=/work/tt-perf9/exp-bin
EXTRA="--duration 5s --warmup 1s --rounds 2" $out/load-pair.sh $out/load2 1 after=$A size=$X noreasons=$X=RECERT_PERF9_NO_REASONS
