"""Compares a run's classification_report.txt and report.json with
scikit-learn's classification_report of its predictions.csv (see
check-classification-report.sh, which installs scikit-learn and calls this)."""
import csv
import json
import sys
from pathlib import Path

from sklearn.metrics import classification_report


def check(run: Path) -> bool:
    summary = json.loads((run / "summary.json").read_text())
    classes = summary["classes"]
    with open(run / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    # Labels are class indices (image classifiers) or class names (intent).
    index = {name: i for i, name in enumerate(classes)}
    as_index = lambda v: int(v) if v.isdigit() else index[v]
    y_true = [as_index(r["label"]) for r in rows]
    y_pred = [as_index(r["predicted"]) for r in rows]
    labels = list(range(len(classes)))
    want_text = classification_report(y_true, y_pred, labels=labels, target_names=classes, digits=4, zero_division=0)
    want = classification_report(y_true, y_pred, labels=labels, target_names=classes, output_dict=True, zero_division=0)
    got = json.loads((run / "report.json").read_text())
    problems = []
    if list(got) != list(want):
        problems.append(f"keys {list(got)} != {list(want)}")
    for key, value in want.items():
        if isinstance(value, dict):
            for field, v in value.items():
                g = got.get(key, {}).get(field)
                if g is None or round(float(g), 4) != round(float(v), 4):
                    problems.append(f"{key}/{field}: nnlab {g}, scikit-learn {v}")
        elif round(float(got.get(key, -1)), 4) != round(float(value), 4):
            problems.append(f"{key}: nnlab {got.get(key)}, scikit-learn {value}")
    got_text = (run / "classification_report.txt").read_text()
    if got_text != want_text:
        problems.append("classification_report.txt differs from scikit-learn's text:\n" + want_text + "\nnnlab:\n" + got_text)
    for p in problems:
        print(f"{run}: {p}")
    if not problems:
        print(f"{run}: report.json and classification_report.txt agree with scikit-learn ({len(rows)} predictions, accuracy {want['accuracy']:.4f})")
    return not problems


if __name__ == "__main__":
    ok = all([check(Path(r)) for r in sys.argv[1:]])
    sys.exit(0 if ok else 1)
