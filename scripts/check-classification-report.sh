#!/usr/bin/env bash
# Checks classification runs against scikit-learn: for each RUN_DIR of
# cnn_classifier / cnn_fashion_mnist / intent, recomputes classification_report (text,
# digits=4, and output_dict=True) from predictions.csv with scikit-learn and
# compares it with the run's classification_report.txt and report.json (every
# number to 4 decimals, the text byte for byte).
#
#   scripts/check-classification-report.sh results/reference/cnn_fashion_mnist_seed/seed-1 ...
#
# scikit-learn is installed from PyPI into nnlab's cache on first use.
set -euo pipefail

SKLEARN_VERSION="1.5.2"
cache="${NNLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nnlab}"
venv="$cache/scikit-learn-$SKLEARN_VERSION"
if [ "$#" -eq 0 ]; then
    echo "usage: $0 RUN_DIR..." >&2
    exit 2
fi
if [ ! -f "$venv/.nnlab-complete" ]; then
    echo "nnlab: installing scikit-learn $SKLEARN_VERSION from PyPI into $venv (first use only)" >&2
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir "scikit-learn==$SKLEARN_VERSION"
    touch "$venv/.nnlab-complete"
fi
exec "$venv/bin/python" "$(dirname "${BASH_SOURCE[0]}")/check_classification_report.py" "$@"
