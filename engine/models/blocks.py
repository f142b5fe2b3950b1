"""Small reusable blocks for the baselines and the published variants (GANomaly, Skip-GANomaly, SAGAN,
Skip-GANomaly++).

One concept each, no losses: CBAM (channel then spatial attention, Woo et al.,
ECCV 2018), a residual unit (He et al., ECCV 2016), ASPP (Chen et al., DeepLab
v3/v3+) and the reference DCGAN encoder, decoder, discriminator and init that the
baselines share. They use plain convs, not spectral norm: the generators that use
them keep BatchNorm as their papers do, and D stays the reference DCGAN one.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from .base import DiscOutput
from .layers import DSConv

log = logging.getLogger(__name__)


class ChannelAttention(nn.Module):
    """CBAM channel gate: a shared MLP over the average- and max-pooled descriptors, summed, sigmoid."""

    def __init__(self, ch: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(ch // reduction, 4)
        # Linear layers, not 1x1 convs: on (N, C, 1, 1) inputs oneDNN's conv backward costs ~50 ms a call.
        self.mlp = nn.Sequential(nn.Linear(ch, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[:2]
        desc = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=0)  # both descriptors in one MLP call
        avg, mx = self.mlp(desc).split(n, dim=0)
        return x * torch.sigmoid(avg + mx).reshape(n, c, 1, 1)


class SpatialAttention(nn.Module):
    """CBAM spatial gate: a 7x7 conv over the channel-mean and channel-max maps, sigmoid."""

    def __init__(self, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        desc = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(desc))


class CBAM(nn.Module):
    """Convolutional Block Attention Module: channel attention, then spatial attention (the paper's order)."""

    def __init__(self, ch: int, reduction: int = 8, kernel_size: int = 7) -> None:
        super().__init__()
        self.channel = ChannelAttention(ch, reduction)
        self.spatial = SpatialAttention(kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))


class ResidualUnit(nn.Module):
    """ResNet basic unit: conv3x3-BN-ReLU-conv3x3-BN plus a (projected, if needed) shortcut, then ReLU.

    ``stride=2`` halves the resolution (the shortcut is then a strided 1x1 conv), so
    one unit is an encoder block and, at stride 1, a decoder's refinement unit;
    ``dilation`` widens the receptive field instead (DeepLab's atrous last block).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        d = dilation
        self.body = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, stride, d, dilation=d, bias=False), nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, 1, d, dilation=d, bias=False), nn.BatchNorm2d(out_ch))
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


def scaled_rates(rates: tuple[int, ...], size: int, reference: int = 32) -> tuple[int, ...]:
    """Atrous rates for a ``size`` x ``size`` feature map, scaled from DeepLab's ~``reference``-px map.

    DeepLab's (6, 12, 18) suit a 33x33 map (513-px crops at output stride 16); on
    an 8x8 bottleneck a rate of 12 or 18 puts every tap but the centre into the
    padding and the branch degenerates to a 1x1 conv. Rates scale with size/32
    (rounded half up, at least 1, at most size - 1), so 8x8 gets (2, 3, 5) and
    32x32 the paper's (6, 12, 18). Rate 1 is always kept as is.
    """
    out = []
    for r in rates:
        s = r if r == 1 else int(r * size / reference + 0.5)
        out.append(min(max(s, 1), max(size - 1, 1)))
    return tuple(out)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: parallel separable convs at several rates plus image pooling, fused by 1x1.

    The rate-1 branch is a 1x1 conv (as in DeepLab v3); the others are atrous
    separable 3x3 convs (DeepLab v3+), so the bottleneck stays cheap on a CPU.
    """

    def __init__(self, in_ch: int, out_ch: int, rates: tuple[int, ...]) -> None:
        super().__init__()
        branches: list[nn.Module] = []
        for r in rates:
            if r == 1:
                branches.append(nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch),
                                              nn.ReLU(inplace=True)))
            else:
                branches.append(DSConv(in_ch, out_ch, sn=False, bn=True, dilation=r))
        self.branches = nn.ModuleList(branches)
        # Image-level features; no BatchNorm after the pooled 1x1 conv (1x1 maps break BN at batch 1).
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_ch, out_ch, 1), nn.ReLU(inplace=True))
        self.project = nn.Sequential(nn.Conv2d(out_ch * (len(rates) + 1), out_ch, 1, bias=False),
                                     nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))
        self.rates = tuple(rates)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pooled = self.pool(x).expand(-1, -1, h, w)
        return self.project(torch.cat([b(x) for b in self.branches] + [pooled], dim=1))


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
        classifier = layers[-1]
        assert isinstance(classifier, nn.Conv2d)  # dcgan_encoder ends with its 4x4 conv
        self.classifier = classifier
        self.threat = nn.Conv2d(classifier.in_channels, 1, 4, 1, 0, bias=False) if threat_head else None

    def forward(self, x: torch.Tensor) -> DiscOutput:
        f = self.features(x * 2.0 - 1.0)
        threat = self.threat(f).flatten() if self.threat is not None else None
        return DiscOutput(self.classifier(f).flatten(), f, threat)
