"""Small reusable blocks for the published variants (SAGAN, Skip-GANomaly++, two-stage).

One concept each, no losses: CBAM (channel then spatial attention, Woo et al.,
ECCV 2018), a (dilated) depthwise-separable conv with BatchNorm, a residual unit
(He et al., ECCV 2016) and ASPP (Chen et al., DeepLab v3/v3+). They use plain
convs, not spectral norm: the generators that use them keep BatchNorm as their
papers do, and D stays the reference DCGAN one.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

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


class SepConvBN(nn.Module):
    """Depthwise 3x3 (optionally dilated) + pointwise 1x1 + BatchNorm + activation.

    The dilated form is DeepLab v3+'s "atrous separable convolution"; undilated it
    is SAGAN's DSC block. About 1/9 + 1/out_ch of a dense 3x3 conv's cost.
    """

    def __init__(self, in_ch: int, out_ch: int, dilation: int = 1, act: nn.Module | None = None) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_ch, in_ch, 3, 1, dilation, dilation=dilation, groups=in_ch, bias=False)
        self.pointwise = nn.Conv2d(in_ch, out_ch, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)
        self.act = act if act is not None else nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.pointwise(self.depthwise(x))))


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
                branches.append(SepConvBN(in_ch, out_ch, dilation=r))
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
