"""``bagscan tip SCANS OUT``: project threats into threat-free scans (threat image projection)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ._util import LazyHelpFormatter, category_list, lazy_help


def _categories_help() -> str:
    from engine.data.types import CATEGORIES  # numpy and OpenCV: only when this help is printed

    return f"threat categories (default: all the source has; known: {' '.join(CATEGORIES)})"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tip", help="project threats into threat-free scans; writes SIXray layout with boxes",
                       formatter_class=LazyHelpFormatter)
    p.add_argument("scans", help="SIXray root or folder; its threat-free scans are the hosts")
    p.add_argument("out", help="output folder (new or empty); out/tip.json maps each scan to its host")
    lazy_help(p.add_argument("--categories", nargs="+", default=None, metavar="CAT", help="threat categories"),
              _categories_help)
    p.add_argument("--per-scan", type=int, default=1, help="threats projected into each scan (default 1)")
    p.add_argument("--seed", type=int, default=0, help="same seed, byte-identical output")
    p.add_argument(
        "--source",
        default="synthetic",
        help="'synthetic' (shape models) or a SIXray-layout DIR with VOC boxes to cut threats from",
    )
    p.add_argument(
        "--max-per-category", type=int, default=20, help="threats per category in the library (default 20)"
    )
    p.add_argument("--limit", type=int, default=None, help="use at most this many host scans")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality (default 90)")
    p.add_argument("--depth", type=float, nargs=2, default=(1.0, 1.0), metavar=("LO", "HI"),
                   help="transmission exponent range (default 1 1); below 1 projects fainter threats, e.g. "
                        "--depth 0.5 1 makes calibration threats as hard as real ones (README, calibration)")
    p.add_argument("--fade", type=float, default=0.0, metavar="F",
                   help="hide parts of each threat: its visibility varies smoothly down to 1 - F (0 <= F < 1; "
                        "default 0), as a threat half hidden in clutter is")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from engine.data.types import CATEGORIES
    from engine.events import Progress
    from engine.synth import ThreatLibrary, tip_dataset

    from ._progress import drive

    cats = [c for arg in args.categories for c in category_list(arg)] if args.categories else None
    if args.source == "synthetic":
        library = ThreatLibrary.synthetic(
            np.random.default_rng([args.seed, 1 << 20]), args.max_per_category, cats or CATEGORIES
        )
    else:
        library = ThreatLibrary.from_dataset(args.source, args.max_per_category, cats, seed=args.seed)
    counts = ", ".join(f"{c} {n}" for c, n in library.counts().items())
    print(f"threat library ({args.source}): {counts}")
    t0 = time.perf_counter()
    done = [0]

    def tap(events: Iterable[Any]) -> Iterator[Any]:
        """Count written scans from the job's progress before the terminal renderer consumes it."""
        for ev in events:
            if isinstance(ev, Progress):
                done[0] = ev.done
            yield ev

    job = tip_dataset(
        args.scans,
        args.out,
        library,
        per_scan=args.per_scan,
        seed=args.seed,
        categories=cats,
        limit=args.limit,
        quality=args.quality,
        depth=_depth(args.depth),
        fade=args.fade,
    )
    for _ in drive(tap(job), quiet=args.quiet):
        pass
    labels = Path(args.out) / "ImageSet" / "all.csv"  # what was written, not counting skipped hosts
    n = max(len(labels.read_text().splitlines()) - 1, 0) if labels.is_file() else done[0]
    dt = time.perf_counter() - t0
    print(f"wrote {n} scans to {args.out} in {dt:.1f} s ({n / dt if dt > 0 else 0:.2f} scans/s)")
    return 0


def _depth(values: list[float]) -> tuple[float, float]:
    from engine.errors import ConfigError

    lo, hi = (float(v) for v in values)
    if not 0 < lo <= hi:
        raise ConfigError(f"--depth needs 0 < LO <= HI, not {lo:g} {hi:g}")
    return lo, hi
