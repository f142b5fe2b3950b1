"""``bagscan export SESSION.h5``: flagged regions of a batch session as PDF, CSV, JSON, COCO, VOC or crops.

The threshold is the model's calibrated one unless ``--threshold`` or ``--target-recall``
says otherwise. Every file is written atomically and every folder appears whole, so a
failure never leaves half a report. Only ``--pdf`` imports Qt. :func:`iter_export` is the
one implementation: the command line drains it, the window's export dialog runs it in a
worker thread and shows its progress.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.events import CancelToken, Progress, check
from engine.fsutil import check_writable
from engine.reporting.coco import write_coco
from engine.reporting.flagged import ANOMALY, flagged_scans, report_summary, resolve_threshold
from engine.reporting.images import write_crops
from engine.reporting.tables import region_rows, write_csv, write_json
from engine.reporting.voc import write_voc_dir
from engine.storage import SessionStore

log = logging.getLogger("bagscan")

FOLDERS = frozenset({"voc", "crops"})


@dataclass(frozen=True)
class ExportRequest:
    """What to write and at which operating point (a threshold or a target recall, not both)."""

    threshold: float | None = None
    target_recall: float | None = None
    pdf: str | None = None
    csv: str | None = None
    json: str | None = None
    voc: str | None = None
    voc_images: bool = True
    crops: str | None = None
    crop_margin: int = 0
    coco: str | None = None
    class_name: str = ANOMALY  # the class of exported regions (VOC, COCO), or "truth" for the GT category

    @property
    def outputs(self) -> list[str]:
        return [k for k in ("csv", "json", "coco", "voc", "crops", "pdf") if getattr(self, k)]

    def check_writable(self) -> None:
        """Every destination can be written: checked before any work, so a bad one fails at once."""
        for k in self.outputs:
            check_writable(getattr(self, k), folder=k in FOLDERS)


@dataclass(frozen=True)
class ExportResult:
    threshold: float
    how: str  # how the threshold was chosen
    summary: dict[str, Any]
    written: list[str] = field(default_factory=list)  # "path (what)" per output


def iter_export(store: SessionStore, req: ExportRequest, cancel: CancelToken | None = None
                ) -> Iterator[Progress | ExportResult]:
    """Write every requested output; yields Progress("export") before each, then the ExportResult.

    ``store`` may be open for writing by a running batch: each pass reads a snapshot per block.
    """
    req.check_writable()
    threshold, how = resolve_threshold(store.calibration, req.threshold, req.target_recall)
    decisions = store.get_decisions()
    summary = report_summary(store, threshold, how)

    def flagged():  # a fresh pass per output: memory stays flat
        return flagged_scans(store, threshold, decisions)

    def pdf(path: str) -> str:
        from app.pdf import write_pdf  # Qt only here

        return f"{path} ({write_pdf(path, summary, flagged())} pages)"

    writers: dict[str, Callable[[str], str]] = {
        "csv": lambda path: f"{path} ({write_csv(path, region_rows(flagged()))} regions)",
        "json": lambda path: f"{path} ({write_json(path, region_rows(flagged()), summary)} regions)",
        "coco": lambda path: f"{path} ({write_coco(path, flagged(), req.class_name, summary)} regions)",
        "voc": lambda path: f"{Path(path)}/ ({write_voc_dir(path, flagged(), req.voc_images, req.class_name)} "
                            "annotated scans)",
        "crops": lambda path: f"{Path(path)}/ ({write_crops(path, flagged(), margin=req.crop_margin)} crops)",
        "pdf": pdf,
    }
    written: list[str] = []
    todo = req.outputs
    for k, what in enumerate(todo):
        check(cancel)
        yield Progress("export", k, len(todo), what)
        written.append(writers[what](getattr(req, what)))
    yield Progress("export", len(todo), len(todo), "")
    yield ExportResult(threshold, how, summary, written)


def export_session(store: SessionStore, req: ExportRequest, cancel: CancelToken | None = None) -> ExportResult:
    """:func:`iter_export` without the progress."""
    out = [ev for ev in iter_export(store, req, cancel) if isinstance(ev, ExportResult)]
    return out[-1]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", description=__doc__,
                       help="export flagged regions of a batch session (PDF, CSV, JSON, COCO, VOC, crops)")
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
    p.add_argument("--coco", default=None, help="COCO detection JSON (images, annotations, categories)")
    p.add_argument("--class-name", default=ANOMALY,
                   help="class of the exported regions in VOC and COCO (default Anomaly); 'truth' maps each "
                        "region to the ground-truth category it overlaps")
    p.add_argument("--crops", default=None, help="folder for PNG crops of each region")
    p.add_argument("--crop-margin", type=int, default=0, help="pixels of context around each crop")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    req = ExportRequest(threshold=args.threshold, target_recall=args.target_recall, pdf=args.pdf, csv=args.csv,
                        json=args.json, voc=args.voc, voc_images=not args.no_voc_images, crops=args.crops,
                        crop_margin=args.crop_margin, coco=args.coco, class_name=args.class_name)
    with SessionStore.open(args.session, "r") as store:
        result = export_session(store, req)
    s = result.summary
    if s.get("n_bad_score"):
        log.warning("%s: %d scans have a score that is not finite (a broken model?): counted as failed, not "
                    "as clear", args.session, s["n_bad_score"])
    print(f"{s['n_scans']} scans ({s['n_failed']} failed): {s['n_flagged']} flagged, "
          f"{s['n_regions']} regions at threshold {result.threshold:.4f} ({result.how})")
    for w in result.written:
        print(f"wrote {w}")
    if not result.written:
        print("nothing exported: add --pdf, --csv, --json, --coco, --voc or --crops")
    return 0
