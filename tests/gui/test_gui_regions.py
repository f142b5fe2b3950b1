"""Merging flagged patches into regions, and the heat-map maths (pure numpy)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.views.overlay import heat_rgba, score_at, score_grid
from app.views.regions import flagged_regions, merge_boxes


def test_adjacent_boxes_merge_and_distant_ones_do_not() -> None:
    boxes = np.array([[0, 0, 10, 10], [10, 0, 20, 10], [50, 50, 60, 60]])
    regions = merge_boxes(boxes, np.array([1.0, 3.0, 2.0]))
    assert [r.box for r in regions] == [(0, 0, 20, 10), (50, 50, 60, 60)]  # highest score first
    assert regions[0].score == 3.0 and regions[0].members == (0, 1)


def test_corner_touching_and_overlapping_boxes_merge() -> None:
    assert len(merge_boxes(np.array([[0, 0, 10, 10], [10, 10, 20, 20]]))) == 1  # 8-connected
    assert len(merge_boxes(np.array([[0, 0, 10, 10], [5, 5, 15, 15]]))) == 1
    assert len(merge_boxes(np.array([[0, 0, 10, 10], [11, 0, 20, 10]]))) == 2
    assert len(merge_boxes(np.array([[0, 0, 10, 10], [11, 0, 20, 10]]), gap=1)) == 1


def test_region_boxes_never_overlap_after_merging() -> None:
    # An L-shaped group whose bounding box swallows a separate patch: one region in the end.
    boxes = np.array([[0, 0, 10, 10], [0, 10, 10, 20], [0, 20, 10, 30], [10, 20, 20, 30], [12, 2, 18, 8]])
    regions = merge_boxes(boxes, np.arange(5.0))
    assert len(regions) == 1 and regions[0].box == (0, 0, 20, 30)
    assert sorted(regions[0].members) == [0, 1, 2, 3, 4]


def test_flagged_regions_refer_to_all_boxes_and_empty_cases() -> None:
    boxes = np.array([[0, 0, 10, 10], [10, 0, 20, 10], [40, 0, 50, 10]])
    scores = np.array([5.0, 0.1, 4.0])
    regions = flagged_regions(boxes, scores, threshold=1.0)
    assert [r.members for r in regions] == [(0,), (2,)]
    assert flagged_regions(boxes, scores, threshold=9.0) == []
    assert merge_boxes(np.zeros((0, 4))) == []
    with pytest.raises(ValueError):
        merge_boxes(boxes, np.zeros(2))


def test_heat_map_is_red_and_opaque_where_flagged_and_clear_elsewhere() -> None:
    boxes = np.array([[0, 0, 8, 8], [8, 0, 16, 8]])
    grid = score_grid(boxes, np.array([2.0, 0.0]), width=24, height=8, cell=4)
    assert grid.shape == (2, 6) and math.isnan(grid[0, 5])  # no patch there
    rgba = heat_rgba(grid, threshold=1.0)
    assert tuple(rgba[0, 0]) == (255, 59, 48, 190)  # flagged: red
    assert rgba[0, 2, 3] < rgba[0, 0, 3]  # below threshold: fainter
    assert rgba[0, 5, 3] == 0  # background: transparent
    assert score_at(boxes, np.array([2.0, 0.0]), 9, 3) == 0.0 and score_at(boxes, np.zeros(2), 30, 3) is None
