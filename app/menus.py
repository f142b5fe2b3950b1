"""The window's commands: menus, keyboard shortcuts and the decision toolbar.

Every command is one ``QAction`` added to the window as well as to its menu, so its
key works wherever focus is in the window (the scan list, the image, a panel). The
toolbar shows the same actions, so a button, a key and a menu item never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar

from .dialogs.statistics import open_statistics
from .dialogs.tip_settings import open_tip_settings
from .views import enhance

if TYPE_CHECKING:
    from .main_window import MainWindow


@dataclass(frozen=True)
class WindowActions:
    """The actions other code reaches for (tests, the toolbar); the rest live only in their menus."""

    export: QAction
    clear: QAction
    suspect: QAction
    next: QAction
    previous: QAction
    cancel: QAction
    cues: QAction
    attention: QAction


def add_action(win: MainWindow, text: str, keys: str | list[str], slot: Callable[..., Any],
               menu: QMenu | None = None, checkable: bool = False) -> QAction:
    act = QAction(text, win)
    seqs = [QKeySequence(k) for k in ([keys] if isinstance(keys, str) else keys) if k]
    act.setShortcuts(seqs)
    act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    act.setCheckable(checkable)
    (act.toggled if checkable else act.triggered).connect(slot)
    win.addAction(act)  # keys work wherever focus is in the window
    if menu is not None:
        menu.addAction(act)
    return act


def build_menus(win: MainWindow) -> WindowActions:
    """File, Screening and View menus plus the decision toolbar, on ``win``."""
    mb = win.menuBar()
    f = mb.addMenu("&File")
    add_action(win, "Open &Scan…", "Ctrl+O", win.choose_scans, f)
    add_action(win, "Open &Folder or SIXray Root…", "Ctrl+Shift+O", win.choose_folder, f)
    add_action(win, "Choose &Model File…", "Ctrl+M", win.choose_model, f)
    f.addSeparator()
    add_action(win, "Open S&ession…", "Ctrl+Shift+E", win.choose_session, f)
    export = add_action(win, "&Export Report…", "Ctrl+E", win.show_export, f)
    add_action(win, "Cancel &Batch", "", win.batch.cancel, f)
    f.addSeparator()
    add_action(win, "&Quit", "Ctrl+Q", win.close, f)
    sc = mb.addMenu("&Screening")
    clear = add_action(win, "&Clear", "C", win.officer.clear, sc)
    suspect = add_action(win, "&Suspect — send to hand search", "S", win.officer.suspect, sc)
    sc.addSeparator()
    nxt = add_action(win, "&Next Scan", "N", win.screening.next, sc)
    prev = add_action(win, "&Previous Scan", "P", win.screening.previous, sc)
    add_action(win, "&Rescore", "F5", win.screening.rescore, sc)
    cancel = add_action(win, "Cancel Scoring", "Esc", win.screening.cancel, sc)
    add_action(win, "Continue after a TIP Message", ["Return", "Enter"], win.tip.acknowledge, sc)
    sv = mb.addMenu("S&upervisor")
    add_action(win, "&TIP Training Settings…", "", lambda: open_tip_settings(win), sv)
    add_action(win, "Officer &Statistics…", "Ctrl+Shift+T", lambda: open_statistics(win), sv)
    vm = mb.addMenu("&View")
    view = win.scan_view
    add_action(win, "&Fit", "F", view.fit, vm)
    add_action(win, "Actual Size (1:1)", "A", view.actual_size, vm)
    add_action(win, "Zoom In", ["+", "="], lambda: view.zoom(1.25), vm)
    add_action(win, "Zoom Out", "-", lambda: view.zoom(0.8), vm)
    vm.addSeparator()
    cues = add_action(win, "Show/Hide Model Cues", "H", win.toggle_cues, vm)
    attention = add_action(win, "Attention Map Overlay (two-stage models)", "M", view.set_attention_overlay, vm,
                           checkable=True)
    vm.addSeparator()
    for m in enhance.MODES:
        if m.key == "standard":
            add_action(win, "Standard Image (reset)", m.shortcut, win.reset_display, vm)
        else:
            add_action(win, m.label, m.shortcut, lambda _=False, k=m.key: win.display_panel.set_mode(k), vm)
    actions = WindowActions(export, clear, suspect, nxt, prev, cancel, cues, attention)
    win.addToolBar(Qt.ToolBarArea.TopToolBarArea, _decision_bar(actions))
    return actions


def _decision_bar(a: WindowActions) -> QToolBar:
    """Clear and Suspect as big coloured buttons, then Previous and Next: the officer's whole loop."""
    for act, text in ((a.clear, "Clear  [C]"), (a.suspect, "Suspect: hand search  [S]"),
                      (a.previous, "◀  Previous  [P]"), (a.next, "Next  [N]  ▶")):
        act.setIconText(text)
    tb = QToolBar("Decision")
    tb.setObjectName("decisionBar")
    tb.setMovable(False)
    for act, name in ((a.clear, "clearButton"), (a.suspect, "suspectButton")):
        tb.addAction(act)
        tb.widgetForAction(act).setObjectName(name)
    tb.addSeparator()
    tb.addAction(a.previous)
    tb.addAction(a.next)
    return tb
