#!/usr/bin/env bash
# GEMM task, device call 2: the ladder on the shipped tiles with split-K sweeps and the
# dropout-fused products (GPU timestamps, median of 3 windows), cuBLAS on the same shapes,
# then the BB-alpha step of the build without this work (HEAD's gemm.ts and matmul.ts, the
# rest of the tree as is) and with it, eager and traced.
# Device call: carry [".gpu"], command `bash .gpu/gemm-call2.sh` (this file, copied there), after
#   npx esbuild bench/matmul/ladder.ts ... --outfile=.gpu/gemm-ladder-2.mjs, and
#   bench/step/bbalpha-step-gpu.ts bundled twice: from this tree (.gpu/gemm-step-new.mjs) and
#   from a copy of it with HEAD's (eb546f8) packages/kernels/src/kernels/{gemm,matmul}.ts
#   (.gpu/gemm-step-old.mjs); torch_matmul.py and shapes.json copied into .gpu/.
# The ladder searched R on the GPU's timestamps here, which overshot (R = 16384 for 20 µs
# kernels), so only 85 cases (four shapes) fit the budget; the harness now searches R on
# the host clock and times the windows on the GPU's.
source .gpu/prelude.sh > $OUT/step.txt 2>&1
G=.gpu
timeout 175 node $G/gemm-ladder-2.mjs --versions v3,v4,auto --configs 64x64/4x4/k16,32x32/4x4/k16,64x64/k16/db,64x128/k16/db,128x128/k8/db,128x64/k16/db --splits 2,3,4,6,8,12,16,24 --sizes 1024,2048,4096 --min-ms 20 --budget-s 135 2>&1 | grep -v Warning > $OUT/ladder.txt
PYTHONUNBUFFERED=1 timeout 50 python3 $G/torch_matmul.py --min-ms 20 > $OUT/torch.txt 2>&1
node $G/gemm-ladder-2.mjs --report $OUT/matmul-ladder.json --cublas $OUT/torch-matmul.json > $OUT/report.txt 2>&1
for b in old new; do
  echo "== step, $b build" >> $OUT/step.txt
  timeout 45 node $G/gemm-step-$b.mjs --model all --mode both --steps 100 --warmup 10 --json $OUT/step-$b.json 2>&1 | grep -v Warning >> $OUT/step.txt
done
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,power.draw,temperature.gpu --format=csv >> $OUT/step.txt 2>&1
tail -n 8 $OUT/ladder.txt; cat $OUT/report.txt | head -60; cat $OUT/step.txt
