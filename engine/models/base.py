"""The contract every registered model keeps, so training and scoring stay generic.

A model is a plain ``nn.Module`` holding two sub-networks:

* ``netg(x) -> GenOutput``: the reconstruction ``x_hat`` (same shape as x, in
  [0, 1]) and an optional model-specific auxiliary loss term (GANomaly's
  encoder loss), already weighted.
* ``netd(x) -> DiscOutput``: a real/fake logit per sample, shape (N,), and
  ``features``: f(x), the output of D's last conv layer, shape (N, C, h, w),
  used by the latent loss and by the anomaly score.

Losses and the training step live in :mod:`engine.training`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class GenOutput:
    x_hat: torch.Tensor
    aux_loss: torch.Tensor | None = None


@dataclass
class DiscOutput:
    logit: torch.Tensor
    features: torch.Tensor
    threat_logit: torch.Tensor | None = None


class AnomalyGAN(nn.Module):
    """Base class: subclasses set ``self.netg``, ``self.netd`` and ``self.config``."""

    netg: nn.Module
    netd: nn.Module
    #: Models whose generator learns from synthetic-anomaly masks (an attention map) set this, so
    #: training turns hard augmentation on without the caller knowing the model.
    needs_masks: bool = False

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.netg(x).x_hat

    def discriminate(self, x: torch.Tensor) -> DiscOutput:
        return self.netd(x)
