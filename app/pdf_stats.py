"""The officer statistics as a PDF: the table of the Statistics dialog and the TIP hit-rate plot.

Drawn with :mod:`app.pdf`'s page helper into memory, then written atomically: a
supervisor's report is whole or absent. The plot is the engine's matplotlib figure
(the same one ``hit_rate_figure`` gives), so the PDF does not depend on a window.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

from engine.errors import OutputError
from engine.fsutil import atomic_write_bytes, check_writable
from engine.reporting.officer_stats import StatsTable, hit_rate_figure, text_lines

from .pdf import _Pages, ensure_gui_app

log = logging.getLogger(__name__)


def _plot_rgb(table: StatsTable) -> np.ndarray:
    buf = io.BytesIO()
    hit_rate_figure(table).savefig(buf, format="png", dpi=150)
    bgr = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def write_stats_pdf(path: str | Path, table: StatsTable, sources: Sequence[str]) -> int:
    """Write the statistics report; returns its page count."""
    ensure_gui_app()
    from PySide6.QtCore import QBuffer, QIODevice

    check_writable(path)
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    p = _Pages(buf)
    p.writer.setTitle("bagscan officer statistics")
    finished = False
    try:
        p.text("bagscan officer statistics", 18, bold=True)
        made = datetime.now(timezone.utc).isoformat(timespec="seconds")
        p.text(f"per {table.period}; computed {made} from the audit log alone:", 9)
        for s in sources:
            p.text(f"  {s}", 8)
        if table.skipped:
            p.text(f"{table.skipped} records without a time, an operator or a decision were left out", 8)
        p.y += 15
        for k, line in enumerate(text_lines(table)):
            if p.y > p.height - 60:
                p.new_page()
            p.text(line, 7.5, bold=k == 0, mono=True)
        rgb = _plot_rgb(table)
        if p.y + p.width * rgb.shape[0] // rgb.shape[1] > p.height:
            p.new_page()
        p.y += 20
        p.image(rgb, 0, p.y, p.width, p.height - p.y)
    finally:
        finished = p.end()
        buf.close()
    data = bytes(buf.data())
    if not finished or b"%%EOF" not in data[-1024:]:
        raise OutputError(path, "cannot write: Qt could not finish the PDF")
    atomic_write_bytes(path, data)  # whole or absent; an OSError becomes a one-line OutputError
    log.info("wrote %s (%d pages)", path, p.pages)
    return p.pages
