#!/bin/bash
# Window 1: log+compliance alone, interleaved twice: 77f62e6 (before) and main at 20d42c7
# (after), each with its own generator.
out=/work/w-perf9/bench/results/2026-12-02c-perf9
B=/work/tt-perf9-before/release; A=/work/tt-perf9/after-bin
EXTRA="--duration 5s --warmup 1s --rounds 2" $out/load-pair.sh $out/load 2 before=$B after=$A
