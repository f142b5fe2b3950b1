"""Metal/dense pixels from the dual-energy pseudo-colour, the material prior a model can take as input.

Scanners colour by effective atomic number: organic orange, inorganic green, metal
blue, and anything too dense to penetrate near black. Most threats are metal or
dense, so "blue hue or dark" is a strong, cheap cue: the metal-colour baseline
scores patches by its fraction, and the ``material`` option of ``dsa`` hands the
same mask to its discriminator as an extra input channel, so a short training run
need not rediscover colour thresholds. One definition, two implementations (numpy
here, torch in ``engine.models.layers.MaterialChannel``), kept equal by a test.
"""

from __future__ import annotations

import cv2
import numpy as np

# OpenCV 8-bit HSV: hue in [0, 180). Blue-ish hues 180-270 degrees, saturation >= 60/255, dark V < 70/255.
HUE_LO, HUE_HI = 90, 135
SAT_MIN = 60
VAL_DARK = 70


def metal_mask(pixels: np.ndarray) -> np.ndarray:
    """(H, W) float32, 1 where an RGB [0, 1] image is metal (blue hue) or dense (dark)."""
    u8 = np.clip(pixels * 255, 0, 255).astype(np.uint8)
    if u8.ndim == 2 or u8.shape[2] == 1:
        return (u8.reshape(u8.shape[:2]) < VAL_DARK).astype(np.float32)
    hsv = cv2.cvtColor(np.ascontiguousarray(u8[..., :3]), cv2.COLOR_RGB2HSV)
    h, s, v = hsv[..., 0].astype(np.int16), hsv[..., 1], hsv[..., 2]
    blue = (h >= HUE_LO) & (h <= HUE_HI) & (s >= SAT_MIN)
    return (blue | (v < VAL_DARK)).astype(np.float32)
