"""The one definition of a model's score: which terms, their normalisation and weights, the scan aggregate.

A patch score is a weighted sum of standardised components::

    A = sum over terms of  weight * (raw[name] - centre) / scale

where ``raw[name]`` is a per-patch component the model outputs (engine.scoring: "recon" = mean
|x - x_hat|, "feat" = mean |f(x) - f(x_hat)|, "threat" = D's threat logit, ...), and ``centre``
and ``scale`` are its median and IQR on *held-out normal training patches*, so a scan scores
the same alone or in any batch. The classic mix is recon at ``eta``, feat at ``1 - eta`` and
threat at ``gamma``. The scan score is the ``aggregate`` of its patch scores: "max" (one
flagged region is enough) or "top-k-mean" (mean of the ``top_k`` highest).

Like anomalib's post-processor, the normalisation, the weights and the aggregate travel
together in one immutable object that the model file stores as one HDF5 group
(``/score_head``); every consumer (Scorer, remix, training, batch sessions, the GUI) reads it.
A new kind of term is one more :class:`Term` (and a component that the model outputs); a new
aggregate is one more name in :data:`AGGREGATES`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .config import ScoreConfig, check_aggregate
from .errors import ConfigError

#: The smallest scale a term may have: a constant component must not divide by zero.
MIN_SCALE = 1e-8


@dataclass(frozen=True)
class Term:
    """One standardised, weighted component of the patch score."""

    name: str  # the per-patch component it reads (engine.scoring.raw_components)
    centre: float  # median on held-out normal patches
    scale: float  # IQR on held-out normal patches (>= MIN_SCALE)
    weight: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.centre) and math.isfinite(self.weight)) or not self.scale > 0:
            raise ConfigError(f"score term {self.name!r}: centre and weight must be finite and scale > 0 ({self})")

    def z(self, raw: np.ndarray) -> np.ndarray:
        return (raw - self.centre) / self.scale


def scan_score(scores: np.ndarray, aggregate: str = "max", top_k: int = 1) -> float:
    """A scan's score from its patch scores; -inf for a scan without content patches."""
    if not len(scores):
        return float("-inf")
    if aggregate == "max":
        return float(scores.max())
    k = min(top_k, len(scores))
    return float(np.partition(scores, len(scores) - k)[len(scores) - k :].mean())


@dataclass(frozen=True)
class ScoreHead:
    """Terms (summed in this order), and how patch scores become a scan score. Immutable."""

    terms: tuple[Term, ...]
    aggregate: str = "max"
    top_k: int = 1

    def __post_init__(self) -> None:
        check_aggregate(self.aggregate, self.top_k)
        names = [t.name for t in self.terms]
        if not names or len(set(names)) != len(names):
            raise ConfigError(f"a score head needs distinct terms, not {names}")

    @classmethod
    def fit(cls, raw: Mapping[str, np.ndarray], config: ScoreConfig) -> ScoreHead:
        """Centre and scale of each weighted component present in ``raw`` (held-out normal patches)."""
        terms = []
        for name, weight in config.weights().items():
            if name in raw:
                q25, q50, q75 = np.percentile(raw[name].astype(np.float64), [25, 50, 75])
                terms.append(Term(name, float(q50), float(max(q75 - q25, MIN_SCALE)), float(weight)))
        return cls(tuple(terms), config.aggregate, config.top_k)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.terms)

    def has(self, name: str) -> bool:
        return name in self.names

    def weight(self, name: str) -> float:
        """A term's weight; 0 for a term the head does not have (it contributes nothing)."""
        return next((t.weight for t in self.terms if t.name == name), 0.0)

    def with_weight(self, name: str, weight: float) -> ScoreHead:
        """The same head with one term reweighted (the term must exist)."""
        if not self.has(name):
            raise ConfigError(f"this score has no {name!r} term (terms: {', '.join(self.names)})")
        return replace(self, terms=tuple(replace(t, weight=float(weight)) if t.name == name else t
                                         for t in self.terms))

    def combine(self, raw: Mapping[str, np.ndarray]) -> np.ndarray:
        """Patch scores (float32) from raw per-patch components."""
        missing = [n for n in self.names if n not in raw]
        if missing:
            raise ConfigError(f"the score needs component(s) {missing} that the model did not output")
        a: np.ndarray | None = None
        with np.errstate(all="ignore"):  # a broken model's NaN is an error the caller raises, not a warning
            for t in self.terms:
                part = t.weight * t.z(raw[t.name])
                a = part if a is None else a + part
        assert a is not None  # __post_init__: at least one term
        return a.astype(np.float32)

    def scan_score(self, scores: np.ndarray) -> float:
        return scan_score(scores, self.aggregate, self.top_k)

    def to_dict(self) -> dict[str, Any]:
        return {"aggregate": self.aggregate, "top_k": self.top_k,
                "terms": [{"name": t.name, "centre": t.centre, "scale": t.scale, "weight": t.weight}
                          for t in self.terms]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreHead:
        try:
            terms = tuple(Term(str(t["name"]), float(t["centre"]), float(t["scale"]), float(t["weight"]))
                          for t in data["terms"])
            return cls(terms, str(data.get("aggregate", "max")), int(data.get("top_k", 1)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"invalid score head: {exc!r}") from exc

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(attrs, datasets) for the model file's ``/score_head`` group; terms in summation order."""
        arrays = {"name": np.array([t.name.encode("utf-8") for t in self.terms]),
                  **{k: np.array([getattr(t, k) for t in self.terms], np.float64)
                     for k in ("centre", "scale", "weight")}}
        return {"aggregate": self.aggregate, "top_k": self.top_k}, arrays

    @classmethod
    def from_arrays(cls, attrs: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> ScoreHead:
        try:
            names = [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in np.asarray(arrays["name"]).tolist()]
            cols = {k: np.asarray(arrays[k], np.float64).tolist() for k in ("centre", "scale", "weight")}
            terms = [{"name": n, **{k: cols[k][i] for k in cols}} for i, n in enumerate(names)]
        except (KeyError, IndexError) as exc:
            raise ConfigError(f"invalid score head: missing {exc}") from exc
        agg = attrs.get("aggregate", "max")
        return cls.from_dict({"terms": terms, "aggregate": agg.decode() if isinstance(agg, bytes) else agg,
                              "top_k": attrs.get("top_k", 1)})

    def describe(self) -> str:
        terms = " + ".join(f"{t.weight:g}*{t.name}'" for t in self.terms)
        agg = self.aggregate if self.aggregate == "max" else f"mean of top {self.top_k}"
        return f"patch score {terms}; scan score {agg}"
