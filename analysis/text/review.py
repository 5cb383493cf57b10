"""Reviewed candidates -> rows for the raw tables (the ``--accept`` step).

The candidates file is reviewed in a spreadsheet (:func:`neutralise_formulas`
keeps its cells from running as formulas); :func:`accepted_candidates` reads
the reviewer's answers, :func:`raw_rows` turns them into observation and
source rows with their provenance, and :func:`duplicate_figures` finds rows
that repeat a figure already kept.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.errors import InputError

#: Written into the provenance note of accepted rows.
EXTRACTOR_VERSION = "2.0"

#: The candidates file: the raw observation columns (a copy of data.schema.OBSERVATION_COLUMNS, which this
#: layer cannot import; tests/test_layering.py holds them equal), then what the reviewer needs.
OBSERVATION_COLUMNS = (
    "obs_id",
    "source_id",
    "locator",
    "unit_name",
    "province",
    "scope",
    "indicator",
    "value",
    "unit",
    "qualifier",
    "as_of",
    "period_start",
    "period_end",
    "period_end_basis",
    "status",
    "note",
)
REVIEW_COLUMNS = ("span_start", "span_end", "phrase", "confidence", "parent_candidate", "accept")
CANDIDATE_COLUMNS = OBSERVATION_COLUMNS + REVIEW_COLUMNS


#: What a reviewer may write in ``accept``: yes; no (the figure is wrong); skip (right, but not wanted).
ACCEPT_YES = frozenset({"y", "yes", "1", "true", "x"})
ACCEPT_NO = frozenset({"n", "no", "0", "false", ""})
ACCEPT_SKIP = frozenset({"s", "skip"})
#: How an observation was entered (the ``entry_method`` column of observations.csv).
ENTRY_METHODS = ("extractor", "extractor_corrected", "hand")
#: The fields of a proposal a reviewer may correct; the candidates file keeps them as proposed in ``proposed``.
PROPOSAL_FIELDS = (
    "obs_id",
    "indicator",
    "value",
    "unit",
    "qualifier",
    "as_of",
    "period_start",
    "period_end",
    "unit_name",
    "scope",
)
#: The columns of the review log (one row per accepted candidates file).
REVIEW_LOG_COLUMNS = (
    "reviewed",
    "source_id",
    "article",
    "candidates",
    "extractor_version",
    "proposed",
    "accepted_unchanged",
    "corrected",
    "added_by_hand",
    "rejected_wrong",
    "rejected_not_wanted",
)
#: Source details the extract command carries in every candidate row (for a source not yet in sources.csv).
SOURCE_FIELDS = ("publisher", "title", "published", "url", "language", "kind", "accessed")
#: What identifies a figure: the same source printing the same number for the same thing, place and date.
FIGURE_KEY = ("source_id", "indicator", "unit_name", "value", "as_of", "period_start", "period_end")


#: The start of a cell a spreadsheet runs as a formula: ``=``, ``+``, ``@``, a tab, a carriage return, or ``-``
#: before anything but a plain number (``-3`` and ``-0.5`` stay numbers).
_FORMULA_START = r"(?:[=+@\t\r]|-(?!\d*\.?\d+\Z))"


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A table to be opened in a spreadsheet, its formula-like text cells prefixed with ``'``.

    The candidates file is reviewed in a spreadsheet, and its cells hold
    text from the command line and from the article: a title such as
    ``=HYPERLINK(...)`` would run as a formula. A text cell that starts like
    a formula (see ``_FORMULA_START``), possibly after quotes, gets one more
    ``'`` in front, which spreadsheets show as text; numbers such as ``-3``
    are left alone. :func:`restore_formulas` undoes it exactly, so the text
    reaches ``data/raw`` as typed. Only the candidates file is written this
    way: processed tables are data for pandas and R and keep every cell as is.

    Args:
        frame: The table (text columns are changed; other columns kept).

    Returns:
        A copy with the formula-like cells prefixed.

    Examples:
        >>> cells = pd.DataFrame({"c": ["=SUM(A1:A9)", "@Báo", "-3", "-x", "'=1", "'quoted'", "a=b"]})
        >>> neutralise_formulas(cells)["c"].tolist()
        ["'=SUM(A1:A9)", "'@Báo", '-3', "'-x", "''=1", "'quoted'", 'a=b']
        >>> restore_formulas(neutralise_formulas(cells)).equals(cells)
        True
    """
    return _change_formula_cells(frame, f"'*{_FORMULA_START}", lambda column: "'" + column)


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The text of a table written by :func:`neutralise_formulas`, as it was before: one ``'`` removed.

    Only a cell that :func:`neutralise_formulas` would have written is
    changed (a ``'`` followed by formula-like text): a title that happens to
    start with a quote is kept, and a cell whose quote a spreadsheet dropped
    on saving is already as typed.

    Args:
        frame: A table read back from a file written with :func:`neutralise_formulas`.

    Returns:
        A copy with those cells restored.

    Examples:
        >>> restore_formulas(pd.DataFrame({"c": ["'=1", "''=1", "=1", "'quoted'", "'-3", ""]}))["c"].tolist()
        ['=1', "'=1", '=1', "'quoted'", "'-3", '']
    """
    return _change_formula_cells(frame, f"'+{_FORMULA_START}", lambda column: column.str.slice(1))


def _change_formula_cells(frame: pd.DataFrame, pattern: str, change) -> pd.DataFrame:
    """``change`` the cells of the text columns that match ``pattern`` at their start."""
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c])]
    return frame.assign(**{c: frame[c].mask(frame[c].str.match(pattern, na=False), change(frame[c])) for c in text})


def accepted_candidates(reviewed: pd.DataFrame, *, file: Path | str) -> pd.DataFrame:
    """The rows of a reviewed candidates table whose ``accept`` says yes.

    Cells the candidates file neutralised for the spreadsheet (a leading
    ``'``, :func:`neutralise_formulas`) are restored as typed.

    Args:
        reviewed: The candidates table as read back (text; the index is the
            line number in the file, as :func:`analysis.data.storage.read_csv_table`
            gives it).
        file: The file's name, for messages.

    Returns:
        The accepted rows, in file order, with their text as typed.

    Raises:
        InputError: A column is missing, or an ``accept`` cell is neither
            yes (``y``, ``yes``, ``1``, ``true``, ``x``), no (``n``, ``no``,
            ``0``, ``false``, empty: the figure is wrong) nor skip (``s``,
            ``skip``: right, but not wanted); the message names the line.

    Examples:
        >>> table = pd.DataFrame({c: [""] * 3 for c in CANDIDATE_COLUMNS}, index=[2, 3, 4])
        >>> table["accept"] = ["y", " N", "X"]
        >>> accepted_candidates(table, file="c.csv").index.tolist()
        [2, 4]
        >>> table.loc[3, "accept"] = "maybe"
        >>> accepted_candidates(table, file="c.csv")
        Traceback (most recent call last):
        ...
        analysis.errors.InputError: c.csv:3: accept: 'maybe' is neither yes (y, yes, 1, true, x), no ...
    """
    missing = [
        c
        for c in (*OBSERVATION_COLUMNS, "span_start", "span_end", "parent_candidate", "accept")
        if c not in reviewed.columns
    ]
    if missing:
        raise InputError(f"not a candidates table: missing column(s) {', '.join(missing)}", file=file, row=1)
    answer = answers(reviewed)
    unknown = ~answer.isin(ACCEPT_YES | ACCEPT_NO | ACCEPT_SKIP)
    if unknown.any():
        line = unknown.idxmax()
        raise InputError(
            f"{reviewed.loc[line, 'accept']!r} is neither yes (y, yes, 1, true, x), no "
            "(n, no, 0, false, empty) nor skip (s, skip)",
            file=file,
            row=line,
            field="accept",
        )
    return restore_formulas(reviewed.loc[answer.isin(ACCEPT_YES)])


def answers(reviewed: pd.DataFrame) -> pd.Series:
    """The reviewer's ``accept`` cells, trimmed and lowercased."""
    return reviewed["accept"].fillna("").astype(str).str.strip().str.lower()


def proposals(candidates: pd.DataFrame) -> pd.Series:
    """What each candidate proposed, as one text (:data:`PROPOSAL_FIELDS` joined), for the ``proposed`` column.

    The extract command writes it into the candidates file; ``--accept``
    compares it with the row as reviewed to tell an unchanged proposal from
    a corrected one, and a row the reviewer added (none, or another row's).

    Examples:
        >>> proposals(pd.DataFrame({c: ["x"] for c in PROPOSAL_FIELDS})).iloc[0]
        'x|x|x|x|x|x|x|x|x|x'
    """
    fields = candidates[list(PROPOSAL_FIELDS)].fillna("").astype(str)
    return fields.agg("|".join, axis=1) if len(fields) else pd.Series([], dtype=str)


def entry_methods(accepted: pd.DataFrame) -> pd.Series:
    """How each accepted row was entered: ``extractor`` (as proposed), ``extractor_corrected`` (the reviewer
    changed the indicator, value, unit, qualifier, dates or place), or ``hand`` (a row the reviewer added: no
    proposal, a proposal of another id, or a second copy of one).

    Examples:
        >>> rows = pd.DataFrame({c: ["v", "v", "v"] for c in PROPOSAL_FIELDS}).assign(obs_id=["N1", "N1", "N2"])
        >>> rows["proposed"] = proposals(rows)
        >>> rows.loc[2, "value"] = "w"
        >>> entry_methods(rows).tolist()
        ['extractor', 'hand', 'extractor_corrected']
    """
    carried = _carried(accepted)
    own = _own_proposals(accepted)
    unchanged = proposals(accepted) == carried
    method = pd.Series("hand", index=accepted.index)
    return method.mask(own, "extractor_corrected").mask(own & unchanged, "extractor")


def _carried(rows: pd.DataFrame) -> pd.Series:
    """The ``proposed`` text each row carries (empty for a row typed from scratch)."""
    return rows.get("proposed", pd.Series("", index=rows.index)).fillna("").astype(str)


def _own_proposals(rows: pd.DataFrame) -> pd.Series:
    """Rows that are the extractor's own proposal: they carry the proposal made under their id, once (a row the
    reviewer copied to add a figure carries another id's proposal, or a second copy of one)."""
    carried = _carried(rows)
    return (carried.str.split("|").str[0] == rows["obs_id"].astype(str)) & ~carried.duplicated() & (carried != "")


def review_log(reviewed: pd.DataFrame, methods: pd.Series) -> dict:
    """The counts of one review: proposals, what was kept unchanged, corrected, added, rejected (wrong or not
    wanted). ``methods`` are the :func:`entry_methods` of the accepted rows.

    Examples:
        >>> table = pd.DataFrame({c: ["v"] * 3 for c in PROPOSAL_FIELDS}).assign(obs_id=["N1", "N2", "N3"])
        >>> table = table.assign(proposed=proposals(table), accept=["y", "n", "skip"])
        >>> log = review_log(table, pd.Series(["extractor"]))
        >>> log["proposed"], log["accepted_unchanged"], log["rejected_wrong"], log["rejected_not_wanted"]
        (3, 1, 1, 1)
    """
    answer = answers(reviewed)
    proposed = _own_proposals(reviewed)
    counts = methods.value_counts()
    return {
        "proposed": int(proposed.sum()),
        "accepted_unchanged": int(counts.get("extractor", 0)),
        "corrected": int(counts.get("extractor_corrected", 0)),
        "added_by_hand": int(counts.get("hand", 0)),
        "rejected_wrong": int((proposed & answer.isin(ACCEPT_NO)).sum()),
        "rejected_not_wanted": int((proposed & answer.isin(ACCEPT_SKIP)).sum()),
    }


def next_ids(existing: pd.Series, prefix: str, count: int, width: int) -> list[str]:
    """``count`` new ids continuing the sequence ``prefix`` + digits.

    Examples:
        >>> next_ids(pd.Series(["O0001", "O0032", "C0004"]), "O", 2, 4)
        ['O0033', 'O0034']
        >>> next_ids(pd.Series(["S000", "S103"]), "S", 1, 3), next_ids(pd.Series([], dtype=str), "O", 1, 4)
        (['S104'], ['O0001'])
    """
    digits = existing.astype(str).str.extract(rf"^{prefix}(\d+)$")[0].dropna()
    first = int(digits.astype(int).max()) + 1 if len(digits) else 1 if prefix == "O" else 0
    width = max([width, *digits.str.len()])
    return [f"{prefix}{n:0{width}d}" for n in range(first, first + count)]


def raw_rows(
    accepted: pd.DataFrame, *, observations: pd.DataFrame, sources: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows to append to ``observations.csv`` and ``sources.csv`` for accepted candidates.

    Each candidate gets the next ``obs_id``; ``NEW`` (or a source id not yet
    in ``sources``) becomes a new source from the ``source_*`` details the
    extract command carried. The note keeps the reviewer's text and adds the
    provenance: ``proposed by extract vX from ARTICLE chars a-b; reviewed``
    (and ``part of O…`` when the total was accepted too). The phrase and
    every other review column are dropped: article text never enters
    ``data/raw``.

    Args:
        accepted: Rows of :func:`accepted_candidates`.
        observations: The existing ``observations.csv`` (for the next id).
        sources: The existing ``sources.csv``.

    Returns:
        ``(new_observations, new_sources)`` with the raw tables' columns
        (``new_sources`` may be empty).

    Raises:
        InputError: A new source without a publisher or title, or with the
            title or URL of a source already in ``sources.csv``.

    Examples:
        >>> cands = pd.DataFrame({c: [""] for c in CANDIDATE_COLUMNS})
        >>> cands = cands.assign(obs_id="NEW-001", source_id="S000", indicator="party_members", value="1639",
        ...                      note="chars 10-25: Party members", span_start="10", span_end="25",
        ...                      article="kon_ray.txt")
        >>> obs, new_sources = raw_rows(cands, observations=pd.DataFrame({"obs_id": ["O0007"]}),
        ...                             sources=pd.DataFrame({"source_id": ["S000"], "title": ["t"], "url": [""]}))
        >>> obs.loc[0, "obs_id"], obs.loc[0, "note"], len(new_sources)
        ('O0008', 'Party members; proposed by extract v2.0 from kon_ray.txt chars 10-25; reviewed', 0)
    """
    lines = list(accepted.index)
    rows = accepted.reset_index(drop=True).fillna("").astype(str)
    obs_ids = next_ids(observations["obs_id"], "O", len(rows), 4)
    new_sources, source_of = _new_sources(rows, sources, lines)
    ids = dict(zip(rows["obs_id"], obs_ids))
    article = rows["article"] if "article" in rows else pd.Series("the article", index=rows.index)
    note = rows["note"].str.replace(r"^chars \d+-\d+:\s*", "", regex=True)
    note = note.where(note == "", note + "; ")
    part_of = ("part of " + rows["parent_candidate"].map(ids) + "; ").fillna("")
    provenance = (
        "proposed by extract v"
        + EXTRACTOR_VERSION
        + " from "
        + article
        + " chars "
        + rows["span_start"]
        + "-"
        + rows["span_end"]
        + "; reviewed"
    )
    out = rows[list(OBSERVATION_COLUMNS)].assign(
        obs_id=obs_ids,
        source_id=rows["source_id"].replace(source_of),
        note=note + part_of + provenance,
        entry_method=entry_methods(rows).to_numpy(),
    )
    return out, new_sources


def _new_sources(rows: pd.DataFrame, sources: pd.DataFrame, lines: list) -> tuple[pd.DataFrame, dict]:
    """A sources row for each source id the raw table does not have yet, and the id it gets.

    Every accepted row of a new source must carry the same details (``lines`` are the rows' lines in the
    reviewed file, for the message).
    """
    unknown = [s for s in dict.fromkeys(rows["source_id"]) if s not in set(sources["source_id"])]
    ids = next_ids(sources["source_id"], "S", sum(s == "NEW" for s in unknown), 3)
    source_of = {s: (ids.pop(0) if s == "NEW" else s) for s in unknown}
    new = []
    for given, source_id in source_of.items():
        mine = rows[rows["source_id"] == given]
        carried = [f"source_{f}" for f in SOURCE_FIELDS if f"source_{f}" in rows]
        differ = [c for c in carried if mine[c].nunique() > 1]
        if differ:
            column = differ[0]
            other = mine.index[(mine[column] != mine[column].iloc[0]).to_numpy()][0]
            raise InputError(
                f"new source {given}: {column} is {mine[column].iloc[0]!r} on line {lines[mine.index[0]]} "
                f"but {mine.loc[other, column]!r} here; give every row of a source the same details",
                row=lines[other],
                field=column,
            )
        first = mine.iloc[0]
        details = {f: first.get(f"source_{f}", "") for f in SOURCE_FIELDS}
        if not details["publisher"] or not details["title"]:
            raise InputError(
                f"source {given} is not in sources.csv and the candidates carry no publisher and "
                "title for it; rerun extract with --publisher and --title, or use an existing "
                "--source",
                field="source_id",
            )
        for column in ("title", "url"):
            clash = sources.loc[
                (sources.get(column, pd.Series(dtype=str)) == details[column]) & (details[column] != ""), "source_id"
            ]
            if len(clash):
                raise InputError(
                    f"this article's {column} is already in sources.csv as {clash.iloc[0]}; "
                    f"extract it again with --source {clash.iloc[0]}",
                    field="source_id",
                )
        new.append(
            {
                "source_id": source_id,
                **details,
                "published_note": "",
                "language": details["language"] or "vi",
                "kind": details["kind"] or "press",
            }
        )
    columns = ["source_id", "publisher", "title", "published", "published_note", "url", "language", "kind", "accessed"]
    return pd.DataFrame(new, columns=columns).fillna("").astype(str), source_of


def duplicate_figures(new: pd.DataFrame, existing: pd.DataFrame) -> pd.DataFrame:
    """New rows that repeat a figure already in the raw table, or repeat each other.

    A figure is the same when :data:`FIGURE_KEY` agrees, values compared as
    numbers (``10.2`` = ``10.20``).

    Returns:
        The offending new rows with a ``duplicate_of`` column (an existing
        ``obs_id``, or the earlier new one).

    Examples:
        >>> old = pd.DataFrame({"obs_id": ["O0002"], "source_id": ["S000"], "indicator": ["party_members"],
        ...                     "unit_name": ["Kon Rẫy"], "value": ["1639"], "as_of": ["2021-06-20"],
        ...                     "period_start": [""], "period_end": [""]})
        >>> new = old.assign(obs_id="O0040", value="1639.0")
        >>> duplicate_figures(new, old)[["obs_id", "duplicate_of"]].values.tolist()
        [['O0040', 'O0002']]
    """

    def keyed(frame):
        keys = frame[list(FIGURE_KEY)].fillna("").astype(str)
        number = pd.to_numeric(keys["value"], errors="coerce")
        keys["value"] = number.map(lambda v: f"{v:g}", na_action="ignore").fillna(keys["value"])
        return keys.assign(obs_id=frame["obs_id"].to_numpy())

    new_keys, old_keys = keyed(new), keyed(existing)
    against_old = new_keys.merge(old_keys, on=list(FIGURE_KEY), suffixes=("", "_old"))
    within = new_keys[new_keys.duplicated(list(FIGURE_KEY))].merge(
        new_keys.drop_duplicates(list(FIGURE_KEY)), on=list(FIGURE_KEY), suffixes=("", "_old")
    )
    found = pd.concat([against_old, within])[["obs_id", "obs_id_old"]].rename(columns={"obs_id_old": "duplicate_of"})
    return new.merge(found, on="obs_id")
