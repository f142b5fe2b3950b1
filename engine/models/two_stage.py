"""Two-stage (Song et al., "Attention Map-Guided Two-stage Anomaly Detection using Hard
Augmentation", 2021), as one generator/discriminator pair for the generic training loop.

Stage 1, the attention network (``netg``): an encoder with two heads, a recon-
struction x_hat and an attention map a(x) in [0, 1] (1 = anomalous pixel).
Trained on hard-augmented patches (engine.training.hard_augment): the attention
loss is BCE(a, mask of the synthetic anomaly) (weight ``w_att``, applied by
engine.training.losses when the augmenter supplies masks) and x_hat is trained
adversarially towards the *clean* patch. The decoder's UNet skips (1/2 down to
the bottleneck, as in pix2pix) are gated by the normal-region map 1 - a, so an
anomaly the attention marks cannot be copied through the skips into x_hat: that
is how a shapes the reconstruction (and why every parameter of stage 1 gets a
gradient even without masks). Depthwise-separable convs keep it cheap; like dsa
it wants a higher Adam rate than the DCGAN baselines (TwoStage.default_lr).

Stage 2, ADGAN (``netd``): a spectral-norm conv discriminator whose features at
1/4 resolution are multiplied by the normal-region map 1 - a(x) of its own input
(the paper's "attention map applied to the image feature map"), so it learns the
distribution of normal features with the flagged regions removed. Its real/fake
logit is the anomaly score: ``threat_logit = -logit`` (less real = more anomalous),
which engine.scoring adds as the standardised "threat" component.

Simplifications, stated honestly:

* The two stages train jointly, step by step, not one after the other; stage 2
  reads stage 1's attention without gradient (stage 1 is an input to stage 2,
  never trained by it).
* The paper's adversarial anomaly loss is realised by the loop's TIP term: with
  ``TrainConfig.w_tip > 0`` and the hard augmenter's labels, D's "threat" logit
  (= -logit) learns synthetic anomalies as not-real. With ``w_tip = 0`` D is a
  plain real/fake discriminator on gated features.
* Stage 2 discriminates real patches from x_hat, as every model here does,
  rather than sampling features from noise.

``model.attention_map(x)`` gives the (N, 1, H, W) map for the GUI's alternative
overlay; scoring reports its per-patch mean as the optional "attention" component.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import check_common, register_model
from .base import AnomalyGAN, DiscOutput, GenOutput
from .layers import DSConv, SNConv2d, SNLinear

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TwoStageConfig:
    """Two-stage hyper-parameters; plain scalars only, so they round-trip through JSON."""

    input_size: int = 64
    channels: int = 3
    base: int = 32  # stage-1 width at 1/2 resolution, doubling per level (capped at 8x)
    depth: int = 4  # stage-1 down levels (>= 2: the attention map lives at 1/4 resolution)
    d_base: int = 32  # stage-2 D width after its first conv, doubling per level (capped at 8x)
    w_att: float = 1.0  # weight of the attention loss BCE(a, mask)

    def __post_init__(self) -> None:
        check_common(self)
        if self.base < 4 or self.d_base < 4 or self.w_att < 0:
            raise ValueError(f"base >= 4, d_base >= 4 and w_att >= 0 needed ({self})")
        if not 2 <= self.depth <= int(math.log2(self.input_size)) - 1:
            raise ValueError(f"depth must lie in 2..log2(input_size) - 1 ({self})")


def _resize(a: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """Area-average down, bilinear up: a map at another level's resolution (``size``: the last two dims)."""
    hw = (int(size[-2]), int(size[-1]))
    if a.shape[-1] >= hw[-1]:
        return F.adaptive_avg_pool2d(a, hw)
    return F.interpolate(a, size=hw, mode="bilinear", align_corners=False)


