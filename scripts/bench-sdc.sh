#!/usr/bin/env bash
# Benchmark of `sdc` mode: the bundled quarterly and monthly payment-default tables with all
# margins (and the quarterly `dp+sdc` one), on the demo's synthetic extract (300 000 entries). Prints wall time, peak memory,
# primary and secondary suppressions and audit rounds.
#
#   scripts/bench-sdc.sh [ROWS]        default: 300000
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-300000}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/cellguard"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r policies "$work/"
export CELLGUARD_PSEUDONYM_KEY="benchmark-key-not-secret-0123456789abcdef"
"$bin" synth payment-defaults --rows "$rows" --seed 2025 --out "$work/pd.csv" >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for policy in payment-defaults-quarterly-sdc payment-defaults-monthly-sdc payment-defaults-quarterly-dp-sdc; do
  /usr/bin/time -f "%e %M" -o "$work/time" "$bin" run --quiet --policy "$work/policies/$policy.toml" \
      --input "$work/pd.csv" --out "$work/$policy"
  read -r secs kb < "$work/time"
  python3 - "$work/$policy/manifest.json" "$policy" "$secs" "$kb" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
s = m["sdc"]
print(f"{sys.argv[2]}: {m['n_cells']} cells x {len(m['measures'])} measures, {sys.argv[3]} s, peak {int(sys.argv[4]) // 1024} MB, "
      f"{s['primary_cells']} primary, {s['secondary_cells']} secondary ({s['secondary_value']:.0f} persons), {s['audit_rounds']} audit rounds")
PY
done
