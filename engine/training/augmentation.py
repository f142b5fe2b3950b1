"""Which training augmentation a run gets, decided in one place for the CLI and the benchmarks.

Three recipes: none (the faithful one-class training), TIP (threats projected into
normal patches, optionally with a labelled library's real threat patches for the
threat head: "semi"), and hard augmentation with masks (what two-stage's attention
learns from). TIP gives models that have a threat head one; both augmented recipes
switch on the augmentation loss (``w_tip``, 1 unless the caller set it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ..config import GridConfig, TrainConfig
from ..data.types import ScanRecord
from ..errors import DatasetError
from ..models import model_class
from .loop import Augmenter


def training_augmentation(model: str, model_config: Mapping[str, Any], cfg: TrainConfig, grid: GridConfig, *,
                          tip: bool = False, tip_threats: Sequence[ScanRecord] = (), semi: bool = False,
                          hard: bool = False) -> tuple[Augmenter | None, dict[str, Any], TrainConfig]:
    """(augmenter or None, model config, train config) for the recipe asked for.

    ``tip_threats`` are labelled threat scans whose boxes become the TIP library; they must
    never be scans that are evaluated. ``semi`` needs them.
    """
    config = dict(model_config)
    if semi and not tip_threats:
        raise DatasetError("semi-supervised TIP needs labelled threat scans with boxes (a TIP library)")
    if tip or tip_threats or semi:
        from .tip_augment import make_augmenter

        if model_class(model).has_threat_head:
            config = {"threat_head": True, **config}
        augmenter: Augmenter = make_augmenter(tip_threats, grid, semi=semi, seed=cfg.seed, synthetic=True)
        return augmenter, config, dataclasses.replace(cfg, w_tip=cfg.w_tip or 1.0)
    if hard or model_class(model).needs_masks:
        from .hard_augment import HardAugmenter

        return HardAugmenter(), config, dataclasses.replace(cfg, w_tip=cfg.w_tip or 1.0)
    return None, config, cfg
