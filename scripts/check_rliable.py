"""Checks nnlab's `report.json` against PyPI rliable on the same scores.

For every group of every experiment kind in each REPORT_JSON, rliable
recomputes, from the score matrix nnlab wrote there:
  - the point estimates (IQM, median, mean, optimality gap; per task IQM and
    mean; probability of improvement; performance profiles), which must equal
    nnlab's to 1e-9;
  - the stratified bootstrap intervals with as many resamples as nnlab drew,
    whose ends must lie inside nnlab's Monte-Carlo band (the resampled values
    five standard errors of the difference of two bootstraps either side of
    the percentile: the draws differ, so the ends agree within MC error).

Usage: check_rliable.py REPORT_JSON...
       check_rliable.py --golden MATRIX_JSON OUT_JSON   (stats/tests/data/rliable_points.json)
"""
import json
import sys

import numpy as np
from rliable import library, metrics

STATS = {
    "median": metrics.aggregate_median,
    "iqm": metrics.aggregate_iqm,
    "mean": metrics.aggregate_mean,
    "optimality_gap": metrics.aggregate_optimality_gap,
}

failures = []
checked = {"points": 0, "intervals": 0}


def close(ours, theirs, what):
    checked["points"] += 1
    if abs(ours - theirs) > 1e-9 * max(1.0, abs(theirs)):
        failures.append(f"{what}: nnlab {ours!r}, rliable {theirs!r}")


def within(est, lo, hi, what):
    checked["intervals"] += 1
    for end, theirs in (("lower", lo), ("upper", hi)):
        band = est[f"{end}_band"]
        if not (band[0] - 1e-12 <= theirs <= band[1] + 1e-12):
            failures.append(f"{what} {end}: rliable {theirs!r} outside nnlab's {est[end]!r} band {band}")


def matrix(scores):
    """nnlab's per-task runs as rliable's runs x tasks matrix, or None when ragged."""
    lengths = {len(t) for t in scores["tasks"]}
    if len(lengths) != 1:
        return None
    return np.array(scores["tasks"], dtype=np.float64).T


def check_kind(kind, reps, profile_reps, where):
    sign = 1.0 if kind["higher_is_better"] else -1.0
    skipped = 0
    for table in kind["per_task"]:
        for row in table["rows"]:
            m = np.array(row["scores"], dtype=np.float64)[:, None]
            what = f"{where} {table['task']} {row['group']}"
            func = lambda x: np.array([STATS["iqm"](x), STATS["mean"](x)])
            _, ci = library.get_interval_estimates({"g": m}, func, reps=reps)
            for k, name in enumerate(("iqm", "mean")):
                close(row[name]["point"], float(STATS[name](m)), f"{what} {name}")
                within(row[name], ci["g"][0][k], ci["g"][1][k], f"{what} {name}")
    mats = {}
    for g in kind["groups"]:
        m = matrix(g["scores"])
        if m is None:
            skipped += 1
            continue
        mats[g["group"]] = m
        names = kind["statistics"]
        func = lambda x, names=names: np.array([STATS[n](x) for n in names])
        points, ci = library.get_interval_estimates({"g": m}, func, reps=reps)
        for k, name in enumerate(names):
            what = f"{where} {g['group']} {name}"
            close(g["estimates"][k]["point"], float(points["g"][k]), what)
            within(g["estimates"][k], ci["g"][0][k], ci["g"][1][k], what)
    for imp in kind["improvement"]:
        if imp["x"] not in mats or imp["y"] not in mats:
            continue
        x, y = sign * mats[imp["x"]], sign * mats[imp["y"]]
        what = f"{where} P({imp['x']} > {imp['y']})"
        close(imp["estimate"]["point"], float(metrics.probability_of_improvement(x, y)), what)
        _, ci = library.get_interval_estimates({"p": [x, y]}, metrics.probability_of_improvement, reps=reps)
        within(imp["estimate"], float(np.ravel(ci["p"][0])[0]), float(np.ravel(ci["p"][1])[0]), what)
    if kind.get("profiles"):
        taus = np.array(kind["profiles"]["taus"])
        for group, profile in kind["profiles"]["groups"]:
            if group not in mats:
                continue
            points, ci = library.create_performance_profile({"g": mats[group]}, taus, reps=profile_reps)
            for k in range(len(taus)):
                what = f"{where} {group} profile at tau={taus[k]:.4g}"
                close(profile[k]["point"], float(points["g"][k]), what)
                within(profile[k], ci["g"][0][k], ci["g"][1][k], what)
    return skipped


def golden(matrix_path, out_path):
    d = json.load(open(matrix_path))
    names = list(d["algorithms"])
    mats = {n: np.array(v, dtype=np.float64).T for n, v in d["algorithms"].items()}
    taus = [0.0, 0.5, 0.8, 1.0, 1.2]
    out = {"about": "PyPI rliable 1.2.0's point estimates on score_matrix.json (scripts/check_rliable.py --golden remakes this file)",
           "aggregates": {}, "improvement": {}, "taus": taus, "profiles": {}}
    for n, m in mats.items():
        out["aggregates"][n] = {k: float(f(m)) for k, f in STATS.items()}
        out["profiles"][n] = [float(library.run_score_deviation(m, t)) for t in taus]
    for x in names:
        for y in names:
            if x != y:
                out["improvement"][f"{x},{y}"] = float(metrics.probability_of_improvement(mats[x], mats[y]))
    json.dump(out, open(out_path, "w"), indent=1)
    print(f"wrote {out_path}")


def main(argv):
    if len(argv) == 3 and argv[0] == "--golden":
        golden(argv[1], argv[2])
        return 0
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    np.random.seed(0)
    for path in argv:
        report = json.load(open(path))
        reps, profile_reps = report["bootstrap"]["reps"], report["profile_reps"]
        if report["bootstrap"]["confidence"] != 0.95:
            failures.append(f"{path}: the check compares 95% intervals only")
            continue
        skipped = sum(check_kind(k, reps, profile_reps, f"{path} [{k['metric']}]") for k in report["kinds"])
        if skipped:
            print(f"{path}: {skipped} group(s) with unequal runs per task left out (rliable needs a matrix)", file=sys.stderr)
    for f in failures[:40]:
        print("MISMATCH " + f, file=sys.stderr)
    print(f"check-rliable: {checked['points']} point estimates and {checked['intervals']} intervals compared with rliable, "
          f"{len(failures)} mismatches", file=sys.stderr)
    return 1 if failures or checked["points"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
