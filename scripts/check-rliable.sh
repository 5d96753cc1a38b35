#!/usr/bin/env bash
# Holds `report`'s statistics against PyPI rliable 1.2.0 (installed by
# scripts/setup.sh into nnlab's cache): on the committed score matrix
# stats/tests/data/score_matrix.json (`report --scores`) and on the reference
# reports of nnlab's own runs (scripts/reference-reports.sh), each at 10,000
# resamples, every point estimate must equal rliable's to 1e-9 and every
# interval end lie within Monte-Carlo error of rliable's
# (scripts/check_rliable.py says how).
#
#   scripts/check-rliable.sh
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
out=target/ci-rliable
reps=10000
cargo run --release --quiet --bin report -- --scores stats/tests/data/score_matrix.json --reps "$reps" --quiet --out "$out/score-matrix"
./scripts/reference-reports.sh --reps "$reps" --out "$out"
exec .pytools-rliable/bin/python -W ignore scripts/check_rliable.py \
    "$out/score-matrix/report.json" "$out/dqn-family/report.json" "$out/off-policy/report.json"
