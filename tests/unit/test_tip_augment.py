import numpy as np

from engine.config import GridConfig
from engine.synth.tip import ThreatLibrary
from engine.training.tip_augment import TipAugmenter
from tests.conftest import fake_bag


def _batch(n: int = 16) -> np.ndarray:
    import cv2

    imgs = [cv2.resize(fake_bag(256, 256, seed=i), (64, 64)) for i in range(n)]
    return (np.stack(imgs).transpose(0, 3, 1, 2) / 255.0).astype(np.float32)


def test_projection_labels_darkens_and_keeps_clean_target() -> None:
    grid = GridConfig(patch=256, stride=256, input_size=64)
    lib = ThreatLibrary.synthetic(np.random.default_rng(0), per_category=2)
    aug = TipAugmenter(lib, grid, rate=1.0)
    clean = _batch()
    b = aug(clean, np.random.default_rng(1))
    x, target, threat, weight = b.x, b.target, b.threat, b.weight
    assert b.mask is None and threat is not None and weight is not None
    assert np.array_equal(target, clean)
    assert threat.sum() >= 12  # nearly every patch has content to project onto
    assert (x <= clean + 1e-6).all()  # attenuation only darkens
    changed = np.abs(x - clean).reshape(len(x), -1).max(1) > 0.05
    assert np.array_equal(changed, threat > 0)
    assert (weight == 1).all()


def test_real_threats_are_head_positives_but_not_contextual_targets() -> None:
    grid = GridConfig(patch=256, stride=256, input_size=64)
    lib = ThreatLibrary.synthetic(np.random.default_rng(0), per_category=1)
    pos = np.zeros((3, 3, 64, 64), np.uint8)  # unmistakable "real threat" patches
    aug = TipAugmenter(lib, grid, rate=0.0, real_pos=pos, real_neg=None, real_rate=0.5)
    b = aug(_batch(32), np.random.default_rng(2))
    x, target, threat, weight = b.x, b.target, b.threat, b.weight
    assert threat is not None and weight is not None
    real = weight == 0
    assert real.any() and (threat[real] == 1).all() and (x[real] == 0).all()
    assert np.array_equal(target[real], x[real]) and (threat[~real] == 0).all()
