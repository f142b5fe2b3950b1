"""Patch scores, scan scores and flagged patches, from a model bundle.

A = eta * r' + (1 - eta) * l' per patch, where r = mean |x - x_hat| (the
contextual residual) and l = mean |f(x) - f(x_hat)| (D's last-conv features).
Each component is standardised with statistics of *held-out normal training
patches* saved in the model file (median and IQR), never with statistics of the
scans being scored, so a scan scores the same alone or in any batch. Models with
a threat head add ``gamma * t'`` (t = D's threat logit, standardised the same way).
The scan score is the maximum over content patches: one flagged region is enough.

A generator with an attention map (two-stage) also yields "attention", the mean
map per patch in [0, 1]: kept beside the scores (``ScanResult.attention``) for
the GUI's alternative overlay, never folded into A.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .data.io import Scan, read_scan
from .data.patches import extract_patches
from .device import resolve_device
from .errors import EngineError
from .events import CancelToken, Progress, ScanFailed, ScanScored, check
from .modelfile import ModelBundle

log = logging.getLogger(__name__)

COMPONENTS = ("recon", "feat", "threat", "attention")


@dataclass
class ScanResult:
    path: str
    name: str
    width: int
    height: int
    sha256: str
    boxes: np.ndarray  # (N, 4) int32, scan pixels
    scores: np.ndarray  # (N,) float32, standardised units
    score: float  # max over patches (-inf for a scan with no content)
    seconds: float
    attention: np.ndarray | None = None  # (N,) mean attention per patch, for models with an attention map
    components: dict[str, np.ndarray] | None = None  # raw per-patch components, so a new mix needs no rescoring

    def flagged(self, threshold: float) -> np.ndarray:
        return self.scores >= threshold

    def n_flagged(self, threshold: float) -> int:
        return int(np.count_nonzero(self.scores >= threshold))


@torch.inference_mode()
def raw_components(bundle: ModelBundle, arrays: np.ndarray, device: torch.device,
                   batch_size: int = 64) -> dict[str, np.ndarray]:
    """Unnormalised per-patch components; eval mode, batched, inference mode."""
    model = bundle.model.eval()
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
        att = getattr(gen, "attention_logit", None)
        if att is not None:
            out["attention"].append(torch.sigmoid(att.float()).flatten(1).mean(1).cpu().numpy())
    return {k: np.concatenate(v).astype(np.float32) for k, v in out.items() if v}


def component_stats(raw: dict[str, np.ndarray]) -> dict[str, float]:
    """Median and IQR of each component on held-out normal patches."""
    stats: dict[str, float] = {}
    for k, v in raw.items():
        q25, q50, q75 = np.percentile(v.astype(np.float64), [25, 50, 75])
        stats[f"{k}_median"] = float(q50)
        stats[f"{k}_scale"] = float(max(q75 - q25, 1e-8))
    return stats


def scan_score(scores: np.ndarray) -> float:
    """The scan aggregate: the highest patch score (one flagged region is enough); -inf without content."""
    return float(scores.max()) if len(scores) else float("-inf")


def combine(raw: Mapping[str, np.ndarray], stats: Mapping[str, float], eta: float, gamma: float = 1.0) -> np.ndarray:
    def z(k: str) -> np.ndarray:
        return (raw[k] - stats[f"{k}_median"]) / stats[f"{k}_scale"]

    a = eta * z("recon") + (1.0 - eta) * z("feat")
    if "threat" in raw and "threat_median" in stats:
        a = a + gamma * z("threat")
    return a.astype(np.float32)


class Scorer:
    """Scores scans with one model on one device; safe to use from one worker thread."""

    def __init__(self, bundle: ModelBundle, device: str | torch.device = "auto", batch_size: int | None = None):
        self.bundle = bundle
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.bundle.model.to(self.device).eval()
        if self.device.type == "cuda":
            self.bundle.model.to(memory_format=torch.channels_last)
        self.batch_size = batch_size or bundle.score.batch_size
        if not bundle.score_stats:
            raise EngineError(f"{bundle.path or bundle.name}: model has no score statistics (train it first)")

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
        raw = raw_components(self.bundle, arrays, self.device, self.batch_size)
        gamma = float(self.bundle.score.extra.get("gamma", 1.0))
        return combine(raw, self.bundle.score_stats, self.bundle.score.eta, gamma), raw

    def score_scan(self, scan: Scan | str | Path, cancel: CancelToken | None = None,
                   progress: Callable[[int, int], None] | None = None) -> ScanResult:
        """Score one scan, batch by batch: ``cancel`` is checked and ``progress(done, total)`` called
        between batches, so a GUI worker can stop or report mid-scan."""
        t0 = time.perf_counter()
        if not isinstance(scan, Scan):
            scan = read_scan(scan)
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
        components = {k: np.concatenate(v).astype(np.float32) for k, v in comps.items()}
        return ScanResult(
            path=m.path, name=scan.name, width=m.width, height=m.height, sha256=m.sha256,
            boxes=patches.boxes, scores=scores,
            score=scan_score(scores),
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


def result_to_json(r: ScanResult, threshold: float) -> dict:
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
