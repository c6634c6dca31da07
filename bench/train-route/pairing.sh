#!/usr/bin/env bash
# Issue 12: nca's training iteration (nca-iteration.mjs, default backend onnx) and the PyTorch port
# (pytorch-iteration.py, 1 and 2 threads) interleaved in the same minutes: PAIRS pairs, alternating which runs first.
# Writes bench/train-route/pairing-<tag>-<n>-{nca,pytorch}.txt. Not part of nca's build or tests.
#
#   NCA_DIST=/tmp/frozen/dist TORCH_PY=/tmp/torchenv/bin/python bash bench/train-route/pairing.sh <tag> [pairs]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tag="${1:?a tag for the output files, e.g. 2026-11-27}"
pairs="${2:-3}"
py="${TORCH_PY:-/tmp/torchenv/bin/python}"
for n in $(seq 1 "$pairs"); do
  nca() { node "$here/nca-iteration.mjs" --iters=30 --skip=10 > "$here/pairing-$tag-$n-nca.txt" 2>&1; }
  torch() { "$py" "$here/pytorch-iteration.py" --threads=1,2 > "$here/pairing-$tag-$n-pytorch.txt" 2>&1; }
  if (( n % 2 == 1 )); then echo "pair $n: nca first"; nca; torch; else echo "pair $n: pytorch first"; torch; nca; fi
  grep -h "iteration total\|thread(s)\|ran on" "$here/pairing-$tag-$n-nca.txt" "$here/pairing-$tag-$n-pytorch.txt"
done
