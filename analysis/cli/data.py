"""``build`` and ``validate``: raw tables -> processed tables, or just the checks.

``python -m analysis build [--raw DIR] [--out DIR] [--quiet] [--wait S]`` validates the
raw tables, flags, computes the metrics (when :mod:`analysis.stats.metrics` is
present) and writes everything to the processed folder atomically, under its
lock. ``python -m analysis validate [DIR]`` does the same checks and writes
nothing. Both print rows in / used / rejected per table, flags per rule,
every rejected row and the data hash (:func:`analysis.reports.provenance.data_hash`
of the raw tables read), the one a report's provenance gives.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from analysis import paths
from analysis.errors import EXIT_OK, EXIT_PARTIAL

EXIT_CODES = """exit codes:
  0  success (quality flags are information, not errors)
  1  finished, but some raw rows were rejected (listed above the summary)
  2  usage error: --out is the raw folder or inside it; nothing written
  3  input error: a raw file is missing, empty, not UTF-8 or lacks a column; nothing written
  4  busy: another build holds the lock on the output folder; nothing written
  130 interrupted: the previous processed files are intact"""


def add_parsers(subparsers) -> None:
    """Register ``build`` and ``validate``.

    Args:
        subparsers: The ``add_subparsers()`` object of the main parser.
    """
    build = subparsers.add_parser(
        "build",
        help="validate data/raw and rebuild data/processed",
        description="Validate the raw tables, flag quality issues, compute metrics and write the processed "
        "tables atomically.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("--raw", type=Path, metavar="DIR", help="raw tables (default: data/raw)")
    build.add_argument("--out", type=Path, metavar="DIR", help="processed tables (default: data/processed)")
    build.add_argument("--quiet", action="store_true", help="print only notes, rejected rows and errors")
    build.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for another build holding the lock (default: 30)",
    )
    build.set_defaults(func=run_build)

    validate = subparsers.add_parser(
        "validate",
        help="check the raw tables and print flags and rejects (writes nothing)",
        description="Check the raw tables: rows rejected with their reasons, and quality flags. Writes nothing.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("raw", nargs="?", type=Path, metavar="DIR", help="raw tables (default: data/raw)")
    validate.set_defaults(func=run_validate)


def run_build(args: argparse.Namespace) -> int:
    """Build the processed tables.

    Args:
        args: Parsed arguments (``raw``, ``out``, ``quiet``, ``wait``).

    Returns:
        The exit status: 0, or 1 when rows were rejected.
    """
    from analysis.data.dataset import load_dataset, write_processed

    ds = load_dataset(args.raw)
    out = args.out if args.out is not None else paths.processed_dir()
    extra = metrics_tables(ds)
    write_processed(ds, out, extra_tables=extra, lock_timeout=args.wait)
    print_rejects(ds)
    if not args.quiet:
        print(format_summary(ds))
        print(f"wrote {', '.join(['observations', 'flags', 'rejects', *extra])} and build.json to {out}")
    return EXIT_PARTIAL if len(ds.rejects) else EXIT_OK


def run_validate(args: argparse.Namespace) -> int:
    """Check the raw tables and print what a build would reject and flag.

    Args:
        args: Parsed arguments (``raw``).

    Returns:
        The exit status: 0, or 1 when rows would be rejected.
    """
    from analysis.data.dataset import load_dataset

    ds = load_dataset(args.raw)
    print_rejects(ds)
    print(format_summary(ds))
    return EXIT_PARTIAL if len(ds.rejects) else EXIT_OK


def metrics_tables(ds) -> dict:
    """The metrics table to write with a build, when :mod:`analysis.stats.metrics` can compute it.

    Args:
        ds: The dataset being built.

    Returns:
        ``{"metrics": table}``, or ``{}`` when the module or its
        ``compute_metrics`` does not exist (yet).
    """
    try:
        metrics = importlib.import_module("analysis.stats.metrics")
    except ModuleNotFoundError as err:
        if err.name != "analysis.stats.metrics":  # the module exists but lacks a dependency: a real error
            raise
        return {}
    compute = getattr(metrics, "compute_metrics", None)
    return {"metrics": compute(ds.observations)} if compute is not None else {}


def print_rejects(ds) -> None:
    """Print the notes (``note: …``), then every rejected row, on stderr, one line each.

    A rejected row is ``rejected table.csv:line id field='value': reason``.

    Args:
        ds: The dataset.
    """
    for note in ds.notes:
        print(f"note: {note}", file=sys.stderr)
    for r in ds.rejects.itertuples(index=False):
        print(f"rejected {r.table}.csv:{r.line} {r.record_id} {r.field}={r.value!r}: {r.reason}", file=sys.stderr)


def format_summary(ds) -> str:
    """Rows in / used / rejected per table, flags per rule with severity, and the data hash.

    Args:
        ds: The dataset.

    Returns:
        A small plain-text table; its last line is ``data sha256 <64 hex>``
        (:func:`analysis.reports.provenance.data_hash` of the raw tables read).

    Examples:
        >>> import pandas as pd
        >>> from analysis.data.dataset import Dataset
        >>> empty = pd.DataFrame({"table": pd.Series(dtype=str), "rule": pd.Series(dtype=str),
        ...                       "line": pd.Series(dtype=int)})
        >>> print(format_summary(Dataset(empty, empty, empty, empty, empty, empty)).splitlines()[0])
        table               rows in   used  rejected
    """
    from analysis.data.quality import RULES
    from analysis.reports.provenance import data_hash

    summary = ds.summary()
    lines = [f"{'table':<18} {'rows in':>8} {'used':>6} {'rejected':>9}"]
    for table, n in summary["tables"].items():
        lines.append(f"{table + '.csv':<18} {n['in']:>8} {n['used']:>6} {n['rejected']:>9}")
    if summary["flags"]:
        lines.append("flags:")
        lines += [f"  {rule:<26} {RULES[rule]:<8} {count:>5}" for rule, count in summary["flags"].items()]
    else:
        lines.append("flags: none")
    lines.append(f"data sha256 {data_hash(ds.raw_files)} ({len(ds.raw_files)} raw tables)")
    return "\n".join(lines)
