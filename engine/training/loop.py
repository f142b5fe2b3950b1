"""The training loop as a generator of events; the CLI and the GUI only iterate it.

Recipe: train on patches of threat-free scans only; hold out ``val_fraction``
of those scans (split by scan) for model selection and for the score
statistics and normal calibration saved in the model file. Scans listed in
``TrainJob.exclude_hashes`` (those a benchmark evaluates) are never read.

Stabilisation: spectral norm in the networks, and D is re-initialised when its
loss falls below ``TrainConfig.d_reinit_threshold`` (as Skip-GANomaly does).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from .. import calibration as calib
from ..config import GridConfig, ScoreConfig, TrainConfig
from ..data import load_dataset
from ..data.types import ScanRecord
from ..device import resolve_device
from ..errors import DatasetError
from ..events import CancelToken, EpochEnded, Progress, Warn, check
from ..modelfile import ModelBundle, save_model
from ..models import create_model
from ..scoring import combine, component_stats, raw_components
from . import ddp
from .checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from .data import PatchPool, augment, build_pool, split_by_scan
from .losses import discriminator_loss, generator_loss

log = logging.getLogger(__name__)

#: Adam learning rates chosen by experiment (README, "Training"): the nested dsa generator fits
#: real patches to L1 0.07 in 150 steps at 3e-3 but stalls at 0.23 at the reference repos' 2e-4;
#: the baselines keep their papers' 2e-4. The depthwise-separable sagan and two-stage generators
#: behave alike (SIXray-dev patches, G alone, 60 steps of 32: sagan L1 0.17 at 2e-4, 0.06 at 1e-3).
RECOMMENDED_LR: dict[str, float] = {"dsa": 2e-3, "sagan": 1e-3, "two-stage": 1e-3}
#: D's own rate where it differs from G's (two time-scale update rule). dsa's spectral-norm attention D
#: at G's 2e-3 sat at ln 2 (real/fake and threat-head BCE both flat for whole runs); at 2e-4 both losses
#: leave ln 2 and keep falling (SIXray-dev, 4 epochs: D 0.53-0.59, threat head 0.67 -> 0.56).
RECOMMENDED_LR_D: dict[str, float] = {"dsa": 2e-4}
DEFAULT_LR = 2e-4

#: (clean batch, rng) -> (input batch, contextual target, threat labels[, contextual-loss weights
#: [, (N, 1, H, W) synthetic-anomaly masks for an attention map]]).
#: Used for TIP hard augmentation; see engine.training.tip_augment.
Augmenter = Callable[[np.ndarray, np.random.Generator], tuple[np.ndarray, ...]]


@dataclass
class TrainJob:
    data: str | list[ScanRecord]
    model: str
    out: str
    model_config: dict[str, Any] = field(default_factory=dict)
    grid: GridConfig = field(default_factory=GridConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    device: str = "auto"
    resume: bool = False
    exclude_hashes: frozenset[str] = frozenset()
    augmenter: Augmenter | None = None
    max_batches_per_epoch: int = 0


def _records(job: TrainJob) -> list[ScanRecord]:
    recs = job.data if isinstance(job.data, list) else load_dataset(job.data).normals
    if job.exclude_hashes:
        from ..data.io import file_sha256

        recs = [r for r in recs if file_sha256(r.path) not in job.exclude_hashes]
    if len(recs) < 2:
        raise DatasetError(f"{job.data if isinstance(job.data, str) else 'data'}: need at least 2 threat-free "
                           f"scans to train and validate, found {len(recs)}")
    return recs


def _pool(records: list[ScanRecord], job: TrainJob, seed: int, name: str, cancel: CancelToken | None
          ) -> Iterator[Any]:
    yield from build_pool(records, job.grid, job.train.max_patches_per_scan, seed, cancel, name)


def _collect(gen: Iterator[Any]) -> Iterator[Any]:
    """Pass events through; the PatchPool (always last) is returned via StopIteration.value."""
    pool = None
    for ev in gen:
        if isinstance(ev, PatchPool):
            pool = ev
        else:
            yield ev
    return pool


def _reinit(module: torch.nn.Module) -> None:
    for m in module.modules():
        if m is not module and hasattr(m, "reset_parameters"):
            m.reset_parameters()


def _val_loss(model: Any, pool: PatchPool, device: torch.device, batch: int) -> float:
    """Mean contextual L1 on held-out normal patches: the honest selection criterion."""
    model.eval()
    total, n = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(pool), batch):
            x = torch.from_numpy(pool.batch(np.arange(i, min(i + batch, len(pool))))).to(device)
            total += float((model.netg(x).x_hat.float() - x).abs().mean()) * len(x)
            n += len(x)
    model.train()
    return total / max(n, 1)


def train(job: TrainJob, cancel: CancelToken | None = None) -> Iterator[Any]:
    """Yield Progress / EpochEnded / Warn events; the finished model file is at ``job.out``."""
    cfg = job.train
    device = ddp.local_device(resolve_device(job.device))
    distributed = ddp.init(device)
    rank, world = ddp.world()
    main = ddp.is_main()
    torch.manual_seed(cfg.seed)
    records = _records(job)
    train_recs, val_recs, _ = split_by_scan(records, cfg.val_fraction, cfg.seed)
    log.info("training on %d threat-free scans, validating on %d", len(train_recs), len(val_recs))
    train_pool = yield from _collect(_pool(train_recs, job, cfg.seed, "train patches", cancel))
    val_pool = yield from _collect(_pool(val_recs, job, cfg.seed + 1, "validation patches", cancel))
    if len(train_pool) == 0 or len(val_pool) == 0:
        raise DatasetError("no content patches to train on (are the scans all background?)")

    mc = dict(job.model_config, input_size=job.grid.input_size, channels=job.grid.channels)
    model = create_model(job.model, **mc).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    lr = cfg.lr or RECOMMENDED_LR.get(job.model, DEFAULT_LR)
    opt_g = torch.optim.Adam(model.netg.parameters(), lr=lr, betas=(cfg.beta1, cfg.beta2))
    lr_d = cfg.lr_d or RECOMMENDED_LR_D.get(job.model, lr)
    opt_d = torch.optim.Adam(model.netd.parameters(), lr=lr_d, betas=(cfg.beta1, cfg.beta2))
    bundle = ModelBundle(job.model, model, job.grid, cfg, job.score)
    ckpt = checkpoint_path(job.out)
    start, best, best_state = 0, {"val": float("inf"), "epoch": -1}, None
    if job.resume and ckpt.is_file():
        loaded, last, best, best_state = load_checkpoint(ckpt, opt_g, opt_d, device)
        model.load_state_dict(loaded.model.state_dict())
        bundle.history = loaded.history
        start = last + 1
        yield Warn(f"resuming from {ckpt} after epoch {last + 1}")
    elif job.resume:
        yield Warn(f"--resume: no checkpoint at {ckpt}; starting afresh")

    netg = DDP(model.netg) if distributed else model.netg
    netd = DDP(model.netd) if distributed else model.netd
    amp = device.type == "cuda"
    model.train()
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        rng = np.random.default_rng([cfg.seed, epoch, rank])
        torch.manual_seed(cfg.seed * 1009 + epoch)
        order = np.random.default_rng([cfg.seed, epoch]).permutation(len(train_pool))[rank::world]
        n_batches = max(1, len(order) // cfg.batch_size)
        if job.max_batches_per_epoch:
            n_batches = min(n_batches, job.max_batches_per_epoch)
        sums: dict[str, float] = {}
        seen = 0
        for b in range(n_batches):
            check(cancel)
            clean = train_pool.batch(order[b * cfg.batch_size : (b + 1) * cfg.batch_size])
            if cfg.augment:
                clean = augment(clean, rng)
            weight = mask = None
            if job.augmenter is not None:
                x_np, target_np, threat_np, *rest = job.augmenter(clean, rng)
                if rest:
                    weight = torch.from_numpy(rest[0].astype(np.float32)).to(device)
                if len(rest) > 1:
                    mask = torch.from_numpy(rest[1].astype(np.float32)).to(device)
            else:
                x_np, target_np, threat_np = clean, clean, None
            x = torch.from_numpy(x_np).to(device)
            target = torch.from_numpy(target_np).to(device)
            threat = torch.from_numpy(threat_np.astype(np.float32)).to(device) if threat_np is not None else None
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                gen = netg(x)
                # D step: one forward over real and fake together (one DDP forward per backward).
                d_all = netd(torch.cat([x, gen.x_hat.detach().to(x.dtype)], 0))
            d_real, d_fake = _split(d_all, len(x))
            d_terms = discriminator_loss(d_real, d_fake, threat, cfg)
            opt_d.zero_grad(set_to_none=True)
            d_terms.total.backward()
            opt_d.step()
            # G step: through the raw D (no DDP sync for D's unused grads), D frozen.
            raw_d = model.netd
            raw_d.requires_grad_(False)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                d_all = raw_d(torch.cat([target, gen.x_hat.to(x.dtype)], 0))
            d_clean, d_fake = _split(d_all, len(x))
            g_terms = generator_loss(target, gen, d_fake, d_clean, cfg, weight, mask)
            opt_g.zero_grad(set_to_none=True)
            g_terms.total.backward()
            opt_g.step()
            raw_d.requires_grad_(True)
            if d_terms.parts["d"] < cfg.d_reinit_threshold:
                _reinit(model.netd)
                log.info("epoch %d batch %d: D loss vanished, re-initialised D", epoch + 1, b)
            for k, v in {**d_terms.parts, **g_terms.parts}.items():
                sums[k] = sums.get(k, 0.0) + v
            seen += len(x)
            if main and (b % 5 == 0 or b == n_batches - 1):
                yield Progress("train", b + 1, n_batches, f"epoch {epoch + 1}/{cfg.epochs}")
        losses = {k: ddp.all_reduce_mean(v / n_batches, device) for k, v in sums.items()}
        val = _val_loss(model, val_pool, device, cfg.batch_size)
        secs = time.perf_counter() - t0
        record = {"epoch": epoch + 1, **losses, "val": val, "seconds": round(secs, 2)}
        bundle.history.append(record)
        if val < best["val"]:
            best = {"val": val, "epoch": epoch + 1}
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if main:
            save_checkpoint(ckpt, bundle, opt_g, opt_d, epoch, best, best_state)
        ddp.barrier()
        yield EpochEnded(epoch + 1, cfg.epochs, losses, val, secs, seen * world / max(secs, 1e-9))

    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    if main:
        yield Progress("calibrate", 0, 1, "score statistics on held-out normal scans")
        finish(bundle, val_pool, device)
        save_model(bundle, job.out)
        log.info("saved %s (best epoch %s, val %.5f)", job.out, best["epoch"], best["val"])
        yield Progress("calibrate", 1, 1, f"saved {job.out}")
    ddp.barrier()
    if distributed:
        ddp.shutdown()


def _split(d: Any, n: int) -> tuple[Any, Any]:
    from ..models.base import DiscOutput

    t = d.threat_logit
    return (
        DiscOutput(d.logit[:n], d.features[:n], None if t is None else t[:n]),
        DiscOutput(d.logit[n:], d.features[n:], None if t is None else t[n:]),
    )


def finish(bundle: ModelBundle, val_pool: PatchPool, device: torch.device) -> None:
    """Score statistics and the normal-only calibration, from held-out normal scans only."""
    arrays = val_pool.batch(np.arange(len(val_pool)))
    raw = raw_components(bundle, arrays, device, bundle.score.batch_size)
    bundle.score_stats = component_stats(raw)
    gamma = float(bundle.score.extra.get("gamma", 1.0))
    patch_scores = combine(raw, bundle.score_stats, bundle.score.eta, gamma)
    scan_scores = np.full(len(val_pool.records), -np.inf, np.float32)
    np.maximum.at(scan_scores, val_pool.scan_index, patch_scores)
    scan_scores = scan_scores[np.isfinite(scan_scores)]
    bundle.calibration = calib.Calibration.normal_only(patch_scores, scan_scores, val_pool.hashes)
    bundle.model = copy.deepcopy(bundle.model).cpu() if device.type != "cpu" else bundle.model


