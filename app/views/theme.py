"""A dark theme in the style of screening consoles: neutral greys, so pseudo-colours read true."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BG, PANEL, BASE, TEXT, MUTED, ACCENT = "#121418", "#1b1e24", "#15171c", "#e6e9ee", "#9aa4b2", "#3d8bfd"

STYLE = f"""
QMainWindow, QDockWidget {{ background: {BG}; }}
QDockWidget::title {{ background: {PANEL}; padding: 6px 8px; color: {MUTED}; font-weight: 600; }}
QGroupBox {{ background: {PANEL}; border: 1px solid #2a2e36; border-radius: 6px; margin-top: 18px;
             padding: 10px 8px 8px 8px; color: {TEXT}; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 10px; padding: 0 4px; color: {MUTED};
                    font-weight: 600; text-transform: uppercase; }}
QLabel#scanHeader {{ background: {PANEL}; padding: 7px 12px; font-size: 14px;
                     border-bottom: 1px solid #2a2e36; }}
QLabel#legend {{ color: {MUTED}; font-size: 11px; }}
QLabel#modelName {{ font-weight: 700; color: {TEXT}; }}
QLabel#flaggedCount {{ font-weight: 700; color: #ff6b5f; }}
QLabel#caption {{ color: {MUTED}; }}
QLabel#note {{ color: {MUTED}; font-size: 11px; }}
QLabel#note[warn="true"] {{ color: #ffbe3c; }}
QLabel#pixelReadout, QLabel#modelStatus {{ color: {MUTED}; padding: 0 8px; font-family: monospace; }}
QTableView {{ background: {BASE}; alternate-background-color: #191c22; gridline-color: #23262d;
              selection-background-color: #2b4f86; selection-color: white; border: none; }}
QHeaderView::section {{ background: {PANEL}; color: {MUTED}; border: none; border-right: 1px solid #2a2e36;
                        padding: 4px 6px; font-weight: 600; }}
QToolBar {{ background: {PANEL}; border-bottom: 1px solid #2a2e36; spacing: 6px; padding: 4px; }}
QToolButton {{ color: {TEXT}; padding: 5px 10px; border-radius: 4px; }}
QToolButton:hover {{ background: #2a2f38; }}
QToolButton#clearButton {{ background: #1f6f43; font-weight: 700; }}
QToolButton#suspectButton {{ background: #a3261d; font-weight: 700; }}
QStatusBar {{ background: {PANEL}; color: {TEXT}; }}
QSlider::groove:horizontal {{ height: 4px; background: #2f343d; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: {ACCENT}; width: 14px; margin: -6px 0; border-radius: 7px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QLineEdit, QComboBox, QDoubleSpinBox {{ background: {BASE}; border: 1px solid #2f343d; border-radius: 4px;
                                         padding: 3px 6px; color: {TEXT}; }}
QAbstractSpinBox {{ padding-right: 18px; }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{ subcontrol-origin: border; width: 16px;
    background: #2a2f38; border-left: 1px solid #363b45; }}
QAbstractSpinBox::up-button {{ subcontrol-position: top right; border-top-right-radius: 4px; }}
QAbstractSpinBox::down-button {{ subcontrol-position: bottom right; border-bottom-right-radius: 4px; }}
QAbstractSpinBox::up-button:hover, QAbstractSpinBox::down-button:hover {{ background: #343a45; }}
QPushButton {{ background: #2a2f38; border: 1px solid #363b45; border-radius: 4px; padding: 5px 10px;
               color: {TEXT}; }}
QPushButton:hover {{ background: #343a45; }}
QProgressBar {{ background: {BASE}; border: 1px solid #2f343d; border-radius: 3px; height: 10px; }}
QProgressBar::chunk {{ background: {ACCENT}; }}
"""


def arrow_style(icons: Path) -> str:
    """Spin-box arrows as images: once a style sheet styles the buttons, Fusion draws no arrows."""
    rules = []
    for way in ("up", "down"):
        for state, suffix in (("", ""), (":disabled", "-disabled"), (":off", "-disabled")):
            f = icons / f"arrow-{way}{suffix}.svg"
            if f.is_file():
                rules.append(f"QAbstractSpinBox::{way}-arrow{state} {{ image: url({f.as_posix()}); "
                             "width: 10px; height: 8px; }")
    return "\n".join(rules)


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, BG), (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, BASE), (QPalette.ColorRole.AlternateBase, "#191c22"),
        (QPalette.ColorRole.Text, TEXT), (QPalette.ColorRole.Button, PANEL),
        (QPalette.ColorRole.ButtonText, TEXT), (QPalette.ColorRole.Highlight, "#2b4f86"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.ToolTipBase, PANEL),
        (QPalette.ColorRole.ToolTipText, TEXT), (QPalette.ColorRole.PlaceholderText, MUTED),
    ):
        pal.setColor(role, QColor(colour))
    app.setPalette(pal)
    from engine.assets import assets_dir

    app.setStyleSheet(STYLE + arrow_style(assets_dir() / "icons"))
