#!/usr/bin/env bash
# call 14: a CPU profile of the traced small step with its reads (where the host's 0.09 ms/step of reads goes)
source .gpu/prelude.sh
cd .gpu
mkdir -p $OUT/prof
timeout 60 node --cpu-prof --cpu-prof-dir=$OUT/prof step.mjs --model small --mode traced --steps 300 --warmup 10 2>&1 | grep -v Warning > $OUT/step.txt
cd $OUT/prof && for f in *.cpuprofile; do mv "$f" ../step-small-traced.cpuprofile; done; cd .. && rmdir prof
cat $OUT/step.txt
