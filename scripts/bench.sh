#!/usr/bin/env bash
# Reproducible benchmark of `cellguard run` on synthetic payment-default extracts, with an exact,
# non-private DuckDB group-by on the same file as the baseline.
#
#   scripts/bench.sh [ROWS...]        default: 1000000 10000000
#
# Prints wall time and peak memory per run (GNU time), and rows per second.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=("${@:-1000000 10000000}")
[ $# -gt 0 ] && rows=("$@") || rows=(1000000 10000000)
cargo build --release --quiet
bin="$PWD/target/release/cellguard"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r policies "$work/"
export CELLGUARD_PSEUDONYM_KEY="benchmark-key-not-secret-0123456789abcdef"
python3 -c "import duckdb" 2>/dev/null || python3 -m pip install --quiet duckdb >/dev/null 2>&1 || true
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for n in "${rows[@]}"; do
  csv="$work/pd-$n.csv"
  "$bin" synth payment-defaults --rows "$n" --seed 7 --out "$csv" >/dev/null
  size=$(du -m "$csv" | cut -f1)
  rm -rf "$work/policies/ledgers"
  /usr/bin/time -f "%e %M" -o "$work/time" "$bin" run --quiet --timings --policy "$work/policies/payment-defaults-quarterly.toml" \
      --input "$csv" --out "$work/release-$n" 2> "$work/stages"
  sed 's/^timings: /  stages: /' "$work/stages"
  read -r secs kb < "$work/time"
  rate=$(python3 -c "print(f'{$n/$secs/1e6:.2f}')")
  echo "cellguard run: $n rows ($size MB): ${secs} s, peak ${kb} KB, ${rate} M rows/s"
  if python3 -c "import duckdb" 2>/dev/null; then
    python3 - "$csv" <<'PY'
import sys, time, duckdb
t = time.time()
duckdb.sql(f"""
  with e as (
    select person_id, subarea, year(registration_date) - birth_year as age,
           quarter(registration_date) as q, least(greatest(amount_eur, 0), 2000) as amount
    from read_csv('{sys.argv[1]}', header=true)
    where year(registration_date) = 2025 and year(registration_date) - birth_year >= 18)
  select subarea, age // 10, q, count(distinct person_id), count(*), sum(amount)
  from e group by all""").fetchall()
print(f"duckdb exact group-by (baseline): {time.time() - t:.2f} s")
PY
  fi
done
