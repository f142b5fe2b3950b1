"""Rebuild ``docs/screenshot_demo.png``: the screening window on the demo scans with the bundled model.

    python docs/make_screenshot.py            # after rebuilding assets/models/default.h5
    QT_QPA_PLATFORM=xcb xvfb-run -s "-screen 0 1366x768x24" python docs/make_screenshot.py \
        --size default --screen screen.png --geometry geometry.json    # a real X display (CI)

Runs offscreen (no display needed) through the same start-up as ``bagscan gui`` with no
arguments, with throw-away settings so the user's window layout and last model play no part.
Every demo scan is scored first, and the background batch session finished (so the lists show
all scores and the flagged count is final),
then the threat scan whose flagged patches best cover its ground-truth boxes is shown and the
window is grabbed. Exits non-zero when the model or a scan fails, so a broken default model
cannot silently produce a screenshot of an error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

log = logging.getLogger("make_screenshot")


def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    """Spin the Qt event loop until ``cond()``; SystemExit naming ``what`` on timeout."""
    from PySide6.QtTest import QTest

    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"make_screenshot: timed out after {timeout:.0f} s waiting for {what}")
        QTest.qWait(20)


def coverage(item: object, threshold: float) -> tuple[int, float]:
    """(flagged patches touching a ground-truth box, scan score): how well the scan shows a detection."""
    r = item.result  # type: ignore[attr-defined]
    hits = 0
    for (x0, y0, x1, y1), flagged in zip(r.boxes, r.flagged(threshold), strict=True):
        if flagged and any(x0 < b.x1 and b.x0 < x1 and y0 < b.y1 and b.y0 < y1
                           for b in item.record.boxes):  # type: ignore[attr-defined]
            hits += 1
    return hits, float(r.score)


def demo_window(size: str, device: str, **window_kw: object) -> tuple:
    """(app, window, reporter, files in the install) for the demo, with throw-away settings, at ``WxH``."""
    from PySide6.QtCore import QSettings

    from app.__main__ import make_app, open_window
    from app.dialogs.error import ErrorReporter
    from app.settings import Settings
    from engine.assets import assets_dir

    install = set(assets_dir().rglob("*"))
    app = make_app()
    scratch = Path(tempfile.mkdtemp(prefix="bagscan-screenshot-"))
    settings = Settings(QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
    reporter = ErrorReporter(show_dialogs=False)
    win = open_window([], None, device, reporter, settings=settings, audit_fallback_dir=scratch,
                      operator_provider=lambda: "screenshot", **window_kw)
    if size != "default":
        win.resize(*(int(v) for v in size.lower().split("x")))
    return app, win, reporter, install


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "screenshot_demo.png"))
    p.add_argument("--scan", default=None, help="show this demo scan (name without extension) instead")
    p.add_argument("--size", default="1366x768", help="window size, WxH, or 'default' (what a first start picks)")
    p.add_argument("--screen", default=None, help="also grab the whole screen to this PNG (a real display)")
    p.add_argument("--geometry", default=None,
                   help="write the screen's, the window's and its panels' geometry (screen pixels) as JSON")
    p.add_argument("--settle", type=float, default=0.3,
                   help="seconds to wait before grabbing (a window that grows late is caught)")
    p.add_argument("--device", default="cpu", help="cpu keeps the scores identical to the README's")
    p.add_argument("--timeout", type=float, default=900.0,
                   help="seconds to wait for each step (scoring at low priority on a busy machine is slow)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    app, win, reporter, install = demo_window(args.size, args.device)
    try:
        if reporter.reports:
            raise SystemExit("make_screenshot: " + "; ".join(f"{r.title}: {r.message}" for r in reporter.reports))
        s = win.screening
        wait_until(lambda: not win.session.listing, args.timeout, "the demo listing")  # folders list off-thread
        if not s.items or win.session.info is None:
            raise SystemExit("make_screenshot: the demo scans or the bundled model did not open")
        log.info("model %s; %d demo scans", win.session.info.path, len(s.items))
        batch = getattr(win, "batch", None)  # the folder's background batch session, when the window has one
        if batch is not None:
            wait_until(lambda: not batch.running, args.timeout, "the batch session")
        for row in win.scan_list.visible_rows():  # score what the batch did not hand over, in list order
            item = s.items[row]
            if item.result is None and not item.error:
                s.go(row)
                wait_until(lambda it=item: it.result is not None or bool(it.error), args.timeout, item.name)
        if reporter.reports:
            raise SystemExit("make_screenshot: " + "; ".join(f"{r.title}: {r.message}" for r in reporter.reports))
        if args.scan:
            pick = next((it for it in s.items if it.name == args.scan), None)
            if pick is None:
                raise SystemExit(f"make_screenshot: no demo scan named {args.scan}")
        else:
            threats = [it for it in s.items if it.record.boxes and it.result is not None]
            pick = max(threats or s.items, key=lambda it: coverage(it, s.threshold))
        s.go(s.items.index(pick))
        view = win.scan_view
        wait_until(lambda: view.result is not None and view.result.path == pick.path and view.image is not None,
                   args.timeout, f"{pick.name} on screen")
        view.fit()
        from PySide6.QtTest import QTest

        QTest.qWait(int(args.settle * 1000))  # let the overlay and the list repaint
        hits, score = coverage(pick, s.threshold)
        log.info("showing %s: score %.3f, %d flagged patches on its threat", pick.name, score, hits)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not win.grab().save(str(out)):
            raise SystemExit(f"make_screenshot: cannot write {out}")
        log.info("wrote %s (%dx%d)", out, win.width(), win.height())
        if args.screen:
            grab_screen(win, Path(args.screen))
        if args.geometry:
            Path(args.geometry).write_text(json.dumps(geometry(win), indent=1))
        return 0
    finally:
        win.close()
        app.processEvents()
        leave_install_as_found(install)


def grab_screen(win: object, out: Path) -> None:
    """The whole screen as the display shows it (the window manager's frame and all)."""
    screen = win.screen()  # type: ignore[attr-defined]
    if not screen.grabWindow(0).save(str(out)):
        raise SystemExit(f"make_screenshot: cannot grab the screen to {out}")
    log.info("wrote %s (%dx%d)", out, screen.geometry().width(), screen.geometry().height())


def geometry(win: object) -> dict:
    """Rectangles [x, y, w, h] in screen pixels: the screen, the window and what must be on it."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QGuiApplication

    def rect(widget: object) -> list[int]:
        p = widget.mapToGlobal(QPoint(0, 0))  # type: ignore[attr-defined]
        return [p.x(), p.y(), widget.width(), widget.height()]  # type: ignore[attr-defined]

    g = win.screen().geometry()  # type: ignore[attr-defined]
    f = win.frameGeometry()  # type: ignore[attr-defined]
    hint = win.minimumSizeHint()  # type: ignore[attr-defined]
    right = next(d for d in win._docks if d.objectName() == "screeningDock")  # type: ignore[attr-defined]
    return {
        "platform": QGuiApplication.platformName(),
        "screen": [g.x(), g.y(), g.width(), g.height()],
        "frame": [f.x(), f.y(), f.width(), f.height()],
        "window": rect(win),
        "minimum_size_hint": [hint.width(), hint.height()],
        "screening_panel": rect(right),
        "threshold_slider": rect(win.threshold_panel.slider),  # type: ignore[attr-defined]
        "false_alarm_rate": rect(win.threshold_panel.far_label),  # type: ignore[attr-defined]
        "display_panel": rect(win.display_panel),  # type: ignore[attr-defined]
    }


def leave_install_as_found(before: set[Path]) -> None:
    """Remove what the window wrote into the assets folder (the repository here), deepest first."""
    from engine.assets import assets_dir

    for p in sorted(set(assets_dir().rglob("*")) - before, key=lambda q: len(q.parts), reverse=True):
        log.warning("removing %s: the window wrote it into the install", p)
        p.rmdir() if p.is_dir() else p.unlink()


if __name__ == "__main__":
    sys.exit(main())
