"""Detector v2's adversarial reconstructive half (the seed's D as critic) and the projection fade it trains on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.errors import ConfigError
from engine.models import create_model
from engine.synth.tip import ThreatLibrary, project
from engine.training.map_gan import WINDOW, MapGanStep

torch.set_num_threads(1)


def _batch(n: int = 4, size: int = 96) -> tuple[torch.Tensor, ...]:
    clean = torch.rand(n, 3, size, size)
    x = clean.clone()
    x[:, :, 30:60, 30:60] *= 0.2  # a dark "threat" the clean target does not hold
    target = torch.zeros(n, 1, size // 2, size // 2)
    target[:, :, 15:30, 15:30] = 1.0
    return x, target, torch.ones_like(target), clean, torch.ones(n)


def test_the_critic_trains_on_its_own_and_g_gets_the_adversarial_gradient() -> None:
    torch.manual_seed(0)
    model = create_model("threat-map", recon=True, adversarial=True).train()
    step = MapGanStep(model)
    before = [p.detach().clone() for p in model.netc.parameters()]
    loss, parts = step(model, *_batch())
    assert {"d", "adv", "lat", "recon", "pixel"} <= parts.keys() and torch.isfinite(loss)
    # D stepped (its own optimiser), and G's loss does not reach D's weights.
    assert any(not torch.equal(a, b) for a, b in zip(before, model.netc.parameters(), strict=True))
    for p in model.netc.parameters():
        p.grad = None
    loss.backward()
    assert all(p.grad is None for p in model.netc.parameters())
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.netr.parameters())


def test_the_critic_learns_to_tell_reconstructions_from_clean_crops() -> None:
    """D's loss must leave ln 2: with G held still, a few D steps separate clean windows from x_hat."""
    torch.manual_seed(1)
    model = create_model("threat-map", recon=True, adversarial=True).train()
    step = MapGanStep(model)
    model.netr.requires_grad_(False)
    batch = _batch()
    first = step(model, *batch)[1]["d"]
    for _ in range(30):
        last = step(model, *batch)[1]["d"]
    assert first == pytest.approx(np.log(2), abs=0.05) and last < 0.6


def test_scoring_forward_ignores_the_critic() -> None:
    torch.manual_seed(2)
    model = create_model("threat-map", recon=True, adversarial=True).eval()
    x = torch.rand(1, 3, 80, 80)
    with torch.no_grad():
        a = model(x).logits
        for p in model.netc.parameters():
            p.add_(1.0)
        b = model(x).logits
    assert torch.equal(a, b) and WINDOW <= 96


def test_adversarial_needs_a_reconstruction() -> None:
    with pytest.raises(ConfigError, match="needs recon"):
        create_model("threat-map", adversarial=True)


def test_fade_only_lightens_the_same_placement() -> None:
    """Fade scales the threat's attenuation by a visibility in [1 - fade, 1]: the same placement (fade draws
    last), never darker than the full projection, never lighter than the host, and some of it hidden."""
    lib = ThreatLibrary.synthetic(np.random.default_rng(0), 3)
    host = np.full((160, 160, 3), 0.8, np.float32)
    content = np.ones((160, 160), bool)
    hidden = 0
    for seed in range(6):
        sprite = lib.sample(np.random.default_rng(seed))
        full, box_full = project(host, sprite, np.random.default_rng(seed), content=content)
        faded, box_faded = project(host, sprite, np.random.default_rng(seed), content=content, fade=0.97)
        assert box_full == box_faded
        assert (faded >= full - 1e-6).all() and (faded <= host + 1e-6).all()
        dark_full, dark_faded = (host - full).max(2) > 0.03, (host - faded).max(2) > 0.03
        assert not (dark_faded & ~dark_full).any()
        hidden += int(dark_full.sum() - dark_faded.sum())
    assert hidden > 0
    with pytest.raises(ConfigError, match="fade"):
        project(host, lib.sample(np.random.default_rng(0)), np.random.default_rng(0), content=content, fade=1.0)
