"""Compares a tagger run's entity report with seqeval's and its per-tag
report with scikit-learn's (see check-entity-report.sh)."""
import json
import sys
from pathlib import Path

from seqeval.metrics import classification_report as entity_report
from seqeval.scheme import IOB2
from sklearn.metrics import classification_report


def sentences(path):
    gold, pred, g, p = [], [], [], []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            if g:
                gold.append(g)
                pred.append(p)
                g, p = [], []
            continue
        _, t, q = line.split("\t")
        g.append(t)
        p.append(q)
    if g:
        gold.append(g)
        pred.append(p)
    return gold, pred


def close(a, b, path=""):
    if isinstance(a, dict):
        assert set(a) == set(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            close(a[k], b[k], f"{path}/{k}")
    else:
        assert round(float(a), 4) == round(float(b), 4), f"{path}: {a} != {b}"


failed = 0
for run in map(Path, sys.argv[1:]):
    gold, pred = sentences(run / "predictions.conll")
    try:
        want = entity_report(gold, pred, mode="strict", scheme=IOB2, digits=4)
        got = (run / "entity_report.txt").read_text(encoding="utf-8")
        assert got == want, f"entity_report.txt differs from seqeval's:\n{got}\n---\n{want}"
        close(json.loads((run / "entity_report.json").read_text()), entity_report(gold, pred, mode="strict", scheme=IOB2, output_dict=True))
        tags = json.loads((run / "vocabulary.json").read_text())["tags"]
        flat_gold = [t for s in gold for t in s]
        flat_pred = [t for s in pred for t in s]
        labels = sorted(set(flat_gold) | set(flat_pred) | set(tags))
        want = classification_report(flat_gold, flat_pred, labels=labels, digits=4, zero_division=0)
        got = (run / "classification_report.txt").read_text(encoding="utf-8")
        assert got == want, f"classification_report.txt differs from scikit-learn's:\n{got}\n---\n{want}"
        print(f"ok: {run}: entity and per-tag reports equal seqeval's and scikit-learn's")
    except AssertionError as e:
        failed += 1
        print(f"MISMATCH: {run}: {e}", file=sys.stderr)
sys.exit(1 if failed else 0)
