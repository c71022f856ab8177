#!/usr/bin/env bash
# Runs the paper's Table 1 and Table 3 grids at full scale (ResNet-32, 250 epochs, three seeds)
# on a GPU machine, then collects every summary into one Markdown file.
#
#   scripts/paper-grid.sh [cuda|wgpu] [table1|table3|all]
#
# Needs CIFAR-100 (binary version) under data/cifar-100-binary and Tiny ImageNet under
# data/tiny-imagenet-200 (see datasets/README.md). Runs are resumable: start it again after an
# interruption and each run continues from its last checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-cuda}"
which="${2:-all}"
case "$which" in
  table1) pattern='table1-*.toml' ;;
  table3) pattern='table3-*.toml' ;;
  all) pattern='table[13]-*.toml' ;;
  *) echo "usage: $0 [cuda|wgpu] [table1|table3|all]" >&2; exit 2 ;;
esac

cargo build --release -p xtask --features "$backend"
bin=target/release/xtask
[ -n "${CARGO_TARGET_DIR:-}" ] && bin="$CARGO_TARGET_DIR/release/xtask"

out=runs/paper
for config in configs/paper/$pattern; do
  name=$(basename "$config" .toml)
  if [[ "$name" == *imagenet200* && ! -d data/tiny-imagenet-200 ]]; then
    echo "skip $name: data/tiny-imagenet-200 missing"; continue
  fi
  if [[ "$name" == *cifar100* && ! -d data/cifar-100-binary ]]; then
    echo "skip $name: data/cifar-100-binary missing"; continue
  fi
  echo "== $name"
  "$bin" train --config "$config" --backend "$backend" --out "$out" --resume --quiet
done

summary="$out/GRID.md"
{
  echo "# Paper grid ($which, backend $backend)"
  echo
  echo "| experiment | accuracy (%) mean ± std | seeds |"
  echo "|---|---|---|"
  for s in "$out"/*/summary.json; do
    python3 - "$s" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
acc = s.get("accuracy")
cell = f"{acc['mean']:.2f} ± {acc['std']:.2f}" if acc else "-"
print(f"| {s['name']} | {cell} | {len(s['seeds'])} |")
PY
  done
} > "$summary"
echo "wrote $summary"
