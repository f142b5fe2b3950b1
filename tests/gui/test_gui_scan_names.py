"""Scan names that differ only at their ends (demo-N0000001, demo-N0000002) stay distinguishable
in the scan list: the column fits them, a narrower one elides in the middle, the tooltip has it all."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView

from app.controllers.items import ScanItem
from app.views.scan_list import NAME, NAME_SAMPLE, ScanListView
from app.views.theme import STYLE
from engine.data.types import NORMAL, ScanRecord

NAMES = [f"demo-N000000{i}" for i in range(1, 6)]


def demo_items() -> list[ScanItem]:
    return [ScanItem(ScanRecord(f"/demo/normal/{n}.jpg", n, NORMAL)) for n in NAMES]


def painted_names(view: ScanListView, rows: tuple[int, int]) -> list:
    """The name cells of two rows as painted (rows of the same parity: same alternate background)."""
    t = view.table
    t.viewport().repaint()
    img = t.viewport().grab().toImage()
    return [img.copy(t.visualRect(view.proxy.index(r, NAME))) for r in rows]


@pytest.fixture
def scan_list(qtbot) -> ScanListView:
    view = ScanListView()
    view.setStyleSheet(STYLE)  # the styled table, as the app shows it
    qtbot.addWidget(view)
    view.set_items(demo_items())
    view.resize(view.minimumWidth(), 300)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_the_name_column_fits_the_demo_names(scan_list: ScanListView) -> None:
    t = scan_list.table
    needed = t.fontMetrics().horizontalAdvance(NAME_SAMPLE)
    assert needed >= t.fontMetrics().horizontalAdvance(NAMES[0])
    assert t.columnWidth(NAME) >= needed + 6  # the text and the style's margins on both sides
    a, b = painted_names(scan_list, (0, 2))
    assert a != b  # demo-N0000001 and demo-N0000003 are painted differently


def test_a_narrow_name_column_elides_in_the_middle(scan_list: ScanListView) -> None:
    t = scan_list.table
    assert t.textElideMode() == Qt.TextElideMode.ElideMiddle and not t.wordWrap()
    hh = t.horizontalHeader()
    hh.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Interactive)
    hh.resizeSection(NAME, t.fontMetrics().horizontalAdvance(NAME_SAMPLE) // 2)  # half the name fits
    a, b = painted_names(scan_list, (0, 2))
    assert a != b  # "demo…0001" and "demo…0003", not "demo-…" twice


def test_the_tooltip_names_the_whole_scan(scan_list: ScanListView) -> None:
    m = scan_list.model
    for row, name in enumerate(NAMES):
        tip = m.data(m.index(row, NAME), Qt.ItemDataRole.ToolTipRole)
        assert tip.splitlines()[0] == name and f"/demo/normal/{name}.jpg" in tip
    assert m.data(m.index(0, 1), Qt.ItemDataRole.ToolTipRole) == "/demo/normal/demo-N0000001.jpg\nNormal"


def test_the_window_shows_the_demo_names_whole(make_window) -> None:
    win = make_window()  # first run: the docks get their default widths
    t = win.scan_list.table
    assert t.columnWidth(NAME) >= t.fontMetrics().horizontalAdvance(NAME_SAMPLE) + 6
