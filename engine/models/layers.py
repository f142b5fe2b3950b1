"""Small shared layers, one concept each: spectral-norm convs, depthwise-separable
convs, the attention-augmented convolution (Bello et al., ICCV 2019) and the
material (metal/dense) input channel.

Spectral norm uses ``torch.nn.utils.parametrizations.spectral_norm``: in eval mode
it does no power iteration (forward is deterministic) and its ``u``/``v`` vectors
are buffers, so ``state_dict`` round-trips exactly.
"""

from __future__ import annotations

import logging
import math

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from ..data.material import HUE_HI, HUE_LO, SAT_MIN, VAL_DARK

log = logging.getLogger(__name__)


class _ResetOriginal:
    """``reset_parameters`` that re-draws the *original* weight under a spectral-norm parametrization.

    Plain ``reset_parameters`` would only touch a computed copy, so a training loop that resets D by
    calling it on every module would silently keep the old weights. Same rule as PyTorch's own init
    (Kaiming-uniform, a = sqrt(5); bias uniform in +-1/sqrt(fan_in)), for convs, transposed convs, linears.
    """

    weight: torch.Tensor

    def reset_parameters(self) -> None:
        if not parametrize.is_parametrized(self, "weight"):  # type: ignore[arg-type]
            super().reset_parameters()  # type: ignore[misc]
            return
        original = self.parametrizations.weight.original  # type: ignore[attr-defined]
        with torch.no_grad():
            nn.init.kaiming_uniform_(original, a=math.sqrt(5))
            bias: torch.Tensor | None = getattr(self, "bias", None)
            if bias is not None:
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(original)
                bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(bias, -bound, bound)


class SNConv2d(_ResetOriginal, nn.Conv2d):
    """Conv2d with spectral norm on its weight when ``sn=True``; resettable."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 groups: int = 1, bias: bool = True, sn: bool = True, dilation: int = 1) -> None:
        super().__init__(in_ch, out_ch, kernel_size, stride, padding, dilation=dilation, groups=groups, bias=bias)
        if sn:
            spectral_norm(self)


class SNConvT2d(_ResetOriginal, nn.ConvTranspose2d):
    """2x2 stride-2 transposed conv (learned x2 upsampling) with optional spectral norm; resettable."""

    def __init__(self, in_ch: int, out_ch: int, sn: bool = True) -> None:
        super().__init__(in_ch, out_ch, 2, 2)
        if sn:
            spectral_norm(self, dim=1)


class SNLinear(_ResetOriginal, nn.Linear):
    """Linear layer with optional spectral norm; resettable."""

    def __init__(self, in_f: int, out_f: int, bias: bool = True, sn: bool = True) -> None:
        super().__init__(in_f, out_f, bias=bias)
        if sn:
            spectral_norm(self)


class MaterialChannel(nn.Module):
    """Appends the metal/dense mask of ``engine.data.material`` to an RGB (or grey) batch.

    A fixed, parameter-free threshold of the pseudo-colour (no gradient flows through the
    mask; the RGB channels still carry it). Same rule as the numpy version, on 8-bit values.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u8 = (x.detach().float().clamp(0, 1) * 255).floor()
        mx = u8.amax(dim=1)
        dark = mx < VAL_DARK
        if x.shape[1] >= 3:
            r, g, b = u8[:, 0], u8[:, 1], u8[:, 2]
            mn = u8.amin(dim=1)
            chroma = mx - mn
            # Hue (degrees) when blue is the largest channel: 240 + 60 (r - g) / chroma.
            hue = 240.0 + 60.0 * (r - g) / chroma.clamp_min(1e-6)
            sat = 255.0 * chroma / mx.clamp_min(1e-6)
            blue = (b >= mx) & (chroma > 0) & (hue >= 2 * HUE_LO - 1) & (hue < 2 * HUE_HI + 1) & (sat >= SAT_MIN - 0.5)
            dark = dark | blue
        return torch.cat([x, dark.unsqueeze(1).to(x.dtype)], dim=1)


