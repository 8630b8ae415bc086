#!/bin/bash
# usage: pause.sh STOP|CONT
sig=$1
for p in $(ls /proc | grep -E '^[0-9]+$'); do
  [ "$p" = "$$" ] && continue
  cwd=$(readlink /proc/$p/cwd 2>/dev/null) || continue
  cmd=$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null)
  if [[ "$cwd" == /work/w-* || "$cwd" == /work/t-* || "$cmd" == */work/t-* || "$cmd" == */work/w-* || "$cmd" == *postgres* ]]; then
    kill -$sig $p 2>/dev/null
  fi
done
