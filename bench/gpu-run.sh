#!/usr/bin/env bash
# Bundles the GPU benchmark entries (bench/matmul/ladder.ts, bench/conv/ladder.ts,
# bench/step/dispatch-overhead.ts)
# into single ES modules with `webgpu` left external (@alphadrop/* resolved through the root
# tsconfig's paths), packs them with node, Dawn and PyTorch's peer script for the lent
# NVIDIA machine (../shared/gpu/pack.sh, into .gpu/), and prints the device command.
#
#   bash bench/gpu-run.sh            bundle and pack
#   bash bench/gpu-run.sh --check    first run both bundles here on lavapipe (--quick sizes)
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
out=bench/dist/gpu   # git-ignored (dist/); inside the repo so `webgpu` resolves from node_modules
mkdir -p "$out"
for src in matmul/ladder conv/ladder step/dispatch-overhead; do
  entry=$(echo "$src" | sed 's#/ladder$#-ladder#; s#^step/##')
  npx esbuild "bench/$src.ts" --bundle --platform=node --format=esm --external:webgpu \
    --tsconfig=tsconfig.json --log-level=warning --outfile="$out/$entry.mjs"
done
if [ "${1:-}" = "--check" ]; then
  export VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json
  node "$out/matmul-ladder.mjs" --quick
  node "$out/conv-ladder.mjs" --quick
  node "$out/dispatch-overhead.mjs" --n 200 --reps 3 --round-trips 20
fi
# torch_matmul.py times cuBLAS on the ladder's shapes (shapes.json, beside it in .gpu/)
bash ../shared/gpu/pack.sh "$out/matmul-ladder.mjs" "$out/conv-ladder.mjs" "$out/dispatch-overhead.mjs" ../shared/peers/torch_step.py bench/peers/torch_matmul.py bench/matmul/shapes.json
cat <<'CMD'

device run: carry [".gpu"], command:
source .gpu/prelude.sh && timeout 330 node .gpu/matmul-ladder.mjs 2>&1 | tee $OUT/ladder.txt; timeout 120 node .gpu/conv-ladder.mjs 2>&1 | tee $OUT/conv.txt; timeout 90 node .gpu/dispatch-overhead.mjs 2>&1 | tee $OUT/dispatch.txt; python3 .gpu/torch_step.py 2>&1 | tee $OUT/torch.txt
CMD
