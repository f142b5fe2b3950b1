"""``bagscan-gui [PATH] [--model FILE]`` and ``python -m app``: start the screening window.

Sets up the QApplication, the dark theme, logging, and the exception hooks
that turn any uncaught exception (GUI thread or worker thread) into a logged
error dialog instead of a silent crash or a dead window.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

log = logging.getLogger("bagscan.gui")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bagscan-gui", description="X-ray baggage screening window.")
    add_arguments(p)
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Shared with ``bagscan gui`` so both entry points take the same options."""
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="a scan, several scans, a folder or a SIXray root")
    p.add_argument("--model", default=None,
                   help="model file (default: the last one used, or the bundled one)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")


def run(paths: Sequence[str] = (), model: str | None = None, device: str = "auto") -> int:
    """Create the application and the window, open what was asked for, and run the event loop."""
    from PySide6.QtWidgets import QApplication

    from .dialogs.error import ErrorReporter, ExceptHooks
    from .main_window import MainWindow
    from .views.theme import apply_dark_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("bagscan")
    app.setOrganizationName("bagscan")
    apply_dark_theme(app)  # type: ignore[arg-type]
    reporter = ErrorReporter()
    hooks = ExceptHooks(reporter).install()
    try:
        win = MainWindow(reporter=reporter, device=device)
        win.show()
        model_path = win.session.initial_model(model)
        if model_path:
            win.load_model(model_path)
        else:
            win.model_panel.show_none("none: choose a model file")
        if paths:
            win.open_paths(list(paths))
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
