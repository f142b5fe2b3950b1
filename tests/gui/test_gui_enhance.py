"""Enhancement maths (pure numpy): each function does what the officer expects of it."""

from __future__ import annotations

import numpy as np
import pytest

from app.views import enhance

ORANGE, GREEN, BLUE = (0.9, 0.55, 0.2), (0.3, 0.75, 0.35), (0.2, 0.3, 0.85)
WHITE, GREY = (1.0, 1.0, 1.0), (0.5, 0.5, 0.5)


def swatches() -> np.ndarray:
    """A 10 x 50 image: five 10 x 10 squares, orange, green, blue, white, grey."""
    img = np.zeros((10, 50, 3), np.float32)
    for i, c in enumerate((ORANGE, GREEN, BLUE, WHITE, GREY)):
        img[:, i * 10 : (i + 1) * 10] = c
    return img


def test_standard_is_identity_and_negative_inverts() -> None:
    img = swatches()
    np.testing.assert_array_equal(enhance.standard(img), img)
    np.testing.assert_allclose(enhance.negative(img), 1.0 - img)
    np.testing.assert_allclose(enhance.negative(enhance.negative(img)), img, atol=1e-6)


def test_penetration_presets_stretch_opposite_ends() -> None:
    ramp = np.repeat(np.linspace(0, 1, 11, dtype=np.float32)[None, :, None], 3, axis=2)
    high, low = enhance.high_penetration(ramp)[0, :, 0], enhance.low_penetration(ramp)[0, :, 0]
    # high penetration lifts dark (dense) values; low penetration spreads the bright (thin) range
    assert high[2] > ramp[0, 2, 0] + 0.2
    assert (low[10] - low[8]) > (ramp[0, 10, 0] - ramp[0, 8, 0]) * 1.5
    assert high[0] == 0 and high[-1] == 1 and low[0] == 0 and low[-1] == 1
    assert np.all(np.diff(high) > 0) and np.all(np.diff(low) > 0)  # monotonic: nothing inverts


@pytest.mark.parametrize("material, square", [("organic", 0), ("inorganic", 1), ("metal", 2)])
def test_hue_masks_pick_their_pseudo_colour_only(material: str, square: int) -> None:
    mask = enhance.hue_mask(swatches(), material)
    for i in range(5):
        assert mask[:, i * 10 : (i + 1) * 10].all() == (i == square), (material, i)
        assert mask[:, i * 10 : (i + 1) * 10].any() == (i == square), (material, i)


def test_emphasis_keeps_material_in_colour_and_fades_the_rest() -> None:
    img = swatches()
    out = enhance.metal(img)
    blue = out[:, 20:30]
    assert blue[..., 2].mean() > blue[..., 0].mean() + 0.3  # still blue
    for sl in (slice(0, 10), slice(10, 20)):  # orange and green become pale grey
        region = out[:, sl]
        assert np.ptp(region, axis=2).max() < 1e-6
        assert region.mean() > 0.75


def test_edge_enhancement_draws_the_edge_in_white_over_a_dimmed_scan() -> None:
    img = np.full((20, 20, 3), 0.3, np.float32)
    img[:, 10:] = 0.7
    out = enhance.edges(img)
    assert out[10, 9].min() > 0.95 and out[10, 10].min() > 0.95  # the step: white on both sides
    np.testing.assert_allclose(out[:, :5], 0.3 * enhance.EDGE_DIM, atol=1e-3)  # flat areas: dimmed only
    np.testing.assert_allclose(out[:, 15:], 0.7 * enhance.EDGE_DIM, atol=1e-3)


def test_edge_enhancement_is_visibly_another_image_of_a_bag() -> None:
    from tests.conftest import fake_bag

    bag = fake_bag(256, 320, seed=3).astype(np.float32) / 255.0
    out = enhance.edges(bag)
    rmse = float(np.sqrt(np.mean((out - bag) ** 2)))
    assert rmse > 0.15, rmse  # the old unsharp mask differed by 0.02: nobody could see it
    flat = np.full((32, 32, 3), 0.5, np.float32) + np.random.default_rng(0).normal(0, 0.004, (32, 32, 3))
    assert enhance.edges(flat.astype(np.float32)).max() < 0.5  # sensor noise draws no lines


def test_window_level_maps_window_onto_full_range() -> None:
    img = np.repeat(np.array([0.2, 0.5, 0.8], np.float32)[None, :, None], 3, axis=2)  # 1 x 3 x 3
    out = enhance.window_level(img, window=0.4, level=0.5)
    np.testing.assert_allclose(out[0, :, 0], [0.0, 0.5, 1.0], atol=1e-6)
    assert enhance.levels(0.4, 0.5) == pytest.approx((0.3, 0.7))


def test_apply_by_name_and_unknown_mode() -> None:
    img = swatches()
    for m in enhance.MODES:
        out = enhance.apply(img, m.key)
        assert out.shape == img.shape and out.dtype == np.float32
        assert 0.0 <= out.min() and out.max() <= 1.0
    assert len({m.shortcut for m in enhance.MODES}) == len(enhance.MODES)
    with pytest.raises(ValueError, match="unknown enhancement"):
        enhance.apply(img, "sepia")
    with pytest.raises(ValueError, match="H x W x 3"):
        enhance.negative(np.zeros((4, 4), np.float32))
