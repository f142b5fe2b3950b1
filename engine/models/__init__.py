"""The model registry: one name -> one :class:`AnomalyGAN` subclass and its config dataclass.

Models register themselves with ``@register_model("name")``; the built-in
modules are imported at the bottom so the registry is full on first import.
A model is always rebuilt from ``create_model(name, **config_dict)`` (the dict
comes from JSON in a model file), never unpickled.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import ConfigError, UnknownModelError
from .base import AnomalyGAN, DiscOutput, GenOutput

log = logging.getLogger(__name__)

M = TypeVar("M", bound=type[AnomalyGAN])

_REGISTRY: dict[str, type[AnomalyGAN]] = {}


def register_model(name: str) -> Callable[[M], M]:
    """Class decorator: register ``cls`` under ``name``; ``cls.config_class`` must be a dataclass."""

    def deco(cls: M) -> M:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"model name {name!r} is already registered by {_REGISTRY[name].__name__}")
        if not dataclasses.is_dataclass(getattr(cls, "config_class", None)):
            raise TypeError(f"{cls.__name__} needs a dataclass `config_class` attribute")
        _REGISTRY[name] = cls
        return cls

    return deco


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def _lookup(name: str) -> type[AnomalyGAN]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownModelError(f"unknown model {name!r}; known models: {', '.join(list_models())}") from None


def model_class(name: str) -> type[AnomalyGAN]:
    """The class of model ``name``: what it can do before it is built (AnomalyGAN's class attributes)."""
    return _lookup(name)


def produces_map(name: str) -> bool:
    """Whether model ``name`` outputs a dense threat map (see AnomalyGAN.produces_map)."""
    return bool(_lookup(name).produces_map)


def gan_models() -> list[str]:
    """Registered names of the reconstruction GANs (netg + netd), sorted."""
    return [n for n in list_models() if _REGISTRY[n].is_gan]


def model_config_class(name: str) -> type[Any]:
    """The config dataclass of model ``name`` (for building defaults or validating a dict)."""
    return _lookup(name).config_class


def create_model(name: str, **config: Any) -> AnomalyGAN:
    """Build model ``name`` from config keyword arguments (lists become tuples, as JSON loses them).

    Unknown keys or bad values raise :class:`ConfigError`, so a model file with a
    mangled config is reported rather than crashing deep inside a constructor.
    """
    cls = _lookup(name)
    cfg_cls = cls.config_class
    names = {f.name for f in dataclasses.fields(cfg_cls)}
    unknown = sorted(set(config) - names)
    if unknown:
        raise ConfigError(f"model {name!r} has no config field(s) {unknown}; fields: {sorted(names)}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    try:
        cfg = cfg_cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid config for model {name!r}: {exc}") from exc
    log.debug("creating model %s with %s", name, cfg)
    return cls(cfg)


def check_common(cfg: Any) -> None:
    """Validation every config shares: input sizes and channel counts the whole app supports."""
    if cfg.input_size not in (32, 64, 128, 256, 512):
        raise ValueError(f"input_size must be a power of two in 32..512, not {cfg.input_size}")
    if cfg.channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {cfg.channels}")


# Importing the built-in model modules registers them.
from . import dsa, ganomaly, sagan, skip_ganomaly, skip_ganomaly_pp, threat_map, two_stage  # noqa: E402,F401

__all__ = [
    "AnomalyGAN", "DiscOutput", "GenOutput", "create_model", "gan_models", "list_models", "model_class",
    "model_config_class", "produces_map",
    "register_model",
]
