#!/usr/bin/env bash
# Second call: four interleaved rounds of the step benchmarks (pre-session, pre-architecture,
# new, new with fit's finiteness flag), the new ladder twice on the MLP shapes and 1024^3
# (the first call's first case looked like a clock warm-up), PyTorch eager / compile / CUDA graph.
source .gpu/prelude.sh
G=$PWD/.gpu
mkdir -p $OUT/r
cd $OUT/r
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > gpu.txt
for i in 1 2 3 4; do
  for b in old0 pre10 new; do timeout 60 node $G/step-$b.mjs --steps 300 --json step-$b-$i.json 2>&1 | grep -v Warning >> step.txt; done
  timeout 60 node $G/step-new.mjs --steps 300 --finiteness --json step-newflag-$i.json 2>&1 | grep -v Warning >> step.txt
done
for i in 1 2; do mkdir -p ladder-new-$i; OUT=$OUT/r/ladder-new-$i timeout 80 node $G/ladder-new.mjs --versions v3,v4 --sizes 1024 --budget-s 60 2>&1 | grep -v Warning > ladder-new-$i.txt; done
mkdir -p ladder-pre10; OUT=$OUT/r/ladder-pre10 timeout 80 node $G/ladder-pre10.mjs --versions v3,v4 --sizes 1024 --budget-s 60 2>&1 | grep -v Warning > ladder-pre10.txt
timeout 120 python3 $G/torch_step.py > torch_step.txt 2>&1
timeout 200 python3 $G/torch_graph.py > torch_graph.txt 2>&1
cd $OUT && tar czf results.tgz r && rm -rf r
