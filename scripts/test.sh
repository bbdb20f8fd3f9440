#!/usr/bin/env bash
# `npm test`: the whole suite on a fresh clone of a Debian bookworm machine.
#   1. installs what the suites need when it is missing: Chromium (the browser suite), redis-server (the sweep suite),
#      Mesa's lavapipe Vulkan driver from bookworm-backports (WebGPU in Node: Dawn needs
#      Mesa 25; bookworm's own 22.3 is too old), Debian's Fashion-MNIST, and node_modules.
#      apt runs as root, or through sudo with a message first; with neither, the script
#      stops and prints the exact commands to run.
#   2. exports VK_ICD_FILENAMES for lavapipe and ALPHADROP_DATA: the variable if set, else
#      ../shared/data beside the checkout, else the fetch cache (`alphadrop data fetch`).
#      Without any, the suites that need full data sets run on the embedded samples; with
#      CI=true a missing data directory fails the run.
#   3. builds the Wasm kernels when missing, type-checks, checks for import cycles (dependency-cruiser), checks the API reference
#      (TypeDoc, no output), then runs vitest (extra arguments go to vitest); all four run,
#      any failing fails the command.
# `scripts/test.sh --dry-run` prints what it would install and run, and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

dry_run=0
if [ "${1:-}" = "--dry-run" ]; then dry_run=1; shift; fi

start=$SECONDS
step() { printf '\n==> %s (t=%ss)\n' "$*" "$((SECONDS - start))"; }
die() { printf 'npm test: %s\n' "$*" >&2; exit 1; }

# The paths and versions the suites rely on. The overrides exist so that the detection
# below can be exercised on a machine where everything is installed (see --dry-run).
LVP_ICD=${ALPHADROP_LVP_ICD:-/usr/share/vulkan/icd.d/lvp_icd.json}
FASHION_DIR=${ALPHADROP_FASHION_DIR:-/usr/share/datasets/fashion-mnist}
MESA_MIN=25

# --- 1. what is missing --------------------------------------------------------------------
mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true; }
need_mesa=0
if [ ! -f "$LVP_ICD" ]; then
  need_mesa=1; why_mesa="no lavapipe ICD at $LVP_ICD"
else
  v=$(mesa_version)
  if [ -n "$v" ] && ! dpkg --compare-versions "$v" ge "$MESA_MIN"; then
    need_mesa=1; why_mesa="mesa-vulkan-drivers $v is older than $MESA_MIN"
  fi
fi
need_chromium=0
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium} # where test/browser/chromium.test.ts looks
[ -x "$CHROMIUM" ] || need_chromium=1
need_redis=0 # test/sweep starts its own redis-server (never the system service)
command -v redis-server >/dev/null 2>&1 || need_redis=1
need_fashion=0
[ -f "$FASHION_DIR/t10k-labels-idx1-ubyte.gz" ] || need_fashion=1

apt_packages=()
[ $need_chromium -eq 1 ] && apt_packages+=(chromium)
[ $need_redis -eq 1 ] && apt_packages+=(redis-server)
[ $need_fashion -eq 1 ] && apt_packages+=(dataset-fashion-mnist)

# The command that adds bookworm-backports, derived from the machine's own Debian source
# so that no mirror host is written into the repository: the first stanza of a deb822
# debian.sources with its suite replaced, else the first main-archive line of sources.list.
backports_configured() {
  grep -qsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources
}
backports_command() {
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    echo "awk 'BEGIN { RS = \"\" } NR == 1 { print; exit }' /etc/apt/sources.list.d/debian.sources" \
      "| sed -E 's/^Suites:.*/Suites: bookworm-backports/' > /etc/apt/sources.list.d/backports.sources"
  elif grep -qsE '^deb .* bookworm ' /etc/apt/sources.list; then
    echo "grep -m1 -E '^deb .* bookworm ' /etc/apt/sources.list | sed -E 's/ bookworm / bookworm-backports /'" \
      "> /etc/apt/sources.list.d/backports.list"
  else
    return 1
  fi
}

