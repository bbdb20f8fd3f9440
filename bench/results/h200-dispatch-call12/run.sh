#!/usr/bin/env bash
# call 12: dispatch overhead without the CPU profiler, three runs
source .gpu/prelude.sh
cd .gpu
for i in 1 2 3; do timeout 40 node dispatch-overhead.mjs 2>&1 | grep -v Warning > $OUT/dispatch-$i.txt; done
rm -f $OUT/*.json
grep -h "overhead" $OUT/dispatch-*.txt
