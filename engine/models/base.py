"""The contract every registered model keeps, so training and scoring stay generic.

A model is a plain ``nn.Module`` holding two sub-networks:

* ``netg(x) -> GenOutput``: the reconstruction ``x_hat`` (same shape as x, in
  [0, 1]) and the optional outputs below.
* ``netd(x) -> DiscOutput``: a real/fake logit per sample, shape (N,), and
  ``features``: f(x), the output of D's last conv layer, shape (N, C, h, w),
  used by the latent loss and by the anomaly score.

What a model can do is declared here, once: optional outputs are typed fields that stay
None when a model lacks them (training and scoring test the field, never the class), and
what a *class* offers before it is built are class attributes (:class:`AnomalyGAN`).
A new output (e.g. a dense threat map, (N, 1, h, w) logits) is one more optional field
here, one more component in ``engine.scoring.raw_components`` and, if it is scored, one
more term in the model's ``ScoreHead``.

Losses and the training step live in :mod:`engine.training`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn


@dataclass
class GenOutput:
    x_hat: torch.Tensor
    #: A model-specific auxiliary loss term (GANomaly's encoder loss), already weighted.
    aux_loss: torch.Tensor | None = None
    #: (N, 1, H, W) logits of an attention map (two-stage): learnt from synthetic-anomaly masks with
    #: weight ``w_att``, and shown by the GUI as an alternative overlay; never part of the score.
    attention_logit: torch.Tensor | None = None
    w_att: float = 1.0


@dataclass
class DiscOutput:
    logit: torch.Tensor
    features: torch.Tensor
    #: (N,) logit that a patch holds a threat (D's threat head); a score term when present.
    threat_logit: torch.Tensor | None = None


class AnomalyGAN(nn.Module):
    """Base class: subclasses set ``self.netg``, ``self.netd`` and ``self.config``, and override the
    class attributes below where they differ."""

    netg: nn.Module
    netd: nn.Module
    config: Any
    #: The config dataclass a model is rebuilt from (engine.models.create_model).
    config_class: ClassVar[type[Any]]
    #: D can grow a threat head, switched on by the config's ``threat_head`` field (TIP training does).
    has_threat_head: ClassVar[bool] = False
    #: Its generator learns from synthetic-anomaly masks (an attention map): training turns hard
    #: augmentation on without the caller knowing the model.
    needs_masks: ClassVar[bool] = False
    #: Adam rate for G when TrainConfig.lr is 0 (chosen by experiment; README, "Training").
    default_lr: ClassVar[float] = 2e-4
    #: Adam rate for D when TrainConfig.lr_d is 0; None: G's rate (two time-scale update rule where set).
    default_lr_d: ClassVar[float | None] = None
    #: It outputs a dense threat map (engine.models.threat_map) instead of a reconstruction: it trains
    #: in engine.training.map_loop and scores through engine.map_scoring.
    produces_map: ClassVar[bool] = False
    #: ``netg`` / ``netd`` exist (the generic GAN loop and the GAN registry tests need them).
    is_gan: ClassVar[bool] = True
