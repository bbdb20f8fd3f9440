#!/usr/bin/env bash
# Third call, final build: four interleaved rounds of the step benchmark, pre-session (old0),
# pre-architecture (pre10) and final, the final one also with fit's finiteness flag; the
# dispatch-overhead benchmark for pre10 and final; PyTorch eager / compile / CUDA graph.
source .gpu/prelude.sh
G=$PWD/.gpu
mkdir -p $OUT/r && cd $OUT/r
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > gpu.txt
for i in 1 2 3 4; do
  for b in old0 pre10 final; do timeout 60 node $G/step-$b.mjs --steps 300 --json step-$b-$i.json 2>&1 | grep -v Warning >> step.txt; done
  timeout 60 node $G/step-final.mjs --steps 300 --finiteness --json step-finalflag-$i.json 2>&1 | grep -v Warning >> step.txt
done
for b in pre10 final pre10 final; do mkdir -p d-$b; OUT=$OUT/r/d-$b timeout 60 node $G/dispatch-$b.mjs 2>&1 | grep -v Warning >> dispatch-$b.txt; done
timeout 200 python3 $G/torch_graph.py > torch_graph.txt 2>&1
cd $OUT && tar czf results.tgz r && rm -rf r
