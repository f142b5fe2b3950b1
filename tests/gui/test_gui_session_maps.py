"""A detector v2 session in the window: the stored map is drawn and re-traced as the slider moves, never rescored."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import GridConfig, TrainConfig
from engine.data.io import file_sha256
from engine.reporting.map_regions import flagged_regions
from tests.gui.helpers import wait_result
from tests.gui.test_gui_session import click_row, copy_scans, wait_batch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def v2_model(tmp_path_factory: pytest.TempPathFactory, gui_data) -> Path:
    from engine.training import TrainJob, train

    out = tmp_path_factory.mktemp("v2gui") / "v2.h5"
    job = TrainJob(str(gui_data.scans), "threat-map", str(out), grid=GridConfig(patch=128, stride=128, input_size=64),
                   train=TrainConfig(epochs=1, batch_size=8, val_fraction=0.4), device="cpu", max_batches_per_epoch=2)
    list(train(job))
    return out


def test_an_adopted_session_draws_its_stored_map_and_retraces_it_without_rescoring(
        qtbot, make_window, gui_data, v2_model: Path, tmp_path: Path) -> None:
    folder = copy_scans(gui_data, tmp_path / "scans")
    win = make_window()
    assert win.load_model(str(v2_model)) and win.open_paths([str(folder)])
    wait_batch(qtbot, win)
    session = folder / ".bagscan" / f"session-threat-map-{file_sha256(v2_model)[:8]}.h5"
    assert win.batch.path == str(session)
    stored = {s.path: s for s in win.batch.store.iter_results()}  # the window holds the file
    assert len(stored) == 5 and all(s.packed_map is not None for s in stored.values())
    win.close()

    again = make_window()  # a new window adopts the session's results: it draws what the file holds
    calls: list[str] = []
    assert again.load_model(str(v2_model))
    backend = again.session.backend
    original = backend.score
    backend.score = lambda scan, *a: (calls.append(scan.meta.path), original(scan, *a))[1]
    assert again.open_paths([str(folder)])
    wait_batch(qtbot, again)
    path = str(folder / "threat" / "P001.png")
    row = next(k for k, r in enumerate(again.results.visible_rows()) if r.path == path)
    click_row(again, row)
    wait_result(qtbot, again, path)
    view, s = again.scan_view, stored[path]
    assert view.result.threat_map is None and view.result.packed_map == s.packed_map  # the stored map, packed
    dmap = s.threat_map
    assert dmap is not None and view.heat_item.image.shape[:2] == dmap.logits.shape
    for target in (0.5, 1.0, 0.9):
        again.threshold.set_target(target)
        t = view.threshold
        assert view.regions == flagged_regions(dmap, t, s.width, s.height, s.score), target
    assert path not in calls  # never rescored (the first scan may be scored on screen before the session opens)
