"""Threat sprites: a threat's own per-channel transmission, ready to multiply into any scan.

Why transmission and not pixels: in an X-ray a threat does not cover what lies
under it, it attenuates it. A sprite stores ``T`` in (0, 1] per RGB channel
(1 = no attenuation) plus a soft mask, so projecting it is a multiplication
that can only darken. Sprites come from the synthetic shape models or are
cut out of labelled threat scans (real or synthetic).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..data.types import Box, canonical_category
from ..errors import EngineError
from .render import thickness_to_rgb, to_uint8

log = logging.getLogger(__name__)

#: A sprite pixel belongs to the threat when some channel loses more than this fraction.
VISIBLE = 1.0 / 512.0


class CutoutError(EngineError):
    """A labelled box in which no threat-like (metal or dense) pixels were found."""


@dataclass(frozen=True)
class ThreatSprite:
    """One threat as per-channel transmission ``h x w x 3`` in (0, 1] and a soft mask ``h x w`` in [0, 1]."""

    category: str
    transmission: np.ndarray
    mask: np.ndarray
    source: str = "synthetic"
    packed: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        t = np.ascontiguousarray(np.clip(self.transmission, 0.0, 1.0), np.float32)
        m = np.ascontiguousarray(np.clip(self.mask, 0.0, 1.0), np.float32)
        if t.ndim != 3 or t.shape[2] != 3 or m.shape != t.shape[:2] or t.size == 0:
            raise EngineError(
                f"threat sprite {self.source}: transmission must be h x w x 3 and mask h x w, "
                f"got {t.shape} and {m.shape}"
            )
        object.__setattr__(self, "transmission", t)
        object.__setattr__(self, "mask", m)
        # T and mask in one 4-channel array, so placing a sprite is a single warp.
        object.__setattr__(self, "packed", np.ascontiguousarray(np.dstack([t, m])))

    @property
    def width(self) -> int:
        return int(self.transmission.shape[1])

    @property
    def height(self) -> int:
        return int(self.transmission.shape[0])

    @classmethod
    def from_thickness(cls, category: str, thickness: np.ndarray, source: str = "synthetic") -> ThreatSprite:
        """Render a shape model's thickness (mm per material) through the scanner colouring, noise-free."""
        t = thickness_to_rgb(thickness)
        mask = (t.min(axis=2) < 1.0).astype(np.float32)  # any attenuation at all: boxes must hold it
        return _trimmed(canonical_category(category), t, mask, source)

    @classmethod
    def from_cutout(
        cls, category: str, rgb: np.ndarray, box: Box | tuple[float, float, float, float], source: str = ""
    ) -> ThreatSprite:
        """Cut a threat out of a labelled scan, keeping its attenuation and dropping its surround.

        Inside the box, the threat is the metal-or-dense part (blue hue or dark),
        cleaned morphologically; its transmission is the scan divided by an
        estimate of what lies behind it (the surround, blurred in from outside
        the threat). Raises :class:`CutoutError` when the box holds nothing
        threat-like.
        """
        x0, y0, x1, y1 = box.as_list() if isinstance(box, Box) else list(box)
        h, w = rgb.shape[:2]
        bx0, by0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
        bx1, by1 = min(int(np.ceil(x1)), w), min(int(np.ceil(y1)), h)
        if bx1 - bx0 < 4 or by1 - by0 < 4:
            raise CutoutError(
                f"{source}: box {x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f} is too small or off the scan"
            )
        pad = int(0.15 * max(bx1 - bx0, by1 - by0)) + 8
        cx0, cy0, cx1, cy1 = max(bx0 - pad, 0), max(by0 - pad, 0), min(bx1 + pad, w), min(by1 + pad, h)
        crop = np.ascontiguousarray(rgb[cy0:cy1, cx0:cx1], np.float32)
        inbox = np.zeros(crop.shape[:2], bool)
        inbox[by0 - cy0 : by1 - cy0, bx0 - cx0 : bx1 - cx0] = True
        mask = threat_mask(crop, inbox)
        if mask.sum() < max(16, 0.01 * inbox.sum()):
            raise CutoutError(f"{source}: no metal or dense pixels inside the {category} box")
        ys, xs = np.nonzero(mask)
        if max(np.ptp(ys), np.ptp(xs)) + 1 < 0.4 * max(bx1 - bx0, by1 - by0):
            raise CutoutError(f"{source}: only a fragment of the {category} could be isolated in its box")
        bg = background_estimate(crop, mask)
        t = np.clip(crop / np.maximum(bg, 1e-3), 1.0 / 255.0, 1.0)
        # Steel's density is highest in red (see render.py). Where the estimated background was itself
        # blue (boards, other metal), the ratio can leave red barely touched, and the cut-out would tint
        # hosts red; never let red pass more than the other channels (this only darkens).
        t[..., 0] = np.minimum(t[..., 0], np.minimum(t[..., 1], t[..., 2]))
        soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.0)
        t = cv2.exp(cv2.log(t) * soft[..., None])  # T ** soft: feathered edge, exactly 1 off the threat
        return _trimmed(canonical_category(category), t, soft, source)


