"""bagscan's front-ends: the command line (app.cli) and the Qt window (app.main_window)."""

from engine import __version__

__all__ = ["__version__"]
