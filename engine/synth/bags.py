"""Whole scans: bags (suitcase, soft bag, tray) packed with clutter and, maybe, threats.

A scene is built in thickness (mm per material), so bag shells, clutter and
threats combine by adding matter, then rendered once through the dual-energy
model and the sensor. Threats are kept in their own layer so their true boxes
(and, for tests, their exact pixels) are known.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..data.types import CATEGORIES, Box
from ..errors import ConfigError
from .objects import clothes, laptop, phone, random_clutter
from .render import DISPLAY_GAIN, INO, MET, ORG, attenuation, sensor
from .shapes import Canvas, compose, lowfreq, pose_matrix, rounded_rect_pts, smooth_curve, stamp, stamp_add
from .threats import draw_threat

log = logging.getLogger(__name__)

#: About SIXray's median threat-free scan (width, height).
DEFAULT_SIZE: tuple[int, int] = (1268, 1038)
BAG_KINDS: tuple[str, ...] = ("suitcase", "softbag", "tray")
#: A threat pixel counts when it darkens some channel by more than this display density (~1 grey level).
VISIBLE_DENSITY = 0.004


@dataclass
class Scene:
    """A scan before the sensor: thickness of bags and clutter, threats apart, and the true boxes."""

    thickness: np.ndarray  # H x W x 3, mm of organic, inorganic, metal
    threat: np.ndarray  # H x W x 3, mm, threats only
    ppm: float  # pixels per mm
    boxes: list[Box] = field(default_factory=list)
    bags: list[str] = field(default_factory=list)

    def attenuation(self) -> tuple[np.ndarray, np.ndarray]:
        """(A_low, A_high) of everything in the scene, threats included."""
        return attenuation(self.thickness + self.threat)


def _suitcase(rng: np.random.Generator, w: float, h: float, ppm: float) -> tuple[Canvas, np.ndarray]:
    """Hard or soft-sided case: rim, lining, telescopic handle rails, carry handle, wheels."""
    c = Canvas.mm(w, h, ppm, pad_mm=30)
    p0, p1 = 30 * ppm, np.array([(w + 30) * ppm, (h + 30) * ppm])
    r = rng.uniform(25, 60) * ppm
    outline = rounded_rect_pts(p0, p0, p1[0], p1[1], r)
    c.polygon(outline, ORG, 5.0 + 3.0 * lowfreq(rng, c.height, c.width, 5))
    c.polygon(outline, INO, rng.uniform(0.5, 2.5))  # shell plastics carry mineral fillers: a green tint
    wall = rng.uniform(12, 25) * ppm  # side walls seen edge-on: a long path through the shell
    c.polyline(outline, wall, ORG, rng.uniform(15, 30), closed=True)
    c.polyline(outline, wall, INO, rng.uniform(2, 6), closed=True)
    for _ in range(int(rng.integers(0, 4))):  # moulded ribs of a hard shell
        y = rng.uniform(0.15, 0.85) * h + 30
        band = rng.uniform(15, 40)
        c.rect(p0, (y - band / 2) * ppm, p1[0], (y + band / 2) * ppm, INO, rng.uniform(2, 6))
    inset = rng.uniform(12, 25) * ppm
    frame = rounded_rect_pts(p0 + inset, p0 + inset, p1[0] - inset, p1[1] - inset, r * 0.8)
    c.tube(frame, rng.uniform(5, 12) * ppm, MET, rng.uniform(2, 5), closed=True)
    c.polyline(outline, max(2 * ppm, 1.0), MET, 0.5, closed=True)  # zip
    # Telescopic handle: two long rails along the length, often with a plate between them at the top.
    along_x = rng.random() < 0.5
    span, across = (w, h) if along_x else (h, w)
    gap = across * rng.uniform(0.25, 0.5)
    off = rng.uniform(0.1, 0.9 - gap / across) * across
    rail_w = rng.uniform(16, 30) * ppm
    for k in (off, off + gap):
        a = (30 + k) * ppm
        pts = (
            [(30 * ppm + inset, a), (p1[0] - inset, a)]
            if along_x
            else [(a, 30 * ppm + inset), (a, p1[1] - inset)]
        )
        c.tube(pts, rail_w, MET, rng.uniform(3.0, 7.0))
    end = 30 * ppm + inset
    plate = (end, (30 + off) * ppm, end + 60 * ppm, (30 + off + gap) * ppm)
    c.rect(*(plate if along_x else (plate[1], plate[0], plate[3], plate[2])), ORG, 15.0)
    # Carry handle and wheels.
    hx = (30 + w / 2) * ppm
    c.rounded_rect(hx - 70 * ppm, p0 - 20 * ppm, hx + 70 * ppm, p0 + 5 * ppm, 10 * ppm, ORG, 25.0)
    for x in (hx - 60 * ppm, hx + 60 * ppm):
        c.rect(x - 6 * ppm, p0 - 12 * ppm, x + 6 * ppm, p0 + 10 * ppm, MET, 2.0)
    for cx, cy in ((p0, p1[1]), (p1[0], p1[1]), (p0, p0), (p1[0], p0))[: int(rng.choice([2, 4]))]:
        c.circle((cx, cy), 22 * ppm, ORG, 30.0)
        c.rect(cx - 25 * ppm, cy - 25 * ppm, cx + 25 * ppm, cy + 25 * ppm, INO, 4.0)  # wheel housing
        c.circle((cx, cy), 5 * ppm, MET, 5.0)
        c.ring((cx, cy), 14 * ppm, max(2 * ppm, 1.0), MET, 2.0)
    return c, outline


def _softbag(rng: np.random.Generator, w: float, h: float, ppm: float) -> tuple[Canvas, np.ndarray]:
    """Duffel or backpack: an irregular fabric outline, straps, buckles, a zip, sometimes a wire frame."""
    c = Canvas.mm(w, h, ppm, pad_mm=30)
    n = 24
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    wob = 1.0 + np.convolve(rng.normal(0, 0.05, n + 4), np.ones(5) / 5, "valid")[:n]
    sq = np.sign(np.cos(ang)) * np.abs(np.cos(ang)) ** 0.6, np.sign(np.sin(ang)) * np.abs(np.sin(ang)) ** 0.6
    pts = np.stack([(30 + w / 2 * (1 + wob * sq[0])), (30 + h / 2 * (1 + wob * sq[1]))], 1) * ppm
    c.polygon(pts, ORG, 4.0 * (1.0 + 0.5 * lowfreq(rng, c.height, c.width, 6)))
    c.polyline(pts, rng.uniform(5, 12) * ppm, ORG, 12.0, closed=True)
    if rng.random() < 0.5:
        c.polyline(pts * 0.96 + np.array(c.centre) * 0.04, max(1.5 * ppm, 1.0), MET, 1.2, closed=True)
    zip_path = smooth_curve(
        rng, (30 + w * 0.15, 30 + h * rng.uniform(0.3, 0.7)), w * 0.7, n=20, bend=0.03, heading=0.0
    )
    c.polyline(zip_path * ppm, max(2 * ppm, 1.0), MET, 0.6)
    for _ in range(int(rng.integers(1, 4))):
        strap = smooth_curve(
            rng, (30 + rng.uniform(0, w), 30 + rng.uniform(0, h)), rng.uniform(200, 500), n=25, bend=0.08
        )
        c.polyline(strap * ppm, rng.uniform(25, 40) * ppm, ORG, 6.0)
        bx, by = strap[len(strap) // 2] * ppm
        c.rect(
            bx - 15 * ppm, by - 8 * ppm, bx + 15 * ppm, by + 8 * ppm, MET if rng.random() < 0.5 else ORG, 2.0
        )
    return c, pts


def _tray(rng: np.random.Generator, w: float, h: float, ppm: float) -> tuple[Canvas, np.ndarray]:
    """A screening tray: a thin plastic floor with a thick rim."""
    c = Canvas.mm(w, h, ppm, pad_mm=30)
    outline = rounded_rect_pts(30 * ppm, 30 * ppm, (w + 30) * ppm, (h + 30) * ppm, 30 * ppm)
    c.polygon(outline, ORG, 5.0)
    c.polyline(outline, rng.uniform(20, 35) * ppm, ORG, 25.0, closed=True)
    return c, outline


_BAG_MM = {
    "suitcase": ((520, 760), (360, 500)),
    "softbag": ((380, 620), (260, 420)),
    "tray": ((560, 640), (380, 440)),
}
_BAG_DRAW = {"suitcase": _suitcase, "softbag": _softbag, "tray": _tray}
_N_CLUTTER = {"suitcase": (14, 30), "softbag": (8, 20), "tray": (4, 9)}


def _threat_box(
    scene: Scene, roi: tuple[int, int, int, int], warped: np.ndarray, category: str
) -> Box | None:
    x0, y0, x1, y1 = roi
    a_low, a_high = attenuation(warped)
    ys, xs = np.nonzero((a_low + a_high) * np.float32(DISPLAY_GAIN / 2) > VISIBLE_DENSITY)
    if len(ys) == 0:
        return None
    h, w = scene.threat.shape[:2]
    return Box(
        category,
        float(max(x0 + xs.min() - 1, 0)),
        float(max(y0 + ys.min() - 1, 0)),
        float(min(x0 + xs.max() + 2, w)),
        float(min(y0 + ys.max() + 2, h)),
    )


def _interior(shell: Canvas, outline: np.ndarray) -> np.ndarray:
    """Soft 0..1 mask of the bag's inside: clutter is squeezed into it, never spills over the rim."""
    mask = np.zeros(shell.t.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32).reshape(-1, 1, 2)], 255, cv2.LINE_AA)
    return cv2.GaussianBlur(mask, (0, 0), 2.0).astype(np.float32) * np.float32(1.0 / 255.0)


