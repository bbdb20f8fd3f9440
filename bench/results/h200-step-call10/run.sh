#!/usr/bin/env bash
# call 10 (final): every table of the GPU step benchmark from one call on one card —
# the BB-α step (eager and traced; small, large, CNN) beside PyTorch eager, compiled and
# CUDA-graph; the matmul ladder (the engine's chooser on the MLPs', the CNN head's and square
# shapes) beside cuBLAS on the same shapes; dispatch overhead (with a CPU profile of the
# engine's eager path); MNIST epochs through the CLI.
source .gpu/prelude.sh
cd .gpu
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv > $OUT/gpu.txt 2>&1
timeout 120 node step.mjs --model all --mode both --steps 300 --warmup 10 --json $OUT/step.json 2>&1 | grep -v Warning > $OUT/step.txt
PYTHONUNBUFFERED=1 timeout 150 python3 torch_graph.py > $OUT/torch_graph.txt 2>&1
timeout 130 node matmul-ladder.mjs --versions auto --sizes 1024,2048,4096 --min-ms 20 --windows 3 --budget-s 100 2>&1 | grep -v Warning > $OUT/ladder.txt
PYTHONUNBUFFERED=1 timeout 60 python3 torch_matmul.py --min-ms 20 > $OUT/torch_matmul.txt 2>&1
node matmul-ladder.mjs --report $OUT/matmul-ladder.json --cublas $OUT/torch-matmul.json > $OUT/ladder-report.txt 2>&1
mkdir -p $OUT/prof
timeout 60 node --cpu-prof --cpu-prof-dir=$OUT/prof dispatch-overhead.mjs 2>&1 | grep -v Warning > $OUT/dispatch.txt
timeout 60 node alphadrop.mjs mnist --backend webgpu --data-dir mnist --batch-size 128 --epochs 3 --dropout 0.5 --alpha 0.5 --samples 10 --test-samples 10 --test-limit 1000 --out $OUT/mnist.json --force > $OUT/mnist.txt 2>&1
cd $OUT && for f in prof/*.cpuprofile; do mv "$f" prof/dispatch.cpuprofile; done
tail -n 30 step.txt torch_graph.txt mnist.txt
tar czf results.tgz *.txt *.json prof && rm -rf prof *.json gpu.txt ladder.txt torch_matmul.txt dispatch.txt mnist.txt && ls
