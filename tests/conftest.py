"""Shared fixtures: tiny generated scans, never downloaded, never SIXray."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SIXRAY_DEV = Path(__file__).resolve().parents[1].parent / "shared" / "sixray-dev"


def sixray_dev() -> Path:
    """The real dev set beside the checkout; tests that need it skip when absent."""
    if not (SIXRAY_DEV / "JPEGImage").is_dir():
        pytest.skip("../shared/sixray-dev is not present")
    return SIXRAY_DEV


def fake_bag(h: int = 300, w: int = 400, seed: int = 0) -> np.ndarray:
    """A uint8 RGB scan: white surround, an orange bag with blue metal bits."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 255, np.uint8)
    y0, x0 = h // 6, w // 6
    img[y0 : h - y0, x0 : w - x0] = (230, 150, 80)
    for _ in range(5):
        cy, cx = rng.integers(y0, h - y0), rng.integers(x0, w - x0)
        cv2.circle(img, (int(cx), int(cy)), int(rng.integers(5, 20)), (40, 80, 200), -1)
    return img


def write_rgb(path: Path, rgb: np.ndarray, params: list[int] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
    assert cv2.imwrite(str(path), bgr, params or [])
    return path


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """Good JPEG, truncated JPEG, text named .jpg, 16-bit PNG, greyscale PNG."""
    d = tmp_path / "mixed"
    write_rgb(d / "good.jpg", fake_bag(seed=1))
    data = (write_rgb(tmp_path / "full.jpg", fake_bag(seed=2))).read_bytes()
    (d / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (d / "notes.jpg").write_text("this is not an image\n")
    sixteen = (fake_bag(seed=3).astype(np.uint16) * 257)
    write_rgb(d / "deep16.png", sixteen)
    write_rgb(d / "grey.png", cv2.cvtColor(fake_bag(seed=4), cv2.COLOR_RGB2GRAY))
    return d
