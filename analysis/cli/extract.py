"""``extract``: propose figures from an article, then append the reviewed ones to data/raw.

Two steps with a person in between (``docs/extraction.md``)::

    python -m analysis extract ARTICLE.txt --unit "Kon Rẫy, Kon Tum" --published 2021-08-23 --source NEW \\
        --publisher "Báo Kon Tum" --title "Kon Rẫy: ..." [--url URL] [--out FILE] [--raw DIR]
    python -m analysis extract --accept REVIEWED.csv [--raw DIR]

The first checks ``--unit`` against ``units.csv`` (naming the closest units
when it is not a district there), writes ``ARTICLE.candidates.csv`` in the
working directory (or ``--out``, never inside the raw folder) and prints the
candidates; it never overwrites a candidates file (it may hold a review)
unless ``--force``. ``--published`` may be partial (``2023-04``, ``2023``).
The file is made to be reviewed in a spreadsheet: a cell
that would run as a formula there (``=HYPERLINK(...)``, ``@...``) is written
with a leading ``'``, which ``--accept`` removes again
(:func:`analysis.text.review.neutralise_formulas`). The second appends the rows
marked ``accept`` = y to ``observations.csv`` (and the new source to
``sources.csv``) of the raw folder, after building the dataset on a copy of
the folder with those rows added: if any new row would be rejected, or
repeats a figure already there, nothing is written and the reasons are
printed (exit 1). Existing bytes of the raw files are never rewritten: rows
are appended, each with how it was entered (``entry_method``: ``extractor``,
``extractor_corrected`` or ``hand``, when the table has that column), and a
row of counts is appended to the review log (``review_log.csv`` beside the
raw folder: ``data/review_log.csv``).
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from analysis import paths
from analysis.errors import EXIT_OK, EXIT_PARTIAL, InputError, UsageError

if TYPE_CHECKING:  # pandas is imported by the functions that run, not by `--help`
    import pandas as pd

EXIT_CODES = """exit codes:
  0  candidates written / accepted rows appended (or nothing was accepted)
  1  accepted rows refused: they fail validation or repeat figures already in data/raw; nothing written
  2  usage error (a missing option, an unknown --unit, an existing candidates file without --force,
     --out inside the raw folder)
  3  input error: the article or reviewed file is missing, empty, binary, too large or not UTF-8"""

#: Columns of the printed table, and how wide the phrase may be.
SHOWN = ["obs_id", "locator", "indicator", "value", "qualifier", "unit_name", "dates", "confidence", "phrase"]
PHRASE_WIDTH = 48


def add_parsers(subparsers) -> None:
    """Register ``extract``."""
    parser = subparsers.add_parser(
        "extract",
        help="propose figures from a Vietnamese article; --accept appends reviewed ones to data/raw",
        description="Propose the figures of a Vietnamese article as candidate observations for review, or "
        "(with --accept) append the reviewed candidates to the raw tables.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("article", nargs="?", type=Path, help="the article as UTF-8 text (title on the first line)")
    parser.add_argument(
        "--accept",
        type=Path,
        metavar="REVIEWED.csv",
        help="append the rows of a reviewed candidates file whose accept column says y",
    )
    parser.add_argument("--unit", help='the district and province the article is about: "Kon Rẫy, Kon Tum"')
    parser.add_argument(
        "--published",
        help="publication date YYYY-MM-DD, or YYYY-MM / YYYY when only that much "
        "is known (leave out for an undated article)",
    )
    parser.add_argument("--source", help="source id in sources.csv, or NEW for an article not yet there")
    parser.add_argument("--publisher", default="", help="for a new source: the publisher as printed")
    parser.add_argument("--title", default="", help="for a new source: the article title as printed")
    parser.add_argument("--url", default="", help="for a new source: its URL (may be omitted)")
    parser.add_argument(
        "--kind",
        default="press",
        choices=("press", "portal", "statistics", "reference"),
        help="for a new source: its kind (default press)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="candidates file (default: ARTICLE.candidates.csv in the working directory)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing candidates file")
    parser.add_argument("--raw", type=Path, metavar="DIR", help="raw tables (default: data/raw)")
    parser.set_defaults(func=run_extract)


def run_extract(args: argparse.Namespace) -> int:
    """Dispatch to proposing (an article) or accepting (``--accept``)."""
    if (args.article is None) == (args.accept is None):
        raise UsageError("give either an ARTICLE to extract or --accept REVIEWED.csv", field="extract")
    raw = args.raw if args.raw is not None else paths.raw_dir()
    if args.accept is not None:
        return accept(args.accept, raw)
    return propose(args, raw)


# ---------------------------------------------------------------- step 1: propose


def propose(args: argparse.Namespace, raw: Path) -> int:
    """Write the candidates file of an article and print its candidates."""
    from analysis.text.extraction import extract_figures, read_article
    from analysis.text.review import neutralise_formulas, proposals
    from analysis.text.vietnamese import as_date
    from analysis.text.vocabulary import read_codebook
    from analysis.data.storage import csv_bytes, read_csv_table, replace_files

    for option in ("unit", "source"):
        if not getattr(args, option):
            raise UsageError(f"--{option} is required to extract an article", field=option)
    out = args.out if args.out is not None else Path.cwd() / f"{args.article.stem}.candidates.csv"
    if _inside(out, raw):
        raise UsageError(
            f"{out} is inside the raw folder {raw}; the candidates file is working material, write it elsewhere",
            field="out",
        )
    as_date(args.published)
    check_unit(args.unit, raw)
    if out.exists() and not args.force:
        raise UsageError(
            f"{out} exists and may hold your review; pass --force to overwrite it or --out another file", field="out"
        )
    text = read_article(args.article)
    known = set(read_csv_table(raw / "sources.csv")["source_id"])
    new_source = args.source not in known
    if new_source and not (args.publisher and args.title):
        raise UsageError(
            f"{args.source} is not in {raw / 'sources.csv'}: give --publisher and --title "
            "(and --url if it has one) so that --accept can add it",
            field="source",
        )
    found = extract_figures(
        text, unit=args.unit, published=args.published, source_id=args.source, codebook=read_codebook(raw)
    )
    details = {
        "publisher": args.publisher,
        "title": args.title,
        "published": args.published or "",
        "url": args.url,
        "language": "vi",
        "kind": args.kind,
        "accessed": date.today().isoformat(),
    }
    found = found.assign(
        article=args.article.name,
        proposed=proposals(found),
        **{f"source_{k}": (v if new_source else "") for k, v in details.items()},
    )
    replace_files({out.name: csv_bytes(neutralise_formulas(found))}, out.parent)
    print(candidates_table(found) if len(found) else "no figures found in the article")
    if args.published is None:
        print("note: no --published date, so figures stated 'up to now' have an unknown end")
    print(
        f"\n{len(found)} candidates written to {out}\n"
        "review: set accept on every row to y (keep), n (wrong) or s (right but not wanted), correcting a value, "
        "date or indicator where needed, then run\n"
        f"  python -m analysis extract --accept {out}"
    )
    return EXIT_OK


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or inside it, comparing real paths (links and ``..`` resolved)."""
    real, real_folder = path.resolve(), folder.resolve()
    return real == real_folder or real_folder in real.parents


