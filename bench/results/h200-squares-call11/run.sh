#!/usr/bin/env bash
# call 11: squares 1024 and 2048 on vec4 64x128 unsplit and in 2 and 4 parts (the chooser split 1024^3 in call 10)
source .gpu/prelude.sh
cd .gpu
timeout 100 node matmul-ladder.mjs --versions v4 --configs 64x128/k16/db --splits 2,4 --sizes 1024,2048 --mlp 0 --fused 0 --min-ms 20 --windows 3 --budget-s 80 2>&1 | grep -v Warning > $OUT/ladder.txt
rm -f $OUT/*.json
tail -n 25 $OUT/ladder.txt
