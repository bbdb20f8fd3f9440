#!/usr/bin/env bash
# call 6: traced vs eager step, dispatch overhead, MNIST epochs through the CLI
source .gpu/prelude.sh
cd .gpu
timeout 200 node step.mjs --model all --mode both --steps 200 --warmup 10 --json $OUT/step.json > $OUT/step.txt 2>&1
timeout 60 node dispatch-overhead.mjs > $OUT/dispatch.txt 2>&1
timeout 120 node alphadrop.mjs mnist --backend webgpu --data-dir mnist --batch-size 128 --epochs 3 --dropout 0.5 --alpha 0.5 --samples 10 --test-samples 10 --test-limit 2000 --lr 0.001 --out $OUT/mnist.json --force > $OUT/mnist.txt 2>&1
tail -n 30 $OUT/*.txt
