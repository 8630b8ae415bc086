#!/bin/bash
# summary.sh DIR: one line per run and class: ratio to health, its rounds, p50, daemon CPU
# per request (and per health request of the same phase).
for f in "$1"/*.load.txt; do
  n=$(basename "$f" .load.txt)
  awk -v n="$n" '$1=="alone"{cls=$2; x=$5; r=$6; p=$7; d=$(NF-1); getline; hd=$(NF-1); printf "%-28s %-11s x%s (%s) p50 %s d us/rq %s (health %s)\n", n, cls, x, r, p, d, hd}' "$f"
done