class AttentionNetwork(nn.Module):
    """Stage 1: DSConv encoder, attention head at 1/4 resolution, UNet decoder with gated skips.

    No BatchNorm in the encoder and attention head: stage 2 runs them on its own
    batches, which must neither update running statistics nor depend on the batch.
    The decoder, which only netg runs, has BatchNorm (it trains several times faster).
    """

    def __init__(self, cfg: TwoStageConfig) -> None:
        super().__init__()
        # w[k]: width at 1/2**k resolution (pix2pix-like: ``base`` at 1/2, doubling, capped at 8x).
        w = [max(cfg.base // 2, 8)] + [min(cfg.base * 2 ** (k - 1), cfg.base * 8) for k in range(1, cfg.depth + 1)]

        def act() -> nn.Module:
            return nn.LeakyReLU(0.2, inplace=True)

        self.stem = nn.Sequential(nn.Conv2d(cfg.channels, w[0], 3, 1, 1), act())
        self.down = nn.ModuleList(DSConv(w[k - 1], w[k], 2, sn=False, act=act()) for k in range(1, cfg.depth + 1))
        # The attention head sees the 1/4-resolution features and the (upsampled) bottleneck context.
        self.att = nn.Sequential(DSConv(w[2] + w[-1], w[2], sn=False, act=act()), nn.Conv2d(w[2], 1, 1))
        for m in [*self.stem.modules(), *self.down.modules(), *self.att.modules()]:
            if isinstance(m, nn.Conv2d):  # He init for LeakyReLU: without norm layers the default shrinks activations
                nn.init.kaiming_normal_(m.weight, a=0.2, nonlinearity="leaky_relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        # Decoder (BatchNorm: only netg runs it) from the bottleneck to 1/2 resolution, skips gated by 1 - a.
        self.up = nn.ModuleDict({str(k): DSConv(w[k + 1] + w[k], w[k], sn=False, bn=True, act=act())
                                 for k in range(1, cfg.depth)})
        self.out = nn.Sequential(nn.Conv2d(w[1], w[1], 3, 1, 1, groups=w[1], bias=False),
                                 nn.Conv2d(w[1], cfg.channels, 1))
        self.depth = cfg.depth

    def encode(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Encoder features per level (full resolution first) and the attention logits at 1/4 resolution.

        channels_last inside (2x faster on a CPU), for every caller: netg, stage 2 and attention_map.
        """
        feats = [self.stem(x.contiguous(memory_format=torch.channels_last) * 2.0 - 1.0)]
        for block in self.down:
            feats.append(block(feats[-1]))
        ctx = F.interpolate(feats[-1], size=feats[2].shape[-2:], mode="bilinear", align_corners=False)
        return feats, self.att(torch.cat([feats[2], ctx], dim=1))

    def attention_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Attention logits at 1/4 resolution (encoder and head only; no decoder)."""
        return self.encode(x)[1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats, logit = self.encode(x)
        normal = 1.0 - torch.sigmoid(logit)
        h = feats[-1]
        for k in reversed(range(1, self.depth)):
            skip = feats[k]
            h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            h = self.up[str(k)](torch.cat([h, skip * _resize(normal, skip.shape[-2:])], dim=1))
        h = F.interpolate(h, size=x.shape[-2:], mode="bilinear", align_corners=False)
        full = F.interpolate(logit, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return torch.sigmoid(self.out(h)), full


class AttentionGenerator(nn.Module):
    """netg: x -> GenOutput(x_hat, attention logits)."""

    def __init__(self, cfg: TwoStageConfig) -> None:
        super().__init__()
        self.net = AttentionNetwork(cfg)
        self.w_att = cfg.w_att

    def forward(self, x: torch.Tensor) -> GenOutput:
        x_hat, logit = self.net(x)
        return GenOutput(x_hat, attention_logit=logit, w_att=self.w_att)


class ADGANDiscriminator(nn.Module):
    """Stage 2: SN convs; features at 1/4 resolution times 1 - a(x); f(x) before the classifier."""

    def __init__(self, cfg: TwoStageConfig) -> None:
        super().__init__()
        ch, size, layers = cfg.channels, cfg.input_size, []
        widths: list[int] = []
        while size > 4:
            out = min(cfg.d_base * 2 ** len(widths), cfg.d_base * 8)
            layers.append(nn.Sequential(SNConv2d(ch, out, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)))
            widths.append(out)
            ch, size = out, size // 2
        self.early = nn.Sequential(*layers[:2])  # to 1/4 resolution, where the attention map lives
        self.late = nn.Sequential(*layers[2:])
        self.classifier = SNLinear(ch, 1)
        self._stage1: AttentionNetwork | None = None

    def attach(self, stage1: AttentionNetwork) -> None:
        """Read stage 1's attention (not a submodule: no shared parameters, D's optimiser never sees it)."""
        object.__setattr__(self, "_stage1", stage1)

    def forward(self, x: torch.Tensor) -> DiscOutput:
        x = x.contiguous(memory_format=torch.channels_last)
        h = self.early(x * 2.0 - 1.0)
        if self._stage1 is not None:
            with torch.no_grad():
                normal = 1.0 - torch.sigmoid(self._stage1.attention_logits(x))
            h = h * _resize(normal.to(h.dtype), h.shape[-2:])
        f = self.late(h)
        logit = self.classifier(f.sum(dim=(2, 3))).squeeze(1)
        return DiscOutput(logit, f, -logit)


@register_model("two-stage")
class TwoStage(AnomalyGAN):
    """Attention network (stage 1, netg) and attention-gated ADGAN (stage 2, netd)."""

    config_class = TwoStageConfig
    needs_masks = True  # its attention map is supervised by hard-augmentation masks
    default_lr = 1e-3  # depthwise-separable, like sagan

    netg: AttentionGenerator
    netd: ADGANDiscriminator

    def __init__(self, config: TwoStageConfig | None = None) -> None:
        super().__init__()
        self.config = config or TwoStageConfig()
        self.netg = AttentionGenerator(self.config)
        self.netd = ADGANDiscriminator(self.config)
        self.netd.attach(self.netg.net)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) in [0, 1]: where stage 1 sees an anomaly (the GUI's alternative overlay)."""
        logit = self.netg.net.attention_logits(x)
        return torch.sigmoid(F.interpolate(logit, size=x.shape[-2:], mode="bilinear", align_corners=False))
