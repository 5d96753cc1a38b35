#!/usr/bin/env bash
# Keeps results/ lean (run by .ci/run):
# - results/ under 40 MB (`du`), so a clone stays small;
# - no weights, GIFs, checkpoints or TensorBoard event files under
#   results/reference/ except the demo weights listed below;
# - every reference run group (a folder whose runs wrote summary.json) has its
#   command in results/reference/runs.toml, so scripts/reproduce.sh can remake it.
set -euo pipefail
cd "$(dirname "$0")/.."
limit_kib=$((40 * 1024))
# Weights that a documented demo loads (the book: `enjoy`, `classify`).
demo_weights=(
    results/reference/dqn_cartpole/preset/seed-1/model.safetensors
    results/reference/dqn_MountainCar-v0/seed-1/model.safetensors
    results/reference/cnn_fashion_mnist_seed/seed-1/model.safetensors
)
fail=0
size_kib=$(du -sk results | cut -f1)
if ((size_kib >= limit_kib)); then
    echo "check-results: results/ is $((size_kib / 1024)) MiB, over the 40 MiB limit" >&2
    fail=1
fi
while IFS= read -r -d '' file; do
    keep=0
    for demo in "${demo_weights[@]}"; do [[ "$file" == "$demo" ]] && keep=1; done
    if ((keep == 0)); then
        echo "check-results: $file does not belong in results/reference/ (weights, GIFs, checkpoints and event files stay out)" >&2
        fail=1
    fi
done < <(find results/reference -type f \( -name '*.safetensors' -o -name '*.gif' -o -name '*tfevents*' -o -name 'checkpoint*' \) -print0)
missing=$(python3 - <<'PY'
import pathlib, tomllib
table = tomllib.load(open("results/reference/runs.toml", "rb"))
known = set(table.get("runs", {})) | set(table.get("sweeps", {}))
root = pathlib.Path("results/reference")
for summary in sorted(root.rglob("summary.json")):
    run = summary.parent
    group = run.parent if run.name.startswith("seed-") else run
    name = group.relative_to(root).as_posix()
    if not any(name == k or name.startswith(k + "/") for k in known):
        print(name)
PY
)
if [[ -n "$missing" ]]; then
    echo "check-results: run groups without a command in results/reference/runs.toml:" $missing >&2
    fail=1
fi
for name in $(python3 -c 'import tomllib; t = tomllib.load(open("results/reference/runs.toml", "rb")); print(*t["runs"], *t.get("sweeps", {}))'); do
    [[ -d "results/reference/$name" ]] || { echo "check-results: runs.toml names $name, which is not under results/reference/" >&2; fail=1; }
done
((fail == 0)) && echo "check-results: results/ is $((size_kib / 1024)) MiB; every reference run group can be remade (scripts/reproduce.sh)"
exit $fail
