"""Out-of-the-box transfer: models that never saw SIXray, scored on all of sixray-dev.

    python -m benchmarks.transfer [--models assets/models/default.h5,benchmarks/out/default-v1.h5]

Figures on every real scan (a: threat patches against the other content of their scans, b: against
threat-free content, c: top-patch hit rate with per-category rates), and on TIP scans made from every
threat-free scan with the boxed threats of the threat scans (d: image AUC; recall and false-alarm
rate at each model's own calibrated threshold, which was set on synthetic scans only). All models in
one run, on the same scans. Writes benchmarks/out/transfer.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.sixray_dev import OUT
from engine.data import load_dataset
from engine.data.dataset import Dataset
from engine.data.types import NORMAL
from engine.evaluation import Scored, evaluate, public
from engine.modelfile import load_model
from engine.scoring import Scorer
from engine.synth.jobs import tip_dataset
from engine.synth.tip import ThreatLibrary

log = logging.getLogger("transfer")


def tip_all(ds: Dataset, out: Path) -> list:
    if not (out / "done").is_file():
        shutil.rmtree(out, ignore_errors=True)
        lib = ThreatLibrary.from_dataset(Dataset("threats", [r for r in ds.threats if r.boxes]),
                                         max_per_category=300, seed=21)
        for _ in tip_dataset(Dataset("hosts", ds.normals), out, lib, per_scan=1, seed=22):
            pass
        (out / "done").write_text("ok\n")
    return load_dataset(out).threats


def run(path: str, ds: Dataset, tips: list) -> dict:
    scorer = Scorer(load_model(path), device="auto")
    t0, secs = time.perf_counter(), []
    real = []
    for r in ds.records:
        res = scorer.score_scan(r.path)
        secs.append(res.seconds)
        real.append(Scored(r, res))
    tip = [Scored(r, scorer.score_scan(r.path)) for r in tips]
    t = scorer.threshold
    rr = evaluate(real, t)
    hosts = [s for s in real if s.record.label == NORMAL]
    rt = public(evaluate(tip + hosts, t))
    return {
        "model": path, "model_name": scorer.bundle.name,
        "a_patch_auc_within_threat": rr["patch_auc_within_threat"], "b_patch_auc_vs_threat_free": rr["patch_auc"],
        "c_hit_rate": rr["top_hit_rate"], "c_chance": rr["chance_hit_rate"],
        "c_hit_per_category": {k: v["hit_rate"] for k, v in evaluate(real, -np.inf)["per_category"].items()},
        "d_tip_image_auc": rt["image_auc"], "d_tip_recall": rt["recall"], "d_tip_far": rt["false_alarm_rate"],
        "real_recall_per_category": {k: v["recall"] for k, v in rr["per_category"].items()},
        "threshold": t, "median_scan_s": float(np.median(secs)), "total_s": time.perf_counter() - t0,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2] / "shared" / "sixray-dev"))
    ap.add_argument("--models", default="assets/models/default.h5")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    ds = load_dataset(args.root)
    tips = tip_all(ds, OUT / "tip_all")
    rows = [run(m, ds, tips) for m in args.models.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "transfer.json").write_text(json.dumps(rows, indent=2, default=float))
    print("| model | a in-threat | b vs clean | c hit (chance) | Gun / Knife / Wrench | d TIP AUC | TIP recall / FAR "
          "| s/scan |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        cat = " / ".join(f"{r['c_hit_per_category'].get(c, float('nan')):.3f}" for c in ("Gun", "Knife", "Wrench"))
        print(f"| {r['model']} ({r['model_name']}) | {r['a_patch_auc_within_threat']:.3f} | "
              f"{r['b_patch_auc_vs_threat_free']:.3f} | {r['c_hit_rate']:.3f} ({r['c_chance']:.3f}) | {cat} | "
              f"{r['d_tip_image_auc']:.3f} | {r['d_tip_recall']:.3f} / {r['d_tip_far']:.3f} | "
              f"{r['median_scan_s']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
