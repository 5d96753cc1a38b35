#!/usr/bin/env bash
# Parity of nnlab's MinAtar games with PyPI MinAtar on seeds never recorded
# before (run by .ci/run): installs MinAtar (scripts/minatar/install.sh),
# records fresh episodes with MinAtar itself, random play with the recorder
# beside the fixtures (seeds 20-24) and lookahead play
# (scripts/minatar/record_lookahead.py, seeds 200-201, up to 1,500 steps),
# and replays both with `gym_parity` (built with the minatar feature):
# exit 0 only when every state, reward and terminal is equal.
#
#   scripts/minatar/check-parity.sh [OUT_DIR]     (default target/minatar-parity)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-target/minatar-parity}"
mkdir -p "$out"
venv="$(scripts/minatar/install.sh)"
py="$venv/bin/python"
"$py" envs-minatar/tests/fixtures/record_minatar.py "$out/random.json" 20 21 22 23 24 2>/dev/null | tail -n 3
"$py" scripts/minatar/record_lookahead.py "$out/lookahead.json" 200 201 --max-steps 1500 2>/dev/null | tail -n 3
for file in random lookahead; do
    cargo run --release --quiet --features minatar --bin gym_parity -- "$out/$file.json"
done
