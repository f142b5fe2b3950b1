"""Configuration dataclasses: grid and training recipe (saved in every model file) and the score recipe.

They round-trip through plain dicts (JSON in HDF5 attributes), so a model is
rebuilt from its file without unpickling anything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build ``cls`` from ``data``, ignoring unknown keys (newer files) and keeping defaults."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k in names}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid {cls.__name__}: {exc}") from exc


@dataclass(frozen=True)
class GridConfig:
    """How a scan is cut into patches; identical at training and scoring time.

    ``patch`` and ``stride`` are in scan pixels; each patch is resized to
    ``input_size`` for the network. A pixel is *content* when its chroma
    (max - min over RGB, in [0, 1]) exceeds ``bg_chroma`` or its mean brightness
    is below ``bg_brightness``: white surround and the light-grey conveyor
    (about 190-215 of 255, neutral) are background. A patch whose content
    fraction is below ``min_content`` is skipped.
    """

    patch: int = 256
    stride: int = 256
    input_size: int = 64
    channels: int = 3
    bg_chroma: float = 0.10
    bg_brightness: float = 0.70
    min_content: float = 0.05

    def __post_init__(self) -> None:
        if self.patch < 8 or self.stride < 1 or self.input_size < 8:
            raise ConfigError(f"grid too small: patch={self.patch} stride={self.stride} input={self.input_size}")
        if self.channels not in (1, 3):
            raise ConfigError(f"channels must be 1 or 3, not {self.channels}")
        if not 0.0 <= self.min_content <= 1.0:
            raise ConfigError(f"min_content must lie in [0, 1], not {self.min_content}")


@dataclass(frozen=True)
class TrainConfig:
    """Training recipe; defaults documented in README (chosen by experiment)."""

    epochs: int = 15
    batch_size: int = 64  # patches per step (per rank under torchrun)
    lr: float = 0.0  # 0 = the model's recommended rate (AnomalyGAN.default_lr)
    lr_d: float = 0.0  # D's rate; 0 = the model's recommended D rate (AnomalyGAN.default_lr_d), else ``lr``
    beta1: float = 0.5  # Adam's betas: DCGAN's 0.5 keeps the adversarial game from oscillating
    beta2: float = 0.999
    w_adv: float = 1.0  # G's loss weights: adversarial, contextual (L1 to the target), latent (D features)
    w_con: float = 40.0
    w_lat: float = 1.0
    w_tip: float = 0.0  # augmentation loss (threat head / attention); 1 when augmenting, unless set
    val_fraction: float = 0.2  # threat-free scans held out (by scan) for selection and the score head
    seed: int = 0
    max_patches_per_scan: int = 64  # a cap per scan, so big scans do not dominate the pool
    d_reinit_threshold: float = 1e-5  # re-initialise D when its loss falls below this
    augment: bool = True  # flips and 90-degree turns


#: Scan aggregates: how a scan's patch scores become its score (engine.score_head.scan_score).
AGGREGATES = ("max", "top-k-mean")


def check_aggregate(aggregate: str, top_k: int) -> None:
    if aggregate not in AGGREGATES:
        raise ConfigError(f"unknown scan aggregate {aggregate!r} (expected one of {AGGREGATES})")
    if top_k < 1:
        raise ConfigError(f"top_k must be at least 1, not {top_k}")


@dataclass(frozen=True)
class ScoreConfig:
    """The recipe training fits the model's :class:`~engine.score_head.ScoreHead` with: term weights
    and the scan aggregate. Only components named in :meth:`weights` become terms; others a model
    outputs (an attention map) are kept beside the scores, never folded in.
    """

    eta: float = 0.9  # recon's weight; feat gets 1 - eta
    gamma: float = 1.0  # the threat head's weight (models with one); calibration may choose another
    aggregate: str = "max"
    top_k: int = 1  # for "top-k-mean"

    def __post_init__(self) -> None:
        check_aggregate(self.aggregate, self.top_k)

    def weights(self) -> dict[str, float]:
        # "map": a dense threat map's patch maximum (threat-map models output nothing else).
        return {"recon": self.eta, "feat": 1.0 - self.eta, "threat": self.gamma, "map": 1.0}
