"""TIP officer training: which bags get a projected threat, and the projected bag itself.

A supervisor sets a rate (one bag in N), a threat library and the categories; while
an officer screens, each new bag is drawn for TIP independently with probability 1/N.
An independent draw (not one TIP in every block of N) leaves no pattern to learn: a
TIP just seen says nothing about the next bag. The projected bag is an ordinary
:class:`engine.data.io.Scan`, so the scorer the queue uses scores it like any scan and
the model's cue may or may not fire, as on a real workstation.

No Qt here: the window's controller (``app.controllers.tip_training``) drives it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .data.io import Scan, ScanMeta, to_uint8, write_image
from .data.types import CATEGORIES, Box, canonical_category
from .errors import ConfigError
from .synth.tip import ThreatLibrary, project

log = logging.getLogger(__name__)

SYNTHETIC = "synthetic"
TIP_PREFIX = "tip:"  # composite scans are keyed "tip:<n>:<host path>", never a file path


@dataclass(frozen=True)
class TipConfig:
    """What the supervisor sets: on/off, one bag in ``rate``, the threat library and its categories."""

    enabled: bool = False
    rate: int = 25
    library: str = SYNTHETIC  # or a labelled folder (SIXray layout with VOC boxes) to cut threats from
    categories: tuple[str, ...] = CATEGORIES
    per_category: int = 8  # threats per category in the library

    def __post_init__(self) -> None:
        if int(self.rate) < 1:
            raise ConfigError(f"TIP rate must be one bag in 1 or more, not {self.rate}")
        cats = tuple(dict.fromkeys(canonical_category(c) for c in self.categories if c.strip()))
        if not cats:
            raise ConfigError("TIP needs at least one threat category")
        object.__setattr__(self, "rate", int(self.rate))
        object.__setattr__(self, "categories", cats)

    @property
    def probability(self) -> float:
        return 1.0 / self.rate


class TipScheduler:
    """One independent draw per new bag, true with probability 1/rate (never when disabled)."""

    def __init__(self, config: TipConfig, rng: np.random.Generator) -> None:
        self.config, self.rng = config, rng
        self.drawn = 0
        self.projected = 0

    def draw(self) -> bool:
        self.drawn += 1
        if not self.config.enabled:
            return False
        hit = bool(self.rng.random() < self.config.probability)
        self.projected += hit
        return hit


def load_library(config: TipConfig, rng: np.random.Generator) -> ThreatLibrary:
    """The configured threats: fresh shape models, or cut-outs of a labelled folder's boxes."""
    if config.library == SYNTHETIC:
        return ThreatLibrary.synthetic(rng, config.per_category, config.categories)
    if not Path(config.library).is_dir():
        raise ConfigError(f"{config.library}: the TIP threat library folder does not exist")
    return ThreatLibrary.from_dataset(config.library, config.per_category, config.categories,
                                      seed=int(rng.integers(1 << 31)))


@dataclass
class TipBag:
    """One projected bag: the host scan underneath, the threat put in, and (once made) where it went."""

    key: str  # TIP_PREFIX key the worker and the view use for the composite
    host: str  # the real scan's path
    category: str
    source: str  # which sprite (synthetic:Gun:3, or scan:category of a cut-out)
    sprite: int  # its index in the library
    seed: int
    box: Box | None = None
    pixels: np.ndarray | None = field(default=None, repr=False)  # uint8 RGB of the composite

    @property
    def box_xyxy(self) -> list[int]:
        b = self.box
        return [] if b is None else [int(b.x0), int(b.y0), int(b.x1), int(b.y1)]


def plan_bag(n: int, host: str, library: ThreatLibrary, config: TipConfig,
             rng: np.random.Generator) -> TipBag:
    """Choose the threat (a category uniformly among the configured ones, then a sprite) and a seed."""
    cats = [c for c in config.categories if c in library.categories] or list(library.categories)
    category = cats[int(rng.integers(len(cats)))]
    pool = [i for i, sp in enumerate(library.sprites) if sp.category == category]
    index = pool[int(rng.integers(len(pool)))]
    return TipBag(f"{TIP_PREFIX}{n}:{host}", host, category, library.sprites[index].source, index,
                  int(rng.integers(1 << 31)))


def compose(bag: TipBag, host: Scan, library: ThreatLibrary) -> Scan:
    """The composite scan (quantised to 8 bits, so what is scored, shown and kept for review agree).

    Runs on the scoring worker's thread; sets ``bag.box`` and ``bag.pixels``.
    """
    out, box = project(host.pixels, library.sprites[bag.sprite], np.random.default_rng(bag.seed))
    rgb = to_uint8(out)
    bag.box, bag.pixels = box, rgb
    h, w = rgb.shape[:2]
    meta = ScanMeta(bag.key, w, h, 3, 8, hashlib.sha256(rgb.tobytes()).hexdigest())
    return Scan(rgb.astype(np.float32) * np.float32(1.0 / 255.0), meta)


def framed(rgb: np.ndarray, box: Sequence[int], colour: tuple[int, int, int] = (255, 214, 10)) -> np.ndarray:
    """A copy of ``rgb`` with the projected threat's box drawn round it (what a reviewer looks at)."""
    out = np.ascontiguousarray(rgb.copy())
    if len(box) == 4:
        x0, y0, x1, y1 = (int(v) for v in box)
        width = max(2, round(min(out.shape[:2]) / 200))
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), colour, width)
    return out


def keep_missed(bag: TipBag, folder: str | Path, stamp: str, operator: str) -> Path:
    """Write a missed TIP's composite, threat framed, into ``folder`` for review; returns the PNG's path."""
    if bag.pixels is None:
        raise ConfigError(f"{bag.key}: the TIP image was never made")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in f"{stamp}_{operator}_{bag.category}")
    path = Path(folder) / f"{safe}_{Path(bag.host).stem}.png"
    write_image(path, framed(bag.pixels, bag.box_xyxy))  # atomic: whole or absent
    log.info("missed TIP kept for review: %s", path)
    return path
