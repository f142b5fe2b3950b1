"""The training loop as a generator of events; the CLI and the GUI only iterate it.

Recipe: train on patches of threat-free scans only; hold out ``val_fraction``
of those scans (split by scan) for model selection and for the score head
and normal calibration saved in the model file. Scans listed in
``TrainJob.exclude_hashes`` (those a benchmark evaluates) are never read.

Read :func:`train` top to bottom: pools, setup, resume, epochs (each: batches of
:class:`~engine.training.step.GanStep`, validation, checkpoint), then finish. Stabilisation:
spectral norm in the networks, and D re-initialised when its loss vanishes (step.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from ..config import GridConfig, ScoreConfig, TrainConfig
from ..data import load_dataset
from ..data.types import ScanRecord
from ..device import resolve_device
from ..errors import DatasetError, EngineError
from ..events import CancelToken, EpochEnded, Progress, ScanFailed, Warn, check
from ..modelfile import ModelBundle, save_model
from ..models import create_model
from ..models.base import AnomalyGAN
from . import ddp
from .checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from .data import AugmentedBatch, Augmenter, PatchPool, augment, build_pool, split_by_scan
from .finish import finish
from .step import GanStep

log = logging.getLogger(__name__)

TrainEvent = Progress | EpochEnded | Warn | ScanFailed
__all__ = ["Augmenter", "TrainEvent", "TrainJob", "train"]


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
    #: Labelled threat scans with boxes (a TIP library): a threat-map model projects their cut-outs
    #: and learns their real threats; never scans that are evaluated.
    tip_threats: list[ScanRecord] = field(default_factory=list)
    #: Threat-map models: composite some threats by alpha-over paste (map_data.VARIETY_*), not only by
    #: multiplying transmissions. Off by default until it measures better on calibration halves.
    tip_variety: bool = False


@dataclass
class _Best:
    val: float = float("inf")
    epoch: int = -1
    state: dict[str, torch.Tensor] | None = None


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
          ) -> Generator[Progress | ScanFailed, None, PatchPool]:
    """Pass build_pool's events through; the PatchPool (always last) is the return value."""
    for ev in build_pool(records, job.grid, job.train.max_patches_per_scan, seed, cancel, name):
        if isinstance(ev, PatchPool):
            return ev
        yield ev
    raise EngineError("build_pool ended without its patch pool")


def _pools(job: TrainJob, cancel: CancelToken | None
           ) -> Generator[Progress | ScanFailed, None, tuple[PatchPool, PatchPool]]:
    """Train and validation patches, split by scan."""
    cfg = job.train
    train_recs, val_recs, _ = split_by_scan(_records(job), cfg.val_fraction, cfg.seed)
    log.info("training on %d threat-free scans, validating on %d", len(train_recs), len(val_recs))
    train_pool = yield from _pool(train_recs, job, cfg.seed, "train patches", cancel)
    val_pool = yield from _pool(val_recs, job, cfg.seed + 1, "validation patches", cancel)
    if len(train_pool) == 0 or len(val_pool) == 0:
        raise DatasetError("no content patches to train on (are the scans all background?)")
    return train_pool, val_pool


