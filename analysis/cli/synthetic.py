"""``python -m analysis synthetic``: write the SYNTHETIC national panel.

Examples:
    >>> parse_years("2014-2023")[:3], len(parse_years("2014-2023"))
    ([2014, 2015, 2016], 10)
    >>> parse_years("2019")
    [2019]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.errors import UsageError

#: The first and last year ``--years`` accepts.
FIRST_YEAR, LAST_YEAR = 1945, 2100


def parse_years(text: str) -> list[int]:
    """Years from ``2014-2023`` (inclusive) or a single ``2019``.

    Args:
        text: The ``--years`` argument.

    Returns:
        The years, in order.

    Raises:
        UsageError: Not a year or a range of years; a year outside
            1945-2100 (``FIRST_YEAR``, ``LAST_YEAR``); or a range whose
            later year comes first.

    Examples:
        >>> parse_years("2022-2023")
        [2022, 2023]
        >>> parse_years("1900-2100")
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: --years: '1900-2100': years must lie within 1945-2100
    """
    first, _, last = text.strip().partition("-")
    try:
        start, end = int(first), int(last or first)
    except ValueError:
        raise UsageError(f"{text!r} is not a year or a range of years like 2014-2023", field="--years") from None
    if not (FIRST_YEAR <= start <= LAST_YEAR and FIRST_YEAR <= end <= LAST_YEAR):
        raise UsageError(f"{text!r}: years must lie within {FIRST_YEAR}-{LAST_YEAR}", field="--years")
    if start > end:
        raise UsageError(f"{text!r}: give years from the earlier to the later, like 2014-2023", field="--years")
    return list(range(start, end + 1))


def add_parsers(subparsers) -> None:
    """Register the ``synthetic`` command."""
    parser = subparsers.add_parser(
        "synthetic",
        help="write a SYNTHETIC national panel in the raw schema (demonstrations, benchmarks)",
        description="Draw an invented panel of every district of the 63 provinces over several years, with gaps, "
        "hedges and disagreeing sources, and write it (marked SYNTHETIC) outside data/raw.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: synthetic/ at the repository root); never data/raw",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed writes the same bytes")
    parser.add_argument("--years", type=str, default="2014-2023", help="years covered, e.g. 2014-2023")
    parser.add_argument(
        "--provinces", type=str, default=None, help="comma-separated GSO province codes (default: all 63), e.g. 62,68"
    )
    parser.add_argument(
        "--codebook", type=Path, default=None, help="codebook to draw indicators from (default: data/raw/codebook.csv)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate and write the panel; print where it went."""
    from analysis.data import synthetic

    years = parse_years(args.years)
    provinces = [p.strip() for p in args.provinces.split(",") if p.strip()] if args.provinces else None
    panel = synthetic.generate_panel(
        synthetic.read_codebook(args.codebook), seed=args.seed, years=years, provinces=provinces
    )
    out = synthetic.write_panel(panel, args.out, seed=args.seed, years=years)
    districts = int((panel["units"]["level"] == "district").sum())
    print(
        f"wrote a SYNTHETIC panel to {out}: {districts} districts, {years[0]}-{years[-1]}, "
        f"{len(panel['observations'])} observations, {len(panel['context'])} context rows "
        f"(seed {args.seed}); not real data"
    )
    return 0
