#!/usr/bin/env bash
# Pinned installs of the speed peers (issue [3/5]) into nnlab's tools cache,
# one venv each, idempotent (a finished venv has a marker file):
#   SBX      sbx-rl 0.28.0 (Stable-Baselines-Jax; JAX on the CPU)
#   RLtools  rltools 2.2.1 with MKL (mkl, mkl-include: its README's advice;
#            it compiles its C++ on first use, so a C++ compiler is needed)
#   rlox     rlox 1.2.0 (a Rust core with Python bindings)
# Each with Gymnasium for the evaluation episodes. Prints the venvs' paths.
#
#   scripts/peers/install.sh [sbx|rltools|rlox ...]    (default: all three)
set -euo pipefail
cache="${NNLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nnlab}"
say() { echo "nnlab peers: $*" >&2; }

requirements() {
    case "$1" in
        sbx) echo "sbx-rl==0.28.0 jax==0.10.2 gymnasium==1.2.2" ;;
        rltools) echo "rltools==2.2.1 mkl==2026.2.1 mkl-include==2026.2.1 gymnasium==1.2.2" ;;
        rlox) echo "rlox==1.2.0 gymnasium==1.2.2" ;;
        *) say "unknown peer '$1' (sbx, rltools or rlox)"; exit 2 ;;
    esac
}

version() {
    case "$1" in
        sbx) echo "0.28.0" ;;
        rltools) echo "2.2.1" ;;
        rlox) echo "1.2.0" ;;
    esac
}

peers=("$@")
[ "${#peers[@]}" -eq 0 ] && peers=(sbx rltools rlox)
for peer in "${peers[@]}"; do
    req="$(requirements "$peer")"
    venv="$cache/peer-$peer-$(version "$peer")"
    if [ ! -f "$venv/.nnlab-complete" ]; then
        say "installing $peer ($req) from PyPI into $venv (first use only)"
        rm -rf "$venv"
        mkdir -p "$cache"
        python3 -m venv "$venv"
        # shellcheck disable=SC2086 # several requirements, split on spaces
        "$venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir $req
        touch "$venv/.nnlab-complete"
    fi
    echo "$venv"
done
