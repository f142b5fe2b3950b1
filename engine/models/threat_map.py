"""The dense threat-map network of detector v2: a small fully convolutional encoder-decoder.

Why this shape: it runs over a whole scan (resized by ``scale``) in one pass, so no threat
is cut by a patch border and the map is smooth; it is trained on threats projected into
threat-free bags with exact pixel masks (DRAEM's discriminative half, with TIP as the
anomaly source), and optionally takes the reconstruction of a generator beside the scan
(``recon=True``: input [x, x_hat, |x - x_hat|], as DRAEM feeds [x, x_hat]).

Small plain conv blocks in channels_last and an output stride of 2 keep a 1268 x 1038 scan at scale 0.5
well inside the 0.25 s budget on two CPU threads; dilated blocks at 1/16 give a receptive
field of about 500 scan pixels, the size of a gun.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import check_common, register_model
from .base import AnomalyGAN


@dataclass(frozen=True)
class MapNetConfig:
    """Plain scalars only, so the config round-trips through JSON in a model file."""

    in_channels: int = 3
    widths: tuple[int, int, int, int] = (16, 32, 48, 64)
    dilations: tuple[int, ...] = (2, 4)

    def __post_init__(self) -> None:
        if self.in_channels < 1 or len(self.widths) != 4 or min(self.widths) < 4:
            raise ValueError(f"bad map-net config {self}")


class ConvBlock(nn.Sequential):
    """3x3 conv (optionally strided or dilated), BN, ReLU. Plain convs: on a CPU, PyTorch's depthwise
    kernels made a training step 2.2x slower than these at the same depth (measured, channels_last)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, 3, stride, dilation, dilation=dilation, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ThreatMapNet(nn.Module):
    """x (N, C, H, W) -> threat logits (N, 1, ceil(H/2), ceil(W/2)); H and W are padded to a multiple of 16."""

    stride: int = 2

    def __init__(self, cfg: MapNetConfig) -> None:
        super().__init__()
        w0, w1, w2, w3 = cfg.widths
        self.stem = nn.Sequential(nn.Conv2d(cfg.in_channels, w0, 3, 2, 1, bias=False), nn.BatchNorm2d(w0),
                                  nn.ReLU(inplace=True))
        self.enc1 = nn.Sequential(ConvBlock(w0, w1, 2), ConvBlock(w1, w1))
        self.enc2 = nn.Sequential(ConvBlock(w1, w2, 2), ConvBlock(w2, w2))
        self.enc3 = nn.Sequential(ConvBlock(w2, w3, 2), *(ConvBlock(w3, w3, dilation=d) for d in cfg.dilations))
        self.lat = nn.ModuleList([nn.Conv2d(w3, w2, 1), nn.Conv2d(w2, w1, 1), nn.Conv2d(w1, w0, 1)])
        self.dec = nn.ModuleList([ConvBlock(w2, w2), ConvBlock(w1, w1), ConvBlock(w0, w0)])
        self.head = nn.Conv2d(w0, 1, 1)
        assert self.head.bias is not None
        nn.init.constant_(self.head.bias, -4.0)  # start near "no threat anywhere": most pixels are clean

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x = x.contiguous(memory_format=torch.channels_last)
        ph, pw = (-h) % 16, (-w) % 16
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        s0 = self.stem(x)
        s1 = self.enc1(s0)
        s2 = self.enc2(s1)
        y = self.enc3(s2)
        for lat, dec, skip in zip(self.lat, self.dec, (s2, s1, s0), strict=True):
            y = F.interpolate(lat(y), size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = dec(y + skip)
        out = self.head(y)
        return out[..., : (h + 1) // 2, : (w + 1) // 2]


@dataclass
class MapOutput:
    logits: torch.Tensor  # (N, 1, ceil(H/2), ceil(W/2))
    x_hat: torch.Tensor | None = None  # the reconstruction, for models with a reconstructive half


#: The flipped axes (of an N, C, H, W tensor) of each scoring view, by number of views.
VIEW_FLIPS: dict[int, tuple[tuple[int, ...], ...]] = {1: ((),), 2: ((), (3,)), 4: ((), (3,), (2,), (2, 3))}


@dataclass(frozen=True)
class ThreatMapConfig:
    """The registered v2 detector. ``input_size`` per grid patch sets the map's scale (input_size / patch)."""

    input_size: int = 64
    channels: int = 3
    widths: tuple[int, int, int, int] = (16, 32, 48, 64)
    dilations: tuple[int, ...] = (2, 4)
    #: DRAEM's reconstructive half: a DSA nested generator learns to remove projected threats, and the
    #: map network sees [x, x_hat, |x - x_hat|]. Off by default: it measured no better (RESULTS.md).
    recon: bool = False
    g_base: int = 16
    #: The seed paper's GAN as the reconstructive half: DSA's attention-augmented SN discriminator judges
    #: 64-px windows of x_hat against the clean crop (adversarial + latent loss on its last conv's
    #: features), so G must make its reconstruction look threat-free, not only close in L1. Needs ``recon``.
    adversarial: bool = False
    #: Views the scoring map is averaged over: 1 (the scan as is), 2 (+ mirrored left-right) or 4 (+ upside
    #: down, + both). Training sees every flip and rotation, so each view is as good as the others, and
    #: their mean has less of each view's noise. Scoring only; 1 in model files written before it.
    views: int = 1

    def __post_init__(self) -> None:
        check_common(self)
        MapNetConfig(self.channels, self.widths, self.dilations)  # validates the widths
        if self.adversarial and not self.recon:
            raise ValueError("adversarial needs recon (the discriminator judges the reconstruction)")
        if self.views not in VIEW_FLIPS:
            raise ValueError(f"views must be one of {sorted(VIEW_FLIPS)}, not {self.views}")


@register_model("threat-map")
class ThreatMapModel(AnomalyGAN):
    """Detector v2: no generator or GAN discriminator, one dense map network (``netm``).

    Trained by engine.training.map_loop, scored by engine.map_scoring; ``produces_map`` tells
    training and scoring which path to take.
    """

    config_class = ThreatMapConfig
    produces_map = True
    is_gan = False

    def __init__(self, cfg: ThreatMapConfig) -> None:
        super().__init__()
        self.config = cfg
        c_in = 3 * cfg.channels if cfg.recon else cfg.channels
        self.netm = ThreatMapNet(MapNetConfig(c_in, cfg.widths, cfg.dilations))
        self.netr: nn.Module | None = None
        self.netc: nn.Module | None = None  # the critic of x_hat, training only: scoring reads the map alone
        if cfg.recon:
            from .dsa import AttentionDiscriminator, DSAConfig, NestedGenerator

            dcfg = DSAConfig(input_size=64, channels=cfg.channels, base=cfg.g_base)
            self.netr = NestedGenerator(dcfg)
            if cfg.adversarial:
                self.netc = AttentionDiscriminator(dcfg)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor | None:
        """x_hat from the reconstructive half (None without one); any size, padded to a multiple of 16."""
        if self.netr is None:
            return None
        h, w = x.shape[-2:]
        ph, pw = (-h) % 16, (-w) % 16
        xp = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
        return self.netr(xp).x_hat[..., :h, :w]

    def forward(self, x: torch.Tensor) -> MapOutput:
        """Threat logits; with ``recon``, from [x, x_hat, |x - x_hat|]. One forward for both halves, so
        DistributedDataParallel sees every parameter used."""
        x_hat = self.reconstruct(x)
        if x_hat is not None:
            x = torch.cat([x, x_hat, (x - x_hat).abs()], 1)
        return MapOutput(self.netm(x), x_hat)

    def scoring_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The map the product scores with: the mean of the logits over ``config.views`` flipped views."""
        flips = VIEW_FLIPS[self.config.views]
        total = self(x).logits
        for dims in flips[1:]:
            total = total + self(x.flip(dims)).logits.flip(dims)
        return total / len(flips)
