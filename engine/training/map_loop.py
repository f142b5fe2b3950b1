"""Training the dense threat map (detector v2) as a generator of events, like the GAN loop.

Recipe (benchmarks/RESULTS.md, "Detector v2"): crops of threat-free training scans at the
model's scale; threats projected into them with exact masks (synthetic shape models always,
plus cut-outs of ``TrainJob.tip_threats`` when a library is given); the library's real threats
as box-level targets and its threat-free regions as negatives. An epoch is a fixed number of
batches. Held-out threat-free scans (split by scan, never the ones a benchmark evaluates) pick
the epoch (the loss on a fixed set of validation batches) and give the score statistics and the
normal calibration saved in the model file.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..calibration import Calibration
from ..config import ScoreConfig
from ..data.types import ScanRecord
from ..device import resolve_device
from ..errors import DatasetError
from ..events import CancelToken, EpochEnded, Progress, Warn, check
from ..map_scoring import map_logit_patches
from ..modelfile import ModelBundle, save_model
from ..models import create_model
from ..score_head import ScoreHead
from .map_data import CropSet, MapAugmenter, MapBatch, build_crops, tip_library
from .map_gan import MapGanStep
from .map_loss import step_loss

if TYPE_CHECKING:
    from .loop import TrainJob

log = logging.getLogger(__name__)

#: Batches per epoch; with TrainConfig's 15 epochs of 32 crops this is the measured default recipe.
STEPS_PER_EPOCH = 100
#: AdamW peak rate of the one-cycle schedule (3e-3 reached a falling validation loss in 1500 steps).
DEFAULT_LR = 3e-3
VAL_BATCHES = 4
#: Scoring views a trained file gets unless the model config names its own (ThreatMapConfig.views): the
#: flip mean raised the calibration criterion on every paired split and seed (benchmarks/RESULTS.md,
#: "Detector v2, round 2"). The config's own default stays 1, so files written before score as they did.
RECIPE_VIEWS = 4


def crop_size(input_size: int) -> int:
    """Training crops span 1.5 grid patches: a whole gun fits, and the map learns context."""
    return int(round(1.5 * input_size / 16)) * 16


def _crops(records: Sequence[ScanRecord], job: TrainJob, scale: float, per_scan: int, seed: int,
           cancel: CancelToken | None, threats: bool = False) -> Generator[Progress, None, list[CropSet]]:
    out: list[CropSet] = []
    grid = job.grid
    for ev in build_crops(records, scale, crop_size(grid.input_size), per_scan, seed, grid, cancel, threats):
        if isinstance(ev, CropSet):
            out.append(ev)
        else:
            yield ev
    return out


Tensors5 = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _tensor_batch(b: MapBatch, device: torch.device) -> Tensors5:
    x, t, w, c, cw = (torch.from_numpy(a).to(device) for a in (b.x, b.target, b.weight, b.clean, b.clean_weight))
    return x, t, w, c, cw


def _val_loss(model: torch.nn.Module, batches: list[MapBatch], device: torch.device) -> float:
    model.eval()
    with torch.inference_mode():
        total = sum(float(step_loss(model, *_tensor_batch(b, device))[0]) for b in batches)
    model.train()
    return total / max(len(batches), 1)


def train_map(job: TrainJob, records: list[ScanRecord], cancel: CancelToken | None = None
              ) -> Iterator[Progress | EpochEnded | Warn]:
    """Yield Progress / EpochEnded / Warn; the finished model file is at ``job.out``."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    from . import ddp
    from .data import split_by_scan

    cfg, grid = job.train, job.grid
    device = ddp.local_device(resolve_device(job.device))
    distributed = ddp.init(device)
    rank, world = ddp.world()
    if job.resume:
        yield Warn("--resume is not supported for threat-map models yet; training afresh (a run takes minutes)")
    torch.manual_seed(cfg.seed)
    scale = grid.input_size / grid.patch
    train_recs, val_recs, _ = split_by_scan(records, cfg.val_fraction, cfg.seed)
    log.info("threat map: training on %d threat-free scans, validating on %d, scale %.3g", len(train_recs),
             len(val_recs), scale)
    per_scan = max(1, min(cfg.max_patches_per_scan, 12))
    (normals,) = yield from _crops(train_recs, job, scale, per_scan, cfg.seed, cancel)
    (val_normals,) = yield from _crops(val_recs, job, scale, per_scan, cfg.seed + 1, cancel)
    if len(normals) == 0 or len(val_normals) == 0:
        raise DatasetError("no content crops to train on (are the scans all background or too small?)")
    lib_clean = lib_real = None
    if job.tip_threats:
        lib_clean, lib_real = yield from _crops(job.tip_threats, job, scale, 4, cfg.seed + 2, cancel, threats=True)
    library = tip_library(job.tip_threats, cfg.seed)
    log.info("threat map: %d normal crops, TIP library %s", len(normals), library.counts())
    aug = MapAugmenter(normals, library, scale, grid, real=lib_real, real_clean=lib_clean, variety=job.tip_variety)
    val_rng = np.random.default_rng([cfg.seed, 99])
    val_aug = MapAugmenter(val_normals, library, scale, grid, variety=job.tip_variety)
    val_batches = [val_aug(cfg.batch_size, val_rng) for _ in range(VAL_BATCHES)]

    mc = {"views": RECIPE_VIEWS, **job.model_config, "input_size": grid.input_size, "channels": grid.channels}
    model = create_model(job.model, **mc).to(device)
    net = DDP(model) if distributed else model
    steps = job.max_batches_per_epoch or STEPS_PER_EPOCH
    lr = cfg.lr or DEFAULT_LR
    gan = MapGanStep(model) if getattr(model, "netc", None) is not None else None
    params = [p for n, p in model.named_parameters() if not n.startswith("netc.")]  # D has its own optimiser
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=cfg.epochs * steps, pct_start=0.1)
    bundle = ModelBundle(job.model, model, grid, cfg)
    history: list[dict[str, float]] = []
    best: tuple[float, int, dict[str, torch.Tensor] | None] = (float("inf"), 0, None)
    model.train()
    for epoch in range(cfg.epochs):
        t0, sums = time.perf_counter(), dict[str, float]()
        rng = np.random.default_rng([cfg.seed, epoch, rank])  # each rank draws its own crops
        for b in range(steps):
            check(cancel)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                batch = _tensor_batch(aug(cfg.batch_size, rng), device)
                loss, parts = gan(net, *batch) if gan is not None else step_loss(net, *batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            if ddp.is_main() and (b % 10 == 0 or b == steps - 1):
                yield Progress("train", b + 1, steps, f"epoch {epoch + 1}/{cfg.epochs}")
        losses = {k: ddp.all_reduce_mean(v / steps, device) for k, v in sums.items()}
        val = _val_loss(model, val_batches, device)
        secs = time.perf_counter() - t0
        history.append({"epoch": epoch + 1, **losses, "val": val, "seconds": round(secs, 2)})
        if val < best[0]:
            best = (val, epoch + 1, {k: v.detach().clone() for k, v in model.state_dict().items()})
        yield EpochEnded(epoch + 1, cfg.epochs, losses, val, secs, world * steps * cfg.batch_size / max(secs, 1e-9))
    if best[2] is not None:
        model.load_state_dict(best[2])
    if ddp.is_main():
        yield Progress("calibrate", 0, 1, "score statistics on held-out normal scans")
        bundle = finish_map(replace(bundle, history=tuple(history)), val_recs, device, job.score, cancel)
        save_model(bundle, job.out)
        log.info("saved %s (best epoch %d, val %.5f)", job.out, best[1], best[0])
        yield Progress("calibrate", 1, 1, f"saved {job.out}")
    ddp.barrier()
    if distributed:
        ddp.shutdown()


def finish_map(bundle: ModelBundle, val_recs: Sequence[ScanRecord], device: torch.device, score: ScoreConfig,
               cancel: CancelToken | None = None) -> ModelBundle:
    """A new bundle with the score head (median and IQR of held-out normal patch logits) and the
    normal-only calibration, both through the path a scan is scored by."""
    from ..data.io import read_scan
    from ..errors import EngineError

    bundle.model.eval()
    logits: list[np.ndarray] = []
    hashes: list[str] = []
    for rec in val_recs:
        check(cancel)
        try:
            scan = read_scan(rec.path)
        except EngineError as exc:
            log.warning("validation scan skipped: %s", exc)
            continue
        _, patch_logits, _ = map_logit_patches(bundle, scan.pixels, device)
        if len(patch_logits):
            logits.append(patch_logits)
            hashes.append(scan.meta.sha256)
    if not logits:
        raise DatasetError("no held-out threat-free scan with content to calibrate the threat map on")
    head = ScoreHead.fit({"map": np.concatenate(logits)}, score)
    scores = [head.combine({"map": v}) for v in logits]
    cal = Calibration.normal_only(np.concatenate(scores), np.array([head.scan_score(v) for v in scores]), hashes)
    model = copy.deepcopy(bundle.model).cpu() if device.type != "cpu" else bundle.model
    return replace(bundle, model=model, score_head=head, calibration=cal)
