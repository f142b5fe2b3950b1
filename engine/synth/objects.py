"""Clutter: everyday things that fill a bag, each drawn as material thickness.

Why they matter: a detector trained on empty bags learns nothing; real bags
are layers of clothes (orange), electronics with batteries and boards (green
and blue), cables and frames (blue lines), and small dense metal (keys, coins).
Each model returns a local :class:`~engine.synth.shapes.Canvas`; ``CLUTTER``
lists them with how often a packer puts one in.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .render import INO, MET, ORG
from .shapes import Canvas, lowfreq, rounded_rect_pts, smooth_curve


def _fabric(rng: np.random.Generator, c: Canvas, base: float) -> np.ndarray:
    """Thickness of folded fabric: uneven layers, seams and creases, in mm."""
    h, w = c.t.shape[:2]
    field = base * np.clip(1.0 + 0.45 * lowfreq(rng, h, w, int(rng.integers(3, 8))), 0.2, 3.0)
    creases = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(3, 12))):
        start = (rng.uniform(0, w), rng.uniform(0, h))
        path = smooth_curve(rng, start, rng.uniform(0.3, 1.0) * max(w, h), n=12, bend=0.15)
        cv2.polylines(
            creases,
            [np.round(path * 16).astype(np.int32).reshape(-1, 1, 2)],
            False,
            255,
            max(int(rng.uniform(1, 4) * c.ppm), 1),
            cv2.LINE_AA,
            4,
        )
    ridge = cv2.GaussianBlur(creases, (0, 0), 1.5 * c.ppm).astype(np.float32) * np.float32(1.0 / 255.0)
    return (field * (1.0 + 0.6 * ridge)).astype(np.float32)


def clothes(rng: np.random.Generator, ppm: float) -> Canvas:
    """A folded or crumpled garment, sometimes with a zip or buttons."""
    w, h = rng.uniform(200, 380), rng.uniform(140, 300)
    c = Canvas.mm(w, h, ppm)
    n = 14
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    jag = rng.uniform(0.0, 0.12) if rng.random() < 0.5 else 0.0
    rx, ry = w / 2 * (1 + jag * rng.standard_normal(n)), h / 2 * (1 + jag * rng.standard_normal(n))
    if jag == 0.0:  # folded: a rounded rectangle
        pts = rounded_rect_pts(4, 4, w + 4, h + 4, rng.uniform(5, 30)) * ppm
    else:
        sq = (
            np.sign(np.cos(ang)) * np.abs(np.cos(ang)) ** 0.5,
            np.sign(np.sin(ang)) * np.abs(np.sin(ang)) ** 0.5,
        )
        pts = np.stack([(w / 2 + 4 + rx * sq[0]), (h / 2 + 4 + ry * sq[1])], 1) * ppm
    c.polygon(pts, ORG, _fabric(rng, c, rng.uniform(4, 14)))
    if rng.random() < 0.3:
        x = rng.uniform(0.2, 0.8) * w + 4
        c.polyline(np.array([(x, 10), (x + rng.uniform(-20, 20), h - 4)]) * ppm, 2.5 * ppm, MET, 0.6)
    elif rng.random() < 0.4:
        x = rng.uniform(0.3, 0.7) * w + 4
        for y in np.linspace(20, h - 10, int(rng.integers(3, 7))):
            c.circle((x * ppm, y * ppm), 5 * ppm, INO if rng.random() < 0.7 else MET, 2.0)
    return c


def shoe(rng: np.random.Generator, ppm: float) -> Canvas:
    """Rubber sole and upper, a steel shank, a row of eyelets."""
    length, width = rng.uniform(240, 310), rng.uniform(85, 110)
    c = Canvas.mm(length, width, ppm)
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    x = length / 2 * np.cos(t)
    y = width / 2 * np.sin(t) * np.where(np.cos(t) < 0, 0.8, 1.0)  # narrower heel
    pts = np.stack([x + length / 2 + 4, y + width / 2 + 4], 1) * ppm
    c.polygon(pts, ORG, _fabric(rng, c, rng.uniform(15, 25)))
    c.polygon(pts, INO, rng.uniform(1, 5))  # filled rubber soles read as mixed
    c.polygon(pts * 0.7 + np.array(c.centre) * 0.3, ORG, 10.0)  # the sole shows through the upper
    if rng.random() < 0.6:
        c.rect(
            length * 0.25 * ppm, (width / 2 - 6) * ppm, length * 0.55 * ppm, (width / 2 + 14) * ppm, MET, 1.2
        )
    if rng.random() < 0.6:
        for k in range(int(rng.integers(4, 8))):
            for side in (-1, 1):
                c.circle(
                    ((length * 0.55 + 12 * k) * ppm, (width / 2 + 4 + side * 18) * ppm), 2.5 * ppm, MET, 1.5
                )
    return c


def bottle(rng: np.random.Generator, ppm: float) -> Canvas:
    """Liquid in plastic or glass: a cylinder whose thickness follows the chord, with neck and cap."""
    d, length = rng.uniform(45, 85), rng.uniform(140, 280)
    c = Canvas.mm(d, length + 30, ppm)
    glass = rng.random() < 0.3
    fill = rng.uniform(0.4, 1.0)
    x0, x1 = 4 * ppm, (d + 4) * ppm
    top = 34 + length * (1 - fill)
    c.cylinder(x0, top * ppm, x1, (length + 30) * ppm, ORG, d * rng.uniform(0.6, 1.0))  # the liquid
    c.cylinder(
        x0, 34 * ppm, x1, (length + 30) * ppm, INO if glass else ORG, 6.0 if glass else 4.0, shell=0.12
    )
    nx = d / 2 + 4
    c.polygon(
        np.array([(4, 34), (nx - 12, 14), (nx + 12, 14), (d + 4, 34)]) * ppm, INO if glass else ORG, 4.0
    )
    cap_mat = MET if rng.random() < 0.2 else ORG
    c.rect((nx - 13) * ppm, 4 * ppm, (nx + 13) * ppm, 16 * ppm, cap_mat, 0.8 if cap_mat == MET else 8.0)
    return c


def _board(c: Canvas, rng: np.random.Generator, x0: float, y0: float, x1: float, y1: float) -> None:
    """A circuit board: fibreglass, chips, copper traces, screws (all in pixels)."""
    c.rect(x0, y0, x1, y1, INO, 1.6)
    for _ in range(int(rng.integers(4, 14))):
        w, h = rng.uniform(0.05, 0.25) * (x1 - x0), rng.uniform(0.05, 0.3) * (y1 - y0)
        cx, cy = rng.uniform(x0, x1 - w), rng.uniform(y0, y1 - h)
        c.rect(cx, cy, cx + w, cy + h, INO if rng.random() < 0.6 else MET, rng.uniform(1.0, 3.0))
    for _ in range(int(rng.integers(3, 10))):
        pts = [(rng.uniform(x0, x1), rng.uniform(y0, y1))]
        for _ in range(3):
            px, py = pts[-1]
            pts.append((px, rng.uniform(y0, y1)) if rng.random() < 0.5 else (rng.uniform(x0, x1), py))
        c.polyline(pts, max(0.8 * c.ppm, 1.0), MET, 0.5)


def _cells(
    c: Canvas, rng: np.random.Generator, x0: float, y0: float, n: int, d: float, length: float
) -> None:
    """Cylindrical battery cells side by side: steel cans with dense electrodes."""
    for k in range(n):
        a = x0 + k * d
        c.cylinder(a, y0, a + d, y0 + length, MET, rng.uniform(0.5, 0.9), shell=0.15)
        c.cylinder(a, y0, a + d, y0 + length, INO, d / c.ppm * 0.5)
        c.rect(a + d * 0.35, y0 - 2 * c.ppm, a + d * 0.65, y0, MET, 1.0)


def laptop(rng: np.random.Generator, ppm: float) -> Canvas:
    """Laptop or tablet: aluminium or plastic shell, board, battery, screws, hinge."""
    w, h = rng.uniform(240, 360), rng.uniform(170, 250)
    c = Canvas.mm(w, h, ppm)
    metal_case = rng.random() < 0.5
    c.rounded_rect(
        4 * ppm,
        4 * ppm,
        (w + 4) * ppm,
        (h + 4) * ppm,
        8 * ppm,
        INO if metal_case else ORG,
        2.5 if metal_case else 7.0,
    )
    _board(c, rng, (w * 0.1) * ppm, (h * 0.1) * ppm, (w * 0.9) * ppm, (h * 0.45) * ppm)
    if rng.random() < 0.5:
        _cells(c, rng, (w * 0.15) * ppm, (h * 0.55) * ppm, int(rng.integers(3, 7)), 18 * ppm, h * 0.35 * ppm)
    else:
        c.rect((w * 0.12) * ppm, (h * 0.55) * ppm, (w * 0.88) * ppm, (h * 0.92) * ppm, INO, 6.0)
        c.rect((w * 0.12) * ppm, (h * 0.55) * ppm, (w * 0.88) * ppm, (h * 0.92) * ppm, MET, 0.3)
    for x in np.linspace(10, w - 2, int(rng.integers(4, 8))):
        for y in (10, h - 2):
            c.circle((x * ppm, y * ppm), 1.6 * ppm, MET, 3.0)
    c.rect(w * 0.15 * ppm, 4 * ppm, w * 0.3 * ppm, 9 * ppm, MET, 2.0)
    c.rect(w * 0.7 * ppm, 4 * ppm, w * 0.85 * ppm, 9 * ppm, MET, 2.0)
    return c


def phone(rng: np.random.Generator, ppm: float) -> Canvas:
    """Phone, power bank or charger: a small dense block of battery and board."""
    kind = rng.choice(["phone", "powerbank", "charger"])
    if kind == "charger":
        c = Canvas.mm(60, 60, ppm)
        c.rounded_rect(4 * ppm, 4 * ppm, 64 * ppm, 64 * ppm, 6 * ppm, ORG, 10.0)
        c.rect(15 * ppm, 15 * ppm, 45 * ppm, 40 * ppm, MET, 4.0)  # transformer core
        c.rect(20 * ppm, 46 * ppm, 26 * ppm, 62 * ppm, MET, 1.5)
        c.rect(38 * ppm, 46 * ppm, 44 * ppm, 62 * ppm, MET, 1.5)
        return c
    w, h = (rng.uniform(65, 80), rng.uniform(135, 165)) if kind == "phone" else (rng.uniform(70, 90), 150.0)
    c = Canvas.mm(w, h, ppm)
    c.rounded_rect(4 * ppm, 4 * ppm, (w + 4) * ppm, (h + 4) * ppm, 9 * ppm, INO, 2.0)
    if kind == "phone":
        c.rect(10 * ppm, h * 0.35 * ppm, (w - 2) * ppm, (h - 6) * ppm, INO, 5.0)
        _board(c, rng, 8 * ppm, 10 * ppm, w * ppm, h * 0.33 * ppm)
        c.ring((w * 0.3 * ppm, 16 * ppm), 5 * ppm, 1.5 * ppm, MET, 1.5)
    else:
        _cells(c, rng, 8 * ppm, 15 * ppm, int(w // 19), 18 * ppm, 65 * ppm)
        _board(c, rng, 8 * ppm, 95 * ppm, w * ppm, 140 * ppm)
    return c


def cable(rng: np.random.Generator, ppm: float) -> Canvas:
    """A charging cable or earphones: copper core in insulation, plugs at the ends."""
    span = rng.uniform(120, 260)
    c = Canvas.mm(span, span, ppm)
    path = smooth_curve(rng, (0, 0), rng.uniform(300, 900), n=60, bend=rng.uniform(0.2, 0.5))
    path = (path - path.min(0)) / max(np.ptp(path, axis=0).max(), 1.0) * span + 4
    pts = path * ppm
    c.polyline(pts, rng.uniform(3, 6) * ppm, ORG, 4.0)
    c.polyline(pts, max(1.2 * ppm, 1.0), MET, 0.9)
    for end in (pts[0], pts[-1]):
        c.circle(tuple(end), 5 * ppm, MET, 1.5)
    return c


def keys(rng: np.random.Generator, ppm: float) -> Canvas:
    """A ring with a few brass or steel keys: small, very dense shapes."""
    c = Canvas.mm(130, 130, ppm)
    cx, cy = 69 * ppm, 69 * ppm
    c.ring((cx, cy), 14 * ppm, max(2 * ppm, 1.0), MET, 2.0)
    for a in rng.uniform(0, 2 * np.pi, int(rng.integers(2, 5))):
        ux, uy = np.cos(a), np.sin(a)
        hx, hy = cx + ux * 28 * ppm, cy + uy * 28 * ppm
        c.circle((hx, hy), 12 * ppm, MET, 2.0)
        tip = (cx + ux * 62 * ppm, cy + uy * 62 * ppm)
        nx, ny = -uy * 4 * ppm, ux * 4 * ppm
        c.polygon([(hx + nx, hy + ny), (tip[0] + nx, tip[1] + ny), tip, (hx - nx, hy - ny)], MET, 2.0)
    return c


def coins(rng: np.random.Generator, ppm: float) -> Canvas:
    """A handful of coins: overlapping discs, darker where they stack."""
    c = Canvas.mm(80, 80, ppm)
    for _ in range(int(rng.integers(3, 10))):
        r = rng.uniform(8, 13)
        c.circle((rng.uniform(4 + r, 84 - r) * ppm, rng.uniform(4 + r, 84 - r) * ppm), r * ppm, MET, 1.8)
    return c


def umbrella(rng: np.random.Generator, ppm: float) -> Canvas:
    """Folded umbrella: steel shaft, a bundle of thin ribs, fabric, a plastic handle."""
    length = rng.uniform(240, 520)
    c = Canvas.mm(length, 60, ppm)
    mid = 34 * ppm
    fab = [(30, 34 - 20), (length * 0.85, 34 - 5), (length * 0.85, 34 + 5), (30, 34 + 20)]
    c.polygon(np.array(fab) * ppm, ORG, 10.0)
    c.tube([(10 * ppm, mid), ((length + 2) * ppm, mid)], 4 * ppm, MET, 2.5)
    for _k in range(int(rng.integers(5, 9))):
        off = rng.uniform(-16, 16)
        c.polyline(
            [(35 * ppm, mid + off * ppm), (length * 0.88 * ppm, mid + off * 0.2 * ppm)],
            max(ppm, 1.0),
            MET,
            0.9,
        )
    c.rounded_rect(4 * ppm, (34 - 13) * ppm, 40 * ppm, (34 + 13) * ppm, 6 * ppm, ORG, 22.0)
    return c


def book(rng: np.random.Generator, ppm: float) -> Canvas:
    """Books, magazines, food boxes: slabs of organic matter with mineral fillers (green-orange)."""
    w, h = rng.uniform(110, 240), rng.uniform(150, 300)
    c = Canvas.mm(w, h, ppm)
    c.rect(4 * ppm, 4 * ppm, (w + 4) * ppm, (h + 4) * ppm, ORG, rng.uniform(12, 35))
    c.rect(
        4 * ppm, 4 * ppm, (w + 4) * ppm, (h + 4) * ppm, INO, rng.uniform(1, 5)
    )  # paper fillers (clay, chalk)
    if rng.random() < 0.3:  # spiral binding
        for y in np.arange(10, h, 8):
            c.ring((6 * ppm, (y + 4) * ppm), 3 * ppm, max(0.8 * ppm, 1.0), MET, 0.8)
    return c


def toiletries(rng: np.random.Generator, ppm: float) -> Canvas:
    """A wash bag: small tubes and bottles, an aerosol can, a razor."""
    c = Canvas.mm(200, 120, ppm)
    c.rounded_rect(4 * ppm, 4 * ppm, 204 * ppm, 124 * ppm, 20 * ppm, ORG, 3.0)
    for k in range(int(rng.integers(2, 5))):
        x = (12 + k * 45) * ppm
        x1, y1 = x + rng.uniform(25, 40) * ppm, rng.uniform(60, 115) * ppm
        c.cylinder(x, 12 * ppm, x1, y1, ORG, 30.0)
        c.cylinder(x, 12 * ppm, x1, y1, INO, rng.uniform(0, 8))  # creams and gels: salts, oxides
    if rng.random() < 0.5:
        c.cylinder(150 * ppm, 10 * ppm, 195 * ppm, 118 * ppm, INO, 2.0, shell=0.1)
    if rng.random() < 0.5:
        c.rect(20 * ppm, 100 * ppm, 110 * ppm, 106 * ppm, ORG, 8.0)
        c.rect(110 * ppm, 97 * ppm, 122 * ppm, 110 * ppm, MET, 1.2)
    return c


def small_metal(rng: np.random.Generator, ppm: float) -> Canvas:
    """The small dense bits that litter real scans: zip pulls, springs, pens, AA cells, buckles, clips."""
    c = Canvas.mm(70, 70, ppm)
    kind = int(rng.integers(0, 6))
    m = 39 * ppm
    if kind == 0:  # zip pull
        c.rect(m - 4 * ppm, m - 12 * ppm, m + 4 * ppm, m + 4 * ppm, MET, 2.5)
        c.ring((m, m + 10 * ppm), 5 * ppm, max(1.5 * ppm, 1.0), MET, 2.0)
    elif kind == 1:  # spring
        xs = np.linspace(m - 25 * ppm, m + 25 * ppm, 22)
        ys = m + np.where(np.arange(22) % 2 == 0, -5, 5) * ppm
        c.polyline(np.stack([xs, ys], 1), max(ppm, 1.0), MET, 1.5)
    elif kind == 2:  # pen: plastic barrel, metal refill tip and spring
        c.rect(m - 32 * ppm, m - 4 * ppm, m + 32 * ppm, m + 4 * ppm, ORG, 8.0)
        c.polyline([(m - 28 * ppm, m), (m + 34 * ppm, m)], max(1.2 * ppm, 1.0), MET, 1.0)
        c.rect(m + 28 * ppm, m - 2 * ppm, m + 35 * ppm, m + 2 * ppm, MET, 3.0)
    elif kind == 3:  # AA cells
        for k in range(int(rng.integers(1, 5))):
            x = m - 28 * ppm + k * 15 * ppm
            c.cylinder(x, m - 25 * ppm, x + 14 * ppm, m + 25 * ppm, MET, 1.5, shell=0.2)
            c.cylinder(x, m - 25 * ppm, x + 14 * ppm, m + 25 * ppm, INO, 8.0)
    elif kind == 4:  # belt buckle
        c.ring((m, m), 18 * ppm, max(3 * ppm, 1.0), MET, 3.0)
        c.rect(m - 2 * ppm, m - 18 * ppm, m + 2 * ppm, m + 18 * ppm, MET, 3.0)
    else:  # glasses frame or hair clips
        for side in (-1, 1):
            c.ring((m + side * 16 * ppm, m), 13 * ppm, max(ppm, 1.0), MET, 1.5)
        c.polyline([(m - 3 * ppm, m - 4 * ppm), (m + 3 * ppm, m - 4 * ppm)], max(ppm, 1.0), MET, 1.5)
    return c


#: (model, relative frequency) of everything a packer may put in a bag.
CLUTTER: tuple[tuple[Callable[[np.random.Generator, float], Canvas], float], ...] = (
    (clothes, 5.0),
    (shoe, 1.2),
    (bottle, 1.5),
    (laptop, 1.0),
    (phone, 2.0),
    (cable, 2.5),
    (keys, 0.8),
    (coins, 0.8),
    (umbrella, 0.7),
    (book, 1.5),
    (toiletries, 1.2),
    (small_metal, 6.0),
)


def random_clutter(rng: np.random.Generator, ppm: float) -> Canvas:
    """One clutter object drawn with the frequencies in :data:`CLUTTER`."""
    p = np.array([f for _, f in CLUTTER])
    model = CLUTTER[int(rng.choice(len(CLUTTER), p=p / p.sum()))][0]
    c = model(rng, ppm)
    np.maximum(c.t, 0.0, out=c.t)
    return c
