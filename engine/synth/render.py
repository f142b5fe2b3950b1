"""Dual-energy attenuation to pseudo-colour, and the sensor that records it.

Physics: a scanner measures transmission at a low and a high energy,
``T_E = exp(-A_E)`` with ``A_E = sum_m mu_E(m) * t_m`` (Beer-Lambert), so
overlapping objects multiply transmissions (add attenuations) at each energy.
The ratio ``A_low / A_high`` grows with effective atomic number and picks the
hue (orange organic, green inorganic or mixed, blue metal); the amount of
attenuation picks the darkness (dense is dark). Empty belt is white.

The hue anchors are the colour directions of real threat-free SIXray scans in
per-channel density ``-ln(rgb)``: orange ``(0.13, 0.36, 0.92)``, green
``(0.65, 0.31, 0.69)``, blue ``(0.92, 0.33, 0.20)`` (k-means over content
pixels; a plane holds 95 % of their variance).

Per-channel density is also the currency of threat image projection: for a
single material it is linear in thickness, so ``-ln(rgb)`` of any scan (real or
synthetic) approximates a per-channel attenuation that can be added to
(transmissions multiplied), see :mod:`engine.synth.tip`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Material:
    """Effective attenuation of one material class, per mm of thickness."""

    name: str
    mu_high: float  # 1/mm at the high energy
    ratio: float  # mu_low / mu_high; grows with the effective atomic number


#: The three classes that get a thickness map; index = channel of a thickness array.
ORGANIC = Material("organic", 0.020, 1.25)  # water, plastics, fabric, food (Z ~ 7)
INORGANIC = Material("inorganic", 0.045, 1.9)  # aluminium, glass, salts, silicon (Z ~ 13)
METAL = Material("metal", 0.15, 5.0)  # steel, copper, brass (Z ~ 26)
MATERIALS: tuple[Material, ...] = (ORGANIC, INORGANIC, METAL)
ORG, INO, MET = 0, 1, 2

#: Ratio A_low / A_high -> unit colour direction in per-channel density (R, G, B).
_HUE_RATIO = np.array([1.3, 1.55, 2.2], np.float32)
_HUE_DIR = np.array([[0.13, 0.36, 0.92], [0.65, 0.31, 0.69], [0.92, 0.33, 0.20]], np.float32)
_HUE_DIR /= np.linalg.norm(_HUE_DIR, axis=1, keepdims=True)
#: Display density per unit of mean attenuation (A_low + A_high) / 2: 40 mm of water gives about 1.2.
DISPLAY_GAIN = 1.33

#: Sensor defaults at the reference resolution (about 1.6 px/mm).
NOISE_SIGMA = 0.018  # quantum noise of A at transmission 1
PSF_SIGMA = 0.9  # detector blur in pixels
JPEG_QUALITY = 90


def attenuation(thickness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(A_low, A_high) = (-ln T_low, -ln T_high)``, each H x W float32, of H x W x 3 thickness in mm."""
    mu_h = [m.mu_high for m in MATERIALS]
    mu_l = [m.mu_high * m.ratio for m in MATERIALS]
    a = cv2.transform(np.ascontiguousarray(thickness, np.float32), np.array([mu_l, mu_h], np.float32))
    return np.ascontiguousarray(a[..., 0]), np.ascontiguousarray(a[..., 1])


def _hue_lut() -> tuple[np.ndarray, float, float]:
    """256-entry table ratio -> unit colour direction (a cv2.LUT is ~20x faster than np.interp per pixel)."""
    lo, hi = float(_HUE_RATIO[0]), float(_HUE_RATIO[-1])
    r = np.linspace(lo, hi, 256)
    d = np.stack([np.interp(r, _HUE_RATIO, _HUE_DIR[:, c]) for c in range(3)], 1)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return d.astype(np.float32).reshape(256, 1, 3), lo, 255.0 / (hi - lo)


_LUT, _LUT_LO, _LUT_SCALE = _hue_lut()


