"""Model files: HDF5 holding weights, configs, the score definition, calibration and a format version.

Layout (version 2), readable with plain h5py::

    /                attrs: format="bagscan-model", format_version, bagscan_version, model_name,
                            model_config, grid_config, train_config (JSON strings),
                            created (ISO time), history (JSON list of per-epoch dicts)
    /weights/<key>   one dataset per state_dict entry (netg.*, netd.*)
    /score_head      attrs aggregate, top_k; datasets name, centre, scale, weight: the terms of the
                     patch score in summation order (ScoreHead.to_arrays; absent before training ends)
    /calibration     attrs + datasets written by Calibration.to_arrays()

Version 1 files (``/score_stats`` and a ``score_config`` attribute instead of ``/score_head``)
load through :func:`engine.modelfile_v1.migrate_score` and score exactly as before; saving
writes version 2. Loading rebuilds the network from its config and copies the arrays in:
nothing is ever unpickled.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from . import __version__
from . import modelfile_checks as checks
from .calibration import Calibration
from .config import GridConfig, TrainConfig, from_dict, to_dict
from .errors import EngineError, ModelFileError
from .fsutil import temp_beside
from .modelfile_v1 import migrate_score
from .models import create_model
from .models.base import AnomalyGAN
from .score_head import ScoreHead

log = logging.getLogger(__name__)

FORMAT = "bagscan-model"
FORMAT_VERSION = 2
READS = (1, 2)


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """Everything a model file holds, in memory. Immutable: a change (new calibration, new score
    weights) is a new bundle, made by ``dataclasses.replace`` (engine.recalibration, training)."""

    name: str
    model: AnomalyGAN
    grid: GridConfig
    train: TrainConfig
    score_head: ScoreHead | None = None  # None until training has fitted it
    calibration: Calibration | None = None
    history: tuple[dict[str, Any], ...] = ()
    path: str = ""

    @property
    def model_config(self) -> dict[str, Any]:
        return to_dict(self.model.config)

    @property
    def scores_threat(self) -> bool:
        """Its patch score includes a threat-head term (so its weight, gamma, can be tuned)."""
        return self.score_head is not None and self.score_head.has("threat")


def _write_group(f: h5py.File, name: str, attrs: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    g = f.create_group(name)
    for k, v in attrs.items():
        g.attrs[k] = v
    for k, arr in arrays.items():
        g.create_dataset(k, data=arr)


def save_model(bundle: ModelBundle, path: str | Path, extra_arrays: dict[str, np.ndarray] | None = None) -> None:
    """Write atomically: a crash mid-save leaves the previous file intact."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_beside(p)  # named by owner (a rerun removes a killed save's file), mode from the umask
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["bagscan_version"] = __version__
            f.attrs["model_name"] = bundle.name
            f.attrs["model_config"] = json.dumps(bundle.model_config)
            f.attrs["grid_config"] = json.dumps(to_dict(bundle.grid))
            f.attrs["train_config"] = json.dumps(to_dict(bundle.train))
            f.attrs["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            f.attrs["history"] = json.dumps(list(bundle.history))
            w = f.create_group("weights")
            for key, tensor in bundle.model.state_dict().items():
                w.create_dataset(key, data=tensor.detach().cpu().numpy())
            if bundle.score_head is not None:
                _write_group(f, "score_head", *bundle.score_head.to_arrays())
            if bundle.calibration is not None:
                _write_group(f, "calibration", *bundle.calibration.to_arrays())
            for k, arr in (extra_arrays or {}).items():
                f.create_dataset(k, data=arr)
            f.flush()
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _attr_json(f: h5py.File, key: str, p: Path) -> Any:
    return checks.parse_json(checks.text_attr(f, key, p), key, p)


def load_model(path: str | Path, device: torch.device | str = "cpu") -> ModelBundle:
    """Rebuild a model from its file; every inconsistency is a ModelFileError naming the file.

    The checks (types, links, sizes, a self-check on a fixed input) are in
    :mod:`engine.modelfile_checks`; anything else a damaged file raises is turned into one too.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(p, "no such model file")
    try:
        bundle = _load(p, device)
        checks.self_check(bundle, p)
    except EngineError:
        raise
    except (OSError, KeyError, TypeError, ValueError, AttributeError, RuntimeError, IndexError,
            MemoryError) as exc:
        raise ModelFileError(p, f"damaged or invalid model file ({type(exc).__name__}: {str(exc)[:200]})") from exc
    log.info("loaded %s model from %s", bundle.name, p)
    return bundle


def _load(p: Path, device: torch.device | str) -> ModelBundle:
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise ModelFileError(p, f"not a readable HDF5 model file (truncated or corrupt): {exc}") from exc
    with f:
        if f.attrs.get("format") != FORMAT:
            raise ModelFileError(p, "not a bagscan model file")
        version = checks.format_version(f, p)
        if version not in READS:
            raise ModelFileError(p, f"format version {version}; this bagscan reads versions {READS}")
        name = checks.text_attr(f, "model_name", p)
        config = checks.json_object(_attr_json(f, "model_config", p), "model_config", p)
        if "weights" not in f:
            raise ModelFileError(p, "no weights group")
        stored = checks.weights(f["weights"], p)
        checks.sized_model(name, config, stored, p)  # before anything is allocated
        try:
            model = create_model(name, **config)
        except EngineError as exc:
            raise ModelFileError(p, f"cannot rebuild model {name!r}: {exc}") from exc
        state = {k: torch.from_numpy(np.array(ds)) for k, ds in stored.items()}
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ModelFileError(p, f"weights do not match the model config: {str(exc)[:300]}") from exc
        calibration = None
        if "calibration" in f:
            g = f["calibration"]
            calibration = Calibration.from_arrays(dict(g.attrs), {k: np.array(v) for k, v in g.items()})
        bundle = ModelBundle(
            name=name,
            model=model.to(device).eval(),
            grid=from_dict(GridConfig, checks.json_object(_attr_json(f, "grid_config", p), "grid_config", p)),
            train=from_dict(TrainConfig, checks.json_object(_attr_json(f, "train_config", p), "train_config", p)),
            score_head=_score_head(f, version, p),
            calibration=calibration,
            history=tuple(_attr_json(f, "history", p)) if "history" in f.attrs else (),
            path=str(p),
        )
    return bundle


def _score_head(f: h5py.File, version: int, p: Path) -> ScoreHead | None:
    """The score definition: the ``/score_head`` group, or a version-1 file's, migrated."""
    try:
        if version == 1:
            stats = checks.score_stats(f["score_stats"], p) if "score_stats" in f else {}
            score = checks.json_object(_attr_json(f, "score_config", p), "score_config", p)
            checks.score_config(score, p)
            return migrate_score(stats, score)
        if "score_head" not in f:
            return None
        g = f["score_head"]
        return ScoreHead.from_arrays(dict(g.attrs), checks.score_head_arrays(g, p))
    except ModelFileError:  # already names the file and the reason (engine.modelfile_checks)
        raise
    except EngineError as exc:
        raise ModelFileError(p, f"bad score definition: {exc}") from exc


def update_calibration(path: str | Path, calibration: Calibration) -> None:
    """Replace only the calibration group, atomically (copy, edit, rename)."""
    save_model(replace(load_model(path), calibration=calibration), path)


def file_sha256(path: str | Path) -> str:
    from .data.io import file_sha256 as _sha

    return _sha(path)
