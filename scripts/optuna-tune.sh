#!/usr/bin/env bash
# Runs an nnlab study file (tune's TOML) with Optuna itself, for comparison
# with `tune` (scripts/optuna_tune.py says how). Optuna is installed from
# PyPI into nnlab's cache on first use; the nnlab binaries are built first.
#
#   scripts/optuna-tune.sh experiments/studies/ppo_cartpole.toml results/tune/optuna_ppo_cartpole
set -euo pipefail
OPTUNA_VERSION="5.1.0"
cache="${NNLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nnlab}"
venv="$cache/optuna-$OPTUNA_VERSION"
if [ "$#" -ne 2 ]; then
    echo "usage: $0 STUDY.toml OUT_DIR" >&2
    exit 2
fi
if [ ! -f "$venv/.nnlab-complete" ]; then
    echo "nnlab: installing Optuna $OPTUNA_VERSION from PyPI into $venv (first use only)" >&2
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir "optuna==$OPTUNA_VERSION"
    touch "$venv/.nnlab-complete"
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --quiet --bin train
exec "$venv/bin/python" scripts/optuna_tune.py "$@"
