"""The ``bagscan`` command: parse arguments, call the engine, print.

Each subcommand lives in its own module under :mod:`app.commands` with
``register(subparsers)``. Every module is imported to build the parser, so a
module's top level and its ``register`` stay light (standard library, small
engine modules): torch, OpenCV and Qt are imported inside the ``run`` function
that needs them, and ``bagscan --version`` or ``--help`` answers without them
(tests/unit/test_cli_startup.py).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import traceback
from collections.abc import Sequence

from engine import __version__
from engine.errors import Cancelled, EngineError
from engine.fsutil import reason

from . import commands

log = logging.getLogger("bagscan")

EXIT_ERROR, EXIT_CANCELLED = 1, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bagscan", description="X-ray baggage screening with GAN anomaly detection."
    )
    parser.add_argument("--version", action="version", version=f"bagscan {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose, args.quiet)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_CANCELLED
    except EngineError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"bagscan: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # the engine turns the ones it expects into EngineErrors; a last resort
        if args.verbose:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"bagscan: error: {where}{reason(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - a bug, but the user gets a line, the developer the traceback
        if args.verbose:
            traceback.print_exc()
        print(f"bagscan: internal error: {type(exc).__name__}: {one_line(str(exc))} "
              "(run with -v for the traceback)", file=sys.stderr)
        return EXIT_ERROR


def one_line(text: str) -> str:
    """Messages go into one line of a terminal or a log: no embedded newlines."""
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
