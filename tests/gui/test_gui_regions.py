"""The heat-map maths (pure numpy), and the view's regions being the engine's (as in reports)."""

from __future__ import annotations

import math

import numpy as np

from app.views.overlay import heat_rgba, score_at, score_grid
from app.views.scan_view import ScanView
from engine.reporting.regions import merge_regions
from engine.scoring import ScanResult


def test_heat_map_is_red_and_opaque_where_flagged_and_clear_elsewhere() -> None:
    boxes = np.array([[0, 0, 8, 8], [8, 0, 16, 8]])
    grid = score_grid(boxes, np.array([2.0, 0.0]), width=24, height=8, cell=4)
    assert grid.shape == (2, 6) and math.isnan(grid[0, 5])  # no patch there
    rgba = heat_rgba(grid, threshold=1.0)
    assert tuple(rgba[0, 0]) == (255, 59, 48, 190)  # flagged: red
    assert rgba[0, 2, 3] < rgba[0, 0, 3]  # below threshold: fainter
    assert rgba[0, 5, 3] == 0  # background: transparent
    assert score_at(boxes, np.array([2.0, 0.0]), 9, 3) == 0.0 and score_at(boxes, np.zeros(2), 30, 3) is None


def test_heat_map_without_threshold_shows_the_ranking_only() -> None:
    grid = score_grid(np.array([[0, 0, 4, 4], [4, 0, 8, 4]]), np.array([5.0, 1.0]), 8, 4, cell=4)
    rgba = heat_rgba(grid, threshold=math.inf)
    assert rgba[0, 0, 3] > rgba[0, 1, 3] and (rgba[..., 1] != 59).all()  # nothing drawn as flagged


def test_heat_map_shows_where_a_clear_scan_scores_highest() -> None:
    grid = score_grid(np.array([[0, 0, 4, 4], [4, 0, 8, 4], [8, 0, 12, 4]]), np.array([2.0, 0.5, -1.5]), 12, 4,
                      cell=4)
    rgba = heat_rgba(grid, threshold=10.0)  # nothing near the threshold: a clear scan
    assert rgba[0, 0, 3] == 120 and rgba[0, 1, 3] == round(120 * 0.5**3)  # its top patch: full amber
    assert rgba[0, 2, 3] == 0 and (rgba[..., 1] != 59).all()  # SPAN below the top: clear; nothing red


def test_view_outlines_the_engines_regions_and_marks_the_top_one(qtbot) -> None:
    view = ScanView()
    qtbot.addWidget(view)
    boxes = np.array([[0, 0, 10, 10], [10, 0, 20, 10], [40, 40, 50, 50], [80, 0, 90, 10]], np.int32)
    scores = np.array([1.0, 3.0, 5.0, 0.1], np.float32)
    view.show_image("/s.png", np.zeros((60, 100, 3), np.uint8))
    view.show_result(ScanResult("/s.png", "s", 100, 60, "", boxes, scores, 5.0, 0.0), threshold=0.5)
    assert view.regions == merge_regions(boxes, scores, 0.5)
    assert [r.box for r in view.regions] == [(40, 40, 50, 50), (0, 0, 20, 10)]
    assert view.top_item.path().boundingRect().getCoords() == (40, 40, 50, 50)
    assert view.region_item.path().boundingRect().getCoords() == (0, 0, 20, 10)
    assert "5.00" in view.top_label.toPlainText()
    view.set_threshold(4.0)  # re-flag from stored scores
    assert len(view.regions) == 1 and view.region_item.path().isEmpty()
    view.set_cues_visible(False)
    assert not any(it.isVisible() for it in view.cue_items)


