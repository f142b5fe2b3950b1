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


def expand(paths: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Folders expand to their scans (bad ones included, so they get error entries); a folder that
    holds no scans (one named ``x.jpg``, say) is an error entry too, never the end of the run."""
    from engine.data import IMAGE_SUFFIXES, load_dataset
    from engine.errors import DatasetError

    out: list[str] = []
    failed: list[tuple[str, str]] = []
    for p in paths:
        if Path(p).is_dir():
            try:
                ds = load_dataset(p)
            except DatasetError as exc:
                failed.append((p, str(exc).removeprefix(f"{p}: ")))
                continue
            out += [r.path for r in ds.records]
            for b in ds.bad_files:  # bad images are scored (an error entry each); unreadable folders listed
                if Path(b.path).suffix.lower() in IMAGE_SUFFIXES:
                    out.append(b.path)
                elif Path(b.path).suffix.lower() not in (".xml", ".csv"):
                    failed.append((b.path, b.reason))
        else:
            out.append(p)
    return out, failed


def run(args: argparse.Namespace) -> int:
    from engine.events import ScanFailed, ScanScored
    from engine.fsutil import check_writable
    from engine.modelfile import load_model
    from engine.scoring import Scorer, result_to_json

    from ._progress import drive

    if args.json not in (None, "-"):
        check_writable(args.json)  # before scoring everything, not after
    model_path = resolve_model_path(args.model, "scan")
    scorer = Scorer(load_model(model_path), device=args.device)
    threshold = args.threshold if args.threshold is not None else scorer.threshold
    entries: list[dict] = []
    failures = 0
    paths, bad_folders = expand(args.paths)
    for path, reason in bad_folders:
        failures += 1
        entries.append({"path": path, "error": reason})
        print(f"{path:<24} ERROR {reason}")
    for ev in drive(scorer.score_paths(paths), quiet=True):
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
