"""From a dense threat map to patch scores and a scan score, so every derived figure has one source.

The map network runs once over the whole scan, resized by ``scale``; its logits are kept only on
content (the bag), never on the white surround or the belt. A grid patch's score is the highest
logit inside it, and the scan's score is the aggregate of its map (the maximum by default), so a
threat cut by a patch border is still seen whole, and a scan scores the same alone or in a batch.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

import cv2
import numpy as np
import torch

from .config import GridConfig
from .data.io import Scan
from .data.patches import content_fractions, content_mask, grid_boxes, resize_scan
from .dense_map import BACKGROUND, DenseMap

if TYPE_CHECKING:
    from .modelfile import ModelBundle
    from .models.threat_map import ThreatMapModel
    from .scoring import ScanResult

__all__ = ["BACKGROUND", "DenseMap", "dense_map", "grid_scores", "map_scan_result", "standardise"]


@torch.inference_mode()
def dense_map(net: torch.nn.Module, pixels: np.ndarray, scale: float, grid: GridConfig,
              device: torch.device) -> DenseMap:
    """Run ``net`` over the whole scan (float RGB [0, 1], H x W x 3) at ``scale``; background masked."""
    img = resize_scan(pixels, scale)
    x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None].to(device)
    if device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        logits = cast("ThreatMapModel", net.eval()).scoring_logits(x)[0, 0].float().cpu().numpy()
    content = content_mask(img, grid).astype(np.float32)
    h, w = logits.shape
    frac = cv2.resize(content, (w, h), interpolation=cv2.INTER_AREA)
    logits = np.where(frac > 0.0, logits, np.float32(BACKGROUND)).astype(np.float32)
    return DenseMap(logits, scale * h / img.shape[0])


def grid_scores(dmap: DenseMap, pixels: np.ndarray, grid: GridConfig) -> tuple[np.ndarray, np.ndarray]:
    """(content grid boxes, their scores from the map): the legacy patch view, derived from the map."""
    h, w = pixels.shape[:2]
    boxes = grid_boxes(w, h, grid.patch, grid.stride)
    frac = content_fractions(content_mask(pixels, grid), boxes)
    keep = boxes[frac >= grid.min_content]
    return keep, dmap.box_max(keep)


def map_scale(grid: GridConfig) -> float:
    """Map input pixels per scan pixel: the grid's patch is seen at ``input_size`` pixels, as by the GANs."""
    return grid.input_size / grid.patch


def map_logit_patches(bundle: ModelBundle, pixels: np.ndarray, device: torch.device
                      ) -> tuple[np.ndarray, np.ndarray, DenseMap]:
    """(content grid boxes, their raw patch logits, the raw map) of one scan."""
    dmap = dense_map(bundle.model, pixels, map_scale(bundle.grid), bundle.grid, device)
    boxes, logits = grid_scores(dmap, pixels, bundle.grid)
    return boxes, logits, dmap


def standardise(dmap: DenseMap, median: float, scale: float) -> DenseMap:
    """The map in score units (0 = the median held-out normal patch); background stays far below."""
    z = np.where(dmap.logits > BACKGROUND, (dmap.logits - median) / scale, np.float32(BACKGROUND))
    return DenseMap(z.astype(np.float32), dmap.scale)


def map_scan_result(bundle: ModelBundle, scan: Scan, device: torch.device, t0: float | None = None) -> ScanResult:
    """One scan through a map model: patch scores and the scan score both come from the one map."""
    from .scoring import ScanResult

    t0 = time.perf_counter() if t0 is None else t0
    head = bundle.score_head
    assert head is not None  # the Scorer refuses a bundle without one
    term = next(t for t in head.terms if t.name == "map")
    boxes, logits, dmap = map_logit_patches(bundle, scan.pixels, device)
    zmap = standardise(dmap, term.centre, term.scale / term.weight)
    scores = head.combine({"map": logits})
    m = scan.meta
    return ScanResult(
        path=m.path, name=scan.name, width=m.width, height=m.height, sha256=m.sha256, boxes=boxes,
        scores=scores, score=head.scan_score(scores), seconds=time.perf_counter() - t0,
        components={"map": logits}, threat_map=zmap,
    )
