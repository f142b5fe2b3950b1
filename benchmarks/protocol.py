"""The honest SIXray-dev protocol: who may see which scan.

* threat-free N* scans, split by content hash: 80% train (the training loop holds out
  its own validation share of these for selection and score statistics), 20% held out;
  the held-out 20% splits again into calibration hosts and evaluation hosts.
* threat P* scans, split by content hash into a library half (TIP threat sources and
  the semi-supervised variant's real threats) and an evaluation half.

Nothing from the evaluation halves reaches training, normalisation, thresholds or
model selection. Figures are computed on the evaluation halves only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.data import load_dataset
from engine.data.io import file_sha256
from engine.data.types import ScanRecord


@dataclass
class Split:
    train_normals: list[ScanRecord]
    calib_hosts: list[ScanRecord]
    eval_hosts: list[ScanRecord]
    library_threats: list[ScanRecord]
    eval_threats: list[ScanRecord]

    def eval_hashes(self) -> frozenset[str]:
        return frozenset(file_sha256(r.path) for r in self.eval_hosts + self.eval_threats)

    def describe(self) -> dict[str, int]:
        return {k: len(v) for k, v in self.__dict__.items()}


def _by_hash(records: list[ScanRecord], fractions: list[float], seed: int) -> list[list[ScanRecord]]:
    hashes = {r.path: file_sha256(r.path) for r in records}
    groups = sorted(set(hashes.values()))
    order = np.random.default_rng(seed).permutation(len(groups))
    cuts = np.cumsum([int(round(f * len(groups))) for f in fractions[:-1]])
    parts = np.split(order, cuts)
    out = []
    for part in parts:
        keep = {groups[i] for i in part}
        out.append([r for r in records if hashes[r.path] in keep])
    return out


def make_split(root: str, seed: int = 0, limit_threats: int = 0) -> Split:
    ds = load_dataset(root)
    train, calib, evalh = _by_hash(ds.normals, [0.8, 0.1, 0.1], seed)
    lib, ev = _by_hash([r for r in ds.threats if r.boxes], [0.5, 0.5], seed + 1)
    if limit_threats:
        ev = ev[:limit_threats]
    return Split(train, calib, evalh, lib, ev)
