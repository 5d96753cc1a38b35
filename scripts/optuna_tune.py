"""Runs an nnlab study file (tune's TOML) with Optuna itself, for comparison:
the same binary, arguments, seeds, trial budget and search space, Optuna's
TPESampler (n_startup_trials, seed) and MedianPruner (n_startup_trials,
n_warmup_steps = warmup_evaluations + 1, reported at evaluation k = 1, 2, ...),
or SuccessiveHalvingPruner for kind = "asha". Each trial runs its seeds as
nnlab processes (two at a time), reports the mean over seeds of each
intermediate evaluation, and is stopped (SIGTERM) when Optuna prunes it.

Usage: optuna_tune.py STUDY.toml OUT_DIR   (writes OUT_DIR/optuna_summary.json and trials/)
"""
import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
import tomllib

import optuna

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def evaluations(run):
    try:
        with open(os.path.join(run, "evaluations.csv")) as f:
            return [float(r[1]) for r in list(csv.reader(f))[1:] if len(r) > 1]
    except FileNotFoundError:
        return []


def steps_taken(run):
    try:
        with open(os.path.join(run, "metrics.csv")) as f:
            rows = list(csv.reader(f))[1:]
        return int(max(float(r[0]) for r in rows)) if rows else 0
    except FileNotFoundError:
        return 0


def aggregate(kind, values):
    values = sorted(values)
    if kind == "iqm":
        cut = int(0.25 * len(values))
        values = values[cut:len(values) - cut]
    return sum(values) / len(values)


def main(spec_path, out):
    spec = tomllib.load(open(spec_path, "rb"))
    binary = os.path.join(ROOT, "target", "release", spec["binary"])
    seeds = spec["seeds"]
    objective = spec.get("objective", {})
    metric = objective.get("metric", "eval_return_mean")
    agg = objective.get("aggregate", "mean")
    direction = objective.get("direction", "maximize")
    sampler_spec = spec.get("sampler", {})
    pruner_spec = spec.get("pruner", {})
    sampler = optuna.samplers.TPESampler(n_startup_trials=sampler_spec.get("startup_trials", 10), seed=sampler_spec.get("seed", 0))
    kind = pruner_spec.get("kind", "median")
    if kind == "median":
        pruner = optuna.pruners.MedianPruner(n_startup_trials=pruner_spec.get("startup_trials", 5), n_warmup_steps=pruner_spec.get("warmup_evaluations", 0) + 1)
    elif kind == "asha":
        pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=pruner_spec.get("min_resource", 1), reduction_factor=pruner_spec.get("reduction_factor", 3))
    else:
        pruner = optuna.pruners.NopPruner()
    study = optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)
    steps = {}

    def run_trial(trial):
        params = {}
        for key, dist in spec["space"].items():
            (name, bounds), = dist.items()
            if name == "uniform":
                params[key] = trial.suggest_float(key, bounds[0], bounds[1])
            elif name == "log_uniform":
                params[key] = trial.suggest_float(key, bounds[0], bounds[1], log=True)
            elif name == "int":
                params[key] = trial.suggest_int(key, bounds[0], bounds[1])
            else:
                params[key] = trial.suggest_categorical(key, bounds)
        tdir = os.path.join(out, "trials", f"trial-{trial.number:04d}")
        runs = [os.path.join(tdir, f"seed-{s}") for s in seeds]
        sets = []
        for k, v in params.items():
            sets += ["--set", f"{k}={json.dumps(v)}"]
        todo = list(zip(seeds, runs))
        procs = []
        reported = 0
        try:
            while todo or procs:
                while todo and len(procs) < 2:
                    seed, run = todo.pop(0)
                    os.makedirs(os.path.dirname(run), exist_ok=True)
                    log = open(run + ".log", "w")
                    procs.append(subprocess.Popen([binary, *spec.get("args", []), *sets, "--seed", str(seed), "--out", run, "--quiet"], stdout=log, stderr=log))
                per_run = [evaluations(r) for r in runs]
                k = min(len(e) for e in per_run)
                while reported < k:
                    reported += 1
                    trial.report(aggregate(agg, [e[reported - 1] for e in per_run]), reported)
                    if trial.should_prune():
                        raise optuna.TrialPruned()
                for p in list(procs):
                    if p.poll() is not None:
                        procs.remove(p)
                        if p.returncode != 0:
                            raise RuntimeError(f"a run of trial {trial.number} failed ({p.returncode})")
                time.sleep(0.05)
            per_run = [evaluations(r) for r in runs]
            while reported < min(len(e) for e in per_run):
                reported += 1
                trial.report(aggregate(agg, [e[reported - 1] for e in per_run]), reported)
            if metric == "evaluations_mean":
                values = [sum(e) / len(e) for e in per_run]
            elif metric == "evaluations_last":
                values = [e[-1] for e in per_run]
            else:
                values = [json.load(open(os.path.join(r, "summary.json")))[metric] for r in runs]
            return aggregate(agg, values)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait()
            steps[trial.number] = sum(steps_taken(r) for r in runs)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(run_trial, n_trials=spec["trials"])
    states = [t.state.name for t in study.trials]
    summary = {
        "optuna": optuna.__version__,
        "best_value": study.best_value,
        "best_trial": study.best_trial.number,
        "best_params": study.best_params,
        "trials": len(study.trials),
        "complete": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "failed": states.count("FAIL"),
        "steps": sum(steps.values()),
        "per_trial": [{"number": t.number, "state": t.state.name, "value": t.value, "steps": steps.get(t.number), "params": t.params} for t in study.trials],
    }
    json.dump(summary, open(os.path.join(out, "optuna_summary.json"), "w"), indent=1)
    print(f"optuna: best {summary['best_value']:.4f} (trial {summary['best_trial']}), {summary['complete']} complete, "
          f"{summary['pruned']} pruned, {summary['steps']} environment steps", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    os.makedirs(sys.argv[2], exist_ok=True)
    main(sys.argv[1], sys.argv[2])
