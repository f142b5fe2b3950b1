"""Long jobs as plain generators: write a synthetic dataset, or project threats into scans.

Both yield :class:`~engine.events.Progress` (with the rate in scans/s in its
message), poll an optional :class:`~engine.events.CancelToken` between scans,
and are deterministic for a seed: scan ``i`` draws from its own stream
``default_rng([seed, i])``, so output is byte-identical run to run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..config import GridConfig
from ..data.dataset import Dataset, load_dataset
from ..data.io import read_scan
from ..data.types import CATEGORIES, NORMAL, UNKNOWN, ScanRecord, canonical_category
from ..errors import ConfigError, EngineError
from ..events import CancelToken, Progress, ScanFailed, Warn, check
from .bags import DEFAULT_SIZE, compose_scene
from .render import JPEG_QUALITY, sensor
from .tip import NoContentError, ThreatLibrary, project
from .writer import SixrayWriter

log = logging.getLogger(__name__)

TIP_JSON = "tip.json"


def _rate(done: int, t0: float) -> str:
    dt = time.perf_counter() - t0
    return f"{done / dt:.2f} scans/s" if dt > 0 else ""


def _categories(categories: Sequence[str] | None) -> tuple[str, ...]:
    cats = tuple(dict.fromkeys(canonical_category(c) for c in (categories or CATEGORIES)))
    unknown = [c for c in cats if c not in CATEGORIES]
    if unknown or not cats:
        raise ConfigError(f"unknown threat categories {unknown} (known: {', '.join(CATEGORIES)})")
    return cats


def generate(
    out: str | Path,
    n: int,
    threat_rate: float = 0.5,
    seed: int = 0,
    size: tuple[int, int] = DEFAULT_SIZE,
    categories: Sequence[str] | None = None,
    max_threats: int = 2,
    quality: int = JPEG_QUALITY,
    cancel: CancelToken | None = None,
) -> Iterator[Progress]:
    """Write ``n`` synthetic scans in SIXray's layout under ``out``; ``round(n * threat_rate)`` hold threats.

    Threat scans carry 1 to ``max_threats`` threats of ``categories``, boxed in VOC XML.
    """
    if n < 0:
        raise ConfigError(f"number of scans must be >= 0, not {n}")
    if not 0.0 <= threat_rate <= 1.0:
        raise ConfigError(f"threat rate must lie in [0, 1], not {threat_rate}")
    if max_threats < 1:
        raise ConfigError(f"max_threats must be >= 1, not {max_threats}")
    cats = _categories(categories)
    n_threat = int(round(n * threat_rate))
    is_threat = np.zeros(n, bool)
    is_threat[np.random.default_rng([seed, n]).permutation(n)[:n_threat]] = True
    t0 = time.perf_counter()
    yield Progress("synth", 0, n, "")
    with SixrayWriter(out, quality) as writer:
        for i in range(n):
            check(cancel)
            rng = np.random.default_rng([seed, i])
            k = int(rng.integers(1, max_threats + 1)) if is_threat[i] else 0
            for _attempt in range(5):  # a threat can (rarely) come out invisible; redraw the scene
                scene = compose_scene(rng, size, k, cats)
                if len(scene.boxes) >= min(k, 1):
                    break
            rgb = sensor(*scene.attenuation(), rng, scene.ppm)
            writer.add(rgb, scene.boxes)
            yield Progress("synth", i + 1, n, _rate(i + 1, t0))
    log.info(
        "synth: %d scans (%d threat) in %.1f s, %s",
        n,
        writer.n_threat,
        time.perf_counter() - t0,
        _rate(n, t0),
    )


def threat_free(dataset: Dataset) -> list[ScanRecord]:
    """Hosts for TIP: scans labelled threat-free, or, if none are, the unlabelled ones."""
    hosts = [r for r in dataset.records if r.label == NORMAL]
    return hosts or [r for r in dataset.records if r.label == UNKNOWN]


def tip_dataset(
    scans: str | Path | Dataset,
    out: str | Path,
    library: ThreatLibrary,
    per_scan: int = 1,
    seed: int = 0,
    categories: Sequence[str] | None = None,
    limit: int | None = None,
    scale: tuple[float, float] = (0.8, 1.2),
    grid: GridConfig | None = None,
    quality: int = JPEG_QUALITY,
    cancel: CancelToken | None = None,
    depth: tuple[float, float] = (1.0, 1.0),
    fade: float = 0.0,
) -> Iterator[Progress | ScanFailed | Warn]:
    """Project ``per_scan`` threats into each threat-free scan of ``scans``; write SIXray's layout to ``out``.

    Output scans are named ``P#####``; ``out/tip.json`` maps each to its host scan and the
    threats' sources and boxes. ``depth`` and ``fade`` (engine.synth.tip.project) make the threats fainter
    and partly hidden, for calibration sets as hard as real threats. Unreadable hosts are reported as
    :class:`ScanFailed` and skipped.
    """
    if per_scan < 1:
        raise ConfigError(f"threats per scan must be >= 1, not {per_scan}")
    if not 0.0 <= fade < 1.0:
        raise ConfigError(f"fade must be in [0, 1), not {fade:g}")
    ds = scans if isinstance(scans, Dataset) else load_dataset(scans)
    lib = library.subset(_categories(categories)) if categories else library
    hosts = threat_free(ds)
    if not hosts:
        raise EngineError(f"{ds.root}: no threat-free scans to project threats into")
    n_other = len(ds.records) - len(hosts)
    if limit is not None:
        hosts = hosts[: max(int(limit), 0)]
    if n_other:
        yield Warn(f"{ds.root}: skipping {n_other} threat or unlabelled scans; projecting into {len(hosts)}")
    t0 = time.perf_counter()
    yield Progress("tip", 0, len(hosts), "")
    with SixrayWriter(out, quality, side_json=TIP_JSON) as writer:
        for i, rec in enumerate(hosts):
            check(cancel)
            rng = np.random.default_rng([seed, i])
            try:
                rgb = read_scan(rec.path).pixels
            except EngineError as exc:
                yield ScanFailed(rec.path, getattr(exc, "reason", str(exc)))
                continue
            boxes, sources = [], []
            try:
                for _ in range(per_scan):
                    sprite = lib.sample(rng)
                    rgb, box = project(rgb, sprite, rng, scale=scale, grid=grid,
                                       depth=depth if depth != (1.0, 1.0) else 1.0, fade=fade)
                    boxes.append(box)
                    sources.append(sprite.source)
            except NoContentError:
                yield ScanFailed(rec.path, "no bag content to project a threat onto")
                continue
            writer.add(
                rgb,
                boxes,
                {
                    "host": rec.name,
                    "host_path": str(rec.path),
                    "threats": [
                        {"category": b.category, "source": s, "box": [round(v, 3) for v in b.as_list()]}
                        for b, s in zip(boxes, sources, strict=True)
                    ],
                },
            )
            yield Progress("tip", i + 1, len(hosts), _rate(i + 1, t0))
    log.info("tip: %d scans in %.1f s, %s", writer.n_threat, time.perf_counter() - t0, _rate(len(hosts), t0))