@dataclass(frozen=True)
class _BagPlan:
    kind: str
    w_mm: float
    h_mm: float
    angle: float
    region: tuple[float, float, float, float]

    def extent_mm(self) -> tuple[float, float]:
        """Width and height of the rotated bag with its 30 mm margin (handles, wheels)."""
        r = np.deg2rad(self.angle)
        w, h = self.w_mm + 60, self.h_mm + 60
        return abs(np.cos(r)) * w + abs(np.sin(r)) * h, abs(np.sin(r)) * w + abs(np.cos(r)) * h


def _plan(rng: np.random.Generator, kind: str, region: tuple[float, float, float, float]) -> _BagPlan:
    (wl, wh), (hl, hh) = _BAG_MM[kind]
    bw, bh = rng.uniform(wl, wh), rng.uniform(hl, hh)
    angle = rng.normal(0, 4) if rng.random() < 0.65 else rng.uniform(-30, 30)
    rw, rh = region[2] - region[0], region[3] - region[1]
    if (rw < rh) != (bw < bh):  # lay the long side along the long side of the region
        angle += 90.0
    return _BagPlan(kind, bw, bh, angle + 180.0 * int(rng.integers(0, 2)), region)


def _pack(scene: Scene, rng: np.random.Generator, plan: _BagPlan, threats: list[str]) -> None:
    """Draw one bag with its clutter (and the given threats) into its region of the scene."""
    kind, bw, bh, region = plan.kind, plan.w_mm, plan.h_mm, plan.region
    ppm = scene.ppm
    shell, outline = _BAG_DRAW[kind](rng, bw, bh, ppm)
    slack_x = max(region[2] - region[0] - plan.extent_mm()[0] * ppm, 0.0) / 2
    slack_y = max(region[3] - region[1] - plan.extent_mm()[1] * ppm, 0.0) / 2
    centre = (
        (region[0] + region[2]) / 2 + rng.uniform(-slack_x, slack_x),
        (region[1] + region[3]) / 2 + rng.uniform(-slack_y, slack_y),
    )
    angle = plan.angle
    bag_m = pose_matrix(centre, angle, pivot=shell.centre)
    inner = (30 + 0.06 * bw) * ppm, (30 + 0.06 * bh) * ppm, (30 + 0.94 * bw) * ppm, (30 + 0.94 * bh) * ppm
    content = np.zeros_like(shell.t)
    spots: list[tuple[float, float]] = []

    def pose(
        obj: Canvas, near: tuple[float, float] | None = None, fit: bool = False, scale: float = 1.0
    ) -> tuple[np.ndarray, tuple[float, float]]:
        """Random orientation (mostly packed square), position inside the bag; ``fit`` keeps it whole."""
        a = 90.0 * int(rng.integers(0, 4)) + rng.normal(0, 8) if rng.random() < 0.6 else rng.uniform(0, 360)
        r = np.deg2rad(a)
        ex = scale * (abs(np.cos(r)) * obj.width + abs(np.sin(r)) * obj.height) / 2 if fit else 0.0
        ey = scale * (abs(np.sin(r)) * obj.width + abs(np.cos(r)) * obj.height) / 2 if fit else 0.0
        x0, x1 = inner[0] + ex, inner[2] - ex
        y0, y1 = inner[1] + ey, inner[3] - ey
        at = (
            near
            if near is not None
            else (
                rng.uniform(x0, x1) if x1 > x0 else (inner[0] + inner[2]) / 2,
                rng.uniform(y0, y1) if y1 > y0 else (inner[1] + inner[3]) / 2,
            )
        )
        if fit:
            at = (
                float(np.clip(at[0], min(x0, x1), max(x0, x1))),
                float(np.clip(at[1], min(y0, y1), max(y0, y1))),
            )
        return pose_matrix(at, a, scale, flip=bool(rng.random() < 0.5), pivot=obj.centre), at

    lo, hi = _N_CLUTTER[kind]
    n_base = int(rng.integers(3, 7)) if kind != "tray" else int(rng.integers(0, 2))
    for _ in range(n_base):  # a base layer of clothes fills the bag
        obj = clothes(rng, ppm)
        stamp_add(content, obj.t, pose(obj)[0])
    for _ in range(int(rng.integers(lo, hi + 1))):
        obj = random_clutter(rng, ppm)
        m, at = pose(obj)
        stamp_add(content, obj.t, m)
        spots.append(at)
    if kind != "tray" and rng.random() < 0.5:
        obj = (laptop if rng.random() < 0.5 else phone)(rng, ppm)
        m, at = pose(obj)
        stamp_add(content, obj.t, m)
        spots.append(at)
    # Soft goods have no crisp outline at this resolution: soften the organic layer a little.
    content[..., ORG] = cv2.GaussianBlur(content[..., ORG], (0, 0), max(0.8 * ppm, 0.5))
    shell.t += content * _interior(shell, outline)[..., None]
    stamp_add(scene.thickness, shell.t, bag_m)
    for category in threats:  # threats go in whole: inside the bag, under or over the clutter
        obj = draw_threat(category, rng, ppm)
        near = spots[int(rng.integers(len(spots)))] if spots and rng.random() < 0.5 else None
        m, _ = pose(obj, near, fit=True, scale=float(rng.uniform(0.85, 1.15)))  # sizes vary beyond the model
        res = stamp(scene.threat, obj.t, compose(bag_m, m))
        if res is None:
            continue
        (x0, y0, x1, y1), warped = res
        box = _threat_box(scene, (x0, y0, x1, y1), warped, category)
        if box is not None:
            scene.threat[y0:y1, x0:x1] += warped
            scene.boxes.append(box)
    scene.bags.append(kind)


