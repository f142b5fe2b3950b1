"""``bagscan export SESSION.h5``: flagged regions of a batch session as PDF, CSV, JSON, VOC or crops.

The threshold is the model's calibrated one unless ``--threshold`` or ``--target-recall``
says otherwise. Every file is written atomically and every folder appears whole, so a
failure never leaves half a report. Only ``--pdf`` imports Qt.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from engine.reporting.flagged import flagged_scans, report_summary, resolve_threshold
from engine.reporting.images import write_crops
from engine.reporting.tables import region_rows, write_csv, write_json
from engine.reporting.voc import write_voc_dir
from engine.storage import SessionStore

log = logging.getLogger("bagscan")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", description=__doc__,
                       help="export flagged regions of a batch session (PDF, CSV, JSON, VOC, crops)")
    p.add_argument("session", help="session file written by `bagscan batch`")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--threshold", type=float, default=None, help="flag patches scoring at or above this")
    g.add_argument("--target-recall", type=float, default=None,
                   help="the threshold reaching this recall on the model's threat calibration")
    p.add_argument("--pdf", default=None, help="PDF report: a summary page and one page per flagged scan")
    p.add_argument("--csv", default=None, help="CSV, one row per region")
    p.add_argument("--json", default=None, help="JSON: the summary and one object per region")
    p.add_argument("--voc", default=None,
                   help="folder for Pascal VOC (Annotations/, JPEGImages/, ImageSets/)")
    p.add_argument("--no-voc-images", action="store_true", help="VOC XML only, without the scans beside")
    p.add_argument("--crops", default=None, help="folder for PNG crops of each region")
    p.add_argument("--crop-margin", type=int, default=0, help="pixels of context around each crop")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with SessionStore.open(args.session, "r") as store:
        threshold, how = resolve_threshold(store.calibration, args.threshold, args.target_recall)
        decisions = store.get_decisions()
        summary = report_summary(store, threshold, how)
        print(f"{summary['n_scans']} scans ({summary['n_failed']} failed): {summary['n_flagged']} flagged, "
              f"{summary['n_regions']} regions at threshold {threshold:.4f} ({how})")

        def flagged():  # a fresh pass per output: memory stays flat
            return flagged_scans(store, threshold, decisions)

        written: list[str] = []
        if args.csv:
            n = write_csv(args.csv, region_rows(flagged()))
            written.append(f"{args.csv} ({n} regions)")
        if args.json:
            n = write_json(args.json, region_rows(flagged()), summary)
            written.append(f"{args.json} ({n} regions)")
        if args.voc:
            n = write_voc_dir(args.voc, flagged(), images=not args.no_voc_images)
            written.append(f"{Path(args.voc)}/ ({n} annotated scans)")
        if args.crops:
            n = write_crops(args.crops, flagged(), margin=args.crop_margin)
            written.append(f"{Path(args.crops)}/ ({n} crops)")
        if args.pdf:
            from app.pdf import write_pdf  # Qt only here

            n = write_pdf(args.pdf, summary, flagged())
            written.append(f"{args.pdf} ({n} pages)")
    for w in written:
        print(f"wrote {w}")
    if not written:
        print("nothing exported: add --pdf, --csv, --json, --voc or --crops")
    return 0