def _setup(job: TrainJob, device: torch.device, distributed: bool) -> GanStep:
    """The model and its optimisers at the model's recommended rates (unless the config sets them)."""
    cfg = job.train
    mc = dict(job.model_config, input_size=job.grid.input_size, channels=job.grid.channels)
    model = create_model(job.model, **mc).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # stubs lack it
    lr = cfg.lr or model.default_lr
    lr_d = cfg.lr_d or model.default_lr_d or lr
    opt_g = torch.optim.Adam(model.netg.parameters(), lr=lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(model.netd.parameters(), lr=lr_d, betas=(cfg.beta1, cfg.beta2))
    netg = DDP(model.netg) if distributed else model.netg
    netd = DDP(model.netd) if distributed else model.netd
    return GanStep(model, netg, netd, opt_g, opt_d, cfg, device)


def _resume(job: TrainJob, step: GanStep, history: list[dict[str, Any]], best: _Best
            ) -> Generator[Warn, None, int]:
    """With ``job.resume``, load the checkpoint's weights, optimisers, history and best epoch;
    returns the first epoch still to train."""
    ckpt = checkpoint_path(job.out)
    if not job.resume:
        return 0
    if not ckpt.is_file():
        yield Warn(f"--resume: no checkpoint at {ckpt}; starting afresh")
        return 0
    loaded, last, rec, state = load_checkpoint(ckpt, step.opt_g, step.opt_d, step.device)
    step.model.load_state_dict(loaded.model.state_dict())
    history[:] = loaded.history
    best.val, best.epoch, best.state = rec["val"], rec["epoch"], state
    yield Warn(f"resuming from {ckpt} after epoch {last + 1}")
    return last + 1


def _val_loss(model: AnomalyGAN, pool: PatchPool, device: torch.device, batch: int) -> float:
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


def _batches(job: TrainJob, pool: PatchPool, epoch: int) -> tuple[int, Iterator[AugmentedBatch]]:
    """(number of batches, the batches): this rank's share of the epoch, shuffled, flipped and
    (with an augmenter) augmented. Seeded per epoch (and rank), so a resumed run trains alike."""
    cfg = job.train
    rank, world = ddp.world()
    rng = np.random.default_rng([cfg.seed, epoch, rank])
    torch.manual_seed(cfg.seed * 1009 + epoch)
    order = np.random.default_rng([cfg.seed, epoch]).permutation(len(pool))[rank::world]
    n_batches = max(1, len(order) // cfg.batch_size)
    if job.max_batches_per_epoch:
        n_batches = min(n_batches, job.max_batches_per_epoch)

    def batches() -> Iterator[AugmentedBatch]:
        for b in range(n_batches):
            clean = pool.batch(order[b * cfg.batch_size : (b + 1) * cfg.batch_size])
            if cfg.augment:
                clean = augment(clean, rng)
            yield job.augmenter(clean, rng) if job.augmenter is not None else AugmentedBatch(clean, clean)

    return n_batches, batches()


def _epoch(job: TrainJob, step: GanStep, pool: PatchPool, epoch: int, cancel: CancelToken | None
           ) -> Generator[Progress, None, tuple[dict[str, float], int]]:
    """Train one epoch; returns (mean loss parts over ranks, patches seen by this rank)."""
    sums: dict[str, float] = {}
    seen = 0
    n_batches, batches = _batches(job, pool, epoch)
    for b, batch in enumerate(batches):
        check(cancel)
        for k, v in step(batch).items():
            sums[k] = sums.get(k, 0.0) + v
        seen += len(batch.x)
        if ddp.is_main() and (b % 5 == 0 or b == n_batches - 1):
            yield Progress("train", b + 1, n_batches, f"epoch {epoch + 1}/{job.train.epochs}")
    return {k: ddp.all_reduce_mean(v / n_batches, step.device) for k, v in sums.items()}, seen


def train(job: TrainJob, cancel: CancelToken | None = None) -> Iterator[TrainEvent]:
    """Yield Progress / EpochEnded / Warn / ScanFailed events; the finished model file is at ``job.out``."""
    from ..models import produces_map

    if produces_map(job.model):
        from .map_loop import train_map

        yield from train_map(job, _records(job), cancel)
        return
    cfg = job.train
    device = ddp.local_device(resolve_device(job.device))
    distributed = ddp.init(device)
    world = ddp.world()[1]
    torch.manual_seed(cfg.seed)
    train_pool, val_pool = yield from _pools(job, cancel)
    step = _setup(job, device, distributed)
    history: list[dict[str, Any]] = []
    best = _Best()
    start = yield from _resume(job, step, history, best)
    model = step.model
    model.train()
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        losses, seen = yield from _epoch(job, step, train_pool, epoch, cancel)
        val = _val_loss(model, val_pool, device, cfg.batch_size)
        secs = time.perf_counter() - t0
        history.append({"epoch": epoch + 1, **losses, "val": val, "seconds": round(secs, 2)})
        if val < best.val:
            best = _Best(val, epoch + 1, {k: v.detach().clone() for k, v in model.state_dict().items()})
        if ddp.is_main():
            bundle = ModelBundle(job.model, model, job.grid, cfg, history=tuple(history))
            save_checkpoint(checkpoint_path(job.out), bundle, step.opt_g, step.opt_d, epoch,
                            {"val": best.val, "epoch": best.epoch}, best.state)
        ddp.barrier()
        yield EpochEnded(epoch + 1, cfg.epochs, losses, val, secs, seen * world / max(secs, 1e-9))
    if best.state is not None:
        model.load_state_dict(best.state)
    model.eval()
    if ddp.is_main():
        yield Progress("calibrate", 0, 1, "score statistics on held-out normal scans")
        bundle = finish(ModelBundle(job.model, model, job.grid, cfg, history=tuple(history)), val_pool, device,
                        job.score)
        save_model(bundle, job.out)
        log.info("saved %s (best epoch %s, val %.5f)", job.out, best.epoch, best.val)
        yield Progress("calibrate", 1, 1, f"saved {job.out}")
    ddp.barrier()
    if distributed:
        ddp.shutdown()
