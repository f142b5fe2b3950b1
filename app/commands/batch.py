"""``bagscan batch DATA [--model FILE] --out SESSION.h5``: score a folder into a resumable session file.

Running the same command again skips the scans already stored (by content hash) and
scores the rest, so an interrupted or killed batch is resumed by repeating it.
Without ``--model`` the bundled default model scores.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._util import resolve_model_path

if TYPE_CHECKING:
    from engine.batch import BatchFinished

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
    """Bars through the shared renderer (hashing, then scans with rate and ETA); the plan as a line."""
    from tqdm import tqdm

    from engine.batch import BatchFinished, BatchPlanned

    from ._progress import drive

    done: BatchFinished | None = None
    for ev in drive(events, quiet=quiet, unit={"batch": "scan", "hash": "file"}, leave={"batch"},
                    smoothing=0.1):
        if isinstance(ev, BatchPlanned):
            tqdm.write(f"{ev.total} scans: {ev.stored} already in {ev.session}, "
                       f"{ev.duplicates} duplicates, {ev.pending} to score", file=sys.stderr)
        elif isinstance(ev, BatchFinished):
            done = ev
    return done


def run(args: argparse.Namespace) -> int:
    from engine.batch import run_batch
    from engine.fsutil import check_writable
    from engine.modelfile import load_model

    check_writable(args.out)  # before the model loads and the scans are hashed
    bundle = load_model(resolve_model_path(args.model, "batch"))
    done = render(run_batch(args.data, bundle, args.out, device=args.device, durable=not args.no_fsync),
                  quiet=args.quiet)
    if done is None:
        return 1
    print(f"{done.scored} scored, {done.failed} failed in {done.seconds:.1f}s "
          f"({done.scans_per_s:.2f} scans/s) -> {Path(args.out)}")
    return 1 if done.failed and not done.scored and done.pending else 0
