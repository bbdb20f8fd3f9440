#!/usr/bin/env bash
# call 13: the host cost of one asynchronous read-back and its parts
source .gpu/prelude.sh
cd .gpu
for i in 1 2; do timeout 40 node read-cost.mjs --n 100 2>&1 | grep -v Warning > $OUT/read-cost-$i.txt; done
cat $OUT/read-cost-*.txt
