#!/usr/bin/env bash
# call 7: where the traced step's wall time goes (diagnostics), and a CPU profile of MNIST epochs through the CLI
source .gpu/prelude.sh
cd .gpu
timeout 200 node step.mjs --model all --mode traced --steps 200 --warmup 10 --json $OUT/step.json > $OUT/step.txt 2>&1
timeout 120 node --cpu-prof --cpu-prof-dir=$OUT/prof alphadrop.mjs mnist --backend webgpu --data-dir mnist --batch-size 128 --epochs 3 --dropout 0.5 --alpha 0.5 --samples 10 --test-samples 10 --test-limit 1000 --out $OUT/mnist.json --force > $OUT/mnist.txt 2>&1
cd $OUT/prof && for f in *.cpuprofile; do mv "$f" mnist.cpuprofile; done; cd - >/dev/null
tail -n 30 $OUT/*.txt
