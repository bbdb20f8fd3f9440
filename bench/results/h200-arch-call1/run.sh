#!/usr/bin/env bash
# Device run: old (pre-session), pre-architecture and new step benchmarks interleaved twice,
# the new step with fit's finiteness flag, both matmul ladders (v3, v4), dispatch overhead,
# then PyTorch eager / compile / CUDA graph on the same card.
source .gpu/prelude.sh
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/gpu.txt
for i in 1 2; do
  for b in old0 pre10 new; do timeout 60 node .gpu/step-$b.mjs --json $OUT/step-$b-$i.json 2>&1 | grep -v Warning | tee -a $OUT/step.txt; done
  timeout 60 node .gpu/step-new.mjs --finiteness --json $OUT/step-newflag-$i.json 2>&1 | grep -v Warning | tee -a $OUT/step.txt
done
timeout 100 node .gpu/ladder-pre10.mjs --versions v3,v4 --budget-s 80 2>&1 | grep -v Warning > $OUT/ladder-pre10.txt; mv $OUT/matmul-ladder.json $OUT/ladder-pre10.json 2>/dev/null
timeout 100 node .gpu/ladder-new.mjs --versions v3,v4 --budget-s 80 2>&1 | grep -v Warning > $OUT/ladder-new.txt
timeout 60 node .gpu/dispatch-new.mjs 2>&1 | grep -v Warning > $OUT/dispatch-new.txt
timeout 120 python3 .gpu/torch_step.py > $OUT/torch_step.txt 2>&1
timeout 150 python3 .gpu/torch_graph.py > $OUT/torch_graph.txt 2>&1
ls $OUT
