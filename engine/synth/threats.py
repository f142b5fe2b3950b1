"""Shape models of the six threat categories, drawn as material thickness.

Each model is a handful of parts with plausible dimensions in mm and
materials (forged steel dark, polymer grips orange), with random proportions
so no two draws are the same. The canvas is in the threat's own frame, pointing
right; pose, scale and placement are applied later by whoever stamps it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..data.types import CATEGORIES
from ..errors import ConfigError
from .render import INO, MET, ORG
from .shapes import Canvas, rounded_rect_pts

PAD = 4.0  # mm of empty margin around every threat canvas


def _canvas(w_mm: float, h_mm: float, ppm: float) -> Canvas:
    return Canvas.mm(w_mm, h_mm, ppm, PAD)


def _p(c: Canvas, pts: list[tuple[float, float]] | np.ndarray) -> np.ndarray:
    """mm in the threat frame -> canvas pixels."""
    return (np.asarray(pts, np.float64) + PAD) * c.ppm


def _box(c: Canvas, corners: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """Two corners in mm -> (x0, y0, x1, y1) canvas pixels, for Canvas.rect and rounded_rect."""
    x0, y0, x1, y1 = (float(v) for v in _p(c, corners).ravel())
    return x0, y0, x1, y1


def _arc(cx: float, cy: float, r: float, a0: float, a1: float, n: int = 12) -> list[tuple[float, float]]:
    t = np.deg2rad(np.linspace(a0, a1, n))
    return [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in t]


def gun(rng: np.random.Generator, ppm: float) -> Canvas:
    """Pistol (most draws) or revolver: steel slide/barrel, grip with a magazine, trigger guard."""
    length = rng.uniform(160, 215)
    sh = rng.uniform(24, 33)  # slide height
    grip_l = rng.uniform(95, 120)
    rake = np.deg2rad(rng.uniform(12, 24))
    c = _canvas(length + 10, sh + grip_l + 10, ppm)
    revolver = rng.random() < 0.3
    steel = rng.uniform(5.0, 8.0)
    gx0, gw = rng.uniform(8, 22), rng.uniform(30, 38)  # grip top-left and width
    gx1 = gx0 - np.tan(rake) * grip_l
    grip = [(gx0, sh - 2), (gx0 + gw, sh - 2), (gx1 + gw, sh + grip_l), (gx1, sh + grip_l)]
    grip_mat = ORG if (revolver or rng.random() < 0.6) else MET
    c.polygon(_p(c, grip), grip_mat, 24.0 if grip_mat == ORG else 3.0)
    if revolver:
        bl = length * rng.uniform(0.45, 0.55)
        c.rect(*_box(c, [(length - bl, sh * 0.25), (length, sh * 0.65)]), MET, steel * 0.8)
        cyl = [(length - bl - 45, 0), (length - bl, sh * 1.1)]
        c.rounded_rect(*_box(c, cyl), 3 * ppm, MET, steel * 1.4)
        for k in range(3):  # chambers show as lighter bands
            y = sh * (0.2 + 0.3 * k)
            c.rect(
                *_box(c, [(length - bl - 43, y), (length - bl - 2, y + sh * 0.12)]), MET, -steel * 0.5
            )
        c.rect(*_box(c, [(gx0, 0.0), (length - bl - 45, sh * 0.9)]), MET, steel)
    else:
        c.rounded_rect(*_box(c, [(0, 0), (length, sh)]), 2 * ppm, MET, steel)
        c.rect(*_box(c, [(gx0 + 10, sh * 0.3), (length - 2, sh * 0.62)]), MET, steel * 0.5)  # barrel
        c.rect(*_box(c, [(gx0 + 30, sh * 0.38), (length - 2, sh * 0.54)]), MET, -steel * 0.4)  # bore
        mag = [(gx0 + 6, sh), (gx0 + gw - 6, sh), (gx1 + gw - 7, sh + grip_l - 3), (gx1 + 5, sh + grip_l - 3)]
        c.polygon(_p(c, mag), MET, 2.5)
        c.polygon(
            _p(c, [(gx0 + gw, sh), (length * 0.8, sh), (length * 0.8, sh + 8), (gx0 + gw, sh + 10)]),
            grip_mat,
            10.0 if grip_mat == ORG else 3.0,
        )  # frame under the slide
    tg = _arc(gx0 + gw + 20, sh + 8, rng.uniform(15, 20), 10, 170, 14)
    tg_metal = rng.random() < 0.7
    c.polyline(_p(c, tg), 3.5 * ppm, MET if tg_metal else ORG, 3.0 if tg_metal else 10.0)
    trig = [
        (gx0 + gw + 16, sh + 2),
        (gx0 + gw + 21, sh + 2),
        (gx0 + gw + 14, sh + 20),
        (gx0 + gw + 11, sh + 19),
    ]
    c.polygon(_p(c, trig), MET, 4.0)
    for k in range(int(rng.integers(2, 5))):
        c.circle(_p(c, [(gx0 + 8 + 22 * k, sh * 0.5)])[0], 1.8 * ppm, MET, 3.0)
    return c


def knife(rng: np.random.Generator, ppm: float) -> Canvas:
    """Kitchen knife, dagger or folder: thin steel blade, organic or steel handle, rivets."""
    blade = rng.uniform(95, 210)
    handle = rng.uniform(90, 130)
    w = rng.uniform(18, 42)
    kind = rng.choice(["kitchen", "dagger", "folder"], p=[0.5, 0.25, 0.25])
    c = _canvas(blade + handle + 6, w + 12, ppm)
    mid = (w + 12) / 2
    x0 = handle
    if kind == "dagger":
        pts = [
            (x0, mid - w / 2),
            (x0 + blade * 0.75, mid - w * 0.35),
            (x0 + blade, mid),
            (x0 + blade * 0.75, mid + w * 0.35),
            (x0, mid + w / 2),
        ]
    else:
        tip = _arc(x0 + blade - w * 0.9, mid - w / 2 + w * 0.9, w * 0.9, -90, 0, 10)
        pts = [(x0, mid - w / 2), *tip[:-1], (x0 + blade, mid + w / 2 - w * 0.05), (x0, mid + w / 2)]
    c.polygon(_p(c, pts), MET, rng.uniform(1.4, 2.4))
    spine = [
        (x0, mid - w / 2 + 1),
        (x0 + blade * 0.7, mid - w / 2 + 1),
        (x0 + blade * 0.7, mid - w / 5),
        (x0, mid - w / 6),
    ]
    c.polygon(_p(c, spine), MET, 0.8)  # the spine is thicker than the edge
    hw = min(w, 26.0) * rng.uniform(0.8, 1.0)
    steel_handle = kind == "folder" and rng.random() < 0.5
    c.rounded_rect(
        *_box(c, [(2, mid - hw / 2), (x0, mid + hw / 2)]),
        hw * 0.35 * ppm,
        MET if steel_handle else ORG,
        4.0 if steel_handle else 18.0,
    )
    c.rect(*_box(c, [(4, mid - hw * 0.2), (x0, mid + hw * 0.2)]), MET, 2.5)  # tang / liner
    c.rect(
        *_box(c, [(x0 - 8, mid - hw * 0.62), (x0 + 2, mid + hw * 0.62)]), MET, 5.0
    )  # bolster or guard
    for k in range(int(rng.integers(2, 4))):
        c.circle(_p(c, [(18 + k * (x0 - 34) / 2, mid)])[0], 2.2 * ppm, MET, 4.0)
    return c


def wrench(rng: np.random.Generator, ppm: float) -> Canvas:
    """Combination or adjustable spanner: forged steel shaft, open jaw, ring or worm gear."""
    length = rng.uniform(150, 300)
    head = length * rng.uniform(0.09, 0.12)
    c = _canvas(length + 2 * head, 2.6 * head, ppm)
    mid = 1.3 * head
    steel = rng.uniform(5.0, 9.0)
    sw = head * rng.uniform(0.55, 0.75)
    xa, xb = head, length + head
    c.rounded_rect(*_box(c, [(xa, mid - sw / 2), (xb, mid + sw / 2)]), sw * 0.4 * ppm, MET, steel)
    jaw = rng.uniform(0.45, 0.6) * head
    c.circle(_p(c, [(xb, mid)])[0], head * ppm, MET, steel * 1.2)
    slot = [
        (xb - jaw * 0.2, mid - jaw / 2),
        (xb + head * 1.3, mid - jaw / 2 - 3),
        (xb + head * 1.3, mid + jaw / 2 + 3),
        (xb - jaw * 0.2, mid + jaw / 2),
    ]
    c.polygon(_p(c, slot), MET, -steel * 1.2)  # cut the open jaw
    if rng.random() < 0.35:  # adjustable: worm gear in the head
        c.cylinder(
            *_box(c, [(xb - head * 0.9, mid + jaw / 2), (xb - head * 0.3, mid + head * 0.95)]), MET, 5.0
        )
    else:
        c.circle(_p(c, [(xa, mid)])[0], head * 0.95 * ppm, MET, steel * 1.2)
        c.circle(_p(c, [(xa, mid)])[0], head * 0.55 * ppm, MET, -steel * 1.2)  # ring hole
    c.rect(*_box(c, [(xa + head, mid - sw * 0.15), (xb - head, mid + sw * 0.15)]), MET, -steel * 0.25)
    return c


def pliers(rng: np.random.Generator, ppm: float) -> Canvas:
    """Two steel halves crossing at a pivot, with plastic-sleeved handles."""
    length = rng.uniform(150, 240)
    jaw = length * rng.uniform(0.25, 0.35)
    spread = np.deg2rad(rng.uniform(6, 14))
    c = _canvas(length + 6, 2 * np.tan(spread) * length + 40, ppm)
    mid = (2 * np.tan(spread) * length + 40) / 2
    px = length - jaw  # pivot
    steel = rng.uniform(4.0, 6.0)
    for side in (-1, 1):
        end_y = mid + side * np.tan(spread) * px
        hw = rng.uniform(7, 10)
        arm = [(px, mid - 5), (px, mid + 5), (0, end_y + hw / 2), (0, end_y - hw / 2)]
        c.polygon(_p(c, arm), MET, steel)
        xs = px * rng.uniform(0.45, 0.6)  # the sleeve covers the arm from here to its end
        ys = mid + (end_y - mid) * (px - xs) / px
        sleeve = [(xs, ys - hw * 0.75), (xs, ys + hw * 0.75), (0, end_y + hw * 0.9), (0, end_y - hw * 0.9)]
        c.polygon(_p(c, sleeve), ORG, 12.0)
        jaw_pts = [(px, mid - 7), (px, mid + 7), (length, mid + side * 1.5), (length, mid + side * 3.0)]
        c.polygon(_p(c, jaw_pts), MET, steel)
    c.circle(_p(c, [(px, mid)])[0], 8 * ppm, MET, steel * 1.3)
    c.circle(_p(c, [(px, mid)])[0], 2.5 * ppm, MET, 3.0)
    return c


def scissors(rng: np.random.Generator, ppm: float) -> Canvas:
    """Two thin blades crossing at a screw, with finger loops (plastic or steel)."""
    blade = rng.uniform(70, 130)
    loops = rng.uniform(55, 80)
    opening = np.deg2rad(rng.uniform(0, 22))
    c = _canvas(blade + loops + 6, 80, ppm)
    mid = 40.0
    px = loops
    loop_mat = ORG if rng.random() < 0.65 else MET
    for side in (-1, 1):
        a = side * opening / 2
        tip = (px + blade * np.cos(a), mid + blade * np.sin(a))
        bw = rng.uniform(7, 11)
        nx, ny = -np.sin(a), np.cos(a)
        pts = [
            (px - 6, mid - side * 2),
            (px + nx * bw / 2, mid + ny * bw / 2),
            tip,
            (px - nx * bw / 2, mid - ny * bw / 2),
        ]
        c.polygon(_p(c, pts), MET, rng.uniform(1.8, 2.6))
        ly = mid - side * rng.uniform(11, 16)
        r = rng.uniform(11, 16)
        c.polyline(
            _p(c, [(px - 4, mid), (px - loops + 2 * r, ly)]),
            6 * ppm,
            loop_mat,
            8.0 if loop_mat == ORG else 2.5,
        )
        c.ellipse(
            _p(c, [(px - loops + r + 2, ly)])[0],
            (r * ppm, r * 0.75 * ppm),
            loop_mat,
            9.0 if loop_mat == ORG else 2.5,
            thickness=max(int(4.5 * ppm), 1),
        )
    c.circle(_p(c, [(px, mid)])[0], 3.5 * ppm, MET, 4.0)
    return c


def hammer(rng: np.random.Generator, ppm: float) -> Canvas:
    """Claw hammer: a steel head that shows nearly black, on a wooden or steel handle."""
    handle = rng.uniform(240, 340)
    head_l = rng.uniform(95, 135)
    head_w = rng.uniform(22, 32)
    c = _canvas(handle + 10, head_l + 10, ppm)
    mid = (head_l + 10) / 2
    hw = rng.uniform(24, 32)
    if rng.random() < 0.55:
        c.rounded_rect(
            *_box(c, [(head_w / 2, mid - hw / 2), (handle, mid + hw / 2)]), 8 * ppm, ORG, 28.0
        )
    else:  # steel tube with a rubber grip
        c.rounded_rect(
            *_box(c, [(head_w / 2, mid - hw * 0.35), (handle, mid + hw * 0.35)]), 4 * ppm, MET, 2.5
        )
        c.rounded_rect(
            *_box(c, [(handle * 0.55, mid - hw / 2), (handle, mid + hw / 2)]), 8 * ppm, ORG, 16.0
        )
    face = head_l * 0.45
    c.polygon(_p(c, rounded_rect_pts(0, mid - face, head_w, mid + head_l * 0.1, 4)), MET, 22.0)
    claw = [
        (3, mid + head_l * 0.1),
        (head_w - 3, mid + head_l * 0.1),
        (head_w * 0.5, mid + head_l * 0.55),
        (head_w * 0.1, mid + head_l * 0.5),
    ]
    c.polygon(_p(c, claw), MET, 12.0)
    c.polygon(
        _p(
            c,
            [
                (head_w * 0.45, mid + head_l * 0.2),
                (head_w * 0.55, mid + head_l * 0.2),
                (head_w * 0.5, mid + head_l * 0.55),
            ],
        ),
        MET,
        -12.0,
    )  # the claw's split
    if rng.random() < 0.5:
        c.rect(*_box(c, [(head_w * 0.2, mid - 6), (head_w * 0.8, mid + 6)]), INO, 6.0)  # wedge
    return c


THREAT_MODELS: dict[str, Callable[[np.random.Generator, float], Canvas]] = {
    "Gun": gun,
    "Knife": knife,
    "Wrench": wrench,
    "Pliers": pliers,
    "Scissors": scissors,
    "Hammer": hammer,
}
assert tuple(THREAT_MODELS) == CATEGORIES


def draw_threat(category: str, rng: np.random.Generator, ppm: float) -> Canvas:
    """A fresh random instance of ``category`` (one of CATEGORIES) at ``ppm`` pixels per mm."""
    try:
        model = THREAT_MODELS[category]
    except KeyError:
        raise ConfigError(f"unknown threat category {category!r} (known: {', '.join(CATEGORIES)})") from None
    c = model(rng, ppm)
    np.maximum(c.t, 0.0, out=c.t)  # cut-outs (bores, slots) must not leave negative matter
    return c
