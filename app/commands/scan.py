"""``bagscan scan PATH... [--model FILE] [--json OUT]``: score scans, one line each."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._util import resolve_model_path, write_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scan", help="score scans with a model")
    p.add_argument("paths", nargs="+", help="scan files or folders")
    p.add_argument("--model", default=None, help="model file (default: the bundled model)")
    p.add_argument("--json", default=None, help="write results as JSON to this file ('-' for stdout)")
    p.add_argument("--threshold", type=float, default=None, help="override the model's calibrated threshold")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=run)


def expand(paths: list[str]) -> list[str]:
    """Folders expand to their scans (bad ones included, so they get error entries)."""
    from engine.data import load_dataset

    out: list[str] = []
    for p in paths:
        if Path(p).is_dir():
            ds = load_dataset(p)
            out += [r.path for r in ds.records] + [b.path for b in ds.bad_files if Path(b.path).suffix != ".xml"]
        else:
            out.append(p)
    return out


def run(args: argparse.Namespace) -> int:
    from engine.events import ScanFailed, ScanScored
    from engine.modelfile import load_model
    from engine.scoring import Scorer, result_to_json

    from ._progress import drive

    model_path = resolve_model_path(args.model, "scan")
    scorer = Scorer(load_model(model_path), device=args.device)
    threshold = args.threshold if args.threshold is not None else scorer.threshold
    entries: list[dict] = []
    failures = 0
    for ev in drive(scorer.score_paths(expand(args.paths)), quiet=True):
        if isinstance(ev, ScanScored):
            r = ev.result
            entries.append(result_to_json(r, threshold))
            print(f"{r.name:<24} score {r.score:8.3f}  flagged {r.n_flagged(threshold):3d}/{len(r.scores):<3d} "
                  f"{r.seconds * 1000:7.0f} ms")
        elif isinstance(ev, ScanFailed):
            failures += 1
            entries.append({"path": ev.path, "error": ev.reason})
            print(f"{Path(ev.path).name:<24} ERROR {ev.reason}")
    if args.json:
        write_json({"model": scorer.bundle.name, "scans": entries}, args.json)
    return 1 if failures and failures == len(entries) else 0
