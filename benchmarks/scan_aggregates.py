"""Scan aggregates other than the maximum, measured on the calibration half only.

    python -m benchmarks.scan_aggregates benchmarks/out/models/dsa-semi-w3.h5 --gamma 16

Scores the TIP calibration scans (library threats in calibration hosts) and their hosts, and prints the
image AUC of each aggregate of the patch scores, and of each raw component's maximum. Evaluation scans are
never read: this is how an aggregate would be chosen, if one beat the maximum.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
import torch

from benchmarks import OUT
from benchmarks.protocol import make_split
from benchmarks.tip_sets import tip_sets
from engine import metrics
from engine.data.types import THREAT
from engine.mixing import remix
from engine.modelfile import load_model
from engine.scoring import Scorer

log = logging.getLogger("scan_aggregates")
AGGREGATES = {
    "max": lambda s: s[0],
    "top-2 mean": lambda s: s[:2].mean(),
    "top-3 mean": lambda s: s[:3].mean(),
    "max - median": lambda s: s[0] - np.median(s),
    "max - mean": lambda s: s[0] - s.mean(),
    "max - second": lambda s: s[0] - (s[1] if len(s) > 1 else s[0]),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--gamma", type=float, default=None, help="threat-head weight (default: the model's)")
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2] / "shared" / "sixray-dev"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    split = make_split(args.root)
    tip_calib, _ = tip_sets(split, OUT)
    bundle = load_model(args.model)
    scorer = Scorer(bundle, "auto")
    head = scorer.head if args.gamma is None else scorer.head.with_weight("threat", args.gamma)
    gamma = head.weight("threat")
    labels, scores, comps = [], [], []
    for r in tip_calib + split.calib_hosts:
        res = remix(scorer.score_scan(r.path), head)
        if not len(res.scores):
            continue
        labels.append(r.label == THREAT)
        scores.append(np.sort(res.scores)[::-1])
        comps.append(res.components or {})
    y = np.array(labels)
    out = {name: metrics.roc_auc(y, np.array([f(s) for s in scores])) for name, f in AGGREGATES.items()}
    for k in sorted(set().union(*comps)):
        out[f"max {k} only"] = metrics.roc_auc(y, np.array([c[k].max() for c in comps]))
    for name, auc in out.items():
        print(f"{name:18s} image AUC {auc:.3f}")
    (OUT / "scan_aggregates.json").write_text(json.dumps({"model": args.model, "gamma": gamma, "image_auc": out},
                                                         indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
