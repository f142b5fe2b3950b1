"""Format-1 model files: their score definition, migrated to a :class:`~engine.score_head.ScoreHead`.

Version 1 spread the score over ``/score_stats`` (``<component>_median`` / ``<component>_scale``
attributes) and the ``score_config`` JSON attribute (``eta``, ``aggregate``, ``extra["gamma"]``,
and a ``batch_size`` that was a runtime setting, now dropped). A component with statistics
was a term, except "attention", which was never folded into the score. Weights were
recon ``eta``, feat ``1 - eta`` and threat ``gamma`` (1 when absent), summed in that order,
so the migrated head scores bit for bit as version 1 did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import ScoreConfig
from .score_head import ScoreHead, Term


def migrate_score(stats: Mapping[str, float], score_config: Mapping[str, Any]) -> ScoreHead | None:
    """The v1 score as a head; None for a file saved before training fitted its statistics."""
    v1 = {"eta": 0.9, "gamma": 1.0, "aggregate": "max", **score_config, **(score_config.get("extra") or {})}
    cfg = ScoreConfig(eta=float(v1["eta"]), gamma=float(v1["gamma"]), aggregate=str(v1["aggregate"]))
    terms = tuple(Term(name, float(stats[f"{name}_median"]), float(stats[f"{name}_scale"]), weight)
                  for name, weight in cfg.weights().items() if f"{name}_median" in stats)
    return ScoreHead(terms, cfg.aggregate, cfg.top_k) if terms else None
