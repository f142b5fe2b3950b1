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
from .base import AnomalyGAN, DiscOutput, GenOutput

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


def dcgan_init(module: nn.Module) -> None:
    """The reference weights_init: conv ~ N(0, 0.02), BatchNorm weight ~ N(1, 0.02), bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def dcgan_encoder(isize: int, nz: int, nc: int, ndf: int, extra_layers: int = 0) -> nn.Sequential:
    """DCGAN encoder: stride-2 4x4 convs (BN + LeakyReLU) down to 4x4, then a 4x4 conv to nz x 1 x 1."""
    layers: list[nn.Module] = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
    csize, cndf = isize // 2, ndf
    for _ in range(extra_layers):
        layers += [nn.Conv2d(cndf, cndf, 3, 1, 1, bias=False), nn.BatchNorm2d(cndf), nn.LeakyReLU(0.2, True)]
    while csize > 4:
        layers += [nn.Conv2d(cndf, cndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(cndf * 2),
                   nn.LeakyReLU(0.2, inplace=True)]
        cndf, csize = cndf * 2, csize // 2
    layers.append(nn.Conv2d(cndf, nz, 4, 1, 0, bias=False))
    return nn.Sequential(*layers)


def dcgan_decoder(isize: int, nz: int, nc: int, ngf: int) -> nn.Sequential:
    """DCGAN decoder: nz x 1 x 1 -> 4x4 -> ... -> isize, transposed convs with BN + ReLU, tanh out."""
    cngf, tisize = ngf // 2, 4
    while tisize != isize:
        cngf, tisize = cngf * 2, tisize * 2
    layers: list[nn.Module] = [nn.ConvTranspose2d(nz, cngf, 4, 1, 0, bias=False), nn.BatchNorm2d(cngf),
                               nn.ReLU(inplace=True)]
    csize = 4
    while csize < isize // 2:
        layers += [nn.ConvTranspose2d(cngf, cngf // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(cngf // 2),
                   nn.ReLU(inplace=True)]
        cngf, csize = cngf // 2, csize * 2
    layers += [nn.ConvTranspose2d(cngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


class DCGANDiscriminator(nn.Module):
    """The reference NetD: DCGAN encoder whose last conv is the classifier; f(x) = everything before it.

    With ``threat_head`` a second 4x4 conv on f(x) gives the threat logit.
    """

    def __init__(self, isize: int, nc: int, ndf: int, extra_layers: int = 0,
                 threat_head: bool = False) -> None:
        super().__init__()
        layers = list(dcgan_encoder(isize, 1, nc, ndf, extra_layers).children())
        self.features = nn.Sequential(*layers[:-1])
        self.classifier = layers[-1]
        self.threat = nn.Conv2d(layers[-1].in_channels, 1, 4, 1, 0, bias=False) if threat_head else None

    def forward(self, x: torch.Tensor) -> DiscOutput:
        f = self.features(x * 2.0 - 1.0)
        threat = self.threat(f).flatten() if self.threat is not None else None
        return DiscOutput(self.classifier(f).flatten(), f, threat)


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
