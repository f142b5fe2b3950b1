"""One adversarial training step (D, then G), apart from the loop that schedules it.

D learns on real and fake together (one forward, so one DDP forward per backward); G then
learns through the raw D with D frozen (no DDP sync for D's unused gradients). When D's
loss vanishes it is re-initialised (as Skip-GANomaly does): a D that wins outright gives
G no gradient.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..config import TrainConfig
from ..models.base import AnomalyGAN, DiscOutput
from .data import AugmentedBatch
from .losses import discriminator_loss, generator_loss

log = logging.getLogger(__name__)


def _tensor(a: np.ndarray | None, device: torch.device) -> torch.Tensor | None:
    return None if a is None else torch.from_numpy(a.astype(np.float32, copy=False)).to(device)


def split_disc(d: DiscOutput, n: int) -> tuple[DiscOutput, DiscOutput]:
    """D's output on ``cat([a, b])`` as its outputs on ``a`` (the first n) and on ``b``."""
    t = d.threat_logit
    return (DiscOutput(d.logit[:n], d.features[:n], None if t is None else t[:n]),
            DiscOutput(d.logit[n:], d.features[n:], None if t is None else t[n:]))


def reinit(module: nn.Module) -> None:
    for m in module.modules():
        reset = getattr(m, "reset_parameters", None)
        if m is not module and callable(reset):
            reset()


@dataclass
class GanStep:
    """Optimisers and (possibly DDP-wrapped) networks of one run; call it on a batch."""

    model: AnomalyGAN
    netg: nn.Module  # model.netg, or its DDP wrapper
    netd: nn.Module  # model.netd, or its DDP wrapper
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    cfg: TrainConfig
    device: torch.device

    def __call__(self, batch: AugmentedBatch) -> dict[str, float]:
        """Train D then G on ``batch``; returns the loss parts (floats) for the epoch's means."""
        x = torch.from_numpy(batch.x).to(self.device)
        target = torch.from_numpy(batch.target).to(self.device)
        threat = _tensor(batch.threat, self.device)
        weight, mask = _tensor(batch.weight, self.device), _tensor(batch.mask, self.device)
        amp = self.device.type == "cuda"
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=amp):
            gen = self.netg(x)
            d_all = self.netd(torch.cat([x, gen.x_hat.detach().to(x.dtype)], 0))
        d_real, d_fake = split_disc(d_all, len(x))
        d_terms = discriminator_loss(d_real, d_fake, threat, self.cfg)
        self.opt_d.zero_grad(set_to_none=True)
        d_terms.total.backward()
        self.opt_d.step()
        raw_d = self.model.netd
        raw_d.requires_grad_(False)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=amp):
            d_all = raw_d(torch.cat([target, gen.x_hat.to(x.dtype)], 0))
        d_clean, d_fake = split_disc(d_all, len(x))
        g_terms = generator_loss(target, gen, d_fake, d_clean, self.cfg, weight, mask)
        self.opt_g.zero_grad(set_to_none=True)
        g_terms.total.backward()
        self.opt_g.step()
        raw_d.requires_grad_(True)
        if d_terms.parts["d"] < self.cfg.d_reinit_threshold:
            reinit(self.model.netd)
            log.info("D loss vanished, re-initialised D")
        return {**d_terms.parts, **g_terms.parts}
