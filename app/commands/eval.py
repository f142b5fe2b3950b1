"""``bagscan eval DATA --model FILE``: AUCs, recall and false alarms at the threshold, per category."""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

from engine.errors import CalibrationError

from ._util import resolve_model_path, write_json

log = logging.getLogger("bagscan")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a model on labelled scans")
    p.add_argument("data", help="labelled scans (SIXray layout, TIP scans, or normal/ threat/ folders)")
    p.add_argument("--model", default=None, help="model file (default: the bundled model)")
    p.add_argument("--json", default=None, help="write the figures as JSON ('-' for stdout)")
    p.add_argument("--plots", default=None, help="folder for ROC, histogram and per-category PNGs")
    p.add_argument("--threshold", type=float, default=None, help="override the calibrated threshold")
    p.add_argument("--allow-overlap", action="store_true",
                   help="evaluate even when DATA shares scans with the calibration (figures are then biased)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=run)


def fmt(v: float | None) -> str:
    return "   -  " if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:6.3f}"


def print_table(r: dict) -> None:
    print(f"scans: {r['n_threat']} threat, {r['n_normal']} threat-free")
    print(f"image AUC            {fmt(r['image_auc'])}")
    print(f"patch AUC            {fmt(r['patch_auc'])}   (threat patches vs threat-free scans' patches)")
    print(f"patch AUC in threats {fmt(r['patch_auc_within_threat'])}   (threat vs other patches, same scans)")
    print(f"threshold            {r['threshold']:8.4f}")
    print(f"recall               {fmt(r['recall'])}")
    print(f"false-alarm rate     {fmt(r['false_alarm_rate'])}")
    print(f"hit rate             {fmt(r['hit_rate'])}   top patch {fmt(r['top_hit_rate'])}, "
          f"chance {fmt(r['chance_hit_rate'])}")
    if r["per_category"]:
        print(f"\n{'category':<10} {'scans':>6} {'detected':>9} {'recall':>7} {'hit rate':>9}")
        for name, c in r["per_category"].items():
            print(f"{name:<10} {c['n']:>6} {c['detected']:>9} {fmt(c['recall']):>7} {fmt(c['hit_rate']):>9}")


def run(args: argparse.Namespace) -> int:
    from engine.data import load_dataset
    from engine.data.types import NORMAL, THREAT
    from engine.evaluation import evaluate, public
    from engine.modelfile import load_model
    from engine.scoring import Scorer

    from .calibrate import score_with_progress

    model_path = resolve_model_path(args.model, "eval")
    bundle = load_model(model_path)
    ds = load_dataset(args.data)
    records = [r for r in ds.records if r.label in (THREAT, NORMAL)]
    scorer = Scorer(bundle, args.device)
    scored = score_with_progress(scorer, records, args.quiet)
    cal = bundle.calibration
    if cal is not None:
        shared = cal.overlaps(s.result.sha256 for s in scored)
        if shared:
            msg = (f"{len(shared)} of the evaluated scans were used to calibrate this model: "
                   "calibration and evaluation data must be disjoint")
            if not args.allow_overlap:
                raise CalibrationError(msg + " (use --allow-overlap to evaluate anyway)")
            log.warning("WARNING: %s; figures are biased", msg)
    threshold = args.threshold if args.threshold is not None else scorer.threshold
    report = evaluate(scored, threshold)
    print_table(public(report))
    if args.json:
        write_json(public(report), args.json)
    if args.plots:
        write_plots(report, Path(args.plots))
    return 0


def write_plots(report: dict, folder: Path) -> None:
    from engine import metrics
    from engine.reporting import plots

    folder.mkdir(parents=True, exist_ok=True)
    y, s = report["_arrays"]["labels"], report["_arrays"]["scan_scores"]
    if y.any() and (~y).any():
        fpr, tpr, _ = metrics.roc_curve(y, s)
        plots.plot_roc(fpr, tpr, report["image_auc"], (report["false_alarm_rate"], report["recall"]),
                       folder / "roc.png")
    plots.plot_score_histograms(s[~y], s[y], report["threshold"], folder / "histogram.png")
    if report["per_category"]:
        plots.plot_category_recall(report["per_category"], folder / "category_recall.png")
    print(f"plots in {folder}")