def check_unit(unit: str, raw: Path) -> None:
    """Refuse a ``--unit`` that is not a district (or town, city) of ``units.csv``, naming the closest ones.

    Raises:
        UsageError: The name is unknown or ambiguous at district level.
    """
    from analysis.data.units import load_units, resolve_unit
    from analysis.text.extraction import split_unit

    district, province = split_unit(unit)
    try:
        resolve_unit(district, province or None, "district", units=load_units(raw / "units.csv"))
    except UsageError as err:
        raise UsageError(f"{unit!r} is not a district of {raw / 'units.csv'}: {err.message}", field="unit") from None


def candidates_table(found: pd.DataFrame) -> str:
    """The candidates as a readable table (one line each, the phrase shortened)."""
    shown = found.assign(
        locator=found["locator"].str.replace(r", chars .*$", "", regex=True),
        unit_name=found["unit_name"].where(
            found["scope"] == "district", found["unit_name"] + " (" + found["scope"] + ")"
        ),
        dates=found["as_of"].where(found["as_of"] != "", found["period_start"] + ".." + found["period_end"]),
        phrase=found["phrase"].str.replace(r"\s+", " ", regex=True).str.slice(0, PHRASE_WIDTH),
    )
    return shown[SHOWN].to_string(index=False)


# ---------------------------------------------------------------- step 2: accept


