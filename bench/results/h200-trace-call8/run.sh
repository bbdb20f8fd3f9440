#!/usr/bin/env bash
# call 8: pipeline creation in parallel?; the traced step after the dispatch-count work
source .gpu/prelude.sh
cd .gpu
timeout 60 node compile-parallel.mjs --n 24 > $OUT/compile.txt 2>&1
timeout 200 node step.mjs --model all --mode both --steps 200 --warmup 10 --json $OUT/step.json > $OUT/step.txt 2>&1
timeout 120 node alphadrop.mjs mnist --backend webgpu --data-dir mnist --batch-size 128 --epochs 3 --dropout 0.5 --alpha 0.5 --samples 10 --test-samples 10 --test-limit 1000 --out $OUT/mnist.json --force > $OUT/mnist.txt 2>&1
tail -n 40 $OUT/*.txt
