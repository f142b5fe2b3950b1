"""``bagscan-gui [PATH] [--model FILE]`` and ``python -m app``: start the screening window.

Sets up the QApplication (names, dark theme, window icon), logging, and the
exception hooks that turn any uncaught exception (GUI thread or worker thread)
into a logged error dialog instead of a silent crash or a dead window.

Started with no PATH, the window opens the bundled demo scans with the bundled
model, so a fresh install shows a scored queue at once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from .dialogs.error import ErrorReporter
    from .main_window import MainWindow

log = logging.getLogger("bagscan.gui")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bagscan-gui", description="X-ray baggage screening window.")
    add_arguments(p)
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Shared with ``bagscan gui`` so both entry points take the same options."""
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="a scan, several scans, a folder or a SIXray root "
                        "(none: the bundled demo scans with the bundled model)")
    p.add_argument("--model", default=None,
                   help="model file (default: the last one used, or the bundled one; "
                        "the bundled one for the demo scans)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")


def app_icon() -> QIcon:
    """bagscan's icon at every bundled size; a null icon (and a warning) when the assets lack it."""
    from PySide6.QtCore import QSize
    from PySide6.QtGui import QIcon

    from engine.assets import ICON_SIZES, icon_path

    icon = QIcon()
    for size in ICON_SIZES:
        path = icon_path(size)
        if path.is_file():
            icon.addFile(str(path), QSize(size, size))
    if icon.isNull():
        log.warning("no application icon found (looked for %s)", icon_path())
    return icon


def make_app() -> QApplication:
    """The QApplication (an existing one is reused, as under pytest-qt) with bagscan's names, theme and icon."""
    from PySide6.QtWidgets import QApplication

    from .views.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("bagscan")
    app.setOrganizationName("bagscan")
    app.setDesktopFileName("bagscan")  # matches packaging/bagscan.desktop, so docks and taskbars group it
    apply_dark_theme(app)  # type: ignore[arg-type]
    app.setWindowIcon(app_icon())  # type: ignore[union-attr]
    return app  # type: ignore[return-value]


def _demo() -> tuple[str | None, str | None]:
    """The demo scans and the bundled model, each None (with a warning) when this install lacks it."""
    from engine.assets import default_model, demo_dir
    from engine.errors import EngineError

    found: list[str | None] = []
    for locate in (demo_dir, default_model):
        try:
            found.append(str(locate()))
        except EngineError as exc:
            log.warning("%s", exc)
            found.append(None)
    return found[0], found[1]


def open_window(paths: Sequence[str] = (), model: str | None = None, device: str = "auto",
                reporter: ErrorReporter | None = None, **window_kw: Any) -> MainWindow:
    """Show the window, load the model and open the scans; no PATH opens the demo with the bundled model.

    ``window_kw`` goes to :class:`MainWindow` (tests pass their own settings and audit folder).
    """
    from .main_window import MainWindow

    win = MainWindow(reporter=reporter, device=device, **window_kw)
    win.show()
    paths = [str(p) for p in paths]
    model_path = model
    if not paths:
        demo, bundled = _demo()
        if demo is not None:
            log.info("no PATH given: opening the demo scans in %s", demo)
            paths = [demo]
            model_path = model or bundled  # the demo is meant to be seen with the model shipped beside it
    model_path = model_path or win.session.initial_model(None)
    if model_path:
        win.load_model(model_path)
    else:
        win.model_panel.show_none("none: choose a model file")
    if paths:
        win.open_paths(paths)
    return win


def run(paths: Sequence[str] = (), model: str | None = None, device: str = "auto") -> int:
    """Create the application and the window, open what was asked for, and run the event loop."""
    from .dialogs.error import ErrorReporter, ExceptHooks

    app = make_app()
    reporter = ErrorReporter()
    hooks = ExceptHooks(reporter).install()
    try:
        _window = open_window(paths, model, device, reporter)  # held: a parentless window dies with its name
        return int(app.exec())
    finally:
        hooks.uninstall()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(args.paths, args.model, args.device)


if __name__ == "__main__":
    sys.exit(main())
