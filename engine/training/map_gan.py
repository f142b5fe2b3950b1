"""The seed paper's GAN as detector v2's reconstructive half: one optimisation step of map, G and D.

Why a critic here: trained with L1 alone, the reconstruction blurs and may keep a faint copy of a
projected threat, which the map then reads as "no difference". The seed paper's discriminator
(attention-augmented, spectrally normalised) sees 64-px windows of the reconstruction beside the
clean crop, so G is also pushed to make x_hat look like a threat-free bag (adversarial term) with
D's last-conv features matching the clean crop's (latent term, relative to their energy). Unlike the
one-class seeds, D has something to learn: G's input carries a threat the clean target does not, so
D's loss does not sit at ln 2 and the latent loss stays above zero (both are logged every epoch).

The paper's weights are adversarial 1, contextual 40, latent 1; the map loss already weights the
L1 term 10 (map_loss.MapLossWeights.recon), so the GAN terms keep the paper's ratio: 10 / 40 each.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .map_loss import MapLossWeights, map_loss, recon_l1

WINDOW = 64  # the critic's input size (DSA's D at the seed's 64 px)


@dataclass(frozen=True)
class GanWeights:
    adv: float = 0.25
    lat: float = 0.25


def _window(a: torch.Tensor, b: torch.Tensor, top: int, left: int) -> tuple[torch.Tensor, torch.Tensor]:
    return a[..., top : top + WINDOW, left : left + WINDOW], b[..., top : top + WINDOW, left : left + WINDOW]


class MapGanStep:
    """Owns D's optimiser; ``__call__`` runs D's step, then returns the map + G loss for the caller's step."""

    def __init__(self, model: torch.nn.Module, lr_d: float = 1e-3, weights: GanWeights | None = None,
                 map_weights: MapLossWeights | None = None) -> None:
        critic = getattr(model, "netc", None)
        if critic is None:
            raise ValueError("MapGanStep needs a threat-map model built with adversarial=True")
        self.critic = critic
        self.w, self.mw = weights or GanWeights(), map_weights or MapLossWeights()
        # A learnable gain on D's logit, outside spectral norm: a Lipschitz-1 D's logits barely move for
        # the small differences between x_hat and the clean crop, so BCE drifts back to ln 2 (measured:
        # D's loss 0.43 in epoch 1, 0.689 from epoch 6 on, without it). Its own faster rate (TTUR).
        self.gain = torch.nn.Parameter(torch.ones((), device=next(critic.parameters()).device))
        self.opt_d = torch.optim.Adam([*critic.parameters(), self.gain], lr=lr_d, betas=(0.5, 0.999))

    def __call__(self, net: torch.nn.Module, x: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                 clean: torch.Tensor, clean_weight: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        out = net(x)
        assert out.x_hat is not None
        total, parts = map_loss(out.logits, target, weight, self.mw)
        x_hat = out.x_hat.float()
        keep = clean_weight > 0  # real library threats have no clean version: no GAN or L1 target
        rec = recon_l1(x_hat, clean, clean_weight)
        total = total + self.mw.recon * rec
        parts["recon"] = float(rec.detach())
        if not bool(keep.any()):
            return total, parts
        size = x.shape[-1]
        top, left = (int(v) for v in torch.randint(0, size - WINDOW + 1, (2,)))
        fake, real = _window(x_hat[keep], clean[keep], top, left)
        # D's step first, on a detached x_hat: real clean windows -> 1, reconstructions -> 0.
        self.critic.requires_grad_(True)
        d_real, d_fake = self.critic(real), self.critic(fake.detach())
        lr_, lf_ = self.gain * d_real.logit.float(), self.gain * d_fake.logit.float()
        loss_d = 0.5 * (F.binary_cross_entropy_with_logits(lr_, torch.ones_like(lr_))
                        + F.binary_cross_entropy_with_logits(lf_, torch.zeros_like(lf_)))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        # G's terms through a frozen D: fool it, and match its last-conv features on the clean window.
        self.critic.requires_grad_(False)
        g_fake = self.critic(fake)
        with torch.no_grad():
            f_real = self.critic(real).features.float()
        g_logit = self.gain.detach() * g_fake.logit.float()
        adv = F.binary_cross_entropy_with_logits(g_logit, torch.ones_like(g_logit))
        # Relative to the clean features' energy: spectral norm keeps |f| near 1e-2, so a plain MSE reads 0.0000.
        lat = F.mse_loss(g_fake.features.float(), f_real) / f_real.pow(2).mean().clamp_min(1e-12)
        total = total + self.w.adv * adv + self.w.lat * lat
        parts.update(d=float(loss_d.detach()), adv=float(adv.detach()), lat=float(lat.detach()))
        return total, parts
