"""GUI test fixtures: one tiny model per session, generated scans, an isolated window.

The model is trained once (a few seconds on 2 cores) on generated threat-free
bags; threat scans carry a dark bar and a VOC box, so ground truth is known.
Every window gets its own INI settings, audit fallback dir and operator name,
and records errors without blocking (dialogs are non-modal, or switched off).
"""

from __future__ import annotations

import os
import shutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from engine.calibration import calibrate  # noqa: E402
from engine.config import TrainConfig  # noqa: E402
from engine.modelfile import load_model, update_calibration  # noqa: E402
from engine.scoring import Scorer  # noqa: E402
from tests.conftest import fake_bag, write_rgb  # noqa: E402
from tests.gui.helpers import BAR, GRID, MODEL, MODEL_CONFIG, OPERATOR, threat_bag, write_voc  # noqa: E402


@dataclass(frozen=True)
class GuiData:
    model: Path  # normal statistics only (as training leaves it)
    model_cal: Path  # the same weights with threat calibration on the generated threat scans
    scans: Path  # normal/ and threat/ with VOC boxes
    normals: list[Path]
    threats: list[Path]


@pytest.fixture(scope="session")
def gui_data(tmp_path_factory: pytest.TempPathFactory) -> GuiData:
    from engine.training import TrainJob, train

    root = tmp_path_factory.mktemp("gui")
    for i in range(6):
        write_rgb(root / "train" / "normal" / f"n{i}.png", fake_bag(256, 320, seed=i))
    model = root / "tiny.h5"
    cfg = TrainConfig(epochs=2, batch_size=8, max_patches_per_scan=8, val_fraction=0.34, seed=0)
    list(train(TrainJob(str(root / "train"), MODEL, str(model), MODEL_CONFIG, GRID, cfg, device="cpu")))
    scans = root / "scans"
    normals = [write_rgb(scans / "normal" / f"N{i:03d}.png", fake_bag(256, 320, seed=50 + i))
               for i in range(3)]
    threats = []
    for i in range(2):
        p = write_rgb(scans / "threat" / f"P{i:03d}.png", threat_bag(100 + i))
        write_voc(p.with_suffix(".xml"), 320, 256, BAR)
        threats.append(p)
    bundle = load_model(model)
    scorer = Scorer(bundle, device="cpu")
    threat_scores = [scorer.score_scan(t).score for t in threats]
    normal_scores = [scorer.score_scan(n).score for n in normals]
    model_cal = root / "tiny_cal.h5"
    shutil.copy(model, model_cal)
    update_calibration(model_cal, calibrate(threat_scores, normal_scores, 0.9, previous=bundle.calibration))
    return GuiData(model, model_cal, scans, normals, threats)


@pytest.fixture
def make_window(qtbot, tmp_path: Path) -> Iterator[Callable[..., object]]:
    """Factory: an isolated MainWindow, shown offscreen; closed (worker stopped) at teardown."""
    from PySide6.QtCore import QSettings

    from app.dialogs.error import ErrorReporter
    from app.main_window import MainWindow
    from app.settings import Settings

    made = []

    def make(show_dialogs: bool = False, **kw: object) -> MainWindow:
        settings = Settings(QSettings(str(tmp_path / f"settings{len(made)}.ini"), QSettings.Format.IniFormat))
        kw.setdefault("operator_provider", lambda: OPERATOR)
        kw.setdefault("audit_fallback_dir", tmp_path / "fallback")
        kw.setdefault("worker_threads", 1)
        kw.setdefault("device", "cpu")
        win = MainWindow(settings=settings, reporter=ErrorReporter(show_dialogs=show_dialogs), **kw)
        qtbot.addWidget(win)
        win.resize(1400, 900)
        win.show()
        qtbot.waitExposed(win)
        made.append(win)
        return win

    yield make
    for win in made:
        win.reporter.close_all()
        win.worker.stop()
