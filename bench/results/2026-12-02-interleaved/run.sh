#!/bin/bash
# Interleaved before/after: log+compliance load (alone) and the 10^6 tick; helpers paused.
out=/tmp/abpair; mkdir -p $out; : > $out/log
touch /tmp/pausing; (while [ -f /tmp/pausing ]; do /tmp/pause.sh STOP; sleep 1; done) &
for r in 1 2; do
 for b in before after; do
  dir=/work/before-target/release; [ $b = after ] && dir=/work/main-rel/release
  rm -rf /work/scratch/*; mkdir -p /work/scratch/d
  $dir/recertd --listen 127.0.0.1:50999 --data-dir /work/scratch/d > $out/$b-$r.daemon.log 2>&1 &
  pid=$!; sleep 2
  $dir/recert-bench load --url http://127.0.0.1:50999 --daemon-pid $pid --mix log=1,compliance=1 --mode alone --duration 12s --rounds 4 > $out/$b-$r.load.txt 2>&1
  echo "$b $r load rc=$?" >> $out/log
  kill $pid; wait $pid
  rm -rf /work/scratch/*
  $dir/recert-bench tick --sizes 1000000 --scratch /work/scratch > $out/$b-$r.tick.txt 2>&1
  echo "$b $r tick rc=$?" >> $out/log
 done
done
rm -f /tmp/pausing; sleep 2; /tmp/pause.sh CONT
