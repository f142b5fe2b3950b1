"""Detector v2, the dense threat map: network, loss, map-derived scores, training data, and the end-to-end path."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.config import GridConfig, TrainConfig
from engine.dense_map import HI, LEVELS, LO, CompactMap
from engine.errors import ConfigError
from engine.map_scoring import BACKGROUND, DenseMap, standardise
from engine.models import create_model, produces_map
from engine.reporting.map_regions import flagged_regions
from engine.synth.tip import ThreatLibrary
from engine.training.map_data import CropSet, MapAugmenter
from engine.training.map_loop import RECIPE_VIEWS
from engine.training.map_loss import MapLossWeights, map_loss
from tests.conftest import fake_bag, write_rgb

torch.set_num_threads(1)
HALF_STEP = (HI - LO) / LEVELS / 2  # the stored 8-bit map's rounding


def test_forward_backward_reach_every_parameter_and_keep_the_map_shape() -> None:
    torch.manual_seed(0)
    model = create_model("threat-map").train()
    assert produces_map("threat-map") and not produces_map("dsa")
    x = torch.rand(2, 3, 70, 93)  # odd sizes: padded inside, cropped back to ceil(H/2) x ceil(W/2)
    out = model(x).logits
    assert out.shape == (2, 1, 35, 47)
    out.mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing


def test_eval_map_is_translation_consistent_away_from_borders() -> None:
    """Fully convolutional: a crop of the scan gives the same map inside as the whole scan (no grid seams)."""
    torch.manual_seed(1)
    model = create_model("threat-map").eval()
    x = torch.rand(1, 3, 160, 160)
    with torch.inference_mode():
        whole = model(x).logits[0, 0]
        part = model(x[..., 32:160, 32:160]).logits[0, 0]
    # Far from both crops' borders (the receptive field's reach), the two maps agree.
    assert torch.allclose(whole[40:56, 40:56], part[24:40, 24:40], atol=1e-4)


@pytest.mark.parametrize("views", [2, 4])
def test_scoring_views_average_the_flips_so_the_map_mirrors_with_the_scan(views: int) -> None:
    torch.manual_seed(2)
    model = create_model("threat-map", views=views).eval()
    plain = create_model("threat-map")
    plain.load_state_dict(model.state_dict())
    x = torch.rand(1, 3, 64, 96)
    with torch.inference_mode():
        m, mirrored = model.scoring_logits(x), model.scoring_logits(x.flip(3)).flip(3)
        one = plain.eval().scoring_logits(x)
        by_hand = sum(model(x.flip(d)).logits.flip(d) if d else model(x).logits
                      for d in ([0, (3,)] if views == 2 else [0, (3,), (2,), (2, 3)])) / views
    assert torch.allclose(m, mirrored, atol=1e-5)  # a mean over a flip group is equivariant to its flips
    assert torch.allclose(m, by_hand, atol=1e-5)
    assert not torch.allclose(m, one, atol=1e-3) and torch.allclose(one, plain(x).logits)  # 1 view: as before
    with pytest.raises(ConfigError, match="views must be one of"):
        create_model("threat-map", views=3)


def test_map_loss_matches_hand_computed_values() -> None:
    logits = torch.zeros(2, 1, 2, 2)
    target = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]], [[[0.0, 0.0], [0.0, 0.0]]]])
    weight = torch.ones_like(target)
    total, parts = map_loss(logits, target, weight)
    ln2 = math.log(2.0)
    assert parts["pixel"] == pytest.approx(ln2) and parts["pos_max"] == pytest.approx(ln2)
    assert parts["neg_max"] == pytest.approx(ln2)
    assert float(total) == pytest.approx(2 * ln2)
    # A confident hardest negative costs more than a quiet one: logit 3 on one clean pixel.
    logits[1, 0, 1, 1] = 3.0
    _, parts = map_loss(logits, target, weight, MapLossWeights())
    neg_rows = [math.log(1 + math.exp(0.0)), math.log(1 + math.exp(3.0))]  # row 0's hardest negative is 0
    assert parts["neg_max"] == pytest.approx(sum(neg_rows) / 2, rel=1e-5)
    # Pixels of weight 0 are ignored entirely.
    w0 = weight.clone()
    w0[1, 0, 1, 1] = 0.0
    _, parts = map_loss(logits, target, w0)
    assert parts["neg_max"] == pytest.approx(ln2, rel=1e-5)


def test_box_max_and_aggregates_read_the_map() -> None:
    logits = np.full((4, 6), BACKGROUND, np.float32)
    logits[1, 1], logits[2, 4], logits[3, 5] = 1.0, 5.0, 2.0
    dmap = DenseMap(logits, scale=0.5)  # one map pixel per 2 scan pixels
    boxes = np.array([[0, 0, 4, 4], [6, 2, 12, 8], [0, 0, 12, 8]])
    assert dmap.box_max(boxes).tolist() == [1.0, 5.0, 5.0]
    assert dmap.aggregate("max") == 5.0
    assert dmap.aggregate("topk", k=2) == pytest.approx(3.5)
    z = standardise(dmap, median=1.0, scale=2.0)
    assert z.logits[2, 4] == pytest.approx(2.0) and z.logits[0, 0] == BACKGROUND


def test_tip_batches_mark_exactly_the_darkened_pixels() -> None:
    rng = np.random.default_rng(0)
    grid = GridConfig()
    crops = np.stack([fake_bag(96, 96, seed=i) for i in range(4)])
    aug = MapAugmenter(CropSet(crops, -np.ones((4, 4), np.float32)), ThreatLibrary.synthetic(rng, 2), 0.25,
                       grid, tip_rate=1.0, real_rate=0.0, clean_lib_rate=0.0, second_threat=0.0)
    b = aug(8, rng)
    assert b.x.shape == (8, 3, 96, 96) and b.target.shape == (8, 1, 48, 48)
    assert (b.target.reshape(8, -1).max(1) > 0).sum() >= 6  # nearly every crop got a threat
    for i in range(8):
        if b.target[i].max() == 0:
            continue
        dark = b.x[i].min(0)  # threat pixels are darker than the bag around them on average
        t = np.kron(b.target[i, 0], np.ones((2, 2))) > 0
        assert dark[t].mean() < dark[~t].mean()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from engine.training import TrainJob, train

    root = tmp_path_factory.mktemp("v2")
    for i in range(5):
        write_rgb(root / "normal" / f"n{i}.png", fake_bag(256, 320, seed=i))
    img = fake_bag(256, 320, seed=50)
    img[100:140, 120:200] = (10, 10, 40)
    write_rgb(root / "threat" / "t0.png", img)
    out = root / "v2.h5"
    job = TrainJob(str(root), "threat-map", str(out), grid=GridConfig(patch=128, stride=128, input_size=64),
                   train=TrainConfig(epochs=2, batch_size=8, val_fraction=0.4), device="cpu",
                   max_batches_per_epoch=3)
    events = list(train(job))
    assert sum(type(e).__name__ == "EpochEnded" for e in events) == 2
    return root, out


def test_trains_saves_and_scores_from_one_map(trained: tuple[Path, Path]) -> None:
    from engine.modelfile import load_model
    from engine.scoring import Scorer

    root, out = trained
    bundle = load_model(out)
    assert bundle.score_head is not None and bundle.score_head.names == ("map",) and bundle.calibration is not None
    assert bundle.model.config.views == RECIPE_VIEWS > 1  # the recipe scores the flip mean
    r = Scorer(bundle, device="cpu").score_scan(root / "threat" / "t0.png")
    assert r.threat_map is not None and len(r.scores) > 0 and np.isfinite(r.scores).all()
    # Patch scores are the map's maxima inside each patch, and the scan score is their maximum.
    assert np.allclose(r.threat_map.box_max(r.boxes), r.scores, atol=1e-5)
    assert r.score == pytest.approx(float(r.scores.max()))


def test_a_map_file_without_views_scores_one_view_as_before(trained: tuple[Path, Path], tmp_path: Path) -> None:
    """Files written before ``views`` existed hold no such key: they load at 1 view and score as they did."""
    import json
    import shutil

    import h5py

    from engine.modelfile import load_model
    from engine.scoring import Scorer

    root, out = trained
    old = tmp_path / "before-views.h5"
    shutil.copy(out, old)
    with h5py.File(old, "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        del cfg["views"]
        f.attrs["model_config"] = json.dumps(cfg)
    bundle = load_model(old)
    assert bundle.model.config.views == 1
    scan = root / "threat" / "t0.png"
    r_old = Scorer(bundle, device="cpu").score_scan(scan)
    new = load_model(out)
    with torch.inference_mode():
        x = torch.rand(1, 3, 64, 80)
        assert torch.allclose(bundle.model.eval().scoring_logits(x), new.model.eval()(x).logits)  # one view
    r_new = Scorer(new, device="cpu").score_scan(scan)
    assert r_old.scores.shape == r_new.scores.shape and not np.allclose(r_old.scores, r_new.scores)


def test_a_scan_scores_the_same_alone_and_in_a_batch(trained: tuple[Path, Path], tmp_path: Path) -> None:
    from engine.batch import run_batch
    from engine.modelfile import load_model
    from engine.scoring import Scorer
    from engine.storage import SessionStore

    root, out = trained
    session = tmp_path / "s.h5"
    list(run_batch(str(root), out, session, device="cpu"))
    alone = Scorer(load_model(out), device="cpu")
    store = SessionStore.open(session, "r")
    try:
        rows = {Path(r.path).name: r for r in store.iter_results()}
    finally:
        store.close()
    assert len(rows) == 6
    for name, row in rows.items():
        path = next(root.rglob(name))
        r = alone.score_scan(path)
        assert np.allclose(r.scores, row.scores, atol=1e-6), name
        # The stored map is the one scored alone, within quantisation, and traces the same regions.
        assert r.threat_map is not None and row.threat_map is not None
        content = r.threat_map.logits > BACKGROUND
        np.testing.assert_array_equal(row.threat_map.logits <= BACKGROUND, ~content)
        assert np.abs(row.threat_map.logits[content] - r.threat_map.logits[content]).max() <= HALF_STEP + 1e-6
        alone_q = CompactMap.from_map(r.threat_map).to_map()
        for t in (float(np.median(r.threat_map.logits[content])), r.score - 0.5):
            assert flagged_regions(row.threat_map, t, r.width, r.height, row.score) == \
                flagged_regions(alone_q, t, r.width, r.height, r.score), (name, t)


def test_recon_variant_feeds_the_reconstruction_and_trains_both_halves() -> None:
    from engine.training.map_loss import step_loss

    torch.manual_seed(2)
    model = create_model("threat-map", recon=True).train()
    assert model.netm.stem[0].in_channels == 9  # [x, x_hat, |x - x_hat|]
    x = torch.rand(2, 3, 48, 48)
    target = torch.zeros(2, 1, 24, 24)
    target[0, 0, 5:9, 5:9] = 1.0
    loss, parts = step_loss(model, x, target, torch.ones_like(target), x, torch.tensor([1.0, 0.0]))
    assert parts["recon"] > 0 and torch.isfinite(loss)
    loss.backward()
    for part in (model.netm, model.netr):
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in part.parameters())
