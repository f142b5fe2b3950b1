"""``bagscan synth OUT --n N``: write synthetic dual-energy X-ray scans in SIXray's layout."""

from __future__ import annotations

import argparse
import sys
import time

from engine.data.types import CATEGORIES
from engine.synth import DEFAULT_SIZE, generate, parse_size

from ._progress import drive


def _size(text: str) -> tuple[int, int]:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _categories(text: str) -> list[str]:
    return [c for c in text.replace(",", " ").split() if c]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="generate synthetic X-ray scans (SIXray layout, VOC boxes)")
    p.add_argument("out", help="output folder (new or empty)")
    p.add_argument("--n", type=int, required=True, help="number of scans")
    p.add_argument(
        "--threat-rate", type=float, default=0.5, help="fraction of scans with threats (default 0.5)"
    )
    p.add_argument("--seed", type=int, default=0, help="same seed, byte-identical output")
    w, h = DEFAULT_SIZE
    p.add_argument(
        "--size",
        type=_size,
        default=DEFAULT_SIZE,
        metavar="WxH",
        help=f"scan size in pixels (default {w}x{h}, SIXray's median threat-free scan)",
    )
    p.add_argument(
        "--categories",
        type=_categories,
        default=list(CATEGORIES),
        metavar="LIST",
        help=f"threat categories, comma-separated (default: {','.join(CATEGORIES)})",
    )
    p.add_argument(
        "--max-threats", type=int, default=2, help="threats per threat scan, 1 to this (default 2)"
    )
    p.add_argument("--quality", type=int, default=90, help="JPEG quality (default 90)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    job = generate(
        args.out,
        args.n,
        threat_rate=args.threat_rate,
        seed=args.seed,
        size=args.size,
        categories=args.categories,
        max_threats=args.max_threats,
        quality=args.quality,
    )
    for _ in drive(job, quiet=args.quiet):
        pass
    dt = time.perf_counter() - t0
    w, h = args.size
    rate = args.n / dt if dt > 0 else float("inf")
    print(f"wrote {args.n} scans ({w}x{h}) to {args.out} in {dt:.1f} s: {rate:.2f} scans/s", file=sys.stdout)
    return 0
