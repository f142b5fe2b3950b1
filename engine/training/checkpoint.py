"""Per-epoch checkpoints: a model file plus optimiser state, epoch and best weights.

Written atomically through :func:`engine.modelfile.save_model`, so Ctrl-C or a
crash mid-write keeps the last good checkpoint. Optimiser state is stored as
plain arrays and JSON, never pickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from ..errors import ModelFileError
from ..modelfile import ModelBundle, load_model, save_model


def checkpoint_path(out: str | Path) -> Path:
    p = Path(out)
    return p.with_name(p.stem + ".ckpt.h5")


def _opt_arrays(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    sd = opt.state_dict()
    arrays = {}
    for idx, state in sd["state"].items():
        for k, v in state.items():
            arrays[f"{prefix}/state/{idx}/{k}"] = torch.as_tensor(v).detach().cpu().numpy()
    return arrays, {"param_groups": sd["param_groups"]}


def _load_opt(f: h5py.File, prefix: str, opt: torch.optim.Optimizer, groups: dict[str, Any]) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    if f"{prefix}/state" in f:
        for idx, g in f[f"{prefix}/state"].items():
            state[int(idx)] = {k: torch.from_numpy(np.array(v)) for k, v in g.items()}
    opt.load_state_dict({"state": state, "param_groups": groups["param_groups"]})


def save_checkpoint(path: str | Path, bundle: ModelBundle, opt_g: torch.optim.Optimizer,
                    opt_d: torch.optim.Optimizer, epoch: int, best: dict[str, Any],
                    best_state: dict[str, torch.Tensor] | None) -> None:
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {"epoch": epoch, "best": best}
    for name, opt in (("opt_g", opt_g), ("opt_d", opt_d)):
        a, groups = _opt_arrays(name, opt)
        arrays.update(a)
        meta[name] = groups
    for k, v in (best_state or {}).items():
        arrays[f"best/{k}"] = v.detach().cpu().numpy()
    arrays["checkpoint_meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    save_model(bundle, path, extra_arrays=arrays)


def load_checkpoint(path: str | Path, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                    device: torch.device) -> tuple[ModelBundle, int, dict[str, Any], dict[str, torch.Tensor]]:
    """Returns (bundle, last finished epoch, best record, best weights)."""
    bundle = load_model(path, device)
    try:
        with h5py.File(path, "r") as f:
            meta = json.loads(bytes(np.array(f["checkpoint_meta"])).decode())
            bundle.model.to(device)
            _load_opt(f, "opt_g", opt_g, meta["opt_g"])
            _load_opt(f, "opt_d", opt_d, meta["opt_d"])
            best_state = {k: torch.from_numpy(np.array(v)) for k, v in f["best"].items()} if "best" in f else {}
    except (KeyError, ValueError) as exc:
        raise ModelFileError(path, f"not a resumable checkpoint: {exc}") from exc
    return bundle, int(meta["epoch"]), meta["best"], best_state
