#!/bin/bash
# all.sh NAME RELEASE_DIR: one `recert-bench all` of that build (its own binaries), ticks at
# 10^4 and 10^5 only (a full run with 10^6 does not fit one quiet window of 8 minutes).
out=/work/w-core/bench/results/2026-12-02b-core
name=$1; dir=$2
scratch=$(mktemp -d /work/tt-core/scratch.XXXX)
uptime > $out/all-$name.txt
$dir/recert-bench all --scratch $scratch --json $out/all-$name.json --sizes 10000,100000 >> $out/all-$name.txt 2>&1
echo "rc=$?" >> $out/all-$name.txt
uptime >> $out/all-$name.txt
rm -rf $scratch
