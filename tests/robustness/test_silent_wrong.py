"""Silent wrong answers: a score that is not finite is an error, never "clear"; a damaged JPEG is bad.

A NaN score compares false with every threshold, so before this fix a broken model passed every
bag as clear (``score nan flagged 0/25``, exit 0). Loading refuses such a model (its self-check,
tests/robustness/test_model_files.py); these cases cover a model that breaks after loading, old
sessions that stored NaN, and the window.
"""

from __future__ import annotations

from pathlib import Path
from unittest.mock import MagicMock

import numpy as np
import pytest
import torch

from app.controllers.items import FAILED
from app.controllers.model import EngineBackend
from app.controllers.screening import ScreeningController
from app.workers import ScoringWorker
from engine.batch import run_batch
from engine.data.types import ScanRecord
from engine.events import ScanFailed, ScanScored
from engine.modelfile import load_model
from engine.scoring import Scorer
from engine.storage import ScanEntry, SessionStore
from tests.conftest import fake_bag, write_rgb
from tests.robustness.helpers import bagscan, expect_error, no_traceback

NOT_FINITE = "score is not finite in"


def broken(model: Path):  # noqa: ANN201 - a ModelBundle whose generator went NaN after loading
    bundle = load_model(model)
    with torch.no_grad():
        for name, p in bundle.model.named_parameters():
            if name.startswith("netg"):
                p.fill_(float("nan"))
    return bundle


def test_nan_after_loading_is_an_error_entry_in_a_batch(model: Path, scans: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.h5"
    events = list(run_batch(scans, broken(model), out, device="cpu", durable=False))
    failed = [e for e in events if isinstance(e, ScanFailed)]
    assert len(failed) == 3 and not [e for e in events if isinstance(e, ScanScored)]
    assert all(NOT_FINITE in e.reason and "not as clear" in e.reason for e in failed)
    with SessionStore.open(out) as store:
        s = store.summary(threshold=0.0)
    assert (s["n_scans"], s["n_failed"], s["n_flagged"]) == (3, 3, 0)


def test_a_stored_nan_score_counts_as_failed_in_an_export(session: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    old = tmp_path / "old.h5"
    old.write_bytes(session.read_bytes())
    with SessionStore.open(old, "a") as store:  # what a session scored before this fix holds
        n = len(store)
        store.append(ScanEntry(path=str(tmp_path / "x.png"), sha256="f" * 64, width=8, height=8,
                               score=float("nan"), boxes=np.array([[0, 0, 8, 8]], np.int32),
                               scores=np.array([np.nan], np.float32)))
    res = bagscan(capsys, "export", old, "--threshold", "0", "--csv", tmp_path / "r.csv")
    no_traceback(res.err)
    assert res.rc == 0 and f"{n + 1} scans (1 failed)" in res.out
    warned = [r.getMessage() for r in caplog.records if "not finite" in r.getMessage()]
    assert warned == [f"{old}: 1 scans have a score that is not finite (a broken model?): counted as failed, "
                      "not as clear"]
    print(f"CASE export of a session holding a NaN score: WARNING {warned[0]}")


def test_the_window_shows_a_nan_score_as_an_error(qtbot, model: Path, scans: Path) -> None:
    worker = ScoringWorker(threads=1)
    worker.start()
    try:
        view, lst, status = MagicMock(), MagicMock(), MagicMock()
        ctl = ScreeningController(worker, view, lst, status)
        lst.visible_rows.return_value = [0]
        ctl.set_backend(EngineBackend(Scorer(broken(model), device="cpu")))
        path = str(scans / "s0.png")
        with qtbot.waitSignal(ctl.scan_failed, timeout=20000) as sig:
            ctl.set_records([ScanRecord(path, "s0")])
        assert sig.args[0] == path and NOT_FINITE in sig.args[1]
        assert ctl.items[0].state == FAILED and ctl.items[0].result is None  # an error row, not a pass
    finally:
        worker.stop()


@pytest.fixture
def damaged_jpeg(tmp_path: Path) -> Path:
    """A JPEG cut at 55 % with an end-of-image marker appended: libjpeg would fill the rest with grey."""
    data = write_rgb(tmp_path / "whole.jpg", fake_bag(400, 400, seed=3)).read_bytes()
    p = tmp_path / "data" / "damaged.jpg"
    p.parent.mkdir()
    p.write_bytes(data[: int(len(data) * 0.55)] + b"\xff\xd9")
    return p


def test_a_damaged_jpeg_is_a_bad_file(damaged_jpeg: Path, model: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    reason = "damaged JPEG (Corrupt JPEG data: premature end of data segment)"
    res = bagscan(capsys, "scan", "--model", model, damaged_jpeg)
    no_traceback(res.err)
    line = next(ln for ln in res.out.splitlines() if "damaged.jpg" in ln)
    assert res.rc == 1 and line.split() == ["damaged.jpg", "ERROR", *reason.split()]
    out = tmp_path / "b.h5"
    res = bagscan(capsys, "batch", damaged_jpeg.parent, "--model", model, "--out", out)
    no_traceback(res.err)
    assert res.rc == 1 and f"error: {damaged_jpeg}: {reason}" in res.err.splitlines()
    with SessionStore.open(out) as store:
        assert [(r.path, r.error) for r in store.iter_results()] == [(str(damaged_jpeg), reason)]
    print(f"CASE damaged JPEG (scan): {line}")


def test_scan_with_a_nan_model_exits_1_naming_the_model(model: Path, scans: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import h5py

    bad = tmp_path / "nan.h5"
    bad.write_bytes(model.read_bytes())
    with h5py.File(bad, "r+") as f:
        for k in f["weights"]:
            if k.startswith("netg") and f["weights"][k].dtype.kind == "f":
                f["weights"][k][...] = np.nan
    for argv in (("scan", "--model", bad, scans), ("batch", scans, "--model", bad, "--out", tmp_path / "b.h5")):
        line = expect_error(bagscan(capsys, *argv), 1, bad, "self-check failed")
        print(f"CASE {argv[0]} with NaN generator weights: {line}")
    assert not (tmp_path / "b.h5").exists()
