"""Synthetic dual-energy X-ray scans and threat image projection (TIP).

In memory: :func:`render_bag` makes one scan, :func:`project` puts a
:class:`ThreatSprite` from a :class:`ThreatLibrary` into any scan. On disk:
:func:`generate` and :func:`tip_dataset` are generator jobs writing SIXray's layout.
"""

from .bags import BAG_KINDS, DEFAULT_SIZE, Scene, compose_scene, render_bag
from .jobs import generate, tip_dataset
from .render import attenuation, pseudo_colour, rgb_to_density, sensor, thickness_to_rgb
from .sprites import CutoutError, ThreatSprite
from .threats import THREAT_MODELS, draw_threat
from .tip import NoContentError, ThreatLibrary, project
from .writer import SixrayWriter, parse_size

__all__ = [
    "BAG_KINDS",
    "DEFAULT_SIZE",
    "THREAT_MODELS",
    "CutoutError",
    "NoContentError",
    "Scene",
    "SixrayWriter",
    "ThreatLibrary",
    "ThreatSprite",
    "attenuation",
    "compose_scene",
    "draw_threat",
    "generate",
    "parse_size",
    "project",
    "pseudo_colour",
    "render_bag",
    "rgb_to_density",
    "sensor",
    "thickness_to_rgb",
    "tip_dataset",
]
