"""Drawing thickness: a local canvas per object, and placing it into a scene.

An object is modelled once in its own frame (millimetres scaled to pixels) as
three thickness maps (organic, inorganic, metal) and then stamped into the
scene with a rotation, so every object has real pose and overlaps add
thickness (which is how attenuation combines).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

_SHIFT = 4  # sub-pixel bits for cv2 drawing: smooth, anti-aliased outlines
_ONE = 1 << _SHIFT

Point = tuple[float, float]


class Canvas:
    """Thickness in mm of each material (channels ORG, INO, MET) on a local pixel grid."""

    def __init__(self, width: int, height: int, ppm: float) -> None:
        self.ppm = float(ppm)
        self.t = np.zeros((max(int(height), 1), max(int(width), 1), 3), np.float32)
        self._mask = np.zeros(self.t.shape[:2], np.uint8)

    @classmethod
    def mm(cls, width_mm: float, height_mm: float, ppm: float, pad_mm: float = 4.0) -> Canvas:
        """A canvas big enough for an object of the given size in mm, with a margin."""
        return cls(
            int(np.ceil((width_mm + 2 * pad_mm) * ppm)), int(np.ceil((height_mm + 2 * pad_mm) * ppm)), ppm
        )

    @property
    def width(self) -> int:
        return self.t.shape[1]

    @property
    def height(self) -> int:
        return self.t.shape[0]

    @property
    def centre(self) -> Point:
        return (self.width / 2.0, self.height / 2.0)

    def _pts(self, pts: Sequence[Point] | np.ndarray) -> np.ndarray:
        return np.round(np.asarray(pts, np.float64) * _ONE).astype(np.int32).reshape(-1, 1, 2)

    def _add(
        self,
        material: int,
        mm: float | np.ndarray,
        box: tuple[float, float, float, float],
        weight: np.ndarray | None = None,
    ) -> None:
        """Add ``mm`` (scalar or per-pixel map) where the scratch mask is drawn in ``box``, anti-aliased."""
        h, w = self._mask.shape
        x0, y0 = max(int(box[0]) - 2, 0), max(int(box[1]) - 2, 0)
        x1, y1 = min(int(np.ceil(box[2])) + 3, w), min(int(np.ceil(box[3])) + 3, h)
        if x1 <= x0 or y1 <= y0:
            return
        cov = self._mask[y0:y1, x0:x1].astype(np.float32) * np.float32(1.0 / 255.0)
        if weight is not None:
            cov = cov * weight[y0:y1, x0:x1]
        val = mm[y0:y1, x0:x1] if isinstance(mm, np.ndarray) else np.float32(mm)
        self.t[y0:y1, x0:x1, material] += cov * val
        self._mask[y0:y1, x0:x1] = 0

    def polygon(
        self,
        pts: Sequence[Point] | np.ndarray,
        material: int,
        mm: float | np.ndarray,
        weight: np.ndarray | None = None,
    ) -> None:
        p = np.asarray(pts, np.float64).reshape(-1, 2)
        cv2.fillPoly(self._mask, [self._pts(p)], 255, cv2.LINE_AA, _SHIFT)
        self._add(material, mm, (*p.min(0), *p.max(0)), weight)

    def ellipse(
        self,
        centre: Point,
        axes: Point,
        material: int,
        mm: float | np.ndarray,
        angle: float = 0.0,
        thickness: int = -1,
    ) -> None:
        c = (int(round(centre[0] * _ONE)), int(round(centre[1] * _ONE)))
        ax = (max(int(round(axes[0] * _ONE)), 1), max(int(round(axes[1] * _ONE)), 1))
        cv2.ellipse(self._mask, c, ax, angle, 0, 360, 255, thickness, cv2.LINE_AA, _SHIFT)
        r = max(axes) + max(thickness, 0)
        self._add(material, mm, (centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r))

    def circle(self, centre: Point, radius: float, material: int, mm: float | np.ndarray) -> None:
        self.ellipse(centre, (radius, radius), material, mm)

    def ring(self, centre: Point, radius: float, width: float, material: int, mm: float) -> None:
        self.ellipse(centre, (radius, radius), material, mm, thickness=max(int(round(width)), 1))

    def rect(self, x0: float, y0: float, x1: float, y1: float, material: int, mm: float | np.ndarray) -> None:
        self.polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], material, mm)

    def rounded_rect(
        self, x0: float, y0: float, x1: float, y1: float, r: float, material: int, mm: float | np.ndarray
    ) -> None:
        self.polygon(rounded_rect_pts(x0, y0, x1, y1, r), material, mm)

    def polyline(
        self, pts: Sequence[Point] | np.ndarray, width: float, material: int, mm: float, closed: bool = False
    ) -> None:
        """A wire, rail or rib: a stroke of constant width and thickness."""
        w = max(int(round(width)), 1)
        p = np.asarray(pts, np.float64).reshape(-1, 2)
        cv2.polylines(self._mask, [self._pts(p)], closed, 255, w, cv2.LINE_AA, _SHIFT)
        self._add(material, mm, (*(p.min(0) - w), *(p.max(0) + w)))

    def tube(
        self,
        pts: Sequence[Point] | np.ndarray,
        width: float,
        material: int,
        wall_mm: float,
        closed: bool = False,
    ) -> None:
        """A hollow tube seen from the side: two dense walls and a thin middle, like frame rails."""
        self.polyline(pts, width, material, wall_mm * 0.6, closed)
        if width >= 3:
            self.polyline(pts, max(width * 0.45, 1.0), material, -wall_mm * 0.35, closed)

    def cylinder(
        self, x0: float, y0: float, x1: float, y1: float, material: int, mm: float, shell: float = 0.0
    ) -> None:
        """A cylinder lying along y: chord-length profile across x (bottles, cells, handles)."""
        h, w = self.t.shape[:2]
        xs = (np.arange(w, dtype=np.float32) + 0.5 - (x0 + x1) / 2) / max((x1 - x0) / 2, 0.5)
        chord = np.sqrt(np.clip(1.0 - xs * xs, 0.0, 1.0))
        if shell > 0:  # a hollow can: the wall shows as bright edges (longer path at the rim)
            inner = np.sqrt(np.clip(1.0 - (xs / (1.0 - shell)) ** 2, 0.0, 1.0)) * (1.0 - shell)
            chord = chord - inner
        prof = np.broadcast_to(chord[None, :], (h, w))
        self.rect(x0, y0, x1, y1, material, np.ascontiguousarray(prof) * np.float32(mm))


def rounded_rect_pts(x0: float, y0: float, x1: float, y1: float, r: float, n: int = 6) -> np.ndarray:
    r = max(0.0, min(r, (x1 - x0) / 2, (y1 - y0) / 2))
    pts = []
    for cx, cy, a0 in (
        (x1 - r, y0 + r, -90),
        (x1 - r, y1 - r, 0),
        (x0 + r, y1 - r, 90),
        (x0 + r, y0 + r, 180),
    ):
        for a in np.linspace(a0, a0 + 90, n):
            t = np.deg2rad(a)
            pts.append((cx + r * np.cos(t), cy + r * np.sin(t)))
    return np.asarray(pts)


def smooth_curve(
    rng: np.random.Generator,
    start: Point,
    length: float,
    n: int = 40,
    bend: float = 0.25,
    heading: float | None = None,
) -> np.ndarray:
    """A random, smoothly turning path (cables, straps): a walk with correlated heading."""
    heading = rng.uniform(0, 2 * np.pi) if heading is None else heading
    turn = np.cumsum(rng.normal(0, bend, n))
    turn = np.convolve(turn, np.ones(5) / 5, mode="same")
    step = length / n
    pts = [start]
    for i in range(n):
        x, y = pts[-1]
        a = heading + turn[i]
        pts.append((x + step * np.cos(a), y + step * np.sin(a)))
    return np.asarray(pts)


def lowfreq(rng: np.random.Generator, h: int, w: int, cells: int = 6) -> np.ndarray:
    """Smooth random field in about [-1, 1]: folds, crumples, uneven packing."""
    gh = max(2, int(round(cells * h / max(h, w))) + 1)
    gw = max(2, int(round(cells * w / max(h, w))) + 1)
    g = rng.standard_normal((gh, gw)).astype(np.float32)
    return cv2.resize(g, (max(w, 1), max(h, 1)), interpolation=cv2.INTER_CUBIC)


def pose_matrix(
    centre: Point, angle_deg: float, scale: float = 1.0, flip: bool = False, pivot: Point = (0.0, 0.0)
) -> np.ndarray:
    """2 x 3 affine: local ``pivot`` goes to scene ``centre``, rotated, scaled, optionally mirrored."""
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a) * scale, np.sin(a) * scale
    fx = -1.0 if flip else 1.0
    m = np.array([[c * fx, -s, 0.0], [s * fx, c, 0.0]])
    m[:, 2] = np.asarray(centre) - m[:, :2] @ np.asarray(pivot)
    return m


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The affine ``outer o inner`` (apply ``inner`` first)."""
    a = np.vstack([outer, [0, 0, 1]]) @ np.vstack([inner, [0, 0, 1]])
    return a[:2]


