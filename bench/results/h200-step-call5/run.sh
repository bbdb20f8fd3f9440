#!/usr/bin/env bash
# Device call (carry [".gpu"], after packing bench/dist/gpu/bbalpha-step-gpu.mjs and
# ../shared/peers/torch_graph.py with ../shared/gpu/pack.sh): the step benchmark of every model
# with GPU time from timestamp queries, plain and with fit's finiteness flag, then PyTorch.
source .gpu/prelude.sh && timeout 200 node .gpu/bbalpha-step-gpu.mjs --model all --steps 300 --json $OUT/step.json 2>&1 | grep -v Warning | tee $OUT/step.txt; timeout 120 node .gpu/bbalpha-step-gpu.mjs --model all --steps 300 --finiteness --json $OUT/step-finiteness.json 2>&1 | grep -v Warning | tee $OUT/step-finiteness.txt; timeout 150 python3 .gpu/torch_graph.py > $OUT/torch_graph.txt 2>&1
