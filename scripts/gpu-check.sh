#!/usr/bin/env bash
# hpn on a GPU through wgpu, next to PyTorch on the same GPU, in under ten minutes.
#
# On a machine that builds (network for crates.io, no GPU needed):
#   scripts/gpu-check.sh bundle          # writes gpu-bundle/: xtask built with wgpu, Vulkan loader
# Copy the checkout with gpu-bundle/ to the GPU machine (no network needed there), then:
#   scripts/gpu-check.sh run [--no-cifar] [--python PY]
#
# `run` prints, each step under its own time limit:
#   1. the adapter wgpu uses (a software device such as llvmpipe means no GPU was found);
#   2. ResNet-32 train-step and forward images/s: `xtask bench models` on wgpu, then
#      bench/pytorch_models.py --network resnet32 on CUDA (on the CPU if torch sees no GPU),
#      and their ratio;
#   3. one epoch of the quickstart on wgpu (10,000 MNIST digits; accuracy and images/s);
#   4. one epoch of ResNet-32 on all of CIFAR-10 on wgpu (configs/gpu-check/), from data/cifar10
#      or, where that is missing, unpacked from ../shared/datasets/cifar10-jpeg.tar.gz.
# Everything it writes goes to gpu-check/ (logs, runs, summary.md).
set -uo pipefail
cd "$(dirname "$0")/.."

bundle="gpu-bundle"
out="gpu-check"

die() { echo "gpu-check: $*" >&2; exit 1; }

make_bundle() {
  command -v cargo >/dev/null || die "bundle needs cargo"
  local target="${CARGO_TARGET_DIR:-target}"
  cargo build --release --locked -p xtask --features wgpu || die "the wgpu build failed"
  mkdir -p "$bundle"
  cp "$target/release/xtask" "$bundle/xtask"
  strip --strip-debug "$bundle/xtask" 2>/dev/null || true
  # The Vulkan loader, for a GPU machine whose driver brings only its ICD.
  local loader
  loader=$(ldconfig -p 2>/dev/null | awk '/libvulkan\.so\.1 .*x86-64/ {print $NF; exit}')
  if [ -n "$loader" ]; then
    cp -L "$loader" "$bundle/libvulkan.so.1"
  else
    echo "gpu-check: no libvulkan.so.1 here (apt-get install libvulkan1); the bundle goes without it" >&2
  fi
  ls -l "$bundle"
}

# Makes the Vulkan loader and the NVIDIA driver's Vulkan ICD findable, without network.
setup_vulkan() {
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
    if [ -f "$bundle/libvulkan.so.1" ]; then
      export LD_LIBRARY_PATH="$PWD/$bundle${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      echo "Vulkan loader: $bundle/libvulkan.so.1 (the machine has none)"
    else
      echo "gpu-check: no Vulkan loader (libvulkan.so.1) on this machine nor in $bundle/" >&2
    fi
  fi
  local icd
  for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
             /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    [ -f "$icd" ] && { echo "NVIDIA Vulkan driver manifest: $icd"; return; }
  done
  # The NVIDIA driver implements Vulkan in libGLX_nvidia.so.0; some container images leave
  # out the manifest that tells the loader so. Write one and point the loader at it.
  if ldconfig -p 2>/dev/null | grep -q 'libGLX_nvidia\.so\.0'; then
    mkdir -p "$out"
    cat >"$out/nvidia_icd.json" <<'JSON'
{ "file_format_version": "1.0.0",
  "ICD": { "library_path": "libGLX_nvidia.so.0", "api_version": "1.3" } }
JSON
    export VK_DRIVER_FILES="$PWD/$out/nvidia_icd.json" VK_ICD_FILENAMES="$PWD/$out/nvidia_icd.json"
    echo "NVIDIA Vulkan driver manifest: written to $out/nvidia_icd.json"
  else
    echo "no NVIDIA Vulkan driver found; wgpu takes whatever adapter the loader shows"
  fi
}

# step NAME SECONDS COMMAND...: runs COMMAND with a time limit, its output to the log.
step() {
  local name=$1 limit=$2; shift 2
  echo
  echo "== $name (limit ${limit}s)"
  local start=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee "$out/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "-- $name: exit $rc after $((SECONDS - start)) s"
  return "$rc"
}

figure() { # figure LOG LABEL: the img/s after LABEL in a bench line
  awk -v label="$2" '$2 == label && $4 == "img/s" {print $3; exit}' "$1"
}

run_checks() {
  local cifar=1 python=python3
  while [ $# -gt 0 ]; do
    case $1 in
      --no-cifar) cifar=0 ;;
      --python) python=$2; shift ;;
      *) die "unknown option $1" ;;
    esac
    shift
  done
  local xtask="$bundle/xtask"
  [ -x "$xtask" ] || xtask="${CARGO_TARGET_DIR:-target}/release/xtask"
  [ -x "$xtask" ] || die "no xtask binary: run 'scripts/gpu-check.sh bundle' on a build machine first"
  mkdir -p "$out"
  export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
  setup_vulkan
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

  step bench-wgpu 240 "$xtask" bench models --backend wgpu --network resnet32 --iters 10
  local device=cpu
  "$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null && device=cuda
  step "bench-pytorch-$device" 180 "$python" bench/pytorch_models.py --network resnet32 --device "$device" --iters 10
  step quickstart-wgpu 180 "$xtask" train --backend wgpu --epochs 1 --out "$out/runs"
  if [ "$cifar" = 1 ]; then
    if [ ! -d data/cifar10/train ] && [ -f ../shared/datasets/cifar10-jpeg.tar.gz ]; then
      mkdir -p data && tar xzf ../shared/datasets/cifar10-jpeg.tar.gz -C data
    fi
    if [ -d data/cifar10/train ]; then
      step cifar10-wgpu 300 "$xtask" train --config configs/gpu-check/cifar10-resnet32-epoch.toml --out "$out/runs"
    else
      echo "no CIFAR-10 in data/cifar10 (train/<class>/*.jpg): its epoch is left out"
    fi
  fi

  {
    echo "| ResNet-32, D = 100, batch 128 | train img/s | forward img/s |"
    echo "|---|---|---|"
    local wt wf pt pf
    wt=$(figure "$out/bench-wgpu.log" train); wf=$(figure "$out/bench-wgpu.log" forward)
    pt=$(figure "$out/bench-pytorch-$device.log" train); pf=$(figure "$out/bench-pytorch-$device.log" forward)
    echo "| hpn, wgpu | ${wt:-?} | ${wf:-?} |"
    echo "| PyTorch, $device | ${pt:-?} | ${pf:-?} |"
    if [ -n "$wt" ] && [ -n "$pt" ] && [ -n "$wf" ] && [ -n "$pf" ]; then
      echo "| ratio hpn / PyTorch | $(awk "BEGIN {printf \"%.2f\", $wt / $pt}") | $(awk "BEGIN {printf \"%.2f\", $wf / $pf}") |"
    fi
    echo
    for name in quickstart-wgpu cifar10-wgpu; do
      [ -f "$out/$name.log" ] && { echo "$name:"; grep -E '^\| (1|mean)' "$out/$name.log"; echo; }
    done
  } | tee "$out/summary.md"
}

case "${1:-}" in
  bundle) make_bundle ;;
  run) shift; run_checks "$@" ;;
  *) die "usage: scripts/gpu-check.sh bundle | run [--no-cifar] [--python PY]" ;;
esac
