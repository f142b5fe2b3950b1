"""The model in use: loading a model file and scoring one scan with cancel and progress.

:class:`EngineBackend` is what the scoring worker calls. It scores the same way
``engine.scoring.Scorer.score_scan`` does (same grid, same ``score_arrays``,
whose per-patch scores do not depend on batching) but one batch at a time, so a
cancel takes effect within a batch and the status bar can show patch progress.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.calibration import Calibration
from engine.data.io import Scan, read_scan
from engine.data.patches import extract_patches
from engine.device import describe
from engine.events import CancelToken
from engine.modelfile import ModelBundle, load_model
from engine.scoring import ScanResult, Scorer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    """What the window shows about the model: name, file, device and calibration."""

    name: str
    path: str
    device: str
    calibration: Calibration | None

    @property
    def calibration_text(self) -> str:
        cal = self.calibration
        if cal is None:
            return "none (no threshold stored)"
        if cal.has_threats:
            return f"{cal.source}: {cal.n_threat} threat + {cal.n_normal} normal scans"
        return f"normal statistics only ({cal.n_normal} held-out normal scans)"


class EngineBackend:
    """One model on one device; used only from the scoring worker thread after construction."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.bundle: ModelBundle = scorer.bundle
        self.info = ModelInfo(self.bundle.name, self.bundle.path, describe(scorer.device),
                              self.bundle.calibration)

    @classmethod
    def from_file(cls, path: str | Path, device: str = "auto") -> EngineBackend:
        """Load a model file (raises ModelFileError naming the file and the reason)."""
        bundle = load_model(path)
        return cls(Scorer(bundle, device=device))

    def read(self, path: str) -> Scan:
        return read_scan(path)

    def score(self, scan: Scan, cancel: CancelToken, progress: Callable[[int, int], None]) -> ScanResult:
        t0 = time.perf_counter()
        patches = extract_patches(scan.pixels, self.bundle.grid)
        n, bs = len(patches), max(1, self.scorer.batch_size)
        parts: list[np.ndarray] = []
        progress(0, n)
        for i in range(0, n, bs):
            cancel.raise_if_cancelled()
            parts.append(self.scorer.score_arrays(patches.arrays[i : i + bs]))
            progress(min(i + bs, n), n)
        scores = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
        m = scan.meta
        return ScanResult(
            path=m.path, name=scan.name, width=m.width, height=m.height, sha256=m.sha256,
            boxes=patches.boxes, scores=scores,
            score=float(scores.max()) if len(scores) else float("-inf"),
            seconds=time.perf_counter() - t0,
        )
