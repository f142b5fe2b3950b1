"""Evaluation figures as PNG: ROC curve, score histograms, per-category recall.

matplotlib is imported inside each function so that ``import engine`` stays light and
works without it. Figures are built with the object API on an Agg canvas (never
pyplot): no global backend state, so a worker thread beside the Qt GUI can draw too.
Every PNG is written atomically: a report folder never holds half a figure.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.types import NORMAL, THREAT
from ..fsutil import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

NORMAL_COLOUR, THREAT_COLOUR, LINE_COLOUR = "#3b7dd8", "#d8453b", "#222222"
_DPI = 120


def _figure(width: float = 5.0, height: float = 4.0) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | Path) -> Path:
    p = Path(path)
    with atomic_write(p, "wb") as fh:
        fig.savefig(fh, format="png", dpi=_DPI)
    log.info("wrote %s", p)
    return p


def plot_roc(fpr: Any, tpr: Any, auc: float, operating_point: tuple[float, float] | None,
             path: str | Path) -> Path:
    """Scan-level ROC with the chance diagonal and the operating point (far, recall) marked."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls="--", lw=1, color="0.6", label="chance")
    auc_text = "n/a (one class)" if math.isnan(auc) else f"{auc:.3f}"
    ax.plot(np.asarray(fpr, float), np.asarray(tpr, float), lw=2, color=THREAT_COLOUR,
            label=f"ROC, AUC = {auc_text}")
    if operating_point is not None and not any(math.isnan(v) for v in operating_point):
        far, recall = operating_point
        ax.plot([far], [recall], "o", ms=8, color=LINE_COLOUR,
                label=f"operating point: recall {recall:.1%}, FAR {far:.1%}")
    ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), xlabel="false-alarm rate (normal scans flagged)",
           ylabel="recall (threat scans flagged)", title="Scan-level ROC")
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def _finite(values: Any) -> tuple[np.ndarray, int]:
    a = np.asarray(values, dtype=np.float64).ravel()
    keep = np.isfinite(a)
    return a[keep], int((~keep).sum())


def plot_score_histograms(normal_scores: Any, threat_scores: Any, threshold: float, path: str | Path) -> Path:
    """Normal and threat score distributions on shared bins with the threshold line (Zawar et al.,
    Fig. 6). Densities, not counts, because threat scans are usually far fewer than normal ones."""
    normal, n_drop = _finite(normal_scores)
    threat, t_drop = _finite(threat_scores)
    if n_drop or t_drop:
        log.warning("score histogram: %d non-finite scores left out (scans with no content patch?)",
                    n_drop + t_drop)
    both = np.r_[normal, threat]
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    if both.size:
        lo, hi = float(both.min()), float(both.max())
        if math.isfinite(threshold):
            lo, hi = min(lo, threshold), max(hi, threshold)
        n_bins = int(np.clip(2 * math.sqrt(both.size), 10, 60))
        bins = np.linspace(lo, hi if hi > lo else lo + 1.0, n_bins + 1)
        for data, colour, name in ((normal, NORMAL_COLOUR, NORMAL), (threat, THREAT_COLOUR, THREAT)):
            if data.size:
                flagged = float((data >= threshold).mean())
                ax.hist(data, bins=list(bins), density=True, alpha=0.55, color=colour,
                        label=f"{name} (n={data.size}, {flagged:.1%} flagged)")
    else:
        ax.text(0.5, 0.5, "no scores", ha="center", va="center", transform=ax.transAxes)
    if math.isfinite(threshold):
        ax.axvline(threshold, color=LINE_COLOUR, lw=1.5, ls="--", label=f"threshold {threshold:.4g}")
    ax.set(xlabel="scan anomaly score", ylabel="density", title="Anomaly scores")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return _save(fig, path)


def plot_category_recall(per_category: Mapping[str, Mapping[str, Any]], path: str | Path) -> Path:
    """Horizontal bars of recall per threat category (and hit rate when known), n beside each bar."""
    names = list(per_category)
    fig = _figure(6.0, max(2.5, 0.45 * len(names) + 1.5))
    ax = fig.add_subplot()
    if not names:
        ax.text(0.5, 0.5, "no threat scans", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return _save(fig, path)
    recall = np.array([float(per_category[n]["recall"]) for n in names])
    hits = np.array([float(per_category[n].get("hit_rate", math.nan)) for n in names])
    y = np.arange(len(names), dtype=float)
    show_hits = bool(np.isfinite(hits).any())
    h = 0.38 if show_hits else 0.6
    ax.barh(y - (h / 2 if show_hits else 0), recall, height=h, color=THREAT_COLOUR, label="recall")
    if show_hits:
        ax.barh(y + h / 2, np.nan_to_num(hits), height=h, color=NORMAL_COLOUR, label="hit rate (localised)")
    ends = np.fmax(recall, hits) if show_hits else recall
    for yi, name, r, end in zip(y, names, recall, ends, strict=True):
        ax.text(min(end, 1.0) + 0.01, yi, f"recall {r:.0%} (n={int(per_category[name]['n'])})", va="center",
                fontsize=8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1.3), xlabel="fraction of threat scans", title="Recall by threat category")
    ax.axvline(1.0, color="0.7", lw=0.8)
    ax.grid(axis="x", alpha=0.3)
    fig.legend(fontsize=8, loc="outside lower center", ncols=2)
    return _save(fig, path)
