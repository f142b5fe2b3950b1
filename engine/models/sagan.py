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
x_hat leaves through tanh, mapped back to [0, 1], as in Skip-GANomaly.

Layout follows pix2pix's UNet: widths are set by resolution (``base`` at 1/2,
doubling per level, capped at 8x), the finest skip is at 1/2 resolution, and the
only full-resolution work is the first DSC block (on the image's own channels)
and the output block (bilinear x2, depthwise 3x3, pointwise to the image). The
UNet goes down to ``bottleneck`` x ``bottleneck`` (4 by default) rather than to
1x1: pooling a 2x2 map to 1x1 and broadcasting it back adds nothing but a layer.
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
from .blocks import CBAM, DCGANDiscriminator, dcgan_init
from .layers import DSConv

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SAGANConfig:
    """SAGAN hyper-parameters; plain scalars only, so they round-trip through JSON."""

    input_size: int = 64
    channels: int = 3
    base: int = 64  # G width at 1/2 resolution (doubles per level, capped at 8x) and D's ndf
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
        levels = int(math.log2(cfg.input_size // cfg.bottleneck))  # 1/2 ... 1/2**levels
        # w[k]: width at 1/2**k resolution (k >= 1); the full-resolution block has ``base`` channels too.
        w = [cfg.base] + [min(cfg.base * 2 ** (k - 1), cfg.base * 8) for k in range(1, levels + 1)]

        def leaky() -> nn.Module:
            return nn.LeakyReLU(0.2, inplace=True)

        self.stem = DSConv(cfg.channels, w[0], sn=False, bn=True, act=leaky())  # full resolution
        self.down = nn.ModuleList(DSConv(w[k - 1], w[k], sn=False, bn=True, act=leaky()) for k in range(1, levels + 1))
        # Skips at 1/2 .. 1/2**(levels-1), each through CBAM; decoder k fuses up(level k+1) with skip k.
        self.skip_att = nn.ModuleDict({str(k): CBAM(w[k], cfg.cbam_reduction) for k in range(1, levels)})
        self.up = nn.ModuleDict({str(k): DSConv(w[k + 1] + w[k], w[k], sn=False, bn=True) for k in range(1, levels)})
        self.out = nn.Sequential(nn.Conv2d(w[1], w[1], 3, 1, 1, groups=w[1], bias=False),
                                 nn.Conv2d(w[1], cfg.channels, 1))
        self.levels = levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        feats = [h]
        for block in self.down:
            h = block(F.max_pool2d(h, 2))
            feats.append(h)
        for k in reversed(range(1, self.levels)):
            up = F.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=False)
            h = self.up[str(k)](torch.cat([up, self.skip_att[str(k)](feats[k])], dim=1))
        h = F.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=False)
        return torch.tanh(self.out(h))


class SAGANGenerator(nn.Module):
    """The skip-attention UNet in the [-1, 1] convention of the reference code; x_hat in [0, 1]."""

    def __init__(self, cfg: SAGANConfig) -> None:
        super().__init__()
        self.unet = SkipAttentionUNet(cfg)

    def forward(self, x: torch.Tensor) -> GenOutput:
        # channels_last inside: depthwise convs, pooling and CBAM run 2x faster so on a CPU.
        x = x.contiguous(memory_format=torch.channels_last)
        return GenOutput((self.unet(x * 2.0 - 1.0) + 1.0) * 0.5)


@register_model("sagan")
class SAGAN(AnomalyGAN):
    """Skip-GANomaly with CBAM on the skips, DSC blocks, pooling and bilinear upsampling; DCGAN D."""

    config_class = SAGANConfig
    has_threat_head = True
    #: Depthwise-separable generators want a higher rate (SIXray-dev patches, G alone, 60 steps of 32:
    #: L1 0.17 at 2e-4, 0.06 at 1e-3).
    default_lr = 1e-3

    def __init__(self, config: SAGANConfig | None = None) -> None:
        super().__init__()
        self.config = config or SAGANConfig()
        c = self.config
        self.netg = SAGANGenerator(c)
        self.netd = DCGANDiscriminator(c.input_size, c.channels, c.base, c.extra_layers, c.threat_head)
        # The reference N(0, 0.02) init for D only: on G's 3x3 depthwise kernels (fan-in 9) it starts
        # the output block near silence and G barely moves in the first epochs; G keeps PyTorch's init.
        dcgan_init(self.netd)
