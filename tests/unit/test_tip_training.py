"""TIP training without a window: the rate of projected bags, the supervisor passphrase, the composite."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.supervisor import hash_passphrase, verify_passphrase
from engine.data.io import Scan, ScanMeta, read_scan
from engine.errors import ConfigError
from engine.synth import ThreatLibrary, render_bag
from engine.tip_training import TipConfig, TipScheduler, compose, framed, keep_missed, plan_bag

BAGS = 2000


def _count(rate: int, seed: int, enabled: bool = True, bags: int = BAGS) -> list[bool]:
    s = TipScheduler(TipConfig(enabled=enabled, rate=rate), np.random.default_rng(seed))
    return [s.draw() for _ in range(bags)]


@pytest.mark.parametrize("rate", [25, 10])
def test_tip_rate_over_2000_bags_is_within_binomial_bounds(rate: int) -> None:
    p = 1 / rate
    mean, sd = BAGS * p, math.sqrt(BAGS * p * (1 - p))  # 80 +- 8.8 bags at one in 25
    counts = [sum(_count(rate, seed)) for seed in range(20)]
    for c in counts:  # every officer's 2,000 bags: within 4 standard deviations (p ~ 6e-5 each)
        assert abs(c - mean) < 4 * sd, (c, mean, sd)
    pooled = sum(counts) / (20 * BAGS)  # 40,000 bags: the rate itself within 4 standard errors
    assert abs(pooled - p) < 4 * math.sqrt(p * (1 - p) / (20 * BAGS)), pooled
    assert len(set(counts)) > 5  # seeds differ: random, not a fixed schedule


def test_tip_draws_are_independent_so_no_pattern_to_learn() -> None:
    """After a TIP bag the next is a TIP with the same probability (no 'one per block of 25')."""
    draws = [d for seed in range(20) for d in _count(25, 100 + seed)]
    after_tip = [b for a, b in zip(draws, draws[1:], strict=False) if a]
    n, p = len(after_tip), 1 / 25
    assert n > 1200
    assert abs(sum(after_tip) / n - p) < 4 * math.sqrt(p * (1 - p) / n)
    gaps = np.diff(np.flatnonzero(draws))
    assert abs(gaps.mean() - 25) < 4 * math.sqrt(25 * 24 / len(gaps))  # geometric: mean 1/p, var (1-p)/p^2


def test_disabled_never_and_rate_one_always() -> None:
    assert sum(_count(25, 0, enabled=False)) == 0
    assert sum(_count(1, 0)) == BAGS
    with pytest.raises(ConfigError):
        TipConfig(rate=0)
    with pytest.raises(ConfigError):
        TipConfig(categories=("",))
    assert TipConfig(categories=("gun", "KNIFE", "Gun")).categories == ("Gun", "Knife")


def test_passphrase_is_stored_salted_and_hashed() -> None:
    stored = hash_passphrase("open sesame")
    assert "open sesame" not in stored and stored.startswith("scrypt$")
    assert hash_passphrase("open sesame") != stored  # a fresh salt every time
    assert verify_passphrase("open sesame", stored)
    assert not verify_passphrase("open sesamE", stored)
    assert not verify_passphrase("open sesame", "plain text") and not verify_passphrase("x", "")
    with pytest.raises(ValueError):
        hash_passphrase("short")
    # RFC 7914's scrypt test vector, in the stored format: the parameters are read from the text
    rfc = ("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff1092"
           "79d9830dac727afb94a83ee6d8360cbdfa2cc0640")
    assert verify_passphrase("password", f"scrypt$1024$8$16${b'NaCl'.hex()}${rfc}")
    assert not verify_passphrase("passwort", f"scrypt$1024$8$16${b'NaCl'.hex()}${rfc}")


def test_composite_darkens_the_host_only_inside_the_box_and_is_8_bit(tmp_path) -> None:
    rng = np.random.default_rng(4)
    library = ThreatLibrary.synthetic(rng, per_category=2, categories=("Gun", "Knife"), ppm=0.6)
    pixels = render_bag(np.random.default_rng(3), (320, 256))[0]
    host_rgb = np.clip(pixels * 255 + 0.5, 0, 255).astype(np.uint8)
    host = Scan(host_rgb.astype(np.float32) / 255, ScanMeta("/scans/h.png", 320, 256, 3, 8, "0" * 64))
    cfg = TipConfig(enabled=True, categories=("Knife",))
    bag = plan_bag(7, host.meta.path, library, cfg, rng)
    assert bag.category == "Knife" and bag.key == "tip:7:/scans/h.png"
    scan = compose(bag, host, library)
    assert scan.meta.path == bag.key and bag.box is not None and bag.box.category == "Knife"
    rgb = bag.pixels
    assert np.array_equal(np.round(scan.pixels * 255).astype(np.uint8), rgb)  # scored == shown
    changed = np.nonzero((rgb.astype(int) < host_rgb.astype(int) - 1).any(axis=2))
    assert len(changed[0]) > 20
    x0, y0, x1, y1 = bag.box_xyxy
    assert changed[1].min() >= x0 - 1 and changed[1].max() <= x1 and changed[0].min() >= y0 - 1
    assert changed[0].max() <= y1
    assert (rgb.astype(int) <= host_rgb.astype(int) + 1).all()  # attenuation never brightens
    again = plan_bag(7, host.meta.path, library, cfg, np.random.default_rng(4))
    assert framed(rgb, bag.box_xyxy)[y0, x0 + 3].tolist() == [255, 214, 10]
    path = keep_missed(bag, tmp_path / "tip-missed", "2026-12-02T08:00:00", "Ann O'Neil")
    kept = read_scan(path).pixels
    assert path.parent == tmp_path / "tip-missed" and "Ann_O_Neil_Knife_h" in path.name
    assert kept.shape == (256, 320, 3) and again.category in ("Knife",)
