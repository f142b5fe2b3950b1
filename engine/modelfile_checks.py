"""Checks a model file passes before bagscan trusts it, each failure a ModelFileError naming the file.

A model file comes from anywhere (a colleague, a share, a download), so nothing in it is taken on
trust: attributes must have the type the format says, weights must be plain numeric datasets in
this file (no links out of it, no void or string payloads), the network the config describes is
sized on torch's meta device before any memory is allocated, and a loaded model must turn a fixed
input into finite scores. A model whose weights are NaN, or whose score scale is zero, would
otherwise pass every bag as clear.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from .errors import EngineError, ModelFileError

NUMERIC_KINDS = frozenset("fiub")
#: The self-check input: fixed, so a model passes or fails the same way on every machine.
SELF_CHECK_SEED, SELF_CHECK_PATCHES = 1234, 4


def format_version(f: h5py.File, p: Path) -> int:
    raw = f.attrs.get("format_version", None)
    if raw is None:
        raise ModelFileError(p, "missing attribute 'format_version'")
    try:
        value = float(np.asarray(raw).item()) if not isinstance(raw, (str, bytes)) else float(raw)
    except (TypeError, ValueError):
        raise ModelFileError(p, f"format_version {_show(raw)} is not a number") from None
    if not value.is_integer():
        raise ModelFileError(p, f"format_version {_show(raw)} is not a whole number")
    return int(value)


def text_attr(f: h5py.File, key: str, p: Path) -> str:
    if key not in f.attrs:
        raise ModelFileError(p, f"missing attribute {key!r}")
    v = f.attrs[key]
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if not isinstance(v, str):
        raise ModelFileError(p, f"attribute {key!r} is not text")
    return v


def json_object(value: Any, key: str, p: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ModelFileError(p, f"attribute {key!r} must be a JSON object, not {type(value).__name__}")
    return value


def typed_config(cls: type, data: dict[str, Any], key: str, p: Path) -> None:
    """Every field given for a config dataclass has the type the dataclass declares."""
    kinds = {"float": (int, float), "int": (int,), "bool": (bool,), "str": (str,), "dict[str, Any]": (dict,)}
    for fld in dataclasses.fields(cls):
        if fld.name not in data:
            continue
        want = kinds.get(str(fld.type))
        v = data[fld.name]
        if want is not None and (not isinstance(v, want) or (want != (bool,) and isinstance(v, bool)
                                                            and str(fld.type) != "bool")):
            raise ModelFileError(p, f"{key}.{fld.name} is {_show(v)}, not a {fld.type}")
        if isinstance(v, float) and not math.isfinite(v):
            raise ModelFileError(p, f"{key}.{fld.name} is {v}, not a finite number")


def score_config(data: dict[str, Any], p: Path) -> None:
    from .config import ScoreConfig

    typed_config(ScoreConfig, data, "score_config", p)
    if "eta" in data and not 0.0 <= float(data["eta"]) <= 1.0:
        raise ModelFileError(p, f"score_config.eta is {data['eta']}, outside [0, 1]")
    for k, v in (data.get("extra") or {}).items():
        if k in ("gamma",) and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
            raise ModelFileError(p, f"score_config.extra.{k} is {_show(v)}, not a finite number")


def score_stats(group: h5py.Group, p: Path) -> dict[str, float]:
    """Medians and scales: finite real numbers, every scale above zero (a zero scale divides by zero)."""
    out: dict[str, float] = {}
    for k, v in group.attrs.items():
        a = np.asarray(v)
        if a.dtype.kind not in "fiu" or a.size != 1:
            raise ModelFileError(p, f"score_stats.{k} is not a number (type {a.dtype})")
        x = float(a.reshape(-1)[0])
        if not math.isfinite(x):
            raise ModelFileError(p, f"score_stats.{k} is {x}, not a finite number")
        if k.endswith("_scale") and x <= 0:
            raise ModelFileError(p, f"score_stats.{k} is {x}: a score scale must be above zero")
        out[k] = x
    return out


def weights(group: Any, p: Path, prefix: str = "") -> dict[str, h5py.Dataset]:
    """Weight datasets by state_dict key; links (external or soft) and non-numeric data are refused."""
    if not isinstance(group, h5py.Group):
        raise ModelFileError(p, "weights is not a group")
    out: dict[str, h5py.Dataset] = {}
    for k in group:
        link = group.get(k, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            raise ModelFileError(p, f"weight {prefix + k!r} is a link to another file ({link.filename}): refused")
        if isinstance(link, h5py.SoftLink):
            raise ModelFileError(p, f"weight {prefix + k!r} is a soft link: refused")
        v = group[k]
        if isinstance(v, h5py.Group):
            out.update(weights(v, p, prefix + k + "/"))
            continue
        if not isinstance(v, h5py.Dataset) or v.dtype.kind not in NUMERIC_KINDS or v.dtype.fields:
            kind = getattr(getattr(v, "dtype", None), "kind", "?")
            name = {"V": "void (opaque bytes)", "S": "byte strings", "O": "objects", "U": "text"}.get(kind, kind)
            raise ModelFileError(p, f"weight {prefix + k!r} holds {name}, not numbers")
        out[prefix + k] = v
    return out


def sized_model(name: str, config: dict[str, Any], stored: dict[str, h5py.Dataset], p: Path) -> None:
    """Build the described network on the meta device (no memory) and compare it with the stored weights,
    so a config asking for billions of parameters is refused before anything is allocated."""
    try:
        want = _meta_shapes(name, json.dumps(config, sort_keys=True))
    except EngineError as exc:
        raise ModelFileError(p, f"cannot rebuild model {name!r}: {exc}") from exc
    except NotImplementedError:  # a layer that cannot be built on the meta device: load_state_dict checks
        return
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(p, f"model_config does not describe a {name!r} model: {str(exc)[:200]}") from exc
    n = sum(math.prod(s) for s in want.values())
    missing = sorted(set(want) - set(stored))
    extra = sorted(set(stored) - set(want))
    wrong = [k for k in want if k in stored and tuple(stored[k].shape) != want[k]]
    if missing or extra or wrong:
        what = (f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}" if extra else
                f"{wrong[0]} has shape {tuple(stored[wrong[0]].shape)}, the config needs {want[wrong[0]]}")
        raise ModelFileError(p, f"weights do not match model_config ({n:,} parameters): {what}")


def score_head_arrays(group: h5py.Group, p: Path) -> dict[str, np.ndarray]:
    """The ``/score_head`` datasets: term names as text, centre, scale and weight as numbers."""
    out: dict[str, np.ndarray] = {}
    for k in group:
        link = group.get(k, getlink=True)
        if isinstance(link, (h5py.ExternalLink, h5py.SoftLink)):
            raise ModelFileError(p, f"score_head/{k} is a link: refused")
        v = group[k]
        if not isinstance(v, h5py.Dataset):
            raise ModelFileError(p, f"score_head/{k} is not a dataset")
        a = np.array(v)
        if k == "name":
            if a.dtype.kind not in "SUO" or a.ndim != 1:
                raise ModelFileError(p, "score_head/name must list the term names as text")
        elif a.dtype.kind not in "fiu":
            raise ModelFileError(p, f"score_head/{k} holds {a.dtype} values, not numbers")
        out[k] = a
    return out


@functools.lru_cache(maxsize=32)
def _meta_shapes(name: str, config_json: str) -> dict[str, tuple[int, ...]]:
    """State-dict shapes of a network built on the meta device; cached, since that build is slower than a
    real one of a small model and a process loads the same few configs again and again."""
    from .models import create_model

    with torch.device("meta"):
        meta = create_model(name, **json.loads(config_json))
    return {k: tuple(t.shape) for k, t in meta.state_dict().items()}


def self_check(bundle: Any, p: Path) -> None:
    """Score a fixed input through the model's own scoring path (patches or dense map); a model whose
    output is not finite (NaN weights, an infinite term) is refused: it would pass every bag as clear."""
    from .data.io import Scan, ScanMeta
    from .errors import ScoreError
    from .scoring import Scorer, raw_components

    g = bundle.grid
    rng = np.random.default_rng(SELF_CHECK_SEED)
    device = next(bundle.model.parameters(), torch.zeros(0)).device
    try:
        if bundle.score_head is None:  # saved before training fitted its score: the raw outputs only
            if bundle.model.produces_map:
                return
            x = rng.random((SELF_CHECK_PATCHES, g.channels, g.input_size, g.input_size), dtype=np.float32)
            raw = raw_components(bundle.model, x, device, SELF_CHECK_PATCHES)
            if not all(np.all(np.isfinite(v)) for v in raw.values()):
                raise ScoreError(p, "raw output not finite")
            return
        side = 2 * g.patch  # a few patches of coloured noise: content everywhere, nothing skipped as background
        pixels = rng.random((side, side, 3), dtype=np.float32)
        Scorer(bundle, device=device).score_scan(Scan(pixels, ScanMeta(str(p), side, side, 3, 8, "")))
    except ScoreError as exc:
        raise ModelFileError(p, "self-check failed: the model's score output is not finite (NaN or infinite "
                                "weights?): refused, it would pass every bag as clear") from exc
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise ModelFileError(p, f"self-check failed: the model cannot score a patch ({str(exc)[:200]})") from exc


def parse_json(raw: str, key: str, p: Path) -> Any:
    try:
        return json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(p, f"attribute {key!r} is not valid JSON") from exc


def _show(v: Any) -> str:
    text = repr(v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
    return text if len(text) <= 40 else text[:37] + "..."