def compose_scene(
    rng: np.random.Generator,
    size: tuple[int, int] = DEFAULT_SIZE,
    n_threats: int = 0,
    categories: tuple[str, ...] = CATEGORIES,
) -> Scene:
    """Lay out one or two bags on the belt, pack them, and add ``n_threats`` threats of ``categories``."""
    w, h = int(size[0]), int(size[1])
    if w < 32 or h < 32:
        raise ConfigError(f"scan size {w}x{h} is too small (at least 32x32)")
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown or not categories:
        raise ConfigError(f"unknown threat categories {unknown} (known: {', '.join(CATEGORIES)})")
    two = rng.random() < 0.25
    kinds = [str(rng.choice(BAG_KINDS, p=[0.55, 0.37, 0.08])) for _ in range(2 if two else 1)]
    if two:
        regions: list[tuple[float, float, float, float]] = (
            [(0, 0, w / 2, h), (w / 2, 0, w, h)] if w >= h else [(0, 0, w, h / 2), (0, h / 2, w, h)])
    else:
        regions = [(0.0, 0.0, float(w), float(h))]
    plans = [_plan(rng, k, r) for k, r in zip(kinds, regions, strict=True)]
    # One scale for the whole scan, so that every bag fits its region (a little may be cut at the edge).
    fill = rng.uniform(1.0, 1.15)
    ppm = float(
        fill
        * min(
            min(
                (p.region[2] - p.region[0]) / p.extent_mm()[0], (p.region[3] - p.region[1]) / p.extent_mm()[1]
            )
            for p in plans
        )
    )
    scene = Scene(np.zeros((h, w, 3), np.float32), np.zeros((h, w, 3), np.float32), ppm)
    picks = [str(c) for c in rng.choice(list(categories), size=n_threats)] if n_threats else []
    for i, plan in enumerate(plans):
        _pack(scene, rng, plan, picks[i :: len(plans)])
    np.maximum(scene.thickness, 0.0, out=scene.thickness)
    log.debug("scene %dx%d ppm=%.2f bags=%s boxes=%d", w, h, ppm, scene.bags, len(scene.boxes))
    return scene


def render_bag(
    rng: np.random.Generator,
    size: tuple[int, int] = DEFAULT_SIZE,
    n_threats: int = 0,
    categories: tuple[str, ...] = CATEGORIES,
) -> tuple[np.ndarray, list[Box]]:
    """One synthetic scan in memory: float32 RGB in [0, 1] (before JPEG) and its threat boxes."""
    scene = compose_scene(rng, size, n_threats, categories)
    return sensor(*scene.attenuation(), rng, scene.ppm), scene.boxes