class DSConv(nn.Module):
    """Depthwise 3x3 (optionally strided or dilated) + pointwise 1x1, then optional BN and activation.

    About ``9/out_ch + 1/9`` of a dense 3x3 conv's cost: what keeps the nested generator
    fast on a CPU. With spectral norm it is dsa's block; without, and with BN, SAGAN's DSC
    block, and dilated, DeepLab v3+'s "atrous separable convolution" (ASPP's branches).
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, sn: bool = True, bn: bool = False,
                 act: nn.Module | None = None, dilation: int = 1) -> None:
        super().__init__()
        self.depthwise = SNConv2d(in_ch, in_ch, 3, stride, dilation, groups=in_ch, bias=False, sn=sn,
                                  dilation=dilation)
        self.pointwise = SNConv2d(in_ch, out_ch, 1, bias=not bn, sn=sn)
        self.bn = nn.BatchNorm2d(out_ch) if bn else nn.Identity()
        self.act = act if act is not None else nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.pointwise(self.depthwise(x))))


class AttentionConv2d(nn.Module):
    """Attention-augmented convolution (Bello et al. 2019).

    Output = concat(conv(x) with ``out_ch - dv`` channels, MHSA(x) with ``dv``
    channels) along channels. Self-attention runs over all H*W positions with
    ``heads`` heads and 2-D relative position logits (width and height), so it
    is built for a fixed spatial size ``size`` (D always reaches it, whatever
    the input size).
    """

    rel_index: torch.Tensor

    def __init__(self, in_ch: int, out_ch: int, size: int, dk: int, dv: int, heads: int = 4,
                 kernel_size: int = 3, sn: bool = True) -> None:
        super().__init__()
        if dk % heads or dv % heads or not 0 < dv < out_ch:
            raise ValueError(f"attention conv needs dk, dv divisible by heads and 0 < dv < out_ch "
                             f"(dk={dk}, dv={dv}, heads={heads}, out_ch={out_ch})")
        self.dk, self.dv, self.heads, self.size = dk, dv, heads, size
        self.conv = SNConv2d(in_ch, out_ch - dv, kernel_size, 1, kernel_size // 2, sn=sn)
        self.qkv = SNConv2d(in_ch, 2 * dk + dv, 1, sn=sn)
        self.proj = SNConv2d(dv, dv, 1, sn=sn)
        dkh = dk // heads
        self.rel_w = nn.Parameter(torch.empty(2 * size - 1, dkh))
        self.rel_h = nn.Parameter(torch.empty(2 * size - 1, dkh))
        idx = torch.arange(size)
        # rel_index[a, b] = b - a + size - 1: the embedding row for key b seen from query a.
        self.register_buffer("rel_index", idx[None, :] - idx[:, None] + size - 1, persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the relative position embeddings (the convs reset themselves)."""
        dkh = self.dk // self.heads
        with torch.no_grad():
            self.rel_w.normal_(0.0, dkh**-0.5)
            self.rel_h.normal_(0.0, dkh**-0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        if h != self.size or w != self.size:
            raise ValueError(f"attention conv built for {self.size}x{self.size}, got {h}x{w}")
        n, dkh, dvh = self.heads, self.dk // self.heads, self.dv // self.heads
        q, k, v = self.qkv(x).split([self.dk, self.dk, self.dv], dim=1)
        q = q.reshape(b, n, dkh, h * w).transpose(2, 3) * dkh**-0.5  # (B,n,HW,dkh)
        k = k.reshape(b, n, dkh, h * w)  # (B,n,dkh,HW)
        v = v.reshape(b, n, dvh, h * w).transpose(2, 3)  # (B,n,HW,dvh)
        logits = q @ k  # (B,n,HW,HW)
        # 2-D relative logits: query (y, x) vs key (y', x') adds q . rel_w[x' - x] + q . rel_h[y' - y].
        qs = q.reshape(b, n, h, w, dkh)
        lw = torch.einsum("bnyxd,xvd->bnyxv", qs, self.rel_w[self.rel_index].to(q.dtype))  # (B,n,H,W,W')
        lh = torch.einsum("bnyxd,yud->bnyxu", qs, self.rel_h[self.rel_index].to(q.dtype))  # (B,n,H,W,H')
        logits = logits + (lh[..., :, None] + lw[..., None, :]).reshape(b, n, h * w, h * w)
        attn = logits.softmax(dim=-1) @ v  # (B,n,HW,dvh)
        attn = attn.transpose(2, 3).reshape(b, self.dv, h, w)
        return torch.cat([self.conv(x), self.proj(attn)], dim=1)
