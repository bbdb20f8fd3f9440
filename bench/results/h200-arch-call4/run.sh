#!/usr/bin/env bash
# Fourth call, after the GEMM generator's scalar tile was made to emit the pre-refactor v3 text:
# the ladder (v3, v4 on the MLP shapes and 1024^3) of the pre-architecture and final builds,
# interleaved twice; then four interleaved rounds of the step benchmark (pre10, final, final
# with fit's finiteness flag).
source .gpu/prelude.sh
G=$PWD/.gpu
mkdir -p $OUT/r && cd $OUT/r
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > gpu.txt
for i in 1 2; do for b in pre10 final2; do mkdir -p ladder-$b-$i; OUT=$OUT/r/ladder-$b-$i timeout 80 node $G/ladder-$b.mjs --versions v3,v4 --sizes 1024 --budget-s 60 2>&1 | grep -v Warning > ladder-$b-$i.txt; done; done
for i in 1 2 3 4; do
  for b in pre10 final2; do timeout 60 node $G/step-$b.mjs --steps 300 --json step-$b-$i.json 2>&1 | grep -v Warning >> step.txt; done
  timeout 60 node $G/step-final2.mjs --steps 300 --finiteness --json step-final2flag-$i.json 2>&1 | grep -v Warning >> step.txt
done
cd $OUT && tar czf results.tgz r && rm -rf r
