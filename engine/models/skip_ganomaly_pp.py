"""Skip-GANomaly++: Skip-GANomaly's UNet rebuilt from residual units with an ASPP bottleneck.

G: a stem block (3x3 conv, stride 2, BN, ReLU), three residual encoder blocks,
an ASPP bottleneck with atrous rates (1, 6, 12, 18), three decoders that each
fuse the upsampled path with an encoder skip (1x1 conv) and refine it with a
residual unit, then a bilinear x2 and a 3x3 conv to the image, tanh out (mapped
to [0, 1]). D is the DCGAN discriminator shared with Skip-GANomaly.

Resolution and rates. As in pix2pix's UNet the finest skip is at half
resolution (the stem is strided). The first two encoder blocks halve the
resolution and the third is dilated instead (DeepLab v3's output stride 8), so
ASPP runs on an input_size/8 map: 8x8 at 64 px, 32x32 at 256 px. DeepLab's rates
suit a ~33-px map; they are scaled by map size / 32 (``blocks.scaled_rates``):
(1, 2, 3, 5) at 64 px, (1, 3, 6, 9) at 128 px and the paper's (1, 6, 12, 18) at
256 px, so no branch degenerates into a 1x1 conv that only sees padding.

Widths: base, 2*base, 4*base, and the dilated block keeps 4*base (doubling it at
1/8 resolution would double G's cost for no gain in a 64-px patch).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import check_common, register_model
from .base import AnomalyGAN, GenOutput
from .blocks import ASPP, DCGANDiscriminator, ResidualUnit, dcgan_init, scaled_rates

log = logging.getLogger(__name__)

#: The paper's (DeepLab's) atrous rates, before scaling to the bottleneck size.
ASPP_RATES = (1, 6, 12, 18)


@dataclass(frozen=True)
class SkipGANomalyPPConfig:
    """Skip-GANomaly++ hyper-parameters; plain scalars only, so they round-trip through JSON."""

    input_size: int = 64
    channels: int = 3
    base: int = 32  # G width after the stem (then 2x, 4x, 4x) and D's ndf
    extra_layers: int = 0  # D's extra 3x3 layers, as in GANomaly
    threat_head: bool = False

    def __post_init__(self) -> None:
        check_common(self)
        if self.base < 4 or self.extra_layers < 0:
            raise ValueError(f"base >= 4 and extra_layers >= 0 needed ({self})")


class Decoder(nn.Module):
    """Upsample (bilinear, when needed), fuse with the skip by a 1x1 conv, refine with a residual unit."""

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int, upsample: bool = True) -> None:
        super().__init__()
        self.upsample = upsample
        self.fuse = nn.Sequential(nn.Conv2d(in_ch + skip_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch),
                                  nn.ReLU(inplace=True))
        self.refine = ResidualUnit(out_ch, out_ch)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.refine(self.fuse(torch.cat([x, skip], dim=1)))


class ResASPPUNet(nn.Module):
    """Stem, three residual encoders, ASPP, three skip decoders, image head; output in [-1, 1]."""

    def __init__(self, cfg: SkipGANomalyPPConfig) -> None:
        super().__init__()
        b = cfg.base
        self.stem = nn.Sequential(nn.Conv2d(cfg.channels, b, 3, 2, 1, bias=False), nn.BatchNorm2d(b),
                                  nn.ReLU(inplace=True))
        self.enc1 = ResidualUnit(b, 2 * b, stride=2)  # 1/4
        self.enc2 = ResidualUnit(2 * b, 4 * b, stride=2)  # 1/8
        self.enc3 = ResidualUnit(4 * b, 4 * b, dilation=2)  # 1/8, atrous
        self.rates = scaled_rates(ASPP_RATES, cfg.input_size // 8)
        self.aspp = ASPP(4 * b, 4 * b, self.rates)
        self.dec3 = Decoder(4 * b, 4 * b, 4 * b, upsample=False)  # with enc2, 1/8
        self.dec2 = Decoder(4 * b, 2 * b, 2 * b)  # with enc1, 1/4
        self.dec1 = Decoder(2 * b, b, b)  # with the stem, 1/2
        self.head = nn.Conv2d(b, cfg.channels, 3, 1, 1)
        log.debug("skip-ganomaly-pp: ASPP rates %s on a %d-px map", self.rates, cfg.input_size // 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stem(x)
        e1 = self.enc1(s)
        e2 = self.enc2(e1)
        h = self.aspp(self.enc3(e2))
        h = self.dec1(self.dec2(self.dec3(h, e2), e1), s)
        h = F.interpolate(h, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return torch.tanh(self.head(h))


class SkipGANomalyPPGenerator(nn.Module):
    """The residual ASPP UNet in the [-1, 1] convention of the reference code; x_hat in [0, 1]."""

    def __init__(self, cfg: SkipGANomalyPPConfig) -> None:
        super().__init__()
        self.unet = ResASPPUNet(cfg)

    def forward(self, x: torch.Tensor) -> GenOutput:
        x = x.contiguous(memory_format=torch.channels_last)  # 1.8x faster on a CPU (oneDNN's native layout)
        return GenOutput((self.unet(x * 2.0 - 1.0) + 1.0) * 0.5)


@register_model("skip-ganomaly-pp")
class SkipGANomalyPP(AnomalyGAN):
    """Skip-GANomaly++: residual encoder/decoder UNet with an ASPP bottleneck; DCGAN D."""

    config_class = SkipGANomalyPPConfig
    has_threat_head = True

    def __init__(self, config: SkipGANomalyPPConfig | None = None) -> None:
        super().__init__()
        self.config = config or SkipGANomalyPPConfig()
        c = self.config
        self.netg = SkipGANomalyPPGenerator(c)
        self.netd = DCGANDiscriminator(c.input_size, c.channels, c.base, c.extra_layers, c.threat_head)
        dcgan_init(self)
