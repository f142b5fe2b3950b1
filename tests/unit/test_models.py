"""Every registered model: shapes, gradients, determinism and config round-trip (as timm tests its zoo).

Parametrised from the registry, so a newly registered model is covered without editing this file.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from engine.errors import ConfigError, UnknownModelError
from engine.models import AnomalyGAN, create_model, gan_models, list_models, model_config_class
from engine.models.layers import AttentionConv2d

torch.set_num_threads(1)
MODELS = gan_models()  # the reconstruction GANs; threat-map has its own tests (test_threat_map.py)


def small(name: str, **kw: Any) -> dict[str, Any]:
    """Config kwargs that keep a model cheap: narrow width where the model has a ``base`` field."""
    fields = {f.name for f in dataclasses.fields(model_config_class(name))}
    out = {"base": 8} if "base" in fields else {}
    out.update(kw)
    return out


def build(name: str, seed: int = 0, **kw: Any) -> AnomalyGAN:
    torch.manual_seed(seed)
    return create_model(name, **kw)


def finite_grads(module: torch.nn.Module) -> list[str]:
    """Names of parameters whose gradient is missing or not finite."""
    return [n for n, p in module.named_parameters()
            if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all())]


def test_registry_has_the_built_in_models() -> None:
    assert {"dsa", "ganomaly", "skip-ganomaly"} <= set(MODELS)
    assert set(list_models()) == set(MODELS) | {"threat-map"}


def test_unknown_model_lists_known_names() -> None:
    with pytest.raises(UnknownModelError) as info:
        create_model("no-such-model")
    for name in list_models():
        assert name in str(info.value)


def test_unknown_config_field_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no config field"):
        create_model("dsa", not_a_field=1)
    with pytest.raises(ConfigError):
        create_model("dsa", channels=2)


@pytest.mark.parametrize("name", MODELS)
def test_forward_and_backward_reach_every_parameter(name: str) -> None:
    model = build(name).train()  # default config: the widths that ship
    x = torch.rand(2, 3, 64, 64)
    gen = model.netg(x)
    assert gen.x_hat.shape == x.shape
    assert 0.0 <= float(gen.x_hat.detach().min()) and float(gen.x_hat.detach().max()) <= 1.0

    # D step: real -> 1, fake -> 0.
    d_real, d_fake = model.netd(x), model.netd(gen.x_hat.detach())
    assert d_real.logit.shape == (2,)
    assert d_real.features.ndim == 4 and d_real.features.shape[0] == 2
    d_loss = (F.binary_cross_entropy_with_logits(d_real.logit, torch.ones(2))
              + F.binary_cross_entropy_with_logits(d_fake.logit, torch.zeros(2)))
    assert torch.isfinite(d_loss)
    d_loss.backward()
    assert not finite_grads(model.netd), finite_grads(model.netd)

    # G step through D: L1 + adversarial + feature matching + the model's auxiliary term.
    model.zero_grad(set_to_none=True)
    d_fake, d_real = model.netd(gen.x_hat), model.netd(x)
    g_loss = (F.l1_loss(gen.x_hat, x) + F.binary_cross_entropy_with_logits(d_fake.logit, torch.ones(2))
              + F.mse_loss(d_fake.features, d_real.features.detach()))
    if gen.aux_loss is not None:
        assert gen.aux_loss.ndim == 0
        g_loss = g_loss + gen.aux_loss
    assert torch.isfinite(g_loss)
    g_loss.backward()
    assert not finite_grads(model.netg), finite_grads(model.netg)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("size", [128, 256])
def test_other_sizes_and_greyscale(name: str, size: int) -> None:
    kw = small(name, input_size=size, channels=1) if name != "dsa" else {"input_size": size, "channels": 1}
    model = build(name, **kw).eval()
    x = torch.rand(2, 1, size, size)
    with torch.inference_mode():
        x_hat = model.netg(x).x_hat
        d = model.netd(torch.cat([x, x_hat]))
    assert x_hat.shape == x.shape and torch.isfinite(x_hat).all()
    assert d.logit.shape == (4,) and d.features.shape[0] == 4
    assert torch.isfinite(d.features).all() and torch.isfinite(d.logit).all()


def test_dsa_threat_head_gives_one_logit_per_sample_and_trains() -> None:
    model = build("dsa", threat_head=True).train()
    x = torch.rand(3, 3, 64, 64)
    d = model.netd(x)
    assert d.threat_logit is not None and d.threat_logit.shape == (3,)
    loss = (F.binary_cross_entropy_with_logits(d.logit, torch.ones(3))
            + F.binary_cross_entropy_with_logits(d.threat_logit, torch.tensor([0.0, 1.0, 0.0])))
    loss.backward()
    assert not finite_grads(model.netd)
    assert build("dsa").netd(x).threat_logit is None


def _exercised(name: str, **kw: Any) -> AnomalyGAN:
    """A model whose BN running stats and spectral-norm vectors have moved off their initial values."""
    model = build(name, **kw).train()
    with torch.no_grad():
        for _ in range(2):
            model.netd(model.netg(torch.rand(2, kw.get("channels", 3), 64, 64)).x_hat)
    return model.eval()


@pytest.mark.parametrize("name", MODELS)
def test_config_round_trip_and_state_dict_give_identical_outputs(name: str) -> None:
    model = _exercised(name, **small(name))
    config = json.loads(json.dumps(dataclasses.asdict(model.config)))
    rebuilt = build(name, seed=123, **config)
    assert rebuilt.config == model.config
    state = model.state_dict()
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    rebuilt.load_state_dict(state, strict=True)
    rebuilt.eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.inference_mode():
        a, b = model.netg(x).x_hat, rebuilt.netg(x).x_hat
        da, db = model.netd(x), rebuilt.netd(x)
    assert torch.equal(a, b)
    assert torch.equal(da.logit, db.logit) and torch.equal(da.features, db.features)


@pytest.mark.parametrize("name", MODELS)
def test_eval_forward_is_deterministic(name: str) -> None:
    model = _exercised(name, **small(name))
    x = torch.rand(2, 3, 64, 64)
    with torch.inference_mode():
        first = (model.netg(x).x_hat, model.netd(x).features)
        second = (model.netg(x).x_hat, model.netd(x).features)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


@pytest.mark.parametrize("name", MODELS)
def test_reset_parameters_really_resets_d(name: str) -> None:
    """The training loop re-initialises D through reset_parameters; spectral norm must not hide it."""
    model = build(name, **small(name))
    before = {k: v.clone() for k, v in model.netd.state_dict().items() if v.is_floating_point()}
    for m in model.netd.modules():
        if m is not model.netd and hasattr(m, "reset_parameters"):
            m.reset_parameters()
    after = model.netd.state_dict()
    weights = [k for k in before if k.endswith(("weight", "weight.original")) and before[k].numel() > 1]
    assert weights
    changed = [k for k in weights if not torch.equal(before[k], after[k])]
    assert len(changed) >= len(weights) // 2, (changed, weights)


def test_attention_conv_matches_a_naive_loop() -> None:
    """Multi-head attention with 2-D relative logits, checked position by position."""
    torch.manual_seed(0)
    att = AttentionConv2d(8, 8, size=3, dk=4, dv=4, heads=2).eval()
    x = torch.randn(1, 8, 3, 3)
    with torch.no_grad():
        out = att(x)
        q, k, v = att.qkv(x)[0].split([4, 4, 4], 0)
        ref = torch.zeros(4, 3, 3)
        for h in range(2):
            hs = slice(2 * h, 2 * h + 2)
            for y in range(3):
                for c in range(3):
                    qv = q[hs, y, c] * 2**-0.5
                    logits = torch.tensor([[qv @ (k[hs, y2, c2] + att.rel_w[c2 - c + 2]
                                                  + att.rel_h[y2 - y + 2]) for c2 in range(3)]
                                           for y2 in range(3)])
                    w = logits.flatten().softmax(0).reshape(1, 3, 3)
                    ref[hs, y, c] = (w * v[hs]).sum((1, 2))
        expected = torch.cat([att.conv(x), att.proj(ref[None])], 1)
    assert out.shape == (1, 8, 3, 3)
    assert torch.allclose(out, expected, atol=1e-5)


def test_dsa_threat_head_learns_a_separable_task() -> None:
    """Regression: with spectral norm everywhere, f(x) is ~1e-2 and the head's BCE sat at ln 2 for whole
    trainings. The head must move well off ln 2 on an easy task (a dark square vs none) in a few steps."""
    torch.manual_seed(0)
    netd = build("dsa", threat_head=True).netd.train()
    opt = torch.optim.Adam(netd.parameters(), lr=2e-3, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(40):
        x = 0.6 + 0.3 * torch.rand(16, 3, 64, 64, generator=gen)
        y = (torch.arange(16) % 2).float()
        x[y == 1, :, 20:40, 20:40] *= 0.2
        loss = F.binary_cross_entropy_with_logits(netd(x).threat_logit, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert sum(losses[-5:]) / 5 < 0.35, losses


def test_material_channel_matches_the_numpy_metal_mask() -> None:
    """One rule in two places (the metal baseline's numpy, the model's torch): they must agree."""
    from engine.data.material import metal_mask
    from engine.models.layers import MaterialChannel

    rng = np.random.default_rng(0)
    img = rng.random((96, 96, 3)).astype(np.float32)
    img[:8, :8] = (0.1, 0.3, 0.9)  # metal blue
    img[8:16, :8] = (0.95, 0.6, 0.2)  # organic orange
    img[16:24, :8] = 0.05  # too dense to penetrate
    ref = metal_mask(img)
    out = MaterialChannel()(torch.from_numpy(img.transpose(2, 0, 1).copy())[None])
    assert out.shape == (1, 4, 96, 96)
    assert torch.equal(out[0, :3], torch.from_numpy(img.transpose(2, 0, 1)))
    mask = out[0, 3].numpy()
    assert mask[:8, :8].all() and not mask[8:16, :8].any() and mask[16:24, :8].all()
    assert (mask == ref).mean() > 0.995  # OpenCV's fixed-point hue rounds a few boundary pixels
    assert 0.1 < ref.mean() < 0.5  # the random image really exercises both outcomes


@pytest.mark.parametrize("channels", [1, 3])
def test_dsa_material_option_adds_a_discriminator_input(channels: int) -> None:
    model = build("dsa", threat_head=True, material=True, channels=channels).train()
    first = next(m for m in model.netd.body.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.in_channels == channels + 1
    x = torch.rand(4, channels, 64, 64)
    d = model.netd(x)
    assert d.threat_logit.shape == (4,) and torch.isfinite(d.features).all()
    (d.logit.sum() + d.threat_logit.sum()).backward()
    assert all(p.grad is not None for p in model.netd.parameters() if p.requires_grad)