if [ $need_mesa -eq 1 ] || [ ${#apt_packages[@]} -gt 0 ]; then
  step "system packages"
  [ $need_mesa -eq 1 ] && echo "missing: Mesa $MESA_MIN lavapipe ($why_mesa)"
  [ $need_chromium -eq 1 ] && echo "missing: chromium at $CHROMIUM (the browser suite drives it)"
  [ $need_redis -eq 1 ] && echo "missing: redis-server (the sweep suite starts one on 127.0.0.1)"
  [ $need_fashion -eq 1 ] && echo "missing: dataset-fashion-mnist (no $FASHION_DIR)"
  command -v apt-get >/dev/null 2>&1 \
    || die "no apt-get: this script installs the system packages on Debian bookworm only; install the above by hand"

  # The commands, as one could type them; run as root or through sudo.
  cmds=()
  if [ $need_mesa -eq 1 ] && ! backports_configured; then
    add=$(backports_command) || die "cannot derive a bookworm-backports entry from /etc/apt/sources.list*"
    cmds+=("$add")
  fi
  cmds+=("apt-get update -q")
  [ ${#apt_packages[@]} -gt 0 ] && cmds+=("apt-get install -y -q --no-install-recommends ${apt_packages[*]}")
  [ $need_mesa -eq 1 ] && cmds+=("apt-get install -y -q --no-install-recommends -t bookworm-backports mesa-vulkan-drivers")

  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
    echo "installing them with sudo (you may be asked for your password)"
    sudo=(sudo)
  else
    printf '\nnpm test: not root and no usable sudo: run these as root, then npm test again:\n' >&2
    printf '  %s\n' "${cmds[@]}" >&2
    exit 1
  fi
  if [ $dry_run -eq 1 ]; then
    printf 'dry run: would run%s:\n' "${sudo:+ with sudo}"
    printf '  %s\n' "${cmds[@]}"
  else
    for c in "${cmds[@]}"; do
      echo "+ $c"
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive bash -c "$c" >/dev/null
    done
    [ -f "$LVP_ICD" ] || die "mesa-vulkan-drivers installed but $LVP_ICD is still missing"
    [ -x "$CHROMIUM" ] || die "chromium installed but $CHROMIUM is still missing"
    command -v redis-server >/dev/null 2>&1 || die "redis-server installed but not on PATH"
  fi
fi

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ]; then
  step "npm ci (no node_modules)"
  if [ $dry_run -eq 1 ]; then echo "dry run: would run npm ci --no-audit --no-fund"; else npm ci --no-audit --no-fund; fi
fi

# --- 2. environment: lavapipe and the data ---------------------------------------------------
export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-$LVP_ICD}
has_data() { [ -d "$1/mnist" ] || [ -d "$1/uci" ]; }
cache=${ALPHADROP_CACHE:-${HOME:-/nonexistent}/.cache/alphadrop}
data=${ALPHADROP_DATA:-}
if [ "$data" = none ]; then
  no_data="ALPHADROP_DATA=none"
elif [ -n "$data" ]; then
  has_data "$data" || die "ALPHADROP_DATA=$data holds neither mnist/ nor uci/ (ALPHADROP_DATA=none: use the embedded data)"
elif has_data ../shared/data; then
  data=$(cd ../shared/data && pwd)
elif has_data "$cache"; then
  data=$cache
else
  no_data="ALPHADROP_DATA unset, no ../shared/data, nothing in $cache"
fi
if [ -z "${no_data:-}" ]; then
  export ALPHADROP_DATA=$data
  echo "data: ALPHADROP_DATA=$ALPHADROP_DATA"
elif [ "${CI:-}" = "true" ]; then
  die "CI=true and no data directory ($no_data): set ALPHADROP_DATA, put the data in ../shared/data, or fetch it into $cache"
else
  export ALPHADROP_DATA=none # the test helper then uses the embedded data without looking further
  echo "data: no data directory ($no_data);"
  echo "      the suites that need full data sets run on the embedded MNIST sample and yacht."
  echo "      For the full sets: node scripts/run-ts.mjs packages/bbalpha/src/cli.ts data fetch mnist (and uci)"
fi
echo "webgpu: VK_ICD_FILENAMES=$VK_ICD_FILENAMES"

# --- 3. the suites ------------------------------------------------------------------------------
if [ $dry_run -eq 1 ]; then
  echo "dry run: would run npx tsc -p tsconfig.json --noEmit, npm run check:cycles, npm run docs:check, then npx vitest run $*"
  exit 0
fi
# All run even when the first fails, so one run reports everything; any failing fails it.
# The Wasm kernels' generated module (scripts/build-wasm.mjs; npm ci's "prepare" makes it, and a
# checkout from before the kernels existed may lack it): type-checking imports it.
step "Wasm kernels (built from packages/core/wasm when their sources changed)"
npm run -s build:wasm
step "typecheck"
typecheck=0
npx tsc -p tsconfig.json --noEmit || typecheck=$?
step "import cycles"
cycles=0
npm run -s check:cycles || cycles=$?
step "API docs (TypeDoc: broken links and unexported references fail)"
docs=0
npm run -s docs:check || docs=$?
step "vitest"
vitest=0
npx vitest run "$@" || vitest=$?
ok() { [ "$1" -eq 0 ] && echo passed || echo FAILED; }
step "done: typecheck $(ok $typecheck), import cycles $(ok $cycles), API docs $(ok $docs), vitest $(ok $vitest)"
[ $typecheck -eq 0 ] && [ $cycles -eq 0 ] && [ $docs -eq 0 ] && [ $vitest -eq 0 ]
