"""Regions traced from a dense map, and the 8-bit map a session stores: hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from engine.map_scoring import BACKGROUND, DenseMap
from engine.reporting.map_regions import HI, LEVELS, LO, CompactMap, flagged_regions, trace_regions


def _map() -> DenseMap:
    z = np.full((10, 12), -1.0, np.float32)
    z[0, :] = BACKGROUND  # a background row never flags, whatever the threshold
    z[2:4, 2:5] = 3.0  # a 2 x 3 blob, max 4 at one pixel
    z[3, 4] = 4.0
    z[7, 9] = 6.0  # a lone pixel: speckle below min_pixels=2
    z[8:10, 0:2] = 2.5  # a 2 x 2 blob touching the bottom-left corner
    return DenseMap(z, scale=0.25)  # one map pixel per 4 scan pixels


def test_regions_are_traced_from_connected_flagged_pixels_in_scan_pixels() -> None:
    regions = trace_regions(_map(), 2.0, width=46, height=38)
    assert [r.box for r in regions] == [(8, 8, 20, 16), (0, 32, 8, 38)]  # second clipped to the scan height
    assert regions[0].max_score == 4.0 and regions[0].mean_score == pytest.approx((5 * 3.0 + 4.0) / 6)
    assert regions[0].n_patches == 6 and regions[1].n_patches == 4
    single = trace_regions(_map(), 2.0, 48, 40, min_pixels=1)
    assert single[0].box == (36, 28, 40, 32) and single[0].max_score == 6.0
    assert trace_regions(_map(), 7.0, 48, 40) == []
    assert trace_regions(_map(), -5.0, 48, 40)[0].box == (0, 4, 48, 40)  # everything but the background row


def test_compact_map_round_trips_within_half_a_step_and_keeps_background() -> None:
    dmap = _map()
    z = dmap.logits.copy()
    z[5, 5], z[5, 6] = 40.0, -9.0  # beyond the span: saturate
    cm = CompactMap.from_map(DenseMap(z, 0.25))
    assert cm.q.dtype == np.uint8 and cm.q[0].max() == 0 and cm.q[1:].min() >= 1
    back = cm.to_map()
    assert (back.logits[0] == BACKGROUND).all()
    inside = (z > BACKGROUND) & (z >= LO) & (z <= HI)
    assert np.abs(back.logits[inside] - z[inside]).max() <= (HI - LO) / LEVELS / 2 + 1e-6
    assert back.logits[5, 5] == pytest.approx(HI) and back.logits[5, 6] == pytest.approx(LO)
    assert [r.box for r in trace_regions(back, 2.0, 46, 38)] == [(8, 8, 20, 16), (0, 32, 8, 38)]


def test_a_flagged_scan_always_gets_the_region_of_its_peak() -> None:
    dmap = _map()
    # At 5 only the lone 6.0 pixel (map x 9, y 7) exceeds: speckle to trace_regions, but the scan's peak.
    assert trace_regions(dmap, 5.0, 48, 40) == []
    (peak,) = flagged_regions(dmap, 5.0, 48, 40, score=6.0)
    assert peak.box == (36, 28, 40, 32) and peak.max_score == 6.0 and peak.n_patches == 1
    assert flagged_regions(dmap, 5.0, 48, 40, score=4.9) == []  # not flagged: nothing
    assert flagged_regions(dmap, 2.0, 46, 38, score=6.0) == trace_regions(dmap, 2.0, 46, 38)  # regions: as traced
    # A stored map rounds 5.0 to 4.976 (the nearest of 254 steps): a scan scoring 5.0 at threshold 4.99
    # is flagged, and its peak blob (map x 2..5, y 2..4) is its region although every stored pixel is below.
    z = np.full((10, 12), -1.0, np.float32)
    z[2:4, 2:5] = 5.0
    stored = CompactMap.from_map(DenseMap(z, 0.25)).to_map()
    assert stored.logits.max() < 4.99 and trace_regions(stored, 4.99, 48, 40) == []
    assert [r.box for r in flagged_regions(stored, 4.99, 48, 40, score=5.0)] == [(8, 8, 20, 16)]
