"""Image enhancement functions screening officers expect, as pure numpy (no Qt).

Every function takes float32 RGB in [0, 1], H x W x 3 (``engine.data.Scan.pixels``),
and returns the same layout, so they compose and can be tested without a display.

Material emphasis relies on the pseudo-colour convention of dual-energy scanners:
orange is organic, green is inorganic or mixed, blue is metal. Hue masks pick one
class and wash the rest out to pale grey, so the chosen material stands out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

#: Hue ranges in degrees (OpenCV float HSV gives hue in [0, 360)).
HUE_RANGES: dict[str, tuple[float, float]] = {
    "organic": (12.0, 55.0),  # orange / amber
    "inorganic": (60.0, 170.0),  # green
    "metal": (175.0, 265.0),  # blue
}
MIN_SATURATION = 0.12  # below this a pixel is grey: no material colour to trust
MAX_VALUE_BACKGROUND = 0.97  # near-white is background, never emphasised


def _check(img: np.ndarray) -> np.ndarray:
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected H x W x 3 RGB, got shape {img.shape}")
    return np.ascontiguousarray(img, dtype=np.float32)


def standard(img: np.ndarray) -> np.ndarray:
    """The image as scanned; the default and what the reset key returns to."""
    return _check(img)


def negative(img: np.ndarray) -> np.ndarray:
    """Inverted grey levels: thin objects on a dense background become easier to see."""
    return np.float32(1.0) - _check(img)


def gamma(img: np.ndarray, g: float) -> np.ndarray:
    x = np.clip(_check(img), 0.0, 1.0)
    return cv2.pow(x, float(g))  # several times faster than np.power on a full scan


def high_penetration(img: np.ndarray) -> np.ndarray:
    """Lift the dark (dense) range, as if scanned at higher energy: detail inside metal and clutter."""
    return gamma(img, 0.45)


def low_penetration(img: np.ndarray) -> np.ndarray:
    """Stretch the bright (thin) range: paper, plastics, thin organics become visible."""
    return gamma(img, 2.2)


def hsv(img: np.ndarray) -> np.ndarray:
    """Float HSV: H in [0, 360), S and V in [0, 1]."""
    return cv2.cvtColor(_check(img), cv2.COLOR_RGB2HSV)


def hue_mask(img: np.ndarray, material: str) -> np.ndarray:
    """Boolean H x W: pixels whose pseudo-colour says ``material``."""
    lo, hi = HUE_RANGES[material]
    mask = cv2.inRange(hsv(img), (lo, MIN_SATURATION, 0.0), (hi, 1.0, MAX_VALUE_BACKGROUND))
    return mask.astype(bool)


def emphasise(img: np.ndarray, material: str, fade: float = 0.75) -> np.ndarray:
    """Keep ``material`` in colour (slightly boosted) and fade everything else to pale grey."""
    x = _check(img)
    mask = hue_mask(x, material).view(np.uint8)
    grey = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
    out = cv2.cvtColor(grey * np.float32(1.0 - fade) + np.float32(fade), cv2.COLOR_GRAY2RGB)
    boosted = cv2.multiply(x, (0.85, 0.85, 0.85, 0.0))  # a little darker: more contrast against the rest
    cv2.copyTo(boosted, mask, out)
    return out


def organic(img: np.ndarray) -> np.ndarray:
    return emphasise(img, "organic")


def inorganic(img: np.ndarray) -> np.ndarray:
    return emphasise(img, "inorganic")


def metal(img: np.ndarray) -> np.ndarray:
    return emphasise(img, "metal")


EDGE_DIM = 0.45  # the scan under the outlines, dimmed so they stand out
EDGE_FLOOR = 0.25  # gradient that counts as a full edge at least (a flat, noisy scan draws no lines)


def edges(img: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Outlines over a dimmed scan: every grey-level edge (wires, blades, barrels, the rims of
    dense objects) drawn in white, as strong as its gradient, so shapes read at a glance."""
    x = _check(img)
    grey = cv2.GaussianBlur(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY), (0, 0), sigma)
    mag = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))
    scale = max(float(np.percentile(mag[::4, ::4], 99)), EDGE_FLOOR)  # the scan's own strong edges
    e = np.clip(mag / np.float32(scale), 0.0, 1.0)[..., None]
    return x * np.float32(EDGE_DIM) * (np.float32(1.0) - e) + e


def window_level(img: np.ndarray, window: float, level: float) -> np.ndarray:
    """Map [level - window/2, level + window/2] onto [0, 1], clipping outside."""
    lo, hi = levels(window, level)
    return np.clip((_check(img) - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def levels(window: float, level: float) -> tuple[float, float]:
    """(low, high) display levels for a window width and centre; window is kept positive."""
    w = max(float(window), 1e-3)
    return float(level) - w / 2.0, float(level) + w / 2.0


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Float [0, 1] to uint8 for display: pyqtgraph's fastest path and 4x less memory."""
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Mode:
    key: str
    label: str
    shortcut: str
    fn: Callable[[np.ndarray], np.ndarray]


MODES: tuple[Mode, ...] = (
    Mode("standard", "Standard image", "0", standard),
    Mode("negative", "Negative", "1", negative),
    Mode("high", "High penetration", "2", high_penetration),
    Mode("low", "Low penetration", "3", low_penetration),
    Mode("organic", "Organic (orange)", "4", organic),
    Mode("inorganic", "Inorganic (green)", "5", inorganic),
    Mode("metal", "Metal (blue)", "6", metal),
    Mode("edges", "Edge enhancement", "7", edges),
)
MODE_BY_KEY = {m.key: m for m in MODES}


def apply(img: np.ndarray, mode: str) -> np.ndarray:
    """Apply one named mode; unknown names are an error, not a silent no-op."""
    try:
        return MODE_BY_KEY[mode].fn(img)
    except KeyError:
        raise ValueError(f"unknown enhancement {mode!r}; known: {', '.join(MODE_BY_KEY)}") from None
