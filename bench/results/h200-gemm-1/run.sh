#!/usr/bin/env bash
# GEMM task, device call 1 (NVIDIA H200, carry [".gpu"]): the matmul ladder (v3, v4 with
# split-K sweeps, the chooser; the model shapes plain and dropout-fused, then squares), timed
# on the host clock (submit to done) in windows of >= 40 ms; then cuBLAS on the same shapes
# (bench/peers/torch_matmul.py), and the ladder's report with ours/cuBLAS.
# Packed with: npx esbuild bench/matmul/ladder.ts --bundle --platform=node --format=esm
#   --external:webgpu --tsconfig=tsconfig.json --outfile=bench/dist/gpu/matmul-ladder.mjs;
#   bash ../shared/gpu/pack.sh bench/dist/gpu/matmul-ladder.mjs bench/peers/torch_matmul.py
#   bench/matmul/shapes.json; cp bench/dist/gpu/matmul-ladder.mjs .gpu/gemm-ladder-1.mjs
# The host clock proved unreliable at this window length (one kernel timed twice: 31 and 43
# TFLOP/s at 4096^3); call 2 (h200-gemm-2) times on the GPU's timestamps.
source .gpu/prelude.sh > $OUT/gpu.txt 2>&1; timeout 255 node .gpu/gemm-ladder-1.mjs --versions v3,v4,auto --min-ms 40 --budget-s 205 2>&1 | grep -v Warning > $OUT/ladder.txt; PYTHONUNBUFFERED=1 timeout 55 python3 .gpu/torch_matmul.py --min-ms 20 > $OUT/torch.txt 2>&1; node .gpu/gemm-ladder-1.mjs --report $OUT/matmul-ladder.json --cublas $OUT/torch-matmul.json > $OUT/report.txt 2>&1; tail -3 $OUT/ladder.txt; cat $OUT/report.txt
