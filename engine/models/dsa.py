"""DSA (Zawar et al., "Detecting Anomalies using GANs on Images", IMAVIS 2022).

Generator: an encoder-decoder joined by UNet++ dense nested skip pathways,
x^{i,0} = H(x^{i-1,0}) down the backbone and x^{i,j} = H([x^{i,0..j-1}, U(x^{i+1,j-1})])
for j > 0; the reconstruction comes from the top node x^{0,L}. H is a spectral-norm
depthwise-separable conv + ReLU (BatchNorm optional), U a 2x2 stride-2 transposed
conv to the level's width (as UNet++'s reference code does).

Discriminator: strided spectral-norm convs with LeakyReLU down to ``att_size``,
an attention-augmented conv (multi-head self-attention, N_h = 4, with 2-D relative
logits, concatenated with a conv), then the last conv, whose output is f(x); the
logit is a spectral-norm linear map of f(x) summed over space (SN-GAN's reduction).
D has no BatchNorm, so scoring x and x_hat in one batch is exact.

Speed on a CPU comes from the architecture, not from skipping content: depthwise-
separable convs, channels_last inside both networks, a lossless pixel-unshuffle
stem and strided stages that bring every input size to ``work_size`` (32) where
the nested pathways run, a mirrored head with additive skips and a final pixel
shuffle, and D widths set by resolution so a 256-px D costs little more than a
64-px one.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from . import check_common, register_model
from .base import AnomalyGAN, DiscOutput, GenOutput
from .layers import AttentionConv2d, DSConv, MaterialChannel, SNConv2d, SNConvT2d, SNLinear

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DSAConfig:
    """DSA hyper-parameters; plain scalars only, so they round-trip through JSON."""

    input_size: int = 64
    channels: int = 3
    base: int = 16  # G width at the nested top level; doubles per level
    depth: int = 3  # L: down levels of the backbone (nested nodes x^{i,j}, i + j <= L)
    max_width: int = 128
    work_size: int = 32  # resolution of the nested top level (stem and head reach it)
    batchnorm: bool = True  # BatchNorm in H (generator only; D never has BN)
    d_base: int = 16  # D width at 32 px; doubles per halving of resolution
    d_max_width: int = 128
    att_size: int = 8  # spatial size where D's attention-augmented conv runs
    heads: int = 4
    threat_head: bool = False
    head_sn: bool = False  # spectral norm in the threat head (off: a Lipschitz-1 head cannot move BCE off ln 2)
    material: bool = False  # D also sees the metal/dense mask of the pseudo-colour (engine.data.material)

    def __post_init__(self) -> None:
        check_common(self)
        if self.depth < 1 or self.base < 4 or self.d_base < 4:
            raise ValueError(f"depth >= 1, base >= 4 and d_base >= 4 needed ({self})")
        if 2 * self.work_size > self.input_size or self.work_size % 2 ** self.depth:
            raise ValueError(f"work_size {self.work_size} must be <= input_size / 2 and divisible by "
                             f"2**depth")
        if self.att_size < 2 or self.input_size % self.att_size or self.input_size < 2 * self.att_size:
            raise ValueError(f"att_size {self.att_size} must divide input_size/2")


class NestedGenerator(nn.Module):
    """UNet++ generator between a pixel-unshuffle stem and a pixel-shuffle head; x_hat via sigmoid.

    The stem halves the resolution losslessly (pixel unshuffle + 1x1 conv), then
    strided DSConvs reach ``work_size``; the head mirrors it with pixel shuffles
    and additive skips. Full-resolution work is thus two cheap reshuffles, which
    is what makes 256-px inputs affordable on a CPU.
    """

    def __init__(self, cfg: DSAConfig) -> None:
        super().__init__()
        n_stem = int(math.log2(cfg.input_size // cfg.work_size))
        w = [min(cfg.base * 2**i, cfg.max_width) for i in range(cfg.depth + 1)]
        bn = cfg.batchnorm
        # chans[k]: width at input_size / 2**(k+1); the last one is the nested top level.
        chans = [max(cfg.base // 2 ** (n_stem - 1 - k), 8) for k in range(n_stem - 1)] + [w[0]]
        self.stem_in = nn.Sequential(SNConv2d(4 * cfg.channels, chans[0], 1, bias=not bn),
                                     nn.BatchNorm2d(chans[0]) if bn else nn.Identity(), nn.ReLU(inplace=True))
        self.stem_down = nn.ModuleList(DSConv(chans[k], chans[k + 1], 2, bn=bn) for k in range(n_stem - 1))
        self.down = nn.ModuleList(DSConv(w[i - 1], w[i], 2, bn=bn) for i in range(1, cfg.depth + 1))
        # U: 2x2 stride-2 transposed conv to the level's width, as in UNet++.
        self.up = nn.ModuleDict()
        self.nodes = nn.ModuleDict()
        for j in range(1, cfg.depth + 1):
            for i in range(cfg.depth - j + 1):
                self.up[f"{i}_{j}"] = SNConvT2d(w[i + 1], w[i])
                self.nodes[f"{i}_{j}"] = DSConv((j + 1) * w[i], w[i], 1, bn=bn)
        self.head = nn.ModuleList(
            nn.ModuleDict({"up": SNConvT2d(chans[k + 1], chans[k]),
                           "fuse": DSConv(chans[k], chans[k], 1, bn=bn)})
            for k in reversed(range(n_stem - 1)))
        self.out = SNConv2d(chans[0], 4 * cfg.channels, 1)
        self.depth = cfg.depth

    def forward(self, x: torch.Tensor) -> GenOutput:
        h = self.stem_in(F.pixel_unshuffle(x.contiguous(memory_format=torch.channels_last), 2))
        skips = [h]
        for conv in self.stem_down:
            h = conv(h)
            skips.append(h)
        grid: list[list[torch.Tensor]] = [[h]]
        for conv in self.down:
            grid.append([conv(grid[-1][0])])
        for j in range(1, self.depth + 1):
            for i in range(self.depth - j + 1):
                up = self.up[f"{i}_{j}"](grid[i + 1][j - 1])
                grid[i].append(self.nodes[f"{i}_{j}"](torch.cat([*grid[i][:j], up], dim=1)))
        h = grid[0][self.depth]
        for stage, skip in zip(self.head, reversed(skips[:-1]), strict=True):
            stage = cast(nn.ModuleDict, stage)
            h = stage["fuse"](stage["up"](h) + skip)
        return GenOutput(torch.sigmoid(F.pixel_shuffle(self.out(h), 2)))


class AttentionDiscriminator(nn.Module):
    """SN conv discriminator with an attention-augmented conv before its last conv."""

    def __init__(self, cfg: DSAConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        self.material = MaterialChannel() if cfg.material else None
        ch, size = cfg.channels + int(cfg.material), cfg.input_size
        while size > cfg.att_size:
            size //= 2
            # Width set by resolution (d_base at 32 px, doubling per halving), not by layer index,
            # so a 256-px D costs little more than a 64-px one.
            out = min(cfg.d_max_width, max(8, cfg.d_base * 32 // size))
            layers += [SNConv2d(ch, out, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            ch = out
        self.body = nn.Sequential(*layers)
        self.attention = AttentionConv2d(ch, ch, cfg.att_size, dk=ch // 2, dv=ch // 4, heads=cfg.heads)
        self.act = nn.LeakyReLU(0.2, inplace=True)
        feat = min(2 * ch, 2 * cfg.d_max_width)
        self.last = nn.Sequential(SNConv2d(ch, feat, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True))
        self.classifier = SNLinear(feat, 1)
        self.threat: nn.Module | None = None
        if cfg.threat_head:
            # SN keeps f(x) tiny (|f| ~ 1e-2), so the head first rescales it per channel (BatchNorm,
            # running statistics in eval mode): without it the head's BCE never leaves ln 2.
            sn = cfg.head_sn
            self.threat = nn.Sequential(nn.BatchNorm2d(feat), SNConv2d(feat, 32, 1, sn=sn),
                                        nn.LeakyReLU(0.2, inplace=True),
                                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), SNLinear(32, 1, sn=sn))

    def forward(self, x: torch.Tensor) -> DiscOutput:
        if self.material is not None:
            x = self.material(x)
        f = self.last(self.act(self.attention(self.body(x.contiguous(memory_format=torch.channels_last)))))
        logit = self.classifier(f.sum(dim=(2, 3))).squeeze(1)
        threat = self.threat(f).squeeze(1) if self.threat is not None else None
        return DiscOutput(logit, f, threat)


@register_model("dsa")
class DSA(AnomalyGAN):
    """The main model: nested UNet++ generator, attention discriminator, spectral norm throughout."""

    config_class = DSAConfig
    has_threat_head = True
    #: The nested generator fits real patches to L1 0.07 in 150 steps at 2e-3 but stalls at 0.23 at the
    #: reference repos' 2e-4. Its spectral-norm attention D at G's 2e-3 sat at ln 2 (real/fake and threat-head
    #: BCE both flat for whole runs); at 2e-4 both losses leave ln 2 and keep falling (SIXray-dev, 4 epochs:
    #: D 0.53-0.59, threat head 0.67 -> 0.56).
    default_lr = 2e-3
    default_lr_d = 2e-4

    def __init__(self, config: DSAConfig | None = None) -> None:
        super().__init__()
        self.config = config or DSAConfig()
        self.netg = NestedGenerator(self.config)
        self.netd = AttentionDiscriminator(self.config)
