"""``bagscan calibrate DATA --model FILE``: set the threshold from a target recall on labelled threats."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ._util import resolve_model_path

if TYPE_CHECKING:
    from engine.evaluation import Scored
    from engine.scoring import Scorer


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="pick the threshold reaching a target recall on DATA's threat scans")
    p.add_argument("data", help="labelled scans: SIXray threats, or TIP scans made by `bagscan tip`")
    p.add_argument("--model", default=None, help="model file (default: the bundled model)")
    p.add_argument("--target-recall", type=float, default=0.9)
    p.add_argument("--source", choices=("labelled", "tip"), default="labelled",
                   help="what the threat scans are (recorded in the calibration)")
    p.add_argument("--tune-mix", action=argparse.BooleanOptionalAction, default=None,
                   help="first choose the threat head's weight (gamma) on DATA's threat boxes; needs threat-free "
                        "scans in DATA too. Default: on for models whose score has a threat term (dsa trained "
                        "with --tip) when DATA has threat-free scans; threat-map has nothing to tune")
    p.add_argument("--out", default=None, help="write the calibrated model here (default: update --model)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.data import load_dataset
    from engine.data.types import NORMAL, THREAT
    from engine.errors import CalibrationError
    from engine.modelfile import load_model, save_model
    from engine.recalibration import recalibrate
    from engine.scoring import Scorer

    model_path = resolve_model_path(args.model, "calibrate")
    bundle = load_model(model_path)
    ds = load_dataset(args.data)
    records = [r for r in ds.records if r.label in (THREAT, NORMAL)]
    scored = score_with_progress(Scorer(bundle, args.device), records, args.quiet)
    tune = args.tune_mix
    if tune is None:  # what the recipe needs, without a flag
        tune = bundle.scores_threat and any(s.record.label == NORMAL for s in scored)
    try:
        done = recalibrate(bundle, scored, args.target_recall, args.source, tune_mix=tune)
    except CalibrationError as exc:
        raise CalibrationError(f"{args.data}: {exc}") from exc
    if done.mix is not None:
        print(done.mix.describe())
    cal = done.bundle.calibration
    assert cal is not None  # recalibrate always sets one
    out = args.out or model_path
    save_model(done.bundle, out)
    print(f"calibrated on {cal.n_threat} threat and {cal.n_normal} threat-free scans ({args.source})")
    print(f"  target recall {args.target_recall:.3f} -> threshold {cal.threshold:.4f}")
    print(f"  achieved recall {cal.achieved_recall:.3f}, estimated false-alarm rate {cal.false_alarm_rate:.3f}")
    print(f"wrote {out}")
    return 0


def score_with_progress(scorer: Scorer, records: list, quiet: bool) -> list[Scored]:
    """Score records with a progress bar; failures are shown and left out."""
    from engine.evaluation import Scored
    from engine.events import ScanScored

    from ._progress import drive

    by_path = {r.path: r for r in records}
    return [Scored(by_path[ev.path], ev.result)
            for ev in drive(scorer.score_paths([r.path for r in records]), quiet=quiet)
            if isinstance(ev, ScanScored)]
