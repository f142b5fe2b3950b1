"""The paper's losses, apart from the networks (as in anomalib's loss.py).

D: BCE(real -> 1, fake -> 0). G: w_adv * BCE(D(x_hat) -> 1) + w_con * L1(x, x_hat)
+ w_lat * L2(f(x), f(x_hat)) + the model's own auxiliary term. With TIP
augmentation, D's threat head also learns BCE(projected threat -> 1, normal -> 0),
and the contextual target of a projected patch is its clean original. A generator
whose output carries ``attention_logit`` (two-stage) adds ``w_att * BCE(attention,
mask)`` when the augmenter supplies masks of its synthetic anomalies.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import TrainConfig
from ..models.base import DiscOutput, GenOutput


@dataclass
class LossTerms:
    total: torch.Tensor
    parts: dict[str, float]


def discriminator_loss(d_real: DiscOutput, d_fake: DiscOutput, threat_target: torch.Tensor | None,
                       cfg: TrainConfig) -> LossTerms:
    real = F.binary_cross_entropy_with_logits(d_real.logit.float(), torch.ones_like(d_real.logit.float()))
    fake = F.binary_cross_entropy_with_logits(d_fake.logit.float(), torch.zeros_like(d_fake.logit.float()))
    total = 0.5 * (real + fake)
    parts = {"d": float(total.detach())}
    if threat_target is not None and d_real.threat_logit is not None:
        tip = F.binary_cross_entropy_with_logits(d_real.threat_logit.float(), threat_target)
        total = total + cfg.w_tip * tip
        parts["tip"] = float(tip.detach())
    return LossTerms(total, parts)


def generator_loss(x_target: torch.Tensor, gen: GenOutput, d_fake: DiscOutput, d_real: DiscOutput,
                   cfg: TrainConfig, weight: torch.Tensor | None = None,
                   mask: torch.Tensor | None = None) -> LossTerms:
    """``weight`` (N,) masks samples out of the contextual loss (real threats G must not learn);
    ``mask`` (N, 1, H, W) marks synthetic-anomaly pixels for a generator with an attention map."""
    logit = d_fake.logit.float()
    adv = F.binary_cross_entropy_with_logits(logit, torch.ones_like(logit))
    per = (gen.x_hat.float() - x_target).abs().flatten(1).mean(1)
    con = per.mean() if weight is None else (per * weight).sum() / weight.sum().clamp_min(1.0)
    lat = F.mse_loss(d_fake.features.float(), d_real.features.float().detach())
    total = cfg.w_adv * adv + cfg.w_con * con + cfg.w_lat * lat
    parts = {"adv": float(adv.detach()), "con": float(con.detach()), "lat": float(lat.detach())}
    if gen.aux_loss is not None:
        total = total + gen.aux_loss.float()
        parts["aux"] = float(gen.aux_loss.detach())
    if mask is not None and gen.attention_logit is not None:
        att = attention_loss(gen.attention_logit, mask)
        total = total + gen.w_att * att
        parts["att"] = float(att.detach())
    parts["g"] = float(total.detach())
    return LossTerms(total, parts)


def attention_loss(logit: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Pixel-wise BCE of an attention map (given as logits) against a 0/1 anomaly mask."""
    return F.binary_cross_entropy_with_logits(logit.float(), mask.float())
