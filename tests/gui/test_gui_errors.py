"""Uncaught exceptions on any thread become logged, non-blocking error dialogs; the CLI entry points."""

from __future__ import annotations

import logging
import sys
import threading

import pytest
from PySide6.QtWidgets import QApplication

from app.dialogs.error import ErrorReporter, ExceptHooks, Report


def test_thread_exception_is_routed_to_the_gui_thread(qtbot, caplog: pytest.LogCaptureFixture) -> None:
    reporter = ErrorReporter(show_dialogs=True)
    handled_on: list[object] = []
    reporter.reported.connect(lambda r: handled_on.append(threading.current_thread()))
    hooks = ExceptHooks(reporter).install()
    try:
        def boom() -> None:
            raise RuntimeError("worker exploded")

        t = threading.Thread(target=boom, name="scorer-x")
        with caplog.at_level(logging.ERROR):
            t.start()
            t.join()
            qtbot.waitUntil(lambda: len(reporter.reports) == 1, timeout=3000)
    finally:
        hooks.uninstall()
    rep = reporter.reports[0]
    assert rep.fatal and "RuntimeError: worker exploded" in rep.message and "scorer-x" in rep.title
    assert "Traceback" in rep.details and "boom" in rep.details
    assert handled_on == [threading.main_thread()]  # the dialog was built on the GUI thread
    box = reporter.dialogs[0]
    assert box.isVisible() and not box.isModal() and "worker exploded" in box.detailedText()
    assert "worker exploded" in caplog.text
    reporter.close_all()
    assert threading.excepthook is not hooks.thread_hook and sys.excepthook is not hooks.sys_hook


def test_sys_excepthook_reports_and_the_app_stays_alive(qtbot) -> None:
    reporter = ErrorReporter(show_dialogs=False)
    hooks = ExceptHooks(reporter)
    try:
        raise ValueError("bad slot")
    except ValueError:
        hooks.sys_hook(*sys.exc_info())
    rep = reporter.reports[0]
    assert rep == Report("Unexpected error", "ValueError: bad slot", rep.details, fatal=True)
    assert QApplication.instance() is not None


def test_engine_error_names_the_file_and_reason(qtbot) -> None:
    reporter = ErrorReporter(show_dialogs=False)
    reporter.engine_error("Cannot open scan", "/data/x.jpg", "truncated JPEG (no end-of-image marker)")
    rep = reporter.reports[0]
    assert rep.title == "Cannot open scan" and "/data/x.jpg" in rep.message and "truncated" in rep.message


def test_gui_subcommand_and_script_share_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.__main__ as gui_main
    from app.cli import build_parser

    seen = {}
    def fake_run(paths: list, model: str | None, device: str) -> int:
        seen.update(p=paths, m=model, d=device)
        return 0

    monkeypatch.setattr(gui_main, "run", fake_run)
    args = build_parser().parse_args(["gui", "scans/", "--model", "m.h5"])
    assert args.func(args) == 0 and seen == {"p": ["scans/"], "m": "m.h5", "d": "auto"}
    assert gui_main.main(["a.jpg", "b.jpg", "--device", "cpu"]) == 0
    assert seen == {"p": ["a.jpg", "b.jpg"], "m": None, "d": "cpu"}
