"""The no-GAN, no-map baseline: a plain small CNN patch classifier on the same TIP and library patches.

It sees exactly what threat-map's training sees (engine.training.map_data: threat-free crops, projected
threats, the library's real threats and threat-free regions) but cut to one grid patch and labelled per
patch (threat present or not), with one logit per patch and the scan score their maximum. It answers
"does the dense map beat a plain supervised classifier given the same data and steps?".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.protocol import Split
from benchmarks.sixray_dev import GRID
from engine.data import read_scan
from engine.data.patches import extract_patches
from engine.scoring import ScanResult
from engine.training.map_data import CropSet, MapAugmenter, build_crops, tip_library

log = logging.getLogger(__name__)


class PatchCNN(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (16, 32, 48, 64)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for w in widths:
            layers += [nn.Conv2d(c, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                       nn.Conv2d(w, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            c = w
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).amax((2, 3))).squeeze(1)


def _crops(records: list, seed: int, threats: bool = False) -> list[CropSet]:
    scale = GRID.input_size / GRID.patch
    return [e for e in build_crops(records, scale, GRID.input_size, 12 if not threats else 4, seed, GRID,
                                   threats=threats) if isinstance(e, CropSet)]


def train_cnn(split: Split, steps: int, seed: int, batch: int = 32) -> tuple[Callable[[str], ScanResult], float]:
    """(score function for a scan path, training seconds)."""
    t0 = time.perf_counter()
    (normals,) = _crops(split.train_normals, seed)
    lib_clean, lib_real = _crops(split.library_threats, seed + 2, threats=True)
    library = tip_library(split.library_threats, seed)
    aug = MapAugmenter(normals, library, GRID.input_size / GRID.patch, GRID, real=lib_real,
                       real_clean=lib_clean)
    torch.manual_seed(seed)
    net = PatchCNN()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    rng = np.random.default_rng(seed)
    net.train()
    for step in range(steps):
        b = aug(batch, rng)
        y = torch.from_numpy((b.target.reshape(batch, -1).max(1) > 0).astype(np.float32))
        loss = F.binary_cross_entropy_with_logits(net(torch.from_numpy(b.x)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 300 == 0:
            log.info("cnn step %d loss %.4f", step + 1, float(loss))
    net.eval()

    @torch.inference_mode()
    def score(path: str) -> ScanResult:
        t = time.perf_counter()
        scan = read_scan(path)
        ps = extract_patches(scan.pixels, GRID)
        s = net(torch.from_numpy(ps.arrays)).numpy().astype(np.float32) if len(ps) else np.zeros(0, np.float32)
        m = scan.meta
        return ScanResult(m.path, scan.name, m.width, m.height, m.sha256, ps.boxes, s,
                          float(s.max()) if len(s) else float("-inf"), time.perf_counter() - t)

    return score, time.perf_counter() - t0

