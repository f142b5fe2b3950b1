"""Regenerate ``assets/icons``: the SVG is written as text, the PNGs rendered from it with QtSvg.

Run from the repository root: ``QT_QPA_PLATFORM=offscreen python packaging/make_icons.py``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

log = logging.getLogger("make_icons")

ICONS = Path(__file__).resolve().parents[1] / "assets" / "icons"
SIZES = (48, 256)

# A stylised X-ray bag: dark tile, orange (organic) case with a handle, blue (metal)
# contents, and a cyan scan line sweeping across it.
SVG = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
  <title>bagscan</title>
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#243142"/>
      <stop offset="1" stop-color="#121923"/>
    </linearGradient>
    <linearGradient id="case" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#f2a65a"/>
      <stop offset="1" stop-color="#d9772b"/>
    </linearGradient>
    <linearGradient id="glow" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#3ff0ff" stop-opacity="0"/>
      <stop offset="0.5" stop-color="#3ff0ff" stop-opacity="0.45"/>
      <stop offset="1" stop-color="#3ff0ff" stop-opacity="0"/>
    </linearGradient>
  </defs>
  <rect x="8" y="8" width="240" height="240" rx="44" fill="url(#bg)"/>
  <path d="M96 78 V62 a14 14 0 0 1 14 -14 h36 a14 14 0 0 1 14 14 V78"
        fill="none" stroke="#e08a3c" stroke-width="12" stroke-linecap="round"/>
  <rect x="40" y="76" width="176" height="128" rx="22" fill="url(#case)"/>
  <rect x="40" y="76" width="176" height="128" rx="22" fill="none" stroke="#8a4a18" stroke-width="4"/>
  <rect x="62" y="100" width="54" height="30" rx="6" fill="#2f6fd6"/>
  <circle cx="166" cy="116" r="18" fill="#1e4fb0"/>
  <rect x="132" y="150" width="62" height="16" rx="8" fill="#3a86e8"/>
  <rect x="70" y="150" width="40" height="34" rx="8" fill="#5a9a3a" opacity="0.85"/>
  <rect x="24" y="118" width="208" height="40" fill="url(#glow)"/>
  <rect x="24" y="135" width="208" height="6" rx="3" fill="#7ff8ff"/>
</svg>
"""


def main() -> int:
    """Write ``bagscan.svg`` and render ``bagscan-48.png`` and ``bagscan-256.png``."""
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    ICONS.mkdir(parents=True, exist_ok=True)
    (ICONS / "bagscan.svg").write_text(SVG, encoding="utf-8")
    renderer = QSvgRenderer(QByteArray(SVG.encode()))
    for size in SIZES:
        img = QImage(size, size, QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.transparent)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        out = ICONS / f"bagscan-{size}.png"
        if not img.save(str(out)):
            log.error("could not write %s", out)
            return 1
        log.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
