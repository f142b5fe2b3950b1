"""merge_regions: flagged patches that touch or overlap (8-connectivity) become one region."""

from __future__ import annotations

import numpy as np
import pytest

from engine.data.patches import grid_boxes
from engine.data.types import Box
from engine.reporting.regions import gt_category, merge_regions


def grid(rows: int, cols: int, size: int = 10, stride: int | None = None) -> np.ndarray:
    """Row-major boxes of a rows x cols patch grid."""
    stride = stride or size
    return np.array([(c * stride, r * stride, c * stride + size, r * stride + size)
                     for r in range(rows) for c in range(cols)], np.int32)


def scores_at(n: int, flagged: dict[int, float]) -> np.ndarray:
    s = np.zeros(n, np.float32)
    for i, v in flagged.items():
        s[i] = v
    return s


def test_nothing_flagged_and_empty_input() -> None:
    assert merge_regions(grid(3, 3), np.zeros(9), 1.0) == []
    assert merge_regions(np.zeros((0, 4)), np.zeros(0), 0.0) == []


def test_edge_and_corner_neighbours_merge_separated_ones_do_not() -> None:
    # 4x4 grid, indices r*4+c: (0,0),(0,1) share an edge, (1,2) touches (0,1) at a corner; (3,3) stands alone
    b = grid(4, 4)
    s = scores_at(16, {0: 2.0, 1: 4.0, 6: 3.0, 15: 5.0})
    regions = merge_regions(b, s, 1.0)
    assert [r.n_patches for r in regions] == [1, 3]  # highest max score first
    alone, group = regions
    assert alone.box == (30, 30, 40, 40) and alone.max_score == 5.0 and alone.members == (15,)
    assert group.box == (0, 0, 30, 20)
    assert group.max_score == pytest.approx(4.0) and group.mean_score == pytest.approx(3.0)
    assert group.members == (0, 1, 6)


def test_threshold_is_inclusive_and_nan_never_flags() -> None:
    b = grid(1, 3, stride=20)  # gaps between patches: three separate regions
    s = np.array([1.0, np.nan, 0.999], np.float32)
    regions = merge_regions(b, s, 1.0)
    assert len(regions) == 1 and regions[0].members == (0,)


def test_overlapping_patches_with_small_stride_merge() -> None:
    b = grid(1, 4, size=20, stride=10)  # each overlaps its neighbours and the one after
    s = scores_at(4, {0: 2.0, 2: 2.0})  # not adjacent on the grid, but their boxes overlap
    (r,) = merge_regions(b, s, 1.0)
    assert r.box == (0, 0, 40, 20) and r.n_patches == 2


def test_l_shaped_groups_whose_boxes_overlap_become_one_region() -> None:
    # An L of patches and a single patch inside the L's bounding box but not touching it
    b = grid(5, 5)
    flagged = {0: 2.0, 5: 2.0, 10: 2.0, 15: 2.0, 20: 2.0, 21: 2.0, 22: 2.0, 23: 2.0, 24: 2.0, 8: 3.0}
    regions = merge_regions(b, scores_at(25, flagged), 1.0)
    assert len(regions) == 1 and regions[0].n_patches == 10 and regions[0].max_score == 3.0


def test_real_grid_with_shifted_last_patch() -> None:
    b = grid_boxes(300, 200, 128, 128)  # x starts 0, 128, 172; y starts 0, 72
    s = np.zeros(len(b), np.float32)
    s[[2, 5]] = 1.5  # the right column, both rows
    (r,) = merge_regions(b, s, 1.0)
    assert r.box == (172, 0, 300, 200) and r.n_patches == 2


def test_deterministic_order_and_length_check() -> None:
    b = grid(1, 5, stride=20)
    s = np.array([1.0, 2.0, 2.0, 1.0, 0.0], np.float32)
    assert [r.members for r in merge_regions(b, s, 0.5)] == [(1,), (2,), (0,), (3,)]
    with pytest.raises(ValueError, match="5 boxes but 4 scores"):
        merge_regions(b, s[:4], 0.5)


def test_large_grid_is_fast_enough() -> None:
    b = grid(60, 60, size=16, stride=8)  # 3600 overlapping patches, all flagged: one region
    (r,) = merge_regions(b, np.ones(len(b)), 0.5)
    assert r.n_patches == 3600 and r.box == (0, 0, 59 * 8 + 16, 59 * 8 + 16)


def test_gt_category_is_the_most_overlapping_box() -> None:
    gt = (Box("Gun", 0, 0, 10, 10), Box("Knife", 5, 0, 40, 10))
    assert gt_category((0, 0, 30, 10), gt) == "Knife"
    assert gt_category((0, 0, 6, 10), gt) == "Gun"
    assert gt_category((50, 50, 60, 60), gt) is None
    assert gt_category((10, 0, 20, 10), (Box("Gun", 0, 0, 10, 10),)) is None  # touching is no overlap
