"""The command line: ``python -m analysis COMMAND``.

Each command lives in its own module of this package (``data``: build and
validate; ``report``: the report runner and the kernel; ``extract``: figures
from articles; ``synthetic``: the synthetic national panel). Every module
exposes ``add_parsers(subparsers)``, which registers its commands with a
``func(args) -> int`` default. Errors the user
can fix are printed as one line, never a traceback, and mapped to the exit
codes documented in :mod:`analysis.errors`. An ``OSError`` that no command
turned into such an error (the system refused to read or write a file) is
an input error too: one line naming the file, exit 3.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys

from analysis.errors import EXIT_INPUT, EXIT_INTERRUPTED, AnalysisError

COMMAND_MODULES = ("data", "report", "extract", "synthetic")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered.

    Examples:
        >>> parser = build_parser()
        >>> parser.prog
        'python -m analysis'
    """
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Sourced figures on district party organisations: build, validate, report, extract.",
        epilog="Exit codes: 0 ok, 1 rows rejected or jobs failed, 2 usage, 3 input, 4 busy, 130 interrupted.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"analysis.cli.{name}").add_parsers(subparsers)
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit status.

    SIGTERM (what cron, systemd and schedulers send) is handled like Ctrl-C:
    the command cleans up (an interrupted report run writes a truthful index)
    and exits 130.
    """
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return int(args.func(args) or 0)
    except AnalysisError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted; outputs written before the interruption are intact", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as err:  # the system refused a read or write (permission, full disk): an input problem, not a bug
        if args.debug:
            raise
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return EXIT_INPUT
    except Exception as err:  # an internal bug: one line unless --debug
        if args.debug:
            raise
        print(f"internal error: {type(err).__name__}: {err} (rerun with --debug for the traceback)", file=sys.stderr)
        return 70
