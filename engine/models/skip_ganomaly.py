"""Skip-GANomaly (Akcay, Atapour-Abarghouei and Breckon, IJCNN 2019), as in the reference code.

G is the pix2pix UNet with log2(input_size) down levels (to 1x1): conv-BN-LeakyReLU
going down, transposed conv-BN-ReLU coming up, skip connections by concatenation,
tanh out (mapped to [0, 1]). D is the DCGAN discriminator shared with GANomaly;
f(x) is the output of its layers before the classifier conv. Width ngf = ndf = 64
by default, so throughput comparisons with DSA are honest.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
from torch import nn

from . import check_common, register_model
from .base import AnomalyGAN, GenOutput
from .blocks import DCGANDiscriminator, dcgan_init

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkipGANomalyConfig:
    """Reference hyper-parameters: ngf = ndf = 64, no dropout, no extra D layers."""

    input_size: int = 64
    channels: int = 3
    base: int = 64  # ngf = ndf
    dropout: bool = False
    extra_layers: int = 0
    threat_head: bool = False

    def __post_init__(self) -> None:
        check_common(self)
        if self.base < 4 or self.extra_layers < 0:
            raise ValueError(f"base >= 4 and extra_layers >= 0 needed ({self})")


class UnetBlock(nn.Module):
    """One pix2pix UNet level: down, the inner block, up, then concat with the input (except outermost)."""

    def __init__(self, outer: int, inner: int, sub: nn.Module | None = None, in_ch: int | None = None,
                 outermost: bool = False, innermost: bool = False, dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        in_ch = outer if in_ch is None else in_ch
        down = nn.Conv2d(in_ch, inner, 4, 2, 1, bias=False)
        if sub is None and not innermost:
            raise ValueError("a UNet level other than the innermost needs its inner block")
        mid: nn.Module = sub if sub is not None else nn.Identity()
        if outermost:
            layers: list[nn.Module] = [down, mid, nn.ReLU(True),
                                       nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True),
                      nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False), nn.BatchNorm2d(outer)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down, nn.BatchNorm2d(inner), mid, nn.ReLU(True),
                      nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False), nn.BatchNorm2d(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        # As in the reference, the in-place LeakyReLU that opens self.model also rewrites x, so the
        # skip carries LeakyReLU(x).
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """pix2pix UNet generator, num_downs = log2(input_size) (the bottleneck is 1x1)."""

    def __init__(self, cfg: SkipGANomalyConfig) -> None:
        super().__init__()
        ngf, nc = cfg.base, cfg.channels
        num_downs = int(math.log2(cfg.input_size))
        block = UnetBlock(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetBlock(ngf * 8, ngf * 8, block, dropout=cfg.dropout)
        block = UnetBlock(ngf * 4, ngf * 8, block)
        block = UnetBlock(ngf * 2, ngf * 4, block)
        block = UnetBlock(ngf, ngf * 2, block)
        self.model = UnetBlock(nc, ngf, block, in_ch=nc, outermost=True)

    def forward(self, x: torch.Tensor) -> GenOutput:
        return GenOutput((self.model(x * 2.0 - 1.0) + 1.0) * 0.5)


@register_model("skip-ganomaly")
class SkipGANomaly(AnomalyGAN):
    """Baseline: Skip-GANomaly with its reference architecture and initialisation."""

    config_class = SkipGANomalyConfig
    has_threat_head = True

    def __init__(self, config: SkipGANomalyConfig | None = None) -> None:
        super().__init__()
        self.config = config or SkipGANomalyConfig()
        c = self.config
        self.netg = UnetGenerator(c)
        self.netd = DCGANDiscriminator(c.input_size, c.channels, c.base, c.extra_layers, c.threat_head)
        dcgan_init(self)
