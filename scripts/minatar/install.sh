#!/usr/bin/env bash
# PyPI MinAtar 1.0.15 (the version nnlab's envs-minatar ports) with numpy
# 2.2.6 (the recordings' numpy) and Gymnasium 1.2.2 (for MinAtar's own
# Gymnasium ids, as `bench --minatar` times them) in a venv of nnlab's tools cache, idempotent
# (a finished venv has a marker file). MinAtar's plotting dependencies
# (matplotlib, seaborn, pandas, scipy) are left out: its games need numpy
# only, and it imports the rest inside a try. Prints the venv's path.
#
#   scripts/minatar/install.sh
set -euo pipefail
cache="${NNLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nnlab}"
venv="$cache/minatar-1.0.15"
if [ ! -f "$venv/.nnlab-complete" ]; then
    echo "nnlab minatar: installing MinAtar==1.0.15, numpy==2.2.6 and gymnasium==1.2.2 from PyPI into $venv (first use only)" >&2
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir numpy==2.2.6 gymnasium==1.2.2
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir --no-deps MinAtar==1.0.15
    touch "$venv/.nnlab-complete"
fi
echo "$venv"
