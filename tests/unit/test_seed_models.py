"""The published variants (issue #9): one CPU epoch of training then scanning, on generated scans.

The registry tests (tests/unit/test_models.py) already cover shapes, gradients and
round trips of every registered model; these add the end-to-end path through the
training loop, the model file and the scorer, and two-stage's attention hooks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine.config import GridConfig, TrainConfig
from engine.events import EpochEnded
from engine.modelfile import load_model
from engine.models import create_model
from engine.scoring import Scorer
from engine.training import TrainJob, train
from engine.training.hard_augment import HardAugmenter
from engine.training.losses import generator_loss
from tests.conftest import fake_bag, write_rgb

torch.set_num_threads(1)  # as test_models does: on a shared 2-core machine one thread is faster
GRID = GridConfig(patch=128, stride=128, input_size=64)
TINY = {"sagan": {"base": 8}, "skip-ganomaly-pp": {"base": 8}, "two-stage": {"base": 8, "d_base": 8}}
CFG = TrainConfig(epochs=1, batch_size=8, max_patches_per_scan=4, val_fraction=0.25, w_tip=1.0)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seed")
    for i in range(4):
        write_rgb(root / "normal" / f"n{i}.png", fake_bag(256, 320, seed=i))
    img = fake_bag(256, 320, seed=100)
    img[100:140, 120:200] = (10, 10, 40)  # a dark dense bar
    write_rgb(root / "threat" / "t0.png", img)
    return root


def _train(name: str, data: Path, out: Path, **kw) -> list:
    job = TrainJob(str(data), name, str(out), TINY[name], GRID, CFG, device="cpu", max_batches_per_epoch=2, **kw)
    return list(train(job))


@pytest.mark.parametrize("name", ["sagan", "skip-ganomaly-pp"])
def test_trains_one_epoch_and_scores(name: str, data: Path, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.h5"
    events = _train(name, data, out)
    ended = [e for e in events if isinstance(e, EpochEnded)]
    assert len(ended) == 1 and all(np.isfinite(v) for v in ended[0].losses.values())
    r = Scorer(load_model(out), device="cpu").score_scan(data / "threat" / "t0.png")
    assert len(r.scores) > 0 and np.isfinite(r.scores).all() and r.attention is None


def test_two_stage_trains_with_hard_augmentation_and_exposes_attention(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "two-stage.h5"
    events = _train("two-stage", data, out, augmenter=HardAugmenter(rate=0.5))
    losses = next(e for e in events if isinstance(e, EpochEnded)).losses
    assert {"att", "tip", "con", "adv"} <= set(losses) and np.isfinite(list(losses.values())).all()
    bundle = load_model(out)
    # D's (negated) real/fake logit is its threat term; the attention map is kept beside the score, not in it.
    assert bundle.score_head is not None and bundle.score_head.names == ("recon", "feat", "threat")
    r = Scorer(bundle, device="cpu").score_scan(data / "threat" / "t0.png")
    assert np.isfinite(r.scores).all()
    assert r.attention is not None and r.attention.shape == r.scores.shape
    assert ((0 <= r.attention) & (r.attention <= 1)).all()
    x = torch.rand(3, 3, 64, 64)
    with torch.inference_mode():
        a = bundle.model.attention_map(x)
        logit = bundle.model.netg(x).attention_logit
    assert a.shape == (3, 1, 64, 64)
    torch.testing.assert_close(a, torch.sigmoid(logit))


def test_two_stage_d_reads_the_attention_without_training_it() -> None:
    torch.manual_seed(0)
    model = create_model("two-stage", **TINY["two-stage"]).train()
    d = model.netd(torch.rand(2, 3, 64, 64))
    assert torch.equal(d.threat_logit, -d.logit)  # stage 2's output is the anomaly score
    (d.logit.sum() + d.features.sum()).backward()
    assert all(p.grad is None for p in model.netg.parameters())
    assert not set(map(id, model.netd.parameters())) & set(map(id, model.netg.parameters()))


def test_attention_loss_only_with_masks_and_an_attention_map() -> None:
    torch.manual_seed(0)
    model = create_model("two-stage", **TINY["two-stage"], w_att=2.0)
    x = torch.rand(2, 3, 64, 64)
    gen = model.netg(x)
    d_fake, d_real = model.netd(gen.x_hat), model.netd(x)
    mask = torch.zeros(2, 1, 64, 64)
    mask[0, 0, 10:30, 10:30] = 1
    plain = generator_loss(x, gen, d_fake, d_real, CFG)
    with_mask = generator_loss(x, gen, d_fake, d_real, CFG, mask=mask)
    assert "att" not in plain.parts and "att" in with_mask.parts
    assert with_mask.parts["g"] == pytest.approx(plain.parts["g"] + 2.0 * with_mask.parts["att"], rel=1e-5)
    other = create_model("sagan", base=8)
    g2 = other.netg(x)
    terms = generator_loss(x, g2, other.netd(g2.x_hat), other.netd(x), CFG, mask=mask)
    assert "att" not in terms.parts  # masks are ignored by models without an attention map
