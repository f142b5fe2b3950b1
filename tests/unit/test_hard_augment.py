"""Hard augmentation: every kind changes only its region, and the mask is exactly the changed pixels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.training.hard_augment import KINDS, HardAugmenter, hard_augment
from tests.conftest import fake_bag

TOL = 1.0 / 255


def _batch(n: int = 8, channels: int = 3) -> np.ndarray:
    imgs = [cv2.resize(fake_bag(256, 256, seed=i), (64, 64)) for i in range(n)]
    arr = (np.stack(imgs).transpose(0, 3, 1, 2) / 255.0).astype(np.float32)
    return arr if channels == 3 else arr.mean(axis=1, keepdims=True)


def _textured(seed: int = 0, channels: int = 3) -> np.ndarray:
    """A patch where every pixel differs from its neighbours, so any move of content is visible."""
    return np.random.default_rng(seed).random((channels, 64, 64)).astype(np.float32)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("channels", [1, 3])
def test_mask_is_exactly_where_the_patch_changed(kind: str, channels: int) -> None:
    clean = _batch(8, channels)
    rng = np.random.default_rng(3)
    for i in range(len(clean)):
        out, mask = hard_augment(clean[i], rng, clean[(i + 1) % len(clean)], kind)
        assert out.shape == clean[i].shape and out.dtype == np.float32 and mask.shape == (64, 64)
        assert 0.0 <= out.min() and out.max() <= 1.0
        diff = np.abs(out - clean[i]).max(axis=0)
        assert np.array_equal(mask, (diff > TOL).astype(np.float32))
        assert set(np.unique(mask)) <= {0.0, 1.0}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_changes_one_square_region(kind: str) -> None:
    rng = np.random.default_rng(1)
    for seed in range(10):
        patch = _textured(seed)
        out, mask = hard_augment(patch, rng, _textured(seed + 100), kind)
        assert mask.any(), f"{kind} changed nothing on a textured patch"
        ys, xs = np.nonzero(mask)
        side = max(ys.max() - ys.min(), xs.max() - xs.min()) + 1
        assert side <= 0.5 * 64 + 2  # one region of at most half the patch side
        assert mask.sum() >= 0.5 * (0.15 * 64 - 2) ** 2


def test_rotation_and_permutation_keep_the_region_content() -> None:
    rng = np.random.default_rng(5)
    patch = _textured(7, channels=1)
    for kind in ("rotate", "permute"):
        out, mask = hard_augment(patch, rng, kind=kind)
        ys, xs = np.nonzero(np.abs(out - patch)[0] > 0)
        box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        # Same pixel values, moved: sorted values of the changed box are preserved.
        assert np.allclose(np.sort(out[0][box].ravel()), np.sort(patch[0][box].ravel()))


def test_rotating_a_uniform_patch_is_not_labelled_anomalous() -> None:
    flat = np.full((3, 64, 64), 0.5, np.float32)
    out, mask = hard_augment(flat, np.random.default_rng(0), kind="rotate")
    assert np.array_equal(out, flat) and not mask.any()


def test_cutmix_without_a_second_patch_fills_zeros() -> None:
    patch = _textured(2) * 0.5 + 0.25  # nothing is zero before
    out, mask = hard_augment(patch, np.random.default_rng(0), None, "cutmix")
    assert (out[:, mask > 0] == 0).all() and mask.any()


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="unknown"):
        hard_augment(_textured(), np.random.default_rng(0), kind="blur")
    with pytest.raises(ValueError, match="patch"):
        hard_augment(np.zeros((64, 64), np.float32), np.random.default_rng(0))
    with pytest.raises(ValueError):
        HardAugmenter(rate=1.5)


def test_augmenter_labels_masks_and_clean_target() -> None:
    clean = _batch(16)
    before = clean.copy()
    b = HardAugmenter(rate=0.5)(clean, np.random.default_rng(4))
    x, target, labels, weight, masks = b.x, b.target, b.threat, b.weight, b.mask
    assert labels is not None and weight is not None and masks is not None
    assert np.array_equal(clean, before) and np.array_equal(target, clean)  # input untouched, clean target
    assert masks.shape == (16, 1, 64, 64) and masks.dtype == np.float32
    assert labels.shape == (16,) and (weight == 1).all()
    changed = np.abs(x - clean).max(axis=1) > TOL
    assert np.array_equal(masks[:, 0] > 0, changed)
    assert np.array_equal(labels > 0, changed.reshape(16, -1).any(axis=1))
    assert 0 < labels.sum() < 16


def test_augmenter_is_deterministic_for_a_seed_and_rate_zero_is_identity() -> None:
    clean = _batch(6)
    a = HardAugmenter()(clean, np.random.default_rng(9))
    b = HardAugmenter()(clean, np.random.default_rng(9))
    assert all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("x", "target", "threat", "weight", "mask"))
    c = HardAugmenter(rate=0.0)(clean, np.random.default_rng(9))
    assert c.threat is not None and c.mask is not None
    assert np.array_equal(c.x, clean) and not c.threat.any() and not c.mask.any()
