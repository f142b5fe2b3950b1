"""``bagscan gui [PATH...] [--model FILE]``: open the screening window (Qt is imported only here)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from ..__main__ import add_arguments

    p = sub.add_parser("gui", help="open the screening window on scans, a folder or a SIXray root")
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..__main__ import run as run_gui

    return run_gui(args.paths, args.model, args.device)
