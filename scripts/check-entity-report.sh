#!/usr/bin/env bash
# Checks tagger runs against seqeval: for each RUN_DIR of `tagger` on BIO
# tags, recomputes the entity-level report (mode="strict", scheme=IOB2,
# digits=4, and output_dict=True) from predictions.conll with seqeval and
# compares it with the run's entity_report.txt (byte for byte) and
# entity_report.json (every number to 4 decimals), and the per-tag
# classification_report.txt with scikit-learn's.
#
#   scripts/check-entity-report.sh results/reference/tagger_ner/seed-1 ...
#
# seqeval and scikit-learn are installed from PyPI into nnlab's cache on first use.
set -euo pipefail

SEQEVAL_VERSION="1.2.2"
SKLEARN_VERSION="1.5.2"
cache="${NNLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nnlab}"
venv="$cache/seqeval-$SEQEVAL_VERSION"
if [ "$#" -eq 0 ]; then
    echo "usage: $0 RUN_DIR..." >&2
    exit 2
fi
if [ ! -f "$venv/.nnlab-complete" ]; then
    echo "nnlab: installing seqeval $SEQEVAL_VERSION from PyPI into $venv (first use only)" >&2
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir "seqeval==$SEQEVAL_VERSION" "scikit-learn==$SKLEARN_VERSION"
    touch "$venv/.nnlab-complete"
fi
exec "$venv/bin/python" "$(dirname "${BASH_SOURCE[0]}")/check_entity_report.py" "$@"
