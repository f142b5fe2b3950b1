"""``bagscan batch DATA --model FILE --out SESSION.h5``: score a folder into a resumable session file.

Running the same command again skips the scans already stored (by content hash) and
scores the rest, so an interrupted or killed batch is resumed by repeating it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from engine.batch import BatchFinished, BatchPlanned, run_batch
from engine.events import Progress, ScanFailed, Warn
from engine.modelfile import load_model

from .scan import default_model_path

log = logging.getLogger("bagscan")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="score every scan of a folder into a resumable HDF5 session file",
                       description=__doc__)
    p.add_argument("data", help="a folder of scans or a SIXray root")
    p.add_argument("--model", default=None, help="model file (default: the bundled model)")
    p.add_argument("--out", required=True, help="session file (.h5); an existing one is resumed")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-fsync", action="store_true",
                   help="skip fsync per scan (faster; a kill still loses nothing, a power cut may)")
    p.set_defaults(func=run)


def render(events: Iterable[Any], quiet: bool = False) -> BatchFinished | None:
    """tqdm bars (hashing, then scans/s and ETA); errors and the plan as lines."""
    bars: dict[str, tqdm] = {}
    done: BatchFinished | None = None
    try:
        for ev in events:
            if isinstance(ev, Progress):
                if quiet:
                    continue
                bar = bars.get(ev.job)
                if bar is None:
                    unit = "scan" if ev.job == "batch" else "file"
                    bar = bars[ev.job] = tqdm(total=ev.total, desc=ev.job, unit=unit, file=sys.stderr,
                                              leave=ev.job == "batch", dynamic_ncols=True, smoothing=0.1)
                bar.update(ev.done - bar.n)
                if ev.message:
                    bar.set_postfix_str(ev.message, refresh=False)
            elif isinstance(ev, BatchPlanned):
                if "hash" in bars:
                    bars.pop("hash").close()
                tqdm.write(f"{ev.total} scans: {ev.stored} already in {ev.session}, "
                           f"{ev.duplicates} duplicates, {ev.pending} to score", file=sys.stderr)
            elif isinstance(ev, ScanFailed):
                tqdm.write(f"error: {ev.path}: {ev.reason}", file=sys.stderr)
            elif isinstance(ev, Warn):
                log.warning("%s", ev.message)
            elif isinstance(ev, BatchFinished):
                done = ev
    finally:
        for bar in bars.values():
            bar.close()
    return done


def run(args: argparse.Namespace) -> int:
    model_path = args.model or default_model_path()
    if model_path is None:
        raise SystemExit("bagscan batch: no --model given and no default model is installed")
    bundle = load_model(model_path)
    done = render(run_batch(args.data, bundle, args.out, device=args.device, durable=not args.no_fsync),
                  quiet=args.quiet)
    if done is None:
        return 1
    print(f"{done.scored} scored, {done.failed} failed in {done.seconds:.1f}s "
          f"({done.scans_per_s:.2f} scans/s) -> {Path(args.out)}")
    return 1 if done.failed and not done.scored and done.pending else 0
