"""``bagscan info DATA``: what a dataset holds, and which files are bad."""

from __future__ import annotations

import argparse

from ._util import write_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="summarise a dataset (SIXray root, folder or image)")
    p.add_argument("data", help="a SIXray root, a folder of images (optionally normal/ threat/), or one image")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.data import load_dataset

    ds = load_dataset(args.data)
    s = ds.summary()
    if args.json:
        write_json(s, None)
        return 0
    print(f"{ds.root}  ({ds.layout} layout)")
    print(f"  scans   {s['n_scans']:>6}   threat {s['n_threat']}, normal {s['n_normal']}, unknown {s['n_unknown']}")
    print(f"  boxes   {s['n_boxes']:>6}")
    for cat, n in s["categories"].items():
        print(f"  {cat:<9} {n:>5} scans")
    if s["bad_files"]:
        print(f"  bad files: {len(s['bad_files'])}")
        for b in s["bad_files"]:
            print(f"    {b['path']}: {b['reason']}")
    print(training_hint(s))
    return 0


def training_hint(s: dict) -> str:
    """What `bagscan train` will make of this folder, so nobody trains without knowing about the library."""
    if s["n_boxes"]:
        return (f"  training: `bagscan train` learns from the {s['n_normal']} threat-free scans; the "
                f"{s['n_boxes']} boxed threats can serve as its --tip-library (then never evaluate on them)")
    return (f"  training: `bagscan train` learns from the {s['n_normal']} threat-free scans with projected "
            "synthetic threats; add --tip-library DIR (labelled threat scans with boxes) for real threats")
