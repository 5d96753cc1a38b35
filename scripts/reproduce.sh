#!/usr/bin/env bash
# Remakes a reference run group of results/reference/ from its committed
# command (results/reference/runs.toml) and each seed's committed config.toml.
#
#   scripts/reproduce.sh --list                  # every run group and its command
#   scripts/reproduce.sh NAME [--out DIR] [--dry-run]
#
# NAME is a folder under results/reference/ (e.g. dqn_cartpole/preset,
# ppo_CartPole-v1, sweeps/ppo_cartpole_lr). Each seed folder K of it is rerun as
#   cargo run --release --bin BIN -- FLAGS --config NAME/seed-K/config.toml --seed K --out DIR/seed-K
# into DIR (default results/reproduce/NAME); a sweep is rerun from its spec,
# then reported. --dry-run prints the commands without running them.
set -euo pipefail
cd "$(dirname "$0")/.."
table=results/reference/runs.toml

lookup() { # lookup SECTION NAME -> the command, or nothing
    python3 -c 'import sys, tomllib; t = tomllib.load(open(sys.argv[1], "rb")); print(t.get(sys.argv[2], {}).get(sys.argv[3], ""))' "$table" "$1" "$2"
}

if [[ "${1:-}" == "--list" ]]; then
    python3 -c 'import sys, tomllib
t = tomllib.load(open(sys.argv[1], "rb"))
for section in ("runs", "sweeps"):
    for name, command in t.get(section, {}).items():
        print(f"{name:42} {command}")' "$table"
    exit 0
fi
[[ $# -ge 1 && "$1" != -* ]] || { echo "usage: scripts/reproduce.sh --list | NAME [--out DIR] [--dry-run]" >&2; exit 2; }
name="${1%/}"
shift
out="results/reproduce/$name"
dry=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out="${2:?--out needs a folder}"; shift 2 ;;
        --dry-run) dry=1; shift ;;
        *) echo "reproduce: unknown argument $1" >&2; exit 2 ;;
    esac
done
ref="results/reference/$name"
[[ -d "$ref" ]] || { echo "reproduce: no reference run group $ref (see scripts/reproduce.sh --list)" >&2; exit 1; }

run() {
    echo "+ $*"
    if [[ $dry -eq 0 ]]; then "$@"; fi
}

sweep=$(lookup sweeps "$name")
if [[ -n "$sweep" ]]; then
    read -r -a words <<<"$sweep"
    run cargo run --release --quiet --bin "${words[0]}" -- "${words[@]:1}" --out "$out"
    run cargo run --release --quiet --bin report -- "$out"
    exit 0
fi
command=$(lookup runs "$name")
[[ -n "$command" ]] || { echo "reproduce: $name has no entry in $table" >&2; exit 1; }
read -r -a words <<<"$command"
# A command may start with `--features LIST` (MinAtar's runs: `--features minatar train ...`).
features=()
if [[ "${words[0]}" == "--features" ]]; then
    features=(--features "${words[1]}")
    words=("${words[@]:2}")
fi
bin="${words[0]}"
flags=("${words[@]:1}")

shopt -s nullglob
seeds=("$ref"/seed-*/config.toml)
if [[ ${#seeds[@]} -eq 0 && -f "$ref/config.toml" ]]; then
    seeds=("$ref/config.toml")
fi
[[ ${#seeds[@]} -gt 0 ]] || { echo "reproduce: $ref holds no run folder with a config.toml" >&2; exit 1; }
for config in "${seeds[@]}"; do
    seed=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["seed"])' "$config")
    dest="$out/seed-$seed"
    [[ "$config" == "$ref/config.toml" ]] && dest="$out"
    run cargo run --release --quiet "${features[@]}" --bin "$bin" -- "${flags[@]}" --config "$config" --seed "$seed" --out "$dest"
done