def accept(reviewed_path: Path, raw: Path) -> int:
    """Append the accepted rows of a reviewed candidates file to the raw tables, or refuse."""
    from analysis.text.review import accepted_candidates, duplicate_figures, raw_rows
    from analysis.data.storage import read_csv_table

    reviewed = read_csv_table(reviewed_path)
    accepted = accepted_candidates(reviewed, file=reviewed_path)
    if accepted.empty:
        print(
            f"nothing accepted in {reviewed_path} ({len(reviewed)} rows; write y in the accept column "
            "of the rows to keep)"
        )
        return EXIT_OK
    files = {name: raw / f"{name}.csv" for name in ("observations", "sources")}
    before = {name: path.read_bytes() for name, path in files.items() if path.exists()}
    existing = {name: read_csv_table(path) for name, path in files.items()}
    try:
        observations, sources = raw_rows(accepted, observations=existing["observations"], sources=existing["sources"])
    except InputError as err:  # a new source without details, or one already there: a refusal
        return refuse(raw, reviewed_path, [(err.row or accepted.index[0], err.message)])
    line_of = dict(zip(observations["obs_id"], accepted.index))
    problems = [
        (line_of[r.obs_id], f"repeats {r.duplicate_of} ({r.indicator} {r.value} for {r.unit_name})")
        for r in duplicate_figures(observations, existing["observations"]).itertuples()
    ]
    if not problems:
        problems = validation_problems(raw, observations, sources, line_of)
    if problems:
        return refuse(raw, reviewed_path, problems)
    if any(files[name].read_bytes() != content for name, content in before.items()):
        raise InputError("the raw tables changed while the rows were being checked; run --accept again", file=raw)
    if len(sources):
        append_rows(files["sources"], sources)
    append_rows(files["observations"], observations)
    log = append_review_log(raw, reviewed_path, reviewed, observations)
    first, last = observations["obs_id"].iloc[0], observations["obs_id"].iloc[-1]
    added = f" and source {', '.join(sources['source_id'])} to {files['sources']}" if len(sources) else ""
    print(
        f"appended {len(observations)} observations ({first}–{last}) to {files['observations']}{added}; "
        f"counts of this review appended to {log}\n"
        "rebuild the processed tables with: python -m analysis build"
    )
    return EXIT_OK


def refuse(raw: Path, reviewed_path: Path, problems: list[tuple]) -> int:
    """Print why the accepted rows are refused (``file:line: reason``); nothing was written."""
    print(f"refused: nothing appended to {raw}", file=sys.stderr)
    for line, problem in problems:
        print(f"{reviewed_path}:{line}: {problem}", file=sys.stderr)
    return EXIT_PARTIAL


def validation_problems(raw: Path, observations: pd.DataFrame, sources: pd.DataFrame, line_of: dict) -> list[tuple]:
    """Why the new rows would be rejected, from a build of a copy of the raw folder with them added."""
    from analysis.data.dataset import load_dataset

    with tempfile.TemporaryDirectory(prefix="accept-") as tmp:
        trial = Path(tmp) / "raw"
        shutil.copytree(raw, trial)
        if len(sources):
            append_rows(trial / "sources.csv", sources)
        append_rows(trial / "observations.csv", observations)
        rejects = load_dataset(trial).rejects
    new = set(observations["obs_id"]) | set(sources["source_id"])
    mine = rejects[rejects["record_id"].isin(new) & rejects["table"].isin(["observations", "sources"])]
    return [(line_of.get(r.record_id, "?"), f"{r.field} {r.value!r}: {r.reason}") for r in mine.itertuples()]


#: Columns the accept step fills that a raw table may lack (they are then left out).
OPTIONAL_COLUMNS = ("entry_method",)


def append_review_log(raw: Path, reviewed_path: Path, reviewed: pd.DataFrame, observations: pd.DataFrame) -> Path:
    """Append this review's counts to ``review_log.csv`` beside the raw folder (created with a header)."""
    import pandas as pd

    from analysis.text.review import EXTRACTOR_VERSION, REVIEW_LOG_COLUMNS, review_log

    log = raw.resolve().parent / "review_log.csv"
    articles = reviewed.get("article", pd.Series(dtype=str)).replace("", pd.NA).dropna()
    row = {
        "reviewed": date.today().isoformat(),
        "source_id": ";".join(dict.fromkeys(observations["source_id"])),
        "article": articles.iloc[0] if len(articles) else "",
        "candidates": reviewed_path.name,
        "extractor_version": EXTRACTOR_VERSION,
        **review_log(reviewed, observations["entry_method"].set_axis(observations.index)),
    }
    frame = pd.DataFrame([row], columns=list(REVIEW_LOG_COLUMNS)).astype(str)
    if not log.exists():
        log.write_text(",".join(REVIEW_LOG_COLUMNS) + "\n", encoding="utf-8")
    append_rows(log, frame)
    return log


def append_rows(path: Path, rows: pd.DataFrame) -> None:
    """Append rows to a raw CSV table in its own column order, never touching the bytes already there.

    A column of :data:`OPTIONAL_COLUMNS` the table does not have is left out.

    Raises:
        InputError: The table lacks a column the rows fill.
    """
    with path.open("rb") as handle:
        header = next(csv.reader([handle.readline().decode("utf-8-sig")]))
        size = handle.seek(0, 2)
        ends_with_newline = size == 0 or (handle.seek(size - 1) >= 0 and handle.read(1) == b"\n")
    filled = [c for c in rows.columns if (rows[c] != "").any() and c not in OPTIONAL_COLUMNS]
    missing = [c for c in filled if c not in header]
    if missing:
        raise InputError(f"no column {', '.join(missing)} to write the new rows into", file=path, row=1)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows.reindex(columns=[c.strip() for c in header], fill_value="").fillna("").to_numpy().tolist())
    with path.open("a", encoding="utf-8", newline="") as handle:
        if not ends_with_newline:
            handle.write("\n")
        handle.write(buffer.getvalue())
