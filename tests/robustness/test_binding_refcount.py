"""The binding must not leak references to None (PySide6 6.12.0 on Python 3.11 does).

That binding drops one reference to ``None`` per void QPainter call: a scan-view repaint
costs about six, so the window dies after ~11,000 repaints (``none_dealloc``). Python 3.12
makes None immortal, so there the count does not move at all. Both checks run 300 paints
and allow less than 0.2 lost per paint: the leak costs 5.9 per repaint and about 40 per
PDF page; an unaffected binding stays within a few references (noise from allocations).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.robustness.paint_load import flagged_pages, repaint, scan_view, summary

N = 300


def _lost(before: int) -> int:
    return before - sys.getrefcount(None)


def test_scan_view_repaints_keep_none_refcount_flat(qtbot) -> None:
    view = scan_view(qtbot)
    repaint(view, 20)  # warm caches (fonts, pixmaps) before measuring
    before = sys.getrefcount(None)
    repaint(view, N)
    lost = _lost(before)
    print(f"None references lost over {N} repaints: {lost}")
    assert lost < 0.2 * N, f"{lost} references to None lost over {N} repaints: a leaking Qt binding"


def test_pdf_pages_keep_none_refcount_flat(tmp_path: Path) -> None:
    from app.pdf import write_pdf

    pages = flagged_pages(tmp_path, N)
    write_pdf(tmp_path / "warm.pdf", summary(5), pages[:5])
    before = sys.getrefcount(None)
    assert write_pdf(tmp_path / "r.pdf", summary(N), pages) == N + 1
    lost = _lost(before)
    print(f"None references lost over {N} PDF pages: {lost}")
    assert lost < 0.2 * N, f"{lost} references to None lost over {N} PDF pages: a leaking Qt binding"
