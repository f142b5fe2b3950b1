"""GANomaly (Akcay, Atapour-Abarghouei and Breckon, ACCV 2018), as in the reference code.

G = encoder1 -> z -> decoder -> x_hat -> encoder2 -> z_hat; the encoder loss
``w_enc * mean((z - z_hat)^2)`` is returned as ``aux_loss``. D is the DCGAN
encoder with one output; f(x) is the output of its layers before the final
(classifier) conv. Images enter the networks in [-1, 1] (the reference
normalisation) and x_hat leaves through tanh, mapped back to [0, 1].
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

from . import check_common, register_model
from .base import AnomalyGAN, GenOutput
from .blocks import DCGANDiscriminator, dcgan_decoder, dcgan_encoder, dcgan_init

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GANomalyConfig:
    """Reference hyper-parameters (nz=100, ngf=ndf=64, no extra layers, w_enc=1)."""

    input_size: int = 64
    channels: int = 3
    base: int = 64  # ngf = ndf
    nz: int = 100
    extra_layers: int = 0
    w_enc: float = 1.0
    threat_head: bool = False

    def __post_init__(self) -> None:
        check_common(self)
        if self.base < 4 or self.nz < 1 or self.extra_layers < 0:
            raise ValueError(f"base >= 4, nz >= 1 and extra_layers >= 0 needed ({self})")


class GANomalyGenerator(nn.Module):
    """encoder1 -> decoder -> encoder2; aux_loss is the weighted latent (encoder) loss."""

    def __init__(self, cfg: GANomalyConfig) -> None:
        super().__init__()
        s, nz, nc, nf = cfg.input_size, cfg.nz, cfg.channels, cfg.base
        self.encoder1 = dcgan_encoder(s, nz, nc, nf, cfg.extra_layers)
        self.decoder = dcgan_decoder(s, nz, nc, nf)
        self.encoder2 = dcgan_encoder(s, nz, nc, nf, cfg.extra_layers)
        self.w_enc = cfg.w_enc

    def forward(self, x: torch.Tensor) -> GenOutput:
        z = self.encoder1(x * 2.0 - 1.0)
        gen = self.decoder(z)
        z_hat = self.encoder2(gen)
        aux = self.w_enc * (z.float() - z_hat.float()).pow(2).mean()
        return GenOutput((gen + 1.0) * 0.5, aux)


@register_model("ganomaly")
class GANomaly(AnomalyGAN):
    """Baseline: GANomaly with its reference architecture and initialisation."""

    config_class = GANomalyConfig
    has_threat_head = True

    def __init__(self, config: GANomalyConfig | None = None) -> None:
        super().__init__()
        self.config = config or GANomalyConfig()
        c = self.config
        self.netg = GANomalyGenerator(c)
        self.netd = DCGANDiscriminator(c.input_size, c.channels, c.base, c.extra_layers, c.threat_head)
        dcgan_init(self)
