"""Scoring views of trained threat-map files: the map of the scan as is, against its mean over flips.

    python -m benchmarks.map_views --tag TAG [--splits 0,1] [--seeds 0,1,2] [--variant v2] [--views 1,2,4]

Reads the model files ``benchmarks.detector_v2 --tag TAG`` wrote (models-v2-TAG/splitS-seedN/VARIANT.h5)
and the TIP sets it cached, and scores each file once per view count (ThreatMapConfig.views), so every
row has the same weights and only the scoring differs. Every figure of detector_v2 is measured, the
calibration-half criterion included: that is the only one a choice between view counts may read. The
rank figures need no refit of the score head (standardising is one monotone map for every patch), and
the thresholds are set afresh from the calibration TIP. Writes one
benchmarks/out/map_views-TAG-VARIANT-sSPLITS-seedSEEDS.json per call.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from benchmarks.detector_v2 import CALIBRATIONS, FADE, timed_figures
from benchmarks.protocol import make_split
from benchmarks.sixray_dev import OUT
from benchmarks.table import md_table
from benchmarks.tip_sets import tip_sets
from benchmarks.tip_variants import hard_calibration, unlike_evaluation
from engine import metrics
from engine.modelfile import ModelBundle, load_model
from engine.scoring import Scorer

log = logging.getLogger("map_views")
COLS = ("calib_criterion", "a_patch_auc_within_threat", "a_without_partial", "c_hit_rate", "d_tip_image_auc",
        "d_tip_far", "median_scan_s")


def set_views(bundle: ModelBundle, views: int) -> ModelBundle:
    """The bundle's threat map scored at ``views`` (ThreatMapConfig.views); weights and head unchanged."""
    bundle.model.config = replace(bundle.model.config, views=views)
    return bundle


def with_views(path: Path, views: int) -> Scorer:
    return Scorer(set_views(load_model(path), views), device="auto")


def partial_patches(score, split) -> dict:
    """How much of ``a`` is lost to patches that hold part of a threat yet are not threat patches (under half
    of the box and under half of the patch): a map's maximum is high there too. A figure to read, never
    to choose by (it is measured on the evaluation threats)."""
    pos, clean, partial = [], [], []
    for rec in split.eval_threats:
        if not rec.boxes:
            continue
        r = score(rec.path)
        gt = [b.as_list() for b in rec.boxes]
        lab, touch = metrics.threat_patch_labels(r.boxes, gt), metrics.touches_box(r.boxes, gt)
        pos.append(r.scores[lab])
        clean.append(r.scores[~touch])
        partial.append(r.scores[touch & ~lab])
    p, c, q = (np.concatenate(v) for v in (pos, clean, partial))

    def auc(a: np.ndarray, b: np.ndarray) -> float:
        return metrics.roc_auc(np.r_[np.ones(len(a)), np.zeros(len(b))], np.r_[a, b])

    return {"a_without_partial": auc(p, c), "partial_share_of_negatives": len(q) / max(len(q) + len(c), 1),
            "a_partial_vs_clean": auc(q, c)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2] / "shared" / "sixray-dev"))
    ap.add_argument("--tag", required=True)
    ap.add_argument("--splits", default="0,1")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--variant", default="v2")
    ap.add_argument("--views", default="1,2,4")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    views = [int(v) for v in args.views.split(",")]
    runs: list[dict] = []
    name = f"{args.tag}-{args.variant}-s{args.splits.replace(',', '')}-seed{args.seeds.replace(',', '')}"
    result = OUT / f"map_views-{name}.json"  # one file per call: calls on other seeds do not overwrite it
    for sp in (int(s) for s in args.splits.split(",")):
        split = make_split(args.root, seed=sp)
        root = OUT if sp == 0 else OUT / f"split{sp}"
        tip_calib, tip_eval = tip_sets(split, root)
        sets = {"calib": tip_calib, "eval": tip_eval, "calib_hard": hard_calibration(split, root),
                "calib_faded": hard_calibration(split, root, fade=FADE), "unlike": unlike_evaluation(split, root)}
        for seed in (int(s) for s in args.seeds.split(",")):
            path = OUT / f"models-v2-{args.tag}" / f"split{sp}-seed{seed}" / f"{args.variant}.h5"
            for v in views:
                score = functools.cache(with_views(path, v).score_scan)  # the partial figures reuse the results
                res = timed_figures(score, split, sets)
                res.update(partial_patches(score, split))
                runs.append({"views": v, "split": sp, "seed": seed, **res})
                log.info("views %d split %d seed %d: %s", v, sp, seed, {k: round(res[k], 3) for k in COLS})
                result.write_text(json.dumps({"args": vars(args), "runs": runs}, indent=2, default=float))
    rows = []
    for v in views:
        mine = [r for r in runs if r["views"] == v]
        cells = [f"{np.mean([r[k] for r in mine]):.3f} ± {np.std([r[k] for r in mine]):.3f}" for k in COLS]
        held = [f"{np.mean([r[f'held_{c}']['recall_real'] for r in mine]):.3f}" for c in CALIBRATIONS]
        cats = [f"{np.nanmean([r['c_hit_per_category'].get(c, np.nan) for r in mine]):.3f}"
                for c in ("Gun", "Knife", "Wrench")]
        rows.append([f"{v} ({len(mine)})", *cells, " / ".join(cats), " / ".join(held)])
    print(md_table(["views (runs)", *COLS, "hit Gun / Knife / Wrench", "held real recall std / hard / faded"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
