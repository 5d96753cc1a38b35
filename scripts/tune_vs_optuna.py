"""Collects scripts/tune-vs-optuna.sh's studies: per sampler seed, the best
objective and the environment steps of nnlab's `tune` (OUT/nnlab/seed-N/
study.json) and of Optuna (OUT/optuna/seed-N/optuna_summary.json).

Writes OUT/comparison.md (a table per seed, with means), OUT/comparison.json
and OUT/scores.json, a score matrix for `report --scores` with one task (the
study) and one run per sampler seed for each of the two tuners (raw scale:
the objective as the study defines it; for a minimised objective, negated so
that higher is better in the report).

    python3 scripts/tune_vs_optuna.py OUT SEED...
"""
import json
import os
import sys
import tomllib


def nnlab_study(folder, direction):
    trials = json.load(open(os.path.join(folder, "study.json")))["trials"]
    done = [t for t in trials if t["state"] == "complete" and t.get("value") is not None]
    if not done:
        raise SystemExit(f"{folder}: no complete trial")
    best = (max if direction == "maximize" else min)(done, key=lambda t: t["value"])
    return {
        "best_value": best["value"],
        "best_trial": best["number"],
        "complete": len(done),
        "pruned": sum(t["state"] == "pruned" for t in trials),
        "steps": sum(t.get("steps") or 0 for t in trials),
    }


def optuna_study(folder):
    s = json.load(open(os.path.join(folder, "optuna_summary.json")))
    return {k: s[k] for k in ("best_value", "best_trial", "complete", "pruned", "steps")}


def main(out, seeds):
    rows = []
    for seed in seeds:
        spec = tomllib.load(open(os.path.join(out, "studies", f"seed-{seed}.toml"), "rb"))
        direction = spec.get("objective", {}).get("direction", "maximize")
        rows.append({
            "seed": seed,
            "direction": direction,
            "nnlab": nnlab_study(os.path.join(out, "nnlab", f"seed-{seed}"), direction),
            "optuna": optuna_study(os.path.join(out, "optuna", f"seed-{seed}")),
        })
    sign = 1 if rows[0]["direction"] == "maximize" else -1
    lines = [
        "| sampler seed | nnlab best | nnlab steps | Optuna best | Optuna steps | better |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    wins = ties = 0
    for r in rows:
        a, b = r["nnlab"], r["optuna"]
        d = sign * (a["best_value"] - b["best_value"])
        verdict = "nnlab" if d > 0 else ("Optuna" if d < 0 else "tie")
        wins += d > 0
        ties += d == 0
        lines.append(f"| {r['seed']} | {a['best_value']:.2f} (trial {a['best_trial']}, {a['complete']}/{a['pruned']}) | "
                     f"{a['steps']:,} | {b['best_value']:.2f} (trial {b['best_trial']}, {b['complete']}/{b['pruned']}) | "
                     f"{b['steps']:,} | {verdict} |")
    n = len(rows)
    mean = {k: sum(r[k]["best_value"] for r in rows) / n for k in ("nnlab", "optuna")}
    steps = {k: sum(r[k]["steps"] for r in rows) / n for k in ("nnlab", "optuna")}
    lines.append(f"| mean | {mean['nnlab']:.2f} | {steps['nnlab']:,.0f} | {mean['optuna']:.2f} | {steps['optuna']:,.0f} | |")
    lines.append("")
    lines.append(f"nnlab's best is better on {wins} of {n} sampler seeds ({ties} ties); "
                 "(complete/pruned) trials in brackets; steps: every run's last step, summed.")
    md = "# `tune` against Optuna, per sampler seed\n\n" + "\n".join(lines) + "\n"
    with open(os.path.join(out, "comparison.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out, "comparison.json"), "w") as f:
        json.dump({"seeds": rows, "mean_best": mean, "mean_steps": steps}, f, indent=1)
    name = os.path.basename(os.path.normpath(out))
    matrix = {
        "about": f"Best objective of each study ({rows[0]['direction']}d; negated if minimised), one run per sampler seed {seeds}: "
                 "scripts/tune-vs-optuna.sh.",
        "scale": "raw",
        "tasks": [name],
        "algorithms": {
            "nnlab tune": [[sign * r["nnlab"]["best_value"] for r in rows]],
            "Optuna": [[sign * r["optuna"]["best_value"] for r in rows]],
        },
    }
    with open(os.path.join(out, "scores.json"), "w") as f:
        json.dump(matrix, f, indent=1)
    print(md, end="")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], [int(s) for s in sys.argv[2:]])
