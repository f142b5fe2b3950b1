"""PDF reports of a batch session through Qt's QPdfWriter: no browser, no extra dependency.

Page 1 summarises the session (counts, operating point, estimated and measured recall and
false-alarm rate, per-category recall); then one page per flagged scan: the overlay (heat
map and numbered region outlines, drawn by :mod:`engine.reporting.images`), the region
crops, and a table of regions with scores, ground truth and the officer's decision. The
file is written beside the target and renamed over it, so it is whole or absent.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import OutputError
from engine.fsutil import check_writable, output_error, publish, temp_beside
from engine.reporting.flagged import FlaggedScan
from engine.reporting.images import crop, load_rgb, overlay

log = logging.getLogger(__name__)

DPI = 150


def ensure_gui_app() -> Any:
    """QPdfWriter and QFont need a QGuiApplication; make an offscreen one when none runs."""
    headless = not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
    if headless and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    # A QApplication, not a bare QGuiApplication: a widget created later in the same process (the
    # window after a CLI export, or a test run) aborts Qt when the running app cannot host widgets.
    return QGuiApplication.instance() or QApplication(["bagscan-export"])


def _qimage(rgb: np.ndarray) -> Any:
    from PySide6.QtGui import QImage

    a = np.ascontiguousarray(rgb)
    h, w = a.shape[:2]
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()  # copy: own the pixels


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


class _Pages:
    """A QPainter on a QPdfWriter with a text cursor, in device pixels at :data:`DPI`."""

    def __init__(self, path: str) -> None:
        from PySide6.QtCore import QMarginsF
        from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter

        self.writer = QPdfWriter(path)
        self.writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        self.writer.setResolution(DPI)
        self.writer.setPageMargins(QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter)
        self.writer.setTitle("bagscan batch report")
        self.writer.setCreator("bagscan")
        self.painter = QPainter()
        if not self.painter.begin(self.writer):
            raise OutputError(path, "cannot write: Qt could not start the PDF")
        self.width = self.writer.width()
        self.height = self.writer.height()
        self.y = 0
        self.pages = 1

    def new_page(self) -> None:
        self.writer.newPage()
        self.pages += 1
        self.y = 0

    def text(self, line: str, size: float = 10, bold: bool = False, x: int = 0, mono: bool = False) -> None:
        """One paragraph, wrapped at the right margin (at spaces, or anywhere in a long path)."""
        from PySide6.QtCore import QRect, Qt
        from PySide6.QtGui import QFont

        font = QFont("Monospace" if mono else "Sans Serif", 1)
        font.setStyleHint(QFont.StyleHint.TypeWriter if mono else QFont.StyleHint.SansSerif)
        font.setPointSizeF(size)
        font.setBold(bold)
        self.painter.setFont(font)
        h = int(size * DPI / 72 * 1.5)
        area = QRect(x, self.y, self.width - x, max(h, self.height - self.y))
        flags = int(Qt.AlignmentFlag.AlignLeft) | int(Qt.TextFlag.TextWordWrap)
        box = self.painter.boundingRect(area, flags, line)
        if box.width() > area.width():  # a word wider than the page (a path): break it anywhere
            flags = int(Qt.AlignmentFlag.AlignLeft) | int(Qt.TextFlag.TextWrapAnywhere)
            box = self.painter.boundingRect(area, flags, line)
        single = self.painter.fontMetrics().height()
        self.painter.drawText(QRect(x, self.y, area.width(), max(h, box.height())), flags, line)
        self.y += h + max(0, box.height() - single)

    def image(self, rgb: np.ndarray, x: int, y: int, max_w: int, max_h: int) -> tuple[int, int]:
        from PySide6.QtCore import QRect

        h, w = rgb.shape[:2]
        k = min(max_w / w, max_h / h)
        dw, dh = max(1, int(w * k)), max(1, int(h * k))
        self.painter.drawImage(QRect(x, y, dw, dh), _qimage(rgb))
        return dw, dh

    def end(self) -> bool:
        return bool(self.painter.end())


def _summary_page(p: _Pages, s: dict[str, Any]) -> None:
    p.text("bagscan batch report", 18, bold=True)
    p.text(f"session {s['session']}", 8)
    p.text(f"model {s['model']}  (sha256 {s['model_sha256'][:16]}...)  bagscan {s['bagscan_version']}  "
           f"created {s['created']}", 8)
    p.y += 20
    lines = [
        f"scans: {s['n_scans']}  (scored {s['n_ok']}, failed {s['n_failed']}, "
        f"no content {s['n_no_content']})",
        f"flagged scans: {s['n_flagged']}   regions: {s['n_regions']}",
        f"threshold: {s['threshold']:.4f}  ({s['threshold_source']})",
        f"estimated recall: {_fmt(s['estimated_recall'])}   "
        f"estimated false-alarm rate: {_fmt(s['estimated_far'])}   (from the model's calibration)",
        f"ground truth in this session: {s['n_threat']} threat, {s['n_normal']} threat-free, "
        f"{s['n_unknown']} unknown",
        f"measured recall: {_fmt(s['measured_recall'])}   "
        f"measured false-alarm rate: {_fmt(s['measured_far'])}",
        "officer decisions: " + (", ".join(f"{k} {v}" for k, v in s["decisions"].items()) or "none"),
        f"scoring time: {s['scan_seconds']:.1f} s over {s['n_scans']} scans",
    ]
    for line in lines:
        p.text(line, 10)
    if s["per_category"]:
        p.y += 20
        p.text("per-category recall (threat scans with that category)", 11, bold=True)
        for name, c in s["per_category"].items():
            p.text(f"{name:<10}  {c['detected']:>4} of {c['n']:<4} detected   recall {_fmt(c['recall'])}", 10,
                   mono=True)
    if s.get("calibration"):
        p.y += 20
        p.text("calibration: " + s["calibration"], 8)


def _scan_page(p: _Pages, f: FlaggedScan, threshold: float) -> None:
    s = f.scan
    p.text(f"{s.name}   score {s.score:.3f}   {len(f.regions)} region(s)", 14, bold=True)
    truth = s.label + (f" ({', '.join(s.categories)})" if s.categories else "")
    decision = f"{f.decision.decision} by {f.decision.operator}" if f.decision else "no decision"
    p.text(f"{s.path}", 7)
    p.text(f"ground truth: {truth}    officer: {decision}    sha256 {s.sha256[:16]}...", 9)
    rgb = load_rgb(s)
    if rgb is None:
        p.text("scan file not available (moved or changed since the batch): no picture", 10, bold=True)
    else:
        _, dh = p.image(overlay(rgb, s, f.regions, threshold), 0, p.y, p.width, int(p.height * 0.5))
        p.y += dh + 20
        cell = p.width // 6
        tallest = 0
        for k, r in enumerate(f.regions[:6]):
            _, ch = p.image(crop(rgb, r.box), k * cell + 4, p.y, cell - 8, cell - 8)
            tallest = max(tallest, ch)
        p.y += tallest + 10
    head = f"{'#':>3}  {'box (x0, y0, x1, y1)':<26}{'max':>8}{'mean':>8}{'patches':>9}   ground truth"
    p.text(head, 9, bold=True, mono=True)
    for k, (r, cat) in enumerate(zip(f.regions, f.gt_categories, strict=True), start=1):
        if p.y > p.height - 60:
            p.text(f"... {len(f.regions) - k + 1} more regions in the CSV/JSON export", 9)
            break
        box = ", ".join(str(v) for v in r.box)
        p.text(f"{k:>3}  {box:<26}{r.max_score:>8.3f}{r.mean_score:>8.3f}{r.n_patches:>9}   {cat or '-'}", 9,
               mono=True)


def write_pdf(path: str | Path, summary: dict[str, Any], flagged: Iterable[FlaggedScan]) -> int:
    """Write the report; returns its page count (1 + flagged scans).

    Published only when Qt says it finished, the file ends with the PDF trailer and fsync
    succeeded: a full disk gives an OutputError and leaves no file, never a cut-off one.
    """
    ensure_gui_app()
    out = Path(path)
    check_writable(out)
    tmp = temp_beside(out)  # also removes the temporaries of killed exports
    pages = None
    try:
        p = _Pages(tmp)
        finished = False
        try:
            _summary_page(p, summary)
            for f in flagged:
                p.new_page()
                _scan_page(p, f, summary["threshold"])
        finally:
            finished = p.end()
            pages = p.pages
        _verify(out, tmp, finished)
        publish(tmp, out)
    except OSError as exc:
        raise output_error(out, exc) from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    log.info("wrote %s (%d pages)", out, pages)
    return pages


def _verify(out: Path, tmp: str, finished: bool) -> None:
    """The PDF is complete on disk: Qt finished, the trailer is there, fsync went through."""
    if not finished:
        raise OutputError(out, "cannot write: Qt could not finish the PDF (disk full?)")
    with open(tmp, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        fh.seek(max(0, size - 1024))
        if size == 0 or b"%%EOF" not in fh.read():
            raise OutputError(out, f"cannot write: the PDF was cut short at {size} bytes (disk full?)")
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