def test_a_dense_map_is_drawn_as_the_map_and_its_regions_traced_from_it(qtbot) -> None:
    from engine.map_scoring import BACKGROUND, DenseMap

    view = ScanView()
    qtbot.addWidget(view)
    view.show_image("/s/m.png", np.full((64, 96, 3), 200, np.uint8))
    z = np.full((16, 24), -1.0, np.float32)  # a quarter of the scan's resolution
    z[:, 20:] = BACKGROUND  # the belt: never drawn, never flagged
    z[4:6, 2:4] = 3.0  # a small object inside the first 32-px patch
    dmap = DenseMap(z, scale=0.25)
    boxes = np.array([[0, 0, 32, 32], [32, 0, 64, 32]])
    r = ScanResult("/s/m.png", "m", 96, 64, "", boxes, np.array([3.0, -1.0], np.float32), 3.0, 0.1,
                   threat_map=dmap)
    view.show_result(r, 2.0)
    img = view.heat_item.image
    assert img.shape[:2] == (16, 24) and img[..., 3][:, 20:].max() == 0  # background transparent
    assert tuple(img[4, 2, :3]) == (255, 59, 48) and img[0, 0, 3] < img[4, 2, 3]
    assert view.heat_item.boundingRect().width() == 24  # pixels of the map, stretched by its rect
    # The region is the object's own box (map pixels 2..4 x 4..6 -> scan 8..16 x 16..24), not the patch.
    assert [g.box for g in view.regions] == [(8, 16, 16, 24)]
    assert "map 3.00" in view.readout(9, 17) and "map —" in view.readout(90, 10)


def test_a_sessions_stored_map_is_drawn_and_retraced_as_the_threshold_moves(qtbot, tmp_path, monkeypatch) -> None:
    """An adopted session result keeps its map packed; the view decodes it and re-traces it, never rescoring."""
    from engine.dense_map import PackedMap
    from engine.scoring import Scorer
    from engine.storage import ScanEntry, SessionMeta, SessionStore
    from tests.integration.test_session_maps import A_BOX, B_BOX, H, W, blob_map

    def no_rescoring(*_a: object, **_k: object) -> None:
        raise AssertionError("the view rescored a scan")

    monkeypatch.setattr(Scorer, "score_scan", no_rescoring)
    out = tmp_path / "s.h5"
    with SessionStore.create(out, SessionMeta("threat-map", "f" * 64), durable=False) as store:
        store.append(ScanEntry(path="/s/m.png", sha256="a" * 64, width=W, height=H, score=5.0,
                               packed_map=PackedMap.of(blob_map())))
    with SessionStore.open(out) as store:
        r = next(store.iter_results()).to_result()  # as SessionRows.share adopts it
    assert r.threat_map is None and r.packed_map is not None  # packed in memory until shown
    view = ScanView()
    qtbot.addWidget(view)
    view.show_image("/s/m.png", np.full((H, W, 3), 200, np.uint8))
    view.show_result(r, 3.0)
    assert view.heat_item.image.shape[:2] == (16, 24) and view.heat_item.boundingRect().width() == 24
    assert [g.box for g in view.regions] == [A_BOX]
    view.set_threshold(2.0)
    assert [g.box for g in view.regions] == [A_BOX, B_BOX]
    view.set_threshold(6.0)
    assert view.regions == [] and "map 4.98" in view.readout(13, 9)  # 5.0 as stored in 8 bits


def test_a_damaged_stored_map_falls_back_to_the_patch_overlay_with_a_warning(qtbot, caplog) -> None:
    from engine.dense_map import PackedMap

    view = ScanView()
    qtbot.addWidget(view)
    boxes = np.array([[0, 0, 10, 10], [10, 0, 20, 10]], np.int32)
    scores = np.array([3.0, 1.0], np.float32)
    bad = PackedMap(b"not deflate", (4, 5), 0.25)
    view.show_image("/s.png", np.zeros((10, 20, 3), np.uint8))
    view.show_result(ScanResult("/s.png", "s", 20, 10, "", boxes, scores, 3.0, 0.0, packed_map=bad), threshold=2.0)
    assert view.dense_map() is None and view.regions == merge_regions(boxes, scores, 2.0)
    assert any("/s.png" in r.getMessage() and "does not inflate" in r.getMessage() for r in caplog.records)
