#!/usr/bin/env bash
# Each optimisation of the reference pipeline switched on ALONE over the baseline preset,
# measured with `ctool ab` (A = baseline, B = baseline + one setting; 6 rounds, each a pair
# of worker processes run in ABBA blocks of ~300 ms), then all together (= the optimized
# preset). Blocks are longer than ab's default 100 ms because the baseline's episodes take
# 10-20 ms and the mean of a block must hold a few ignitions (the slow tail).
# Writes one CompareReport per setting to $OUT (default ./ctool-out/optimizations) and prints
# a line per setting: the B/A ratio of mean and p50 latency with its interval and verdict.
# The figures in docs/optimization-guide.md come from this script.
set -euo pipefail
OUT=${OUT:-ctool-out/optimizations}
ROUNDS=${ROUNDS:-6}
BLOCK_MS=${BLOCK_MS:-300}
mkdir -p "$OUT"
for b in kuramoto=numpy phi=vectorized phi_cache=true health_probe=offloop pooling=true \
         "kuramoto=numpy,phi=vectorized,phi_cache=true,health_probe=offloop,pooling=true"; do
  name=$(echo "$b" | tr ',=' '__')
  ctool ab --a preset=baseline --b "preset=baseline,$b" --rounds "$ROUNDS" --block-ms "$BLOCK_MS" \
    --warmup 10 --gate mean,p50 --quiet --format json -o "$OUT/$name.json" > /dev/null
  python - "$OUT/$name.json" "$b" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rows = {m["metric"]: m for m in report["metrics"]}
def show(key):
    m = rows[key]
    return (f"{key.split('.')[-1]} {m['before']:.3f} -> {m['after']:.3f} ms, B/A {m['ratio']:.3f} "
            f"[{m['ci_low']:.3f}, {m['ci_high']:.3f}] p={m['p_value']:.3g} {m['verdict']}")
print(f"{sys.argv[2]:<75} {show('latency.mean')}; {show('latency.p50')}; {report['behaviour']}")
PY
done
