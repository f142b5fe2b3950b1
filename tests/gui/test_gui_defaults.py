"""Out of the box: ``bagscan gui`` / ``bagscan-gui`` with no arguments screens the demo with the bundled model.

The entry points run for real (argument parsing, QApplication set-up, window, model, scans);
only the event loop is replaced by a check, and the window's settings and the per-user data
dir point into tmp so the test never touches the real user's files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

import app.__main__ as gui_main
import app.cli as cli
from app.audit import AUDIT_NAME
from app.main_window import MainWindow
from app.settings import Settings
from engine.assets import ICON_SIZES, assets_dir, default_model, demo_dir, icon_path


def _tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.fixture
def install_guard() -> Iterator[list[Path]]:
    """Whatever a test writes into the assets folder (the install) is listed, then removed again."""
    root = assets_dir()
    before = _tree(root)
    written: list[Path] = []
    yield written
    new = sorted(_tree(root) - before, key=lambda p: len(p.parts), reverse=True)
    written += new
    for p in new:  # deepest first, so folders are empty when removed
        p.rmdir() if p.is_dir() else p.unlink()


@pytest.fixture
def restore_app(qapp: QApplication) -> Iterator[QApplication]:
    """make_app() themes and renames the shared test QApplication: put it back for the other tests."""
    saved = (qapp.style().name(), qapp.palette(), qapp.styleSheet(), qapp.applicationName(),
             qapp.organizationName(), qapp.desktopFileName(), qapp.windowIcon())
    yield qapp
    style, palette, sheet, name, org, desktop, icon = saved
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)
    qapp.setApplicationName(name)
    qapp.setOrganizationName(org)
    qapp.setDesktopFileName(desktop)
    qapp.setWindowIcon(icon)


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Default window settings in a tmp INI (holding a stale 'last model'), the user data dir in tmp."""
    import app.main_window as mw

    ini = tmp_path / "settings.ini"
    stale = tmp_path / "last-used.h5"
    stale.write_bytes(b"not a model")  # were it preferred over the bundled model, loading would fail
    Settings(QSettings(str(ini), QSettings.Format.IniFormat)).model_path = str(stale)
    monkeypatch.setattr(mw, "Settings", lambda: Settings(QSettings(str(ini), QSettings.Format.IniFormat)))
    monkeypatch.setattr(mw, "user_data_dir", lambda: tmp_path / "user-data")
    return tmp_path


@pytest.mark.parametrize("entry, argv", [(gui_main.main, []), (cli.main, ["gui"])], ids=["bagscan-gui", "bagscan gui"])
def test_no_arguments_screens_the_demo_with_the_bundled_model(
        entry: Callable[[list[str]], int], argv: list[str], qtbot: Any, restore_app: QApplication,
        isolated: Path, install_guard: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def event_loop(app: QApplication) -> int:
        """Stands in for app.exec(): waits for the first demo scan on screen (or an error), records, closes."""
        win = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        try:
            qtbot.waitUntil(lambda: bool(win.reporter.reports) or not win.session.listing, timeout=60_000)
            first = win.screening.items[0].path if win.screening.items else None
            qtbot.waitUntil(lambda: bool(win.reporter.reports) or (
                win.scan_view.result is not None and win.scan_view.result.path == first
                and win.scan_view.image is not None), timeout=60_000)
            seen.update(items=[it.path for it in win.screening.items], model=win.session.info,
                        audit=win.officer.audit.path if win.officer.audit else None,
                        reports=[f"{r.title}: {r.message}" for r in win.reporter.reports],
                        app_icon=app.windowIcon().isNull(), win_icon=win.windowIcon().isNull())
        finally:
            win.close()  # stops the scoring worker
        return 0

    monkeypatch.setattr(QApplication, "exec", event_loop)
    assert entry(argv) == 0

    assert seen["reports"] == []
    demo = demo_dir().resolve()
    assert len(seen["items"]) == 12 and all(Path(p).resolve().parent.parent == demo for p in seen["items"])
    assert seen["model"] is not None and Path(seen["model"].path).resolve() == default_model().resolve()
    assert seen["audit"] == isolated / "user-data" / AUDIT_NAME  # never inside the install's demo folder
    assert not (demo / AUDIT_NAME).exists()
    assert seen["app_icon"] is False and seen["win_icon"] is False


def test_screening_the_demo_writes_nothing_into_the_install(
        qtbot: Any, restore_app: QApplication, isolated: Path, install_guard: list[Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def event_loop(app: QApplication) -> int:
        win = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        try:
            qtbot.waitUntil(lambda: not win.session.listing, timeout=60_000)  # the demo folder is listed
            first = win.screening.items[0].path
            qtbot.waitUntil(lambda: win.scan_view.result is not None and win.scan_view.result.path == first,
                            timeout=60_000)
            win.screening.next()
            qtbot.wait(500)  # let background work (prefetch, batch session) start writing, if it would
        finally:
            win.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", event_loop)
    assert gui_main.main([]) == 0
    written = [p for p in _tree(assets_dir()) if ".bagscan" in p.parts or p.name == AUDIT_NAME]
    assert not written  # the install_guard fixture removes them again either way


def test_paths_given_keep_the_last_model_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a PATH the demo is not opened and --model still wins; the window code is not reached."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr(gui_main, "run", lambda paths, model, device: seen.update(p=paths, m=model) or 0)
    assert gui_main.main(["scans/", "--model", "m.h5"]) == 0 and seen == {"p": ["scans/"], "m": "m.h5"}
    assert gui_main.main([]) == 0 and seen == {"p": [], "m": None}


def test_application_icon_is_not_null(restore_app: QApplication) -> None:
    assert all(icon_path(s).is_file() for s in ICON_SIZES)
    app = gui_main.make_app()
    icon = app.windowIcon()
    assert not icon.isNull()
    assert {s.width() for s in icon.availableSizes()} >= set(ICON_SIZES)
