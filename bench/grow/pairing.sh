#!/bin/sh
# Alternates nca and PyTorch 2.13 on seed 003's recipe (64x64 circle, batch 4, 64-96 steps), `pairs` times,
# printing each run's medians and the load. Usage: sh bench/grow/pairing.sh [pairs] [iterations] [threads]
pairs=${1:-2}; iters=${2:-6}; threads=${3:-2}
cd "$(dirname "$0")/../.." || exit 2
i=0
while [ "$i" -lt "$pairs" ]; do
  echo "pair $i nca: $(node bench/grow/nca-grow.mjs "$iters" "$threads")"
  echo "pair $i pytorch: $(/tmp/torchenv/bin/python bench/grow/pytorch-grow.py "$((iters + 1))" "$threads" 2>/dev/null | tail -n "$((iters + 1))" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
runs, summary = rows[1:-1], rows[-1]
s = sorted(r["seconds"] for r in runs); p = sorted(r["per_step_ms"] for r in runs)
print(json.dumps({"torch": summary["torch"], "iterations": len(runs), "medianIteration": s[(len(s) - 1) // 2], "medianStepMs": p[(len(p) - 1) // 2], "load": summary["load"]}))')"
  i=$((i + 1))
done
