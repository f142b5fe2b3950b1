"""Entry script of the frozen bundle: one analysis, two executables.

``bagscan`` (console) runs :func:`app.cli.main`; ``bagscan-gui`` (windowed) runs
:func:`app.__main__.main`. Both executables are built from this script and share
one PYZ; the executable's own name picks the front-end.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys

log = logging.getLogger("bagscan.launcher")


def main() -> int:
    """Dispatch on the executable's name (``bagscan-gui`` → window, anything else → CLI)."""
    multiprocessing.freeze_support()
    names = (sys.argv[0], sys.executable if getattr(sys, "frozen", False) else "")
    if any(os.path.splitext(os.path.basename(n))[0].lower().endswith("-gui") for n in names if n):
        from app.__main__ import main as gui_main

        return gui_main()
    from app.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
