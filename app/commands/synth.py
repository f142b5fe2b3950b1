"""``bagscan synth OUT --n N``: write synthetic dual-energy X-ray scans in SIXray's layout."""

from __future__ import annotations

import argparse
import sys
import time

from ._util import LazyHelpFormatter, category_list, lazy_help


def _size_help() -> str:
    from engine.synth import DEFAULT_SIZE  # numpy and OpenCV: only when this help is printed

    w, h = DEFAULT_SIZE
    return f"scan size in pixels (default {w}x{h}, SIXray's median threat-free scan)"


def _categories_help() -> str:
    from engine.data.types import CATEGORIES

    return f"threat categories, comma-separated (default: {','.join(CATEGORIES)})"


def _size(text: str) -> tuple[int, int]:
    from engine.synth import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="generate synthetic X-ray scans (SIXray layout, VOC boxes)",
                       formatter_class=LazyHelpFormatter)
    p.add_argument("out", help="output folder (new or empty)")
    p.add_argument("--n", type=int, required=True, help="number of scans")
    p.add_argument(
        "--threat-rate", type=float, default=0.5, help="fraction of scans with threats (default 0.5)"
    )
    p.add_argument("--seed", type=int, default=0, help="same seed, byte-identical output")
    lazy_help(p.add_argument("--size", type=_size, default=None, metavar="WxH", help="scan size"), _size_help)
    lazy_help(p.add_argument("--categories", type=category_list, default=None, metavar="LIST",
                             help="threat categories"), _categories_help)
    p.add_argument(
        "--max-threats", type=int, default=2, help="threats per threat scan, 1 to this (default 2)"
    )
    p.add_argument("--quality", type=int, default=90, help="JPEG quality (default 90)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.data.types import CATEGORIES
    from engine.synth import DEFAULT_SIZE, generate

    from ._progress import drive

    t0 = time.perf_counter()
    job = generate(
        args.out,
        args.n,
        threat_rate=args.threat_rate,
        seed=args.seed,
        size=args.size or DEFAULT_SIZE,
        categories=args.categories or list(CATEGORIES),
        max_threats=args.max_threats,
        quality=args.quality,
    )
    for _ in drive(job, quiet=args.quiet):
        pass
    dt = time.perf_counter() - t0
    w, h = args.size or DEFAULT_SIZE
    rate = args.n / dt if dt > 0 else float("inf")
    print(f"wrote {args.n} scans ({w}x{h}) to {args.out} in {dt:.1f} s: {rate:.2f} scans/s", file=sys.stdout)
    return 0