def pseudo_colour(a_low: np.ndarray, a_high: np.ndarray) -> np.ndarray:
    """Scanner colouring: hue from ``A_low / A_high``, darkness from attenuation; float32 RGB in [0, 1]."""
    eps = np.float32(0.02)  # near-empty pixels take the organic hue instead of noise-driven colours
    ratio = (a_low + eps * np.float32(_LUT_LO)) / (a_high + eps)
    idx = np.clip((ratio - np.float32(_LUT_LO)) * np.float32(_LUT_SCALE) + np.float32(0.5), 0, 255).astype(
        np.uint8
    )
    direction = cv2.LUT(cv2.merge([idx, idx, idx]), _LUT)
    strength = (a_low + a_high) * np.float32(DISPLAY_GAIN / 2.0)
    return cv2.exp(-(direction * strength[..., None]))


def thickness_to_rgb(thickness: np.ndarray) -> np.ndarray:
    """Noise-free pseudo-colour of a thickness map (objects, sprites, tests)."""
    return pseudo_colour(*attenuation(thickness))


def density_to_rgb(density: np.ndarray) -> np.ndarray:
    """Per-channel density to RGB transmission: white where nothing attenuates."""
    return cv2.exp(-np.ascontiguousarray(density, np.float32))


def rgb_to_density(rgb: np.ndarray, floor: float = 1.0 / 255.0) -> np.ndarray:
    """Invert the pseudo-colour of any scan (real or synthetic) to approximate per-channel density."""
    return -cv2.log(np.clip(np.ascontiguousarray(rgb, np.float32), floor, 1.0))


def sensor(
    a_low: np.ndarray,
    a_high: np.ndarray,
    rng: np.random.Generator,
    ppm: float = 1.6,
    noise: float = NOISE_SIGMA,
) -> np.ndarray:
    """Record the two attenuations as a scanner would, then colour them; float32 RGB in [0, 1].

    Quantum noise grows as transmission falls (fewer photons: sigma_A ~ 1 / sqrt(T))
    and is shared by both energies; detector rows differ slightly in gain
    (faint streaks along the belt); the detector blurs a little. Empty belt
    stays pure white, as in real SIXray scans, where the background saturates.
    """
    h, w = a_low.shape
    on = np.clip(a_high * np.float32(25.0), 0.0, 1.0)  # 0 on empty belt, 1 from A_high = 0.04
    sigma = np.float32(noise) * on * cv2.exp(np.minimum(a_high, np.float32(4.0)) * np.float32(0.5))
    grain = cv2.GaussianBlur(rng.standard_normal((h, w), dtype=np.float32), (0, 0), 0.6) * np.float32(1.6)
    rows = rng.standard_normal((h, 1), dtype=np.float32) * np.float32(0.006)
    jitter = grain * sigma + rows * on
    blur = PSF_SIGMA * max(ppm / 1.6, 0.5)
    lo = cv2.GaussianBlur(np.maximum(a_low + jitter * np.float32(1.4), 0.0), (0, 0), blur)
    hi = cv2.GaussianBlur(np.maximum(a_high + jitter, 0.0), (0, 0), blur)
    return pseudo_colour(lo, hi)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """Float [0, 1] RGB to uint8, rounding (deterministic)."""
    return np.clip(rgb * np.float32(255.0) + np.float32(0.5), 0, 255).astype(np.uint8)


def encode_jpeg(rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes of an RGB image (float [0, 1] or uint8), as scanners export them."""
    arr = rgb if rgb.dtype == np.uint8 else to_uint8(rgb)
    ok, enc = cv2.imencode(
        ".jpg", cv2.cvtColor(arr, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    )
    if not ok:  # pragma: no cover - only on a broken OpenCV build
        raise RuntimeError("JPEG encoding failed")
    return enc.tobytes()


def decode_jpeg(data: bytes) -> np.ndarray:
    """Inverse of :func:`encode_jpeg`: float32 RGB in [0, 1]."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("not a decodable JPEG")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) * np.float32(1.0 / 255.0)
