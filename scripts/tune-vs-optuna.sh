#!/usr/bin/env bash
# nnlab's `tune` against Optuna on one study, over several sampler seeds:
# for each seed, the study file with `seed = N` in its [sampler], run by
# `tune` (locally with --workers processes, or with --slurm on the cluster) and by Optuna
# (scripts/optuna-tune.sh); then a score matrix of the best objective each
# found (one run per sampler seed) and `report --scores` on it (IQM, mean,
# stratified-bootstrap intervals, probability of improvement), and a table
# of best values and environment steps (comparison.md).
#
#   scripts/tune-vs-optuna.sh [--slurm] [--workers N] STUDY.toml OUT_DIR SEED...
#   scripts/tune-vs-optuna.sh experiments/studies/ppo_cartpole.toml results/tune/vs-optuna 0 1 2 3 4
#
# Run again, it goes on where it stopped: tune resumes an interrupted study
# (a finished one returns at once); an Optuna study without its summary is
# rerun from its start.
set -euo pipefail
launch=()
while [ "$#" -gt 0 ]; do
    case "$1" in
        --slurm) launch+=(--slurm); shift ;;
        --workers) launch+=(--workers "${2:?--workers needs a number}"); shift 2 ;;
        *) break ;;
    esac
done
if [ "$#" -lt 3 ]; then
    echo "usage: $0 [--slurm] [--workers N] STUDY.toml OUT_DIR SEED..." >&2
    exit 2
fi
study="$1"
out="$2"
shift 2
for seed in "$@"; do
    case "$seed" in
        '' | *[!0-9]*) echo "$0: sampler seed '$seed' is not a non-negative integer" >&2; exit 2 ;;
    esac
done
if ! grep -q '^\[sampler\]' "$study"; then
    echo "$0: $study has no [sampler] table" >&2
    exit 2
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --quiet --bin tune --bin report --bin train
mkdir -p "$out/studies"
for seed in "$@"; do
    # The study with its [sampler] seed replaced (added when it has none).
    file="$out/studies/seed-$seed.toml"
    awk -v seed="$seed" '
        /^\[/ { if (in_sampler && !done) { print "seed = " seed; done = 1 } in_sampler = ($0 == "[sampler]") }
        in_sampler && /^seed *=/ { print "seed = " seed; done = 1; next }
        { print }
        END { if (in_sampler && !done) print "seed = " seed }
    ' "$study" > "$file.tmp"
    mv "$file.tmp" "$file"
    # tune resumes an interrupted study and finishes a finished one at once.
    echo "== nnlab tune, sampler seed $seed" >&2
    ./target/release/tune "$file" --out "$out/nnlab/seed-$seed" "${launch[@]}" --quiet
    if [ ! -f "$out/optuna/seed-$seed/optuna_summary.json" ]; then
        echo "== Optuna, sampler seed $seed" >&2
        rm -rf "$out/optuna/seed-$seed"
        scripts/optuna-tune.sh "$file" "$out/optuna/seed-$seed"
    fi
done
python3 scripts/tune_vs_optuna.py "$out" "$@"
./target/release/report --scores "$out/scores.json" --out "$out/report" --quiet
echo "comparison: $out/comparison.md; statistics: $out/report/report.md"
