"""SAGAN (Liu et al., ICIP 2021, "SAGAN: Skip-Attention GAN for Anomaly Detection").

Skip-GANomaly with three changes to its UNet generator, all aimed at what
crosses the skip connections and at cost:

* CBAM (channel, then spatial attention) on every skip path, so the decoder
  receives re-weighted encoder features instead of a raw copy (which lets
  anomalies leak straight through to x_hat);
* depthwise-separable convolutions (DSC: depthwise 3x3 + pointwise 1x1 + BN)
  in place of dense 4x4 convs;
* max pooling to go down and bilinear upsampling to come up, instead of
  strided and transposed convs (no checkerboard artefacts in x_hat).

D is the DCGAN discriminator shared with GANomaly and Skip-GANomaly; f(x) is the
output of its layers before the classifier conv. Images enter in [-1, 1] and
x_hat leaves through tanh, mapped back to [0, 1], as in Skip-GANomaly. The UNet
goes down to ``bottleneck`` x ``bottleneck`` (4 by default) rather than to 1x1:
pooling a 2x2 map to 1x1 and broadcasting it back adds nothing but a layer.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import check_common, register_model
from .base import AnomalyGAN, GenOutput
from .blocks import CBAM, SepConvBN
from .ganomaly import DCGANDiscriminator, dcgan_init

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SAGANConfig:
    """SAGAN hyper-parameters; plain scalars only, so they round-trip through JSON."""

    input_size: int = 64
    channels: int = 3
    base: int = 64  # G width at full resolution (doubles per level, capped at 8x) and D's ndf
    bottleneck: int = 4  # spatial size of the innermost UNet level
    cbam_reduction: int = 8  # channel-attention MLP reduction
    extra_layers: int = 0  # D's extra 3x3 layers, as in GANomaly
    threat_head: bool = False

    def __post_init__(self) -> None:
        check_common(self)
        if self.base < 4 or self.extra_layers < 0 or self.cbam_reduction < 1:
            raise ValueError(f"base >= 4, extra_layers >= 0 and cbam_reduction >= 1 needed ({self})")
        if self.bottleneck < 1 or self.input_size % self.bottleneck or self.bottleneck * 2 > self.input_size:
            raise ValueError(f"bottleneck {self.bottleneck} must divide input_size / 2 ({self})")
        if self.input_size // self.bottleneck & (self.input_size // self.bottleneck - 1):
            raise ValueError(f"input_size / bottleneck must be a power of two ({self})")


class SkipAttentionUNet(nn.Module):
    """UNet of DSC blocks: max-pool down, bilinear up, CBAM on each skip before concatenation."""

    def __init__(self, cfg: SAGANConfig) -> None:
        super().__init__()
        depth = int(math.log2(cfg.input_size // cfg.bottleneck))
        w = [min(cfg.base * 2**i, cfg.base * 8) for i in range(depth + 1)]

        def leaky() -> nn.Module:
            return nn.LeakyReLU(0.2, inplace=True)

        self.stem = SepConvBN(cfg.channels, w[0], act=leaky())
        self.down = nn.ModuleList(SepConvBN(w[i - 1], w[i], act=leaky()) for i in range(1, depth + 1))
        self.skip_att = nn.ModuleList(CBAM(w[i], cfg.cbam_reduction) for i in range(depth))
        # Decoder level i fuses the upsampled level i+1 with the attended skip of level i.
        self.up = nn.ModuleList(SepConvBN(w[i + 1] + w[i], w[i]) for i in range(depth))
        self.out = nn.Conv2d(w[0], cfg.channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        skips = [h]
        for i, block in enumerate(self.down):
            h = block(F.max_pool2d(h, 2))
            if i < len(self.down) - 1:
                skips.append(h)
        for i in reversed(range(len(self.up))):
            up = F.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=False)
            h = self.up[i](torch.cat([up, self.skip_att[i](skips[i])], dim=1))
        return torch.tanh(self.out(h))


class SAGANGenerator(nn.Module):
    """The skip-attention UNet in the [-1, 1] convention of the reference code; x_hat in [0, 1]."""

    def __init__(self, cfg: SAGANConfig) -> None:
        super().__init__()
        self.unet = SkipAttentionUNet(cfg)

    def forward(self, x: torch.Tensor) -> GenOutput:
        return GenOutput((self.unet(x * 2.0 - 1.0) + 1.0) * 0.5)


@register_model("sagan")
class SAGAN(AnomalyGAN):
    """Skip-GANomaly with CBAM on the skips, DSC blocks, pooling and bilinear upsampling; DCGAN D."""

    config_class = SAGANConfig

    def __init__(self, config: SAGANConfig | None = None) -> None:
        super().__init__()
        self.config = config or SAGANConfig()
        c = self.config
        self.netg = SAGANGenerator(c)
        self.netd = DCGANDiscriminator(c.input_size, c.channels, c.base, c.extra_layers, c.threat_head)
        dcgan_init(self)
