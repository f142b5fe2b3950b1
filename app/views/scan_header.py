"""One line above the image: which scan, what the model says at this threshold, what is known."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

from ..controllers.items import FAILED, ScanItem
from .overlay import FLAG_RGB

_FLAG = "#{:02x}{:02x}{:02x}".format(*FLAG_RGB)
_CLEAR = "#50c878"
_MUTED = "#9aa4b2"


def _span(text: str, colour: str, bold: bool = False) -> str:
    weight = "font-weight:700;" if bold else ""
    return f'<span style="color:{colour};{weight}">{html.escape(text)}</span>'


def summary_html(item: ScanItem | None, threshold: float, n_regions: int = 0) -> str:
    """Rich text for the header; pure, so it is tested without a window."""
    if item is None:
        return _span("No scan open", _MUTED)
    parts = [_span(item.name, "#e6e9ee", bold=True)]
    if item.state == FAILED:
        parts.append(_span(f"unreadable: {item.error}", "#ffbe3c"))
    elif item.result is None:
        parts.append(_span("scoring…", _MUTED))
    else:
        score = item.score
        parts.append(_span("score —" if score is None else f"score {score:.2f}", "#e6e9ee"))
        if math.isfinite(threshold):
            n = item.result.n_flagged(threshold)
            if item.flagged(threshold):
                regions = f", {n_regions} region{'s' if n_regions != 1 else ''}" if n_regions else ""
                parts.append(_span(f"FLAGGED  {n} patch{'es' if n != 1 else ''}{regions}", _FLAG, bold=True))
            else:
                parts.append(_span("CLEAR", _CLEAR, bold=True))
    if item.record.is_threat:
        parts.append(_span(f"truth: {', '.join(item.record.categories) or 'threat'}", "#ffbe3c"))
    elif item.truth:
        parts.append(_span(f"truth: {item.truth.lower()}", _MUTED))
    if item.decision:
        colour = _FLAG if item.decision == "suspect" else _CLEAR
        parts.append(_span(f"decision: {item.decision}", colour, bold=True))
    return "&nbsp;&nbsp;·&nbsp;&nbsp;".join(parts)


class ScanHeader(QLabel):
    def __init__(self) -> None:
        super().__init__()
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setObjectName("scanHeader")
        # a long line must never widen the window: it is clipped instead
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(summary_html(None, math.inf))

    def show_item(self, item: ScanItem | None, threshold: float, n_regions: int = 0) -> None:
        self.setText(summary_html(item, threshold, n_regions))
