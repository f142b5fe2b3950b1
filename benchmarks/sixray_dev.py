"""SIXray-dev benchmark: every model variant under one training budget, honest protocol.

    python -m benchmarks.sixray_dev [--root ../shared/sixray-dev] [--variants dsa,skip-ganomaly,...]

Prints one table and writes benchmarks/out/sixray_dev.json. Figures (see issue "model"):
  a  patch AUC within threat scans (threat patches vs other content patches, same scans)
  b  patch AUC, threat patches vs all threat-free content patches (both backgrounds)
  c  localisation hit rate (top patch overlaps the box) next to chance
  d  TIP: image AUC, recall and false-alarm rate; threshold calibrated at recall 0.9 on
     the calibration half, figures on the evaluation half
  e  training and scoring time
plus, with the size/background confound named, per-category recall on the real evaluation
threat scans at the TIP-calibrated threshold and the false-alarm rate on real evaluation hosts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from benchmarks import OUT, baselines
from benchmarks.protocol import Split, make_split
from benchmarks.table import md_table
from engine.calibration import calibrate
from engine.config import GridConfig, ScoreConfig, TrainConfig
from engine.data import read_scan
from engine.data.types import NORMAL, ScanRecord
from engine.evaluation import Scored, evaluate, public
from engine.events import EpochEnded
from engine.mixing import remix_all
from engine.modelfile import ModelBundle, load_model
from engine.recalibration import recalibrate
from engine.scoring import ScanResult, Scorer
from engine.training import TrainJob, train
from engine.training.augmentation import training_augmentation

log = logging.getLogger("sixray_dev")
GRID = GridConfig(patch=256, stride=256, input_size=64)

@dataclass(frozen=True)
class Variant:
    """One row of the table: a model, its config and its training recipe."""

    model: str
    config: Mapping[str, Any] = field(default_factory=dict)
    tip: Literal["", "projected", "semi"] = ""  # TIP augmentation: none, projected threats, or semi-supervised
    w_tip: float = 0.0  # the augmentation loss weight (0: training_augmentation's default)
    hard: bool = False  # hard augmentation (synthetic-anomaly masks)


HEAD = {"threat_head": True}
VARIANTS: dict[str, Variant] = {
    "dsa": Variant("dsa"),
    "dsa-tip": Variant("dsa", HEAD, tip="projected"),
    "dsa-semi": Variant("dsa", HEAD, tip="semi"),
    # The threat head's loss weighted 3x (w_tip): picked against w_tip 1 on the TIP calibration half only.
    "dsa-semi-w3": Variant("dsa", HEAD, tip="semi", w_tip=3.0),
    # D also sees the metal/dense mask of the pseudo-colour (the "material-aware inputs").
    "dsa-semi-m": Variant("dsa", {**HEAD, "material": True}, tip="semi"),
    "dsa-semi-m-w3": Variant("dsa", {**HEAD, "material": True}, tip="semi", w_tip=3.0),
    "skip-ganomaly": Variant("skip-ganomaly", {"base": 32}),
    "ganomaly": Variant("ganomaly", {"base": 32}),
    # Issue #9's published variants, at skip-ganomaly's width (base 32) to fit the same CPU budget.
    "sagan": Variant("sagan", {"base": 32}),
    "skip-ganomaly-pp": Variant("skip-ganomaly-pp", {"base": 32}),
    # Hard augmentation supplies the synthetic-anomaly masks its attention learns from (w_tip 1: D's
    # output learns synthetic anomalies as not-real, the paper's adversarial anomaly loss).
    "two-stage": Variant("two-stage", {"base": 32, "d_base": 32}, hard=True),
}


def score_all(fn: Callable[[str], ScanResult], records: list[ScanRecord]) -> tuple[list[Scored], float]:
    t0, out, n_patches = time.perf_counter(), [], 0
    for r in records:
        res = fn(r.path)
        n_patches += len(res.scores)
        out.append(Scored(r, res))
    return out, n_patches / max(time.perf_counter() - t0, 1e-9)


def figures(score_fn: Callable[[str], ScanResult], split: Split, tip_calib: list[ScanRecord],
            tip_eval: list[ScanRecord], bundle: ModelBundle | None = None) -> dict:
    real, pps = score_all(score_fn, split.eval_threats + split.eval_hosts)
    hosts_c, _ = score_all(score_fn, split.calib_hosts)
    tipc, _ = score_all(score_fn, tip_calib)
    tipe, _ = score_all(score_fn, tip_eval)
    mix: dict = {}
    if bundle is None:
        cal = calibrate([s.result.score for s in tipc], [s.result.score for s in hosts_c], 0.9, source="tip")
    else:
        # With a threat head its weight is chosen on the calibration half (TIP scans of library threats in
        # calibration hosts), like the threshold; the evaluation scans are only remixed with it.
        done = recalibrate(bundle, tipc + hosts_c, 0.9, "tip", tune_mix=bundle.scores_threat)
        assert done.bundle.calibration is not None and done.bundle.score_head is not None
        cal = done.bundle.calibration
        if done.mix is not None:
            mix = {"gamma": done.mix.gamma, "calib_figures": {str(g): v for g, v in done.mix.table.items()}}
            real, tipe = (remix_all(group, done.bundle.score_head) for group in (real, tipe))
    t = cal.threshold
    hosts_e = [s for s in real if s.record.label == NORMAL]
    r_real = public(evaluate(real, t))
    r_tip = public(evaluate(tipe + hosts_e, t))
    return {
        "a_patch_auc_within_threat": r_real["patch_auc_within_threat"],
        "b_patch_auc_vs_threat_free": r_real["patch_auc"],
        "c_hit_rate": r_real["top_hit_rate"],
        "c_chance": r_real["chance_hit_rate"],
        "c_hit_per_category": {k: v["hit_rate"] for k, v in evaluate(real, -np.inf)["per_category"].items()},
        "d_tip_image_auc": r_tip["image_auc"],
        "d_tip_recall": r_tip["recall"],
        "d_tip_far": r_tip["false_alarm_rate"],
        "threshold": t,
        "calib_recall": cal.achieved_recall,
        "real_image_auc_confounded": r_real["image_auc"],
        "real_recall_per_category": {k: v["recall"] for k, v in r_real["per_category"].items()},
        "real_far": r_real["false_alarm_rate"],
        "patches_per_s": pps,
        **({"mix": mix} if mix else {}),
    }


def run_paths(tag: str) -> tuple[Path, Path]:
    """(model folder, result JSON); with a tag, another budget's run is kept apart from the main one."""
    return (OUT / f"models-{tag}", OUT / f"sixray_dev-{tag}.json") if tag else (OUT / "models", OUT / "sixray_dev.json")