def stamp(
    scene: np.ndarray, local: np.ndarray, m: np.ndarray, border: float | tuple[float, ...] = 0.0
) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """Warp ``local`` (h x w x C) by affine ``m`` and return (roi, warped) where it lands in ``scene``.

    Only the region the object covers is warped, so small objects on big scans stay cheap.
    Returns None when the object falls entirely outside the scene.
    """
    h, w = local.shape[:2]
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ m.T
    x0 = max(int(np.floor(corners[:, 0].min())) - 1, 0)
    y0 = max(int(np.floor(corners[:, 1].min())) - 1, 0)
    x1 = min(int(np.ceil(corners[:, 0].max())) + 2, scene.shape[1])
    y1 = min(int(np.ceil(corners[:, 1].max())) + 2, scene.shape[0])
    if x1 <= x0 or y1 <= y0:
        return None
    mm = m.copy()
    mm[:, 2] -= (x0, y0)
    bv = border if isinstance(border, tuple) else (border,) * 4
    warped = cv2.warpAffine(
        local, mm, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=bv
    )
    if warped.ndim == 2 and local.ndim == 3:
        warped = warped[..., None]
    return (x0, y0, x1, y1), warped


def stamp_add(scene: np.ndarray, local: np.ndarray, m: np.ndarray) -> tuple[int, int, int, int] | None:
    """Add a warped local thickness canvas into the scene; returns the touched roi."""
    res = stamp(scene, local, m)
    if res is None:
        return None
    (x0, y0, x1, y1), warped = res
    scene[y0:y1, x0:x1] += warped
    return (x0, y0, x1, y1)
