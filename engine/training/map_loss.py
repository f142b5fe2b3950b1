"""The dense threat map's loss: per-pixel BCE plus two max terms that act like hard-negative mining.

Why the max terms: the product scores a patch and a scan by the map's maximum, so what matters
is that the highest logit on a threat-free crop (its worst clutter: a laptop, an umbrella frame)
stays low and the highest logit on a threat is high. Penalising each crop's hardest negative
pixel mines hard negatives inside every batch, with no separate mining pass. Real threats with
box-only labels get only the positive max term inside their box (multiple-instance learning).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class MapLossWeights:
    pixel: float = 1.0
    pos_max: float = 0.5
    neg_max: float = 0.5
    recon: float = 10.0  # L1 of the reconstructive half (recon models only): G learns to remove threats


def map_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
             w: MapLossWeights = MapLossWeights()) -> tuple[torch.Tensor, dict[str, float]]:
    """``logits``, ``target``, ``weight``: (N, 1, h, w). A real threat's box is a target whose pixels have
    weight 0, so it enters through the positive max term only (multiple-instance learning)."""
    logits = logits.float()
    pix = F.binary_cross_entropy_with_logits(logits, target, weight=weight, reduction="sum")
    pix = pix / weight.sum().clamp_min(1.0)
    flat, tgt, wt = logits.flatten(1), target.flatten(1), weight.flatten(1)
    very_low = torch.finfo(flat.dtype).min / 4
    has_pos = tgt.amax(1) > 0
    pos_max = torch.where(tgt > 0, flat, very_low).amax(1)
    neg_max = torch.where((tgt <= 0) & (wt > 0), flat, very_low).amax(1)
    has_neg = ((tgt <= 0) & (wt > 0)).sum(1) > 0
    zero = logits.new_zeros(())
    lp = F.binary_cross_entropy_with_logits(pos_max[has_pos], torch.ones_like(pos_max[has_pos])) \
        if bool(has_pos.any()) else zero
    ln = F.binary_cross_entropy_with_logits(neg_max[has_neg], torch.zeros_like(neg_max[has_neg])) \
        if bool(has_neg.any()) else zero
    total = w.pixel * pix + w.pos_max * lp + w.neg_max * ln
    return total, {"pixel": float(pix.detach()), "pos_max": float(lp.detach()), "neg_max": float(ln.detach())}


def step_loss(model: torch.nn.Module, x: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
              clean: torch.Tensor, clean_weight: torch.Tensor,
              w: MapLossWeights = MapLossWeights()) -> tuple[torch.Tensor, dict[str, float]]:
    """One batch's loss for a threat-map model; with a reconstructive half, plus its L1 to the clean crop."""
    out = model(x)
    total, parts = map_loss(out.logits, target, weight, w)
    if out.x_hat is not None:
        rec = recon_l1(out.x_hat, clean, clean_weight)
        total = total + w.recon * rec
        parts["recon"] = float(rec.detach())
    return total, parts


def recon_l1(x_hat: torch.Tensor, clean: torch.Tensor, clean_weight: torch.Tensor) -> torch.Tensor:
    """Mean L1 of the reconstruction to the clean crop, over rows that have one (``clean_weight`` > 0)."""
    per = (x_hat.float() - clean).abs().flatten(1).mean(1)
    return (per * clean_weight).sum() / clean_weight.sum().clamp_min(1.0)