def train_variant(name: str, spec: Variant, split: Split, budget: TrainConfig, models: Path) -> tuple[Path, float]:
    out = models / f"{name}.h5"
    cfg = dataclasses.replace(budget, w_tip=spec.w_tip)
    augmenter, config, cfg = training_augmentation(
        spec.model, spec.config, cfg, GRID, tip=bool(spec.tip),
        tip_threats=split.library_threats if spec.tip else (), semi=spec.tip == "semi", hard=spec.hard)
    job = TrainJob(split.train_normals, spec.model, str(out), config, GRID, cfg, ScoreConfig(),
                   device="auto", exclude_hashes=split.eval_hashes(), augmenter=augmenter)
    t0 = time.perf_counter()
    for ev in train(job):
        if isinstance(ev, EpochEnded):
            log.info("%s epoch %d/%d %s val=%.5f %.0f patches/s", name, ev.epoch, ev.epochs,
                     {k: round(v, 4) for k, v in ev.losses.items()}, ev.val_score, ev.patches_per_s)
    return out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2] / "shared" / "sixray-dev"))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--patches-per-scan", type=int, default=8)
    ap.add_argument("--reuse", action="store_true", help="reuse trained models in benchmarks/out/models")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0,
                    help="training seed; other than 0, rows and model files are named VARIANT-seedN")
    ap.add_argument("--train-only", action="store_true", help="train the variants, compute no figures")
    ap.add_argument("--merge", action="store_true",
                    help="keep the rows already in benchmarks/out/sixray_dev.json (same split and budget) and "
                         "add or replace only these variants")
    ap.add_argument("--tag", default="", help="keep this run's models and JSON apart (e.g. a larger budget)")
    args = ap.parse_args()
    models, result = run_paths(args.tag)
    models.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(args.threads)
    if not Path(args.root, "JPEGImage").is_dir():
        log.error("no SIXray dev set at %s", args.root)
        return 1
    split = make_split(args.root)
    log.info("split: %s", split.describe())
    budget = TrainConfig(epochs=args.epochs, max_patches_per_scan=args.patches_per_scan, batch_size=64,
                         seed=args.seed)
    names = [n if args.seed == 0 else f"{n}-seed{args.seed}" for n in args.variants.split(",")]
    specs = {n: VARIANTS[v] for n, v in zip(names, args.variants.split(","), strict=True)}
    if args.train_only:
        for name in names:
            _, secs = train_variant(name, specs[name], split, budget, models)
            (models / f"{name}.train_s").write_text(f"{secs:.1f}\n")
        return 0
    from benchmarks.tip_sets import tip_sets

    tip_calib, tip_eval = tip_sets(split, OUT)
    results: dict[str, dict] = _previous(result, args, split) if args.merge else {}
    for name in ("size-cheat", "metal-rule"):
        if name in results:
            continue
        t0 = time.perf_counter()
        if name == "metal-rule":
            res = figures(lambda p: baselines.metal_rule(read_scan(p), GRID), split, tip_calib, tip_eval)
        else:
            res = size_figures(split, tip_calib, tip_eval)
        res["train_s"], res["total_s"] = 0.0, time.perf_counter() - t0
        results[name] = res
        log.info("%s: %s", name, json.dumps(res, default=float))
    for name in names:
        spec = specs[name]
        path = models / f"{name}.h5"
        stamp = path.with_suffix(".train_s")
        if args.reuse and path.is_file():
            train_s = float(stamp.read_text()) if stamp.is_file() else float("nan")
        else:
            path, train_s = train_variant(name, spec, split, budget, models)
            stamp.write_text(f"{train_s:.1f}\n")
        scorer = Scorer(load_model(path), device="auto")
        t0 = time.perf_counter()
        res = figures(scorer.score_scan, split, tip_calib, tip_eval, scorer.bundle)
        res["train_s"], res["total_s"] = train_s, time.perf_counter() - t0 + train_s
        results[name] = res
        log.info("%s: %s", name, json.dumps(res, default=float))
        write(result, results, args, split)
    write(result, results, args, split)
    print_table(results)
    return 0


