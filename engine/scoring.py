"""Patch scores, scan scores and flagged patches, from a model bundle.

The network gives raw per-patch components (:func:`raw_components`): "recon" = mean
|x - x_hat| (the contextual residual), "feat" = mean |f(x) - f(x_hat)| (D's last-conv
features) and, for a model whose D outputs one, "threat" (D's threat logit). The bundle's
:class:`~engine.score_head.ScoreHead` is the one definition of how they become a patch score
(standardised with statistics of held-out normal training patches, never of the scans being
scored, so a scan scores the same alone or in any batch) and how patch scores become the
scan score.

A generator with an attention map (two-stage) also yields "attention", the mean
map per patch in [0, 1]: kept beside the scores (``ScanResult.attention``) for
the GUI's alternative overlay, never folded into the score.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .data.io import Scan, read_scan
from .data.patches import extract_patches
from .dense_map import DenseMap, PackedMap
from .device import resolve_device
from .errors import EngineError, ScoreError
from .events import CancelToken, Progress, ScanFailed, ScanScored, check
from .modelfile import ModelBundle
from .models.base import AnomalyGAN
from .score_head import ScoreHead, scan_score

log = logging.getLogger(__name__)

COMPONENTS = ("recon", "feat", "threat", "attention")
#: Patches per forward pass; a runtime choice (memory), never part of the score or the model file.
BATCH_SIZE = 64
__all__ = ["COMPONENTS", "ScanResult", "Scorer", "raw_components", "result_to_json", "scan_score"]


@dataclass
class ScanResult:
    path: str
    name: str
    width: int
    height: int
    sha256: str
    boxes: np.ndarray  # (N, 4) int32, scan pixels
    scores: np.ndarray  # (N,) float32, standardised units
    score: float  # the score head's aggregate of ``scores`` (-inf for a scan with no content)
    seconds: float
    attention: np.ndarray | None = None  # (N,) mean attention per patch, for models with an attention map
    components: dict[str, np.ndarray] | None = None  # raw per-patch components, so a new mix needs no rescoring
    threat_map: DenseMap | None = None  # models that output a dense map: the map in score units (map_scoring)
    packed_map: PackedMap | None = None  # a stored session's map: 8-bit and deflated until drawn (memory)

    def dense_map(self) -> DenseMap | None:
        """The threat map to draw and trace: the live one, else the stored one decoded (None: no map)."""
        if self.threat_map is not None:
            return self.threat_map
        return self.packed_map.dense() if self.packed_map is not None else None

    def flagged(self, threshold: float) -> np.ndarray:
        return self.scores >= threshold

    def n_flagged(self, threshold: float) -> int:
        return int(np.count_nonzero(self.scores >= threshold))


@torch.inference_mode()
def raw_components(model: AnomalyGAN, arrays: np.ndarray, device: torch.device,
                   batch_size: int = BATCH_SIZE) -> dict[str, np.ndarray]:
    """Unnormalised per-patch components; eval mode, batched, inference mode."""
    model = model.eval()
    out: dict[str, list[np.ndarray]] = {k: [] for k in COMPONENTS}
    cuda = device.type == "cuda"
    for i in range(0, len(arrays), batch_size):
        x = torch.from_numpy(arrays[i : i + batch_size]).to(device, non_blocking=True)
        if cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            gen = model.netg(x)
            x_hat = gen.x_hat
            d = model.netd(torch.cat([x, x_hat.to(x.dtype)], 0))
        f_x, f_hat = d.features.float().chunk(2, 0)
        out["recon"].append((x - x_hat.float()).abs().flatten(1).mean(1).cpu().numpy())
        out["feat"].append((f_x - f_hat).abs().flatten(1).mean(1).cpu().numpy())
        if d.threat_logit is not None:
            out["threat"].append(d.threat_logit.float()[: len(x)].cpu().numpy())
        if gen.attention_logit is not None:
            out["attention"].append(torch.sigmoid(gen.attention_logit.float()).flatten(1).mean(1).cpu().numpy())
    return {k: np.concatenate(v).astype(np.float32) for k, v in out.items() if v}


def check_finite(path: str, scores: np.ndarray) -> None:
    """A NaN or infinite patch score means a broken model, never a clear bag: raise ScoreError."""
    bad = int(np.count_nonzero(~np.isfinite(scores)))
    if bad:
        raise ScoreError(path, f"score is not finite in {bad} of {len(scores)} patches (a broken model?): "
                               "reported as an error, not as clear")


class Scorer:
    """Scores scans with one model on one device; safe to use from one worker thread."""

    def __init__(self, bundle: ModelBundle, device: str | torch.device = "auto", batch_size: int | None = None):
        self.bundle = bundle
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.bundle.model.to(self.device).eval()
        if self.device.type == "cuda":
            self.bundle.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # stubs lack it
        self.batch_size = batch_size or BATCH_SIZE
        if bundle.score_head is None:
            raise EngineError(f"{bundle.path or bundle.name}: model has no score statistics (train it first)")
        self.head: ScoreHead = bundle.score_head

    @property
    def threshold(self) -> float:
        cal = self.bundle.calibration
        return float(cal.threshold) if cal is not None else float("inf")

    def score_arrays(self, arrays: np.ndarray) -> np.ndarray:
        return self.score_components(arrays)[0]

    def score_components(self, arrays: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Patch scores and the raw per-patch components they came from (plus "attention", if any)."""
        if len(arrays) == 0:
            return np.zeros(0, np.float32), {}
        raw = raw_components(self.bundle.model, arrays, self.device, self.batch_size)
        return self.head.combine(raw), raw

    def score_scan(self, scan: Scan | str | Path, cancel: CancelToken | None = None,
                   progress: Callable[[int, int], None] | None = None) -> ScanResult:
        """Score one scan, batch by batch: ``cancel`` is checked and ``progress(done, total)`` called
        between batches, so a GUI worker can stop or report mid-scan."""
        t0 = time.perf_counter()
        if not isinstance(scan, Scan):
            scan = read_scan(scan)
        if self.bundle.model.produces_map:
            from .map_scoring import map_scan_result

            check(cancel)
            result = map_scan_result(self.bundle, scan, self.device, t0)
            check_finite(result.path, result.scores)
            return result
        patches = extract_patches(scan.pixels, self.bundle.grid)
        n, bs = len(patches), max(1, self.batch_size)
        parts: list[np.ndarray] = []
        comps: dict[str, list[np.ndarray]] = {}
        if progress is not None:
            progress(0, n)
        for i in range(0, n, bs):
            check(cancel)
            scores, raw = self.score_components(patches.arrays[i : i + bs])
            parts.append(scores)
            for k, v in raw.items():
                comps.setdefault(k, []).append(v)
            if progress is not None:
                progress(min(i + bs, n), n)
        scores = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
        m = scan.meta
        check_finite(m.path, scores)
        components = {k: np.concatenate(v).astype(np.float32) for k, v in comps.items()}
        return ScanResult(
            path=m.path, name=scan.name, width=m.width, height=m.height, sha256=m.sha256,
            boxes=patches.boxes, scores=scores,
            score=self.head.scan_score(scores),
            seconds=time.perf_counter() - t0,
            attention=components.pop("attention", None),
            components=components or None,
        )

    def score_paths(self, paths: Iterable[str | Path], cancel: CancelToken | None = None,
                    total: int | None = None) -> Iterator[Progress | ScanScored | ScanFailed]:
        """Score many scans; a bad file yields ScanFailed and the rest go on."""
        paths = list(paths)
        n = total or len(paths)
        for i, path in enumerate(paths):
            check(cancel)
            try:
                yield ScanScored(str(path), self.score_scan(path))
            except EngineError as exc:
                log.warning("%s", exc)
                yield ScanFailed(str(path), getattr(exc, "reason", str(exc)))
            yield Progress("score", i + 1, n, Path(path).name)


def result_to_json(r: ScanResult, threshold: float) -> dict[str, Any]:
    """The per-scan entry of ``bagscan scan --json``."""
    return {
        "path": r.path,
        "width": r.width,
        "height": r.height,
        "score": None if not np.isfinite(r.score) else round(float(r.score), 6),
        "flagged": r.n_flagged(threshold),
        "patches": [
            {"box": [int(v) for v in b], "score": round(float(s), 6)} for b, s in zip(r.boxes, r.scores, strict=True)
        ],
    }