def threat_mask(crop: np.ndarray, inbox: np.ndarray) -> np.ndarray:
    """Boolean mask of the threat inside ``inbox``: metal-like (blue or dark teal) or dense (dark), cleaned.

    When that colour rule takes most of the box (a threat lying on boards or
    other metal), only the darker part of the red channel is kept: red is what
    steel removes most, so the threat is the darkest coherent region there.
    """
    hsv = cv2.cvtColor(to_uint8(crop), cv2.COLOR_RGB2HSV)
    hue, sat, val = (hsv[..., i].astype(np.int16) for i in range(3))
    blue = (hue >= 85) & (hue <= 135) & (sat >= 70) & (val < 240)
    teal = (hue >= 60) & (hue < 85) & (sat >= 70) & (val < 150)  # steel seen through organic matter
    dark = val < 90
    cand = (blue | teal | dark) & inbox
    if cand.sum() > 0.35 * inbox.sum():
        red = to_uint8(crop[..., 0])
        t, _ = cv2.threshold(red[cand].reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        cand &= (red <= t) | dark
    raw = cand.astype(np.uint8)
    ys, xs = np.nonzero(inbox)
    diag = float(np.hypot(np.ptp(ys), np.ptp(xs))) if len(ys) else 0.0
    k = max(3, int(round(diag * 0.015)) | 1)
    m = cv2.morphologyEx(raw, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    m = np.asarray(_fill_holes(m) & inbox.astype(np.uint8), np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n <= 1:
        return np.zeros_like(inbox)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= 0.15 * areas.max()) + 1  # the threat and its big parts, not stray zips
    return np.isin(labels, keep)


def _fill_holes(m: np.ndarray) -> np.ndarray:
    """Fill enclosed holes (a gun's trigger guard stays open only if it touches the outside)."""
    h, w = m.shape
    flood = np.pad(m, 1).copy() * 255
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 128)
    return (flood[1:-1, 1:-1] != 128).astype(np.uint8)


def background_estimate(crop: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """What lies behind the threat: the surround blurred into the masked area (normalised convolution)."""
    ring = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    valid = (1 - ring).astype(np.float32)
    sigma = max(crop.shape[:2]) / 8.0
    num = cv2.GaussianBlur(crop * valid[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(valid, (0, 0), sigma)[..., None]
    bg = np.where(den > 1e-3, num / np.maximum(den, 1e-3), 1.0)
    return np.maximum(bg, crop).astype(np.float32)  # never darker than what we see: T stays <= 1


def _trimmed(category: str, t: np.ndarray, mask: np.ndarray, source: str) -> ThreatSprite:
    ys, xs = np.nonzero((mask > 0) & (t.min(axis=2) < 1.0 - VISIBLE))
    if len(ys) == 0:
        raise CutoutError(f"{source or category}: the threat is invisible (nothing attenuates)")
    y0, y1 = max(ys.min() - 2, 0), min(ys.max() + 3, t.shape[0])
    x0, x1 = max(xs.min() - 2, 0), min(xs.max() + 3, t.shape[1])
    return ThreatSprite(category, t[y0:y1, x0:x1], mask[y0:y1, x0:x1], source)