def _previous(path: Path, args: argparse.Namespace, split: Split) -> dict[str, dict]:
    """Rows of an earlier run, only if it used this split and budget (else figures would not compare)."""
    if not path.is_file():
        return {}
    old = json.loads(path.read_text())
    same = (old.get("split") == split.describe() and old.get("budget", {}).get("epochs") == args.epochs
            and old.get("budget", {}).get("patches_per_scan") == args.patches_per_scan)
    if not same:
        log.warning("--merge: %s has another split or budget; starting afresh", path)
        return {}
    return dict(old.get("results", {}))


def size_figures(split: Split, tip_calib: list[ScanRecord], tip_eval: list[ScanRecord]) -> dict:
    """Image score = -area, patch scores meaningless (constant)."""
    def fn(p: str) -> ScanResult:
        s = read_scan(p)
        from engine.data.patches import extract_patches

        ps = extract_patches(s.pixels, GRID)
        v = baselines.size_cheat(s)
        return ScanResult(p, s.name, s.meta.width, s.meta.height, s.meta.sha256, ps.boxes,
                          np.full(len(ps.boxes), v, np.float32), v, 0.0)
    return figures(fn, split, tip_calib, tip_eval)


def write(path: Path, results: dict, args: argparse.Namespace, split: Split) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    payload = {"budget": {"epochs": args.epochs, "patches_per_scan": args.patches_per_scan, "grid": GRID.__dict__},
               "split": split.describe(), "results": results}
    path.write_text(json.dumps(payload, indent=2, default=float))


def print_table(results: dict) -> None:
    cols = [("a_patch_auc_within_threat", "a:in-threat"), ("b_patch_auc_vs_threat_free", "b:patchAUC"),
            ("c_hit_rate", "c:hit"), ("c_chance", "chance"), ("d_tip_image_auc", "d:TIP-AUC"),
            ("d_tip_recall", "TIP-rec"), ("d_tip_far", "TIP-FAR"), ("real_image_auc_confounded", "realAUC*"),
            ("patches_per_s", "patch/s"), ("train_s", "train s")]
    def cell(r: dict, k: str) -> str:
        v = r.get(k)
        return "-" if v is None else (f"{v:.0f}" if k in ("patches_per_s", "train_s") else f"{v:.3f}")

    print(md_table(["variant", *(c[1] for c in cols)],
                   [[name, *(cell(r, k) for k, _ in cols)] for name, r in results.items()]))
    print("\n* real-scan image AUC is confounded by scan size/background (size cheat shows how much).")
    for name, r in results.items():
        cats = ", ".join(f"{k} {v:.3f}" for k, v in r["real_recall_per_category"].items() if v is not None)
        print(f"{name}: real per-category recall at TIP-calibrated t={r['threshold']:.3f}: {cats}; "
              f"real FAR {r['real_far']:.3f}")


if __name__ == "__main__":
    sys.exit(main())
