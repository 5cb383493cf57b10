"""The dataset: raw tables in, validated observations with flags out.

:func:`load_dataset` runs the whole build in memory:

1. **Read** the five raw tables (``sources``, ``units``, ``codebook``,
   ``observations``, ``context``) strictly (:mod:`analysis.data.storage`). Any
   file-level problem (missing file or column, empty file, not UTF-8) of any
   table is collected and raised as one :class:`~analysis.errors.InputError`.
   A header-only ``context.csv`` is a valid empty table; the other tables
   need rows.
2. **Validate** every row (:mod:`analysis.data.schema`): reference tables first,
   then the observations against the valid sources and codebook. A failing
   row is rejected with the reason; a rejected source, unit or indicator
   makes the rows that refer to it rejects too.
3. **Resolve** dates and units. A partial start date is its first day, a
   partial end or ``as_of`` its last day; ``date_precision`` is the coarsest
   precision among a figure's dates. A figure whose end (flow) or ``as_of``
   (stock) is empty but whose ``period_end_basis`` is ``publication_date``
   ("up to now") takes its source's publication date. Names resolve to unit
   codes (:mod:`analysis.data.units`), choosing by date between units that share
   a name; an unknown name is a reject naming the closest candidates.
4. **Flag** (:mod:`analysis.data.quality`): every rule's flags, the ``flags`` and
   ``preferred`` columns.

For every raw table, rows in = rows used + rows rejected (checked on every
build). :func:`write_processed` writes the tables atomically under the build
lock; :func:`read_processed` reads them back and checks that they belong to
one build.

Examples:
    >>> sorted(RAW_TABLES)
    ['codebook', 'context', 'observations', 'sources', 'units']
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from analysis import paths
from analysis.errors import InputError
from analysis.text.names import clean_name, on_distinct
from analysis.data.quality import FLAG_COLUMNS, RULES, flag_observations
from analysis.data.schema import (
    PROCESSED_COLUMNS,
    RAW_COLUMNS,
    REJECT_COLUMNS,
    column_problems,
    parse_dates,
    UNKNOWN_INDICATOR,
    UNKNOWN_SOURCE,
    processed_schema,
    raw_schema,
    unused_columns,
    validate_raw,
    with_numbers,
)
from analysis.data.storage import (
    build_lock,
    check_not_raw,
    csv_bytes,
    file_sha256,
    json_bytes,
    read_csv_table,
    replace_files,
    sha256,
)
from analysis.data.units import resolve_units, unit_hierarchy

RAW_TABLES = ("sources", "units", "codebook", "observations", "context")
OBSERVATION_TABLES = ("observations", "context")
MAY_BE_EMPTY = ("context",)
#: Kinds of source that are living pages, read on their ``accessed`` date rather than published once.
LIVING_KINDS = ("portal", "reference")
#: Observation columns read as categoricals: they repeat a few values over many rows.
CATEGORICAL = [c for c in RAW_COLUMNS["observations"] if c not in ("obs_id", "value")]
PROCESSED_FILES = {
    "observations": "observations.csv",
    "flags": "flags.csv",
    "rejects": "rejects.csv",
    "sources": "sources.csv",
    "units": "units.csv",
    "codebook": "codebook.csv",
}
BUILD_FILE = "build.json"

log = logging.getLogger(__name__)
#: This process's last build: ``{(folder, SHA-256 of each raw table): Dataset}`` (one entry at most).
_LAST_BUILD: dict[tuple, "Dataset"] = {}


@contextlib.contextmanager
def _timed(stage: str):
    """Log how long a build stage took (``logging`` level DEBUG)."""
    start, cpu = time.perf_counter(), time.process_time()
    yield
    log.debug("%s: %.3f s (cpu %.3f s)", stage, time.perf_counter() - start, time.process_time() - cpu)


@dataclass
class Dataset:
    """The validated tables of one build.

    Attributes:
        observations: Processed observations (:data:`analysis.data.schema.PROCESSED_COLUMNS`).
        flags: Quality flags (``rule, severity, obs_ids, unit_code, indicator, message``).
        rejects: Raw rows that could not be used (``table, line, record_id, field, value, reason``).
        sources, units, codebook: Validated copies of the raw tables (text).
        rows_in: Number of rows read from each raw table.
        raw_files: SHA-256 of each raw file read.
        notes: What the build did that a user should know and that is not a
            reject or a flag (one line each: a column it ignored).
        raw_dir: The folder the raw tables were read from ('' if not from files);
            :func:`write_processed` never writes there.
    """

    observations: pd.DataFrame
    flags: pd.DataFrame
    rejects: pd.DataFrame
    sources: pd.DataFrame
    units: pd.DataFrame
    codebook: pd.DataFrame
    rows_in: dict = field(default_factory=dict)
    raw_files: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    raw_dir: str = ""

    def summary(self) -> dict:
        """Rows in / used / rejected per raw table, and flags per rule.

        Returns:
            ``{"tables": {table: {"in", "used", "rejected"}}, "flags": {rule: count}}``.
        """
        used = {"sources": len(self.sources), "units": len(self.units), "codebook": len(self.codebook)}
        table = self.observations["table"].to_numpy(dtype=object)
        used.update({t: int((table == t).sum()) for t in OBSERVATION_TABLES})
        rejected = self.rejects.drop_duplicates(["table", "line"])["table"].value_counts()
        tables = {
            t: {
                "in": int(self.rows_in.get(t, used[t] + rejected.get(t, 0))),
                "used": int(used[t]),
                "rejected": int(rejected.get(t, 0)),
            }
            for t in RAW_TABLES
        }
        flags = self.flags["rule"].value_counts().reindex(list(RULES), fill_value=0)
        return {"tables": tables, "flags": {rule: int(n) for rule, n in flags.items() if n}}


def load_dataset(raw_dir: Path | str | None = None) -> Dataset:
    """Build the dataset in memory from the raw tables.

    Args:
        raw_dir: Folder with the five raw CSV tables; default
            :func:`analysis.paths.raw_dir`.

    Returns:
        The :class:`Dataset` (nothing is written).

    Raises:
        InputError: A file-level problem in any table (all are listed).

    Examples:
        >>> counts = load_dataset().summary()["tables"]["observations"]
        >>> counts["in"] == counts["used"] + counts["rejected"]
        True
    """
    raw_dir = Path(raw_dir) if raw_dir is not None else paths.raw_dir()
    if not raw_dir.is_dir():
        raise InputError("no such folder of raw tables", file=raw_dir)
    key = _raw_key(raw_dir)
    if key in _LAST_BUILD:
        return _copy(_LAST_BUILD[key])
    ds = _build(raw_dir)
    if key is not None and tuple(ds.raw_files.values()) == key[1]:  # what was read is what was hashed
        _LAST_BUILD.clear()
        _LAST_BUILD[key] = _copy(ds)
    return ds


def _raw_key(raw_dir: Path) -> tuple | None:
    """The folder and the SHA-256 of each raw table's bytes; None if one cannot be read (the build says why)."""
    try:
        return str(raw_dir.resolve()), tuple(file_sha256(raw_dir / f"{t}.csv") for t in RAW_TABLES)
    except OSError:
        return None


def _copy(ds: Dataset) -> Dataset:
    """A copy of ``ds`` that a caller may change without changing the kept build."""
    frames = {
        f.name: getattr(ds, f.name).copy()
        for f in dataclasses.fields(ds)
        if isinstance(getattr(ds, f.name), pd.DataFrame)
    }
    return dataclasses.replace(
        ds, **frames, rows_in=dict(ds.rows_in), raw_files=dict(ds.raw_files), notes=list(ds.notes)
    )


def _build(raw_dir: Path) -> Dataset:
    """Build the dataset from the raw tables in ``raw_dir`` (see :func:`load_dataset`)."""
    with _timed("read"):
        frames, notes = _read_tables(raw_dir)
    hashes = {table: frame.attrs["sha256"] for table, frame in frames.items()}
    rejects = []

    def validate(table, **references):
        frame = frames[table]
        with _timed(f"validate {table}"):
            found = validate_raw(frame, table, raw_schema(table, **references))
        rejects.append(found)
        return frame.loc[~frame.index.isin(found["line"])] if len(found) else frame

    sources = validate("sources")
    units = validate("units")
    codebook = validate("codebook")
    sources_rejected, _, codebook_rejected = rejects  # in the order validated
    upstream = {UNKNOWN_SOURCE: ("source", sources_rejected), UNKNOWN_INDICATOR: ("indicator", codebook_rejected)}
    for table in OBSERVATION_TABLES:
        frames[table] = with_numbers(frames[table])
    observed = {t: validate(t, source_ids=sources["source_id"], codebook=codebook) for t in OBSERVATION_TABLES}
    for found in rejects[3:]:  # those of the observation tables
        _name_rejected_references(found, upstream)
    raw_obs = _concat_tables(observed)

    dated_units = _dated_units(units)
    with _timed("build observations"):
        observations, unit_rejects = _build_observations(raw_obs, sources, units, dated_units, codebook)
    rejects.append(_name_rejected_units(unit_rejects, raw_obs, frames["units"], rejects[1]))
    with _timed("quality"):
        living = sources.loc[sources["kind"].isin(LIVING_KINDS)]
        read_on = pd.Series(parse_dates(living["accessed"])["last"].to_numpy(), index=living["source_id"].to_numpy())
        flags, preferred, rules = flag_observations(observations, codebook, dated_units, read_on.dropna())
        observations["preferred"] = preferred.to_numpy()
        observations["flags"] = rules.to_numpy()

    ds = Dataset(
        observations=_as_text(observations[PROCESSED_COLUMNS]),
        flags=flags.reset_index(drop=True),
        rejects=_combine_rejects(rejects),
        sources=sources.reset_index(drop=True),
        units=units.reset_index(drop=True),
        codebook=codebook.reset_index(drop=True),
        rows_in={t: len(frames[t]) for t in RAW_TABLES},
        raw_files={f"{t}.csv": hashes[t] for t in RAW_TABLES},
        notes=notes,
        raw_dir=str(raw_dir),
    )
    _check_row_counts(ds)
    return ds


def _name_rejected_references(found: pd.DataFrame, upstream: dict) -> None:
    """Say 'source S002 was rejected (sources.csv:4)' instead of 'unknown source id' when it was (in place).

    ``upstream`` maps an 'unknown ...' reason to (what, the rejects of the table it refers to).
    """
    for reason, (what, rejected) in upstream.items():
        pick = found["reason"] == reason
        if not pick.any() or rejected.empty:
            continue
        first_line = rejected.groupby("record_id")["line"].min()
        lines = found.loc[pick, "value"].map(first_line).dropna()
        values = found.loc[lines.index, "value"].astype(str)
        found.loc[lines.index, "reason"] = (
            f"{what} "
            + values
            + f" was rejected ({rejected['table'].iloc[0]}.csv:"
            + lines.astype(int).astype(str)
            + ")"
        )


def _name_rejected_units(
    unit_rejects: pd.DataFrame, raw_obs: pd.DataFrame, raw_units: pd.DataFrame, units_rejected: pd.DataFrame
) -> pd.DataFrame:
    """Say "unit 'Kon Rẫy' (614) was rejected (units.csv:6)" for figures of a rejected unit.

    The figures whose name matched no valid unit are resolved once more
    against every unit row, rejected ones included; where that finds a unit
    that was rejected, or whose district or province was, the reject names
    the nearest of them ("its district 'Kon Rẫy' (614) was rejected ...").
    """
    if unit_rejects.empty or units_rejected.empty:
        return unit_rejects
    rows = raw_obs.loc[raw_obs["obs_id"].isin(unit_rejects["record_id"])]  # ids are unique by now
    places = pd.DataFrame(
        {
            "unit_name": on_distinct(rows["unit_name"], clean_name),
            "province": on_distinct(rows["province"], clean_name),
            "scope": rows["scope"],
        }
    )
    every = raw_units.drop_duplicates("unit_code").reset_index(drop=True)  # a duplicate code: its first row
    codes = resolve_units(places, every)["unit_code"].astype(object)
    first_line = units_rejected.groupby("record_id")["line"].min()
    hierarchy = unit_hierarchy(every)
    code, what = np.full(len(rows), None, dtype=object), np.full(len(rows), "", dtype=object)
    for level, found in (
        ("its province", codes.map(hierarchy["province_code"])),  # the nearest rejected one wins
        ("its district", codes.map(hierarchy["district_code"])),
        ("unit", codes),
    ):
        rejected = found.isin(first_line.index).to_numpy()
        code, what = np.where(rejected, found.to_numpy(dtype=object), code), np.where(rejected, level, what)
    blamed = pd.DataFrame({"code": code, "what": what}, index=rows["obs_id"].to_numpy()).dropna(subset=["code"])
    if blamed.empty:
        return unit_rejects
    names = every.set_index("unit_code")["name"]
    pick = unit_rejects["record_id"].isin(blamed.index)
    found = blamed.loc[unit_rejects.loc[pick, "record_id"]]
    unit_rejects = unit_rejects.copy()
    unit_rejects.loc[pick, "reason"] = (
        found["what"]
        + " "
        + found["code"].map(names).map(repr)
        + " ("
        + found["code"]
        + ") was rejected (units.csv:"
        + found["code"].map(first_line).astype(int).astype(str)
        + ")"
    ).to_numpy()
    return unit_rejects


def _read_tables(raw_dir: Path) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Read every raw table; raise one InputError listing every file-level problem.

    Returns:
        The tables, each without the columns the build does not use, and a
        note for each such column (:func:`analysis.data.schema.unused_columns`).
    """
    frames, problems, notes = {}, [], []
    for table in RAW_TABLES:
        path = raw_dir / f"{table}.csv"
        try:
            frame = read_csv_table(path, categorical=CATEGORICAL if table in OBSERVATION_TABLES else ())
        except InputError as err:
            problems.append(err)
            continue
        found = column_problems(list(frame.columns), table)
        if not found and frame.empty and table not in MAY_BE_EMPTY:
            found = ["no rows: the table has a header only"]
        problems.extend(InputError(p, file=path, row=1) for p in found)
        unused = unused_columns(list(frame.columns), table)
        notes.extend(f"{path}:1: column {column!r} is not used by the build (ignored)" for column in unused)
        frames[table] = frame.drop(columns=unused) if unused else frame
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InputError(f"{len(problems)} problems: " + "; ".join(str(p) for p in problems))
    return frames, notes


def _build_observations(
    raw: pd.DataFrame, sources: pd.DataFrame, units: pd.DataFrame, dated_units: pd.DataFrame, codebook: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Processed observations from valid raw rows, and the rows whose unit is unknown."""
    book = codebook.set_index("indicator")
    kind = _lookup(raw["indicator"], book["kind"])
    published = parse_dates(_lookup(raw["source_id"], sources.set_index("source_id")["published"]))
    up_to_publication = (raw["period_end_basis"] == "publication_date").to_numpy()
    fill = {
        "as_of": (kind == "stock").to_numpy() & (raw["as_of"] == "").to_numpy() & up_to_publication,
        "period_end": (kind == "flow").to_numpy() & (raw["period_end"] == "").to_numpy() & up_to_publication,
    }
    day, levels = {}, []
    for column, side in (("as_of", "last"), ("period_start", "first"), ("period_end", "last")):
        dates = parse_dates(raw[column])
        rows = fill.get(column, np.zeros(len(raw), dtype=bool))  # "up to now": the publication date instead
        day[column] = dates[side].where(~rows, published[side])
        level = np.where(rows, published["precision"].cat.codes, dates["precision"].cat.codes)
        levels.append(np.where(level < 0, 99, level))
    coarsest = np.minimum.reduce(levels)
    precision = pd.Categorical.from_codes(
        np.where(coarsest == 99, -1, coarsest), categories=published["precision"].cat.categories
    )
    as_of, start, end = day["as_of"], day["period_start"], day["period_end"]
    log.debug("dates resolved")

    names = on_distinct(raw["unit_name"], clean_name, categorical=True)
    province = on_distinct(raw["province"], clean_name, categorical=True)
    reference = as_of.where(kind == "stock", end).fillna(published["last"])
    places = pd.DataFrame({"unit_name": names, "province": province, "scope": raw["scope"], "date": reference})
    resolved = resolve_units(places, dated_units, date="date")
    log.debug("units resolved")
    unknown = resolved["unit_code"].isna().to_numpy()
    unit_rejects = pd.DataFrame(
        {
            "table": raw["table"].to_numpy(dtype=object)[unknown],
            "line": raw["_line"].to_numpy()[unknown],
            "record_id": raw["obs_id"].to_numpy()[unknown],
            "field": "unit_name",
            "value": raw["unit_name"].to_numpy(dtype=object)[unknown],
            "reason": resolved["reason"].to_numpy()[unknown],
        }
    )

    hierarchy = unit_hierarchy(units)
    codes = resolved["unit_code"]
    obs = pd.DataFrame(
        {
            "obs_id": raw["obs_id"],
            "table": raw["table"],
            "source_id": raw["source_id"],
            "locator": _missing_if_empty(raw["locator"]),
            "unit_name": names,
            "province": _missing_if_empty(province),
            "scope": raw["scope"],
            "unit_code": codes,
            "unit_label": _lookup(codes, hierarchy["unit_label"]),
            "unit_level": _lookup(codes, hierarchy["unit_level"]),
            "district_code": _lookup(codes, hierarchy["district_code"]),
            "province_code": _lookup(codes, hierarchy["province_code"]),
            "indicator": raw["indicator"],
            "family": _lookup(raw["indicator"], book["family"]),
            "kind": kind,
            "value": raw["_number"],
            "value_unit": raw["unit"],
            "value_decimals": raw["_decimals"].astype("int64"),
            "qualifier": raw["qualifier"],
            "approximate": (raw["qualifier"] != "exact").to_numpy(),
            "as_of": as_of,
            "period_start": start,
            "period_end": end,
            "date_precision": precision,
            "period_end_basis": raw["period_end_basis"],
            "status": raw["status"],
            "published": published["iso"],
            "preferred": True,
            "flags": "",
            "note": _missing_if_empty(raw["note"]),
        }
    )
    return (obs.loc[~unknown].reset_index(drop=True) if unknown.any() else obs), unit_rejects


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical and object columns as pandas text (``str``), as they read back from CSV."""
    text = [c for c in frame.columns if frame[c].dtype in (object, "category")]
    return frame.astype({c: "str" for c in text})


def _lookup(keys: pd.Series, mapping: pd.Series) -> pd.Series:
    """``mapping[key]`` for each key (missing when absent), once per distinct key, as a categorical."""
    found = dict(zip(mapping.index.to_numpy(dtype=object), mapping.to_numpy(dtype=object)))
    return on_distinct(keys, lambda key: found.get(key, np.nan), categorical=True)


def _concat_tables(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack tables, keeping categoricals; ``table`` and ``_line`` say where each row was.

    A column only some tables have (an optional column such as ``entry_method``) is empty (``""``) in the others.
    """
    frames = {table: frame for table, frame in frames.items() if len(frame)}
    names = list(dict.fromkeys(c for frame in frames.values() for c in frame.columns))
    parts = [
        frame.assign(**{c: _empty_like(frames, c, len(frame)) for c in names if c not in frame.columns})
        for frame in frames.values()
    ]
    columns = {}
    for column in names:
        values = [p[column].array for p in parts]
        if all(isinstance(v.dtype, pd.CategoricalDtype) for v in values):
            columns[column] = union_categoricals(values, ignore_order=True)
        else:
            columns[column] = type(values[0])._concat_same_type(values) if len(values) > 1 else values[0]
    stacked = pd.DataFrame(columns)
    stacked["table"] = pd.Categorical.from_codes(
        np.repeat(np.arange(len(parts)), [len(p) for p in parts]), categories=list(frames)
    )
    stacked["_line"] = np.concatenate([p.index.to_numpy() for p in parts])
    return stacked


def _empty_like(frames: dict[str, pd.DataFrame], column: str, length: int):
    """``length`` empty texts, categorical when ``column`` is categorical where it exists."""
    kind = next(frame[column].dtype for frame in frames.values() if column in frame.columns)
    values = np.full(length, "", dtype=object)
    return pd.Categorical(values) if isinstance(kind, pd.CategoricalDtype) else values


def _missing_if_empty(values: pd.Series) -> pd.Series:
    return values.where(values != "")


def _dated_units(units: pd.DataFrame) -> pd.DataFrame:
    """The unit table with validity as datetimes (first day from, last day to)."""
    return units.assign(
        valid_from=parse_dates(units["valid_from"])["first"], valid_to=parse_dates(units["valid_to"])["last"]
    )


def _combine_rejects(parts: list[pd.DataFrame]) -> pd.DataFrame:
    rejects = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    if rejects is None:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "line" else "str") for c in REJECT_COLUMNS})
    order = {t: i for i, t in enumerate(RAW_TABLES)}
    rejects = rejects.assign(_order=rejects["table"].map(order)).sort_values(["_order", "line"], kind="stable")
    return rejects[REJECT_COLUMNS].astype({"line": "int64"}).reset_index(drop=True)


def _check_row_counts(ds: Dataset) -> None:
    """Rows in = rows used + rows rejected, for every raw table (a bug otherwise)."""
    for table, counts in ds.summary()["tables"].items():
        if counts["in"] != counts["used"] + counts["rejected"]:
            raise RuntimeError(
                f"{table}: {counts['in']} rows in but {counts['used']} used and "
                f"{counts['rejected']} rejected; some rows were lost"
            )


def write_processed(
    ds: Dataset,
    out_dir: Path | str | None = None,
    extra_tables: dict[str, pd.DataFrame] | None = None,
    lock_timeout: float = 30.0,
) -> dict:
    """Write the processed tables and ``build.json`` atomically, under the build lock.

    Every table is written to a temporary file first and then replaces the
    old one; ``build.json`` goes last and records the hash of every table,
    so a set of files that did not come from one build is detected by
    :func:`read_processed` (see :mod:`analysis.data.storage` for the guarantee).

    Args:
        ds: The dataset to write.
        out_dir: The folder; default :func:`analysis.paths.processed_dir`.
        extra_tables: More tables to write in the same atomic step
            (``{"metrics": frame}`` writes ``metrics.csv``).
        lock_timeout: Seconds to wait for another build holding the lock.

    Returns:
        The content of ``build.json``.

    Raises:
        UsageError: ``out_dir`` is the folder the raw tables were read from, or inside it.
        BusyError: Another build held the lock for ``lock_timeout`` seconds.
        InputError: The folder cannot be created or written (disk full,
            no permission, a file in its path); the message names the
            folder and the system's reason, and the previous files are
            intact.

    Examples:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> build = write_processed(load_dataset(), folder)
        >>> sorted(build["outputs"])
        ['codebook.csv', 'flags.csv', 'observations.csv', 'rejects.csv', 'sources.csv', 'units.csv']
    """
    out_dir = Path(out_dir) if out_dir is not None else paths.processed_dir()
    check_not_raw(out_dir, ds.raw_dir or paths.raw_dir())
    tables = {name: getattr(ds, name) for name in PROCESSED_FILES}
    tables.update(extra_tables or {})
    contents = {f"{name}.csv": csv_bytes(frame) for name, frame in tables.items()}
    summary = ds.summary()
    build = {
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rows": summary["tables"],
        "flags": summary["flags"],
        "raw_files": ds.raw_files,
        "outputs": {name: sha256(content) for name, content in contents.items()},
    }
    try:
        with build_lock(out_dir, timeout=lock_timeout):
            replace_files({**contents, BUILD_FILE: json_bytes(build)}, out_dir)
    except OSError as err:  # replace_files has restored the previous files
        raise InputError(f"cannot write the processed tables: {err.strerror or err}", file=out_dir) from None
    return build


def read_processed(processed_dir: Path | str | None = None) -> Dataset:
    """Read the processed tables of the last build.

    Args:
        processed_dir: The folder; default :func:`analysis.paths.processed_dir`.

    Returns:
        The :class:`Dataset`, with the same dtypes as :func:`load_dataset` gives.

    Raises:
        InputError: No build there, or the files do not match ``build.json``
            (an interrupted build or an edited file): rebuild.

    Examples:
        >>> import tempfile
        >>> ds, folder = load_dataset(), tempfile.mkdtemp()
        >>> _ = write_processed(ds, folder)
        >>> read_processed(folder).observations.equals(ds.observations)
        True
    """
    folder = Path(processed_dir) if processed_dir is not None else paths.processed_dir()
    build_path = folder / BUILD_FILE
    if not build_path.exists():
        raise InputError("no processed data here; run `python -m analysis build`", file=build_path)
    build = json.loads(build_path.read_text(encoding="utf-8"))
    for name, digest in build["outputs"].items():
        if not (folder / name).exists() or file_sha256(folder / name) != digest:
            raise InputError(
                "does not match build.json (an interrupted build or an edited file); run `python -m analysis build`",
                file=folder / name,
            )
    text = {
        t: pd.read_csv(folder / PROCESSED_FILES[t], dtype=str, keep_default_na=False)
        for t in ("sources", "units", "codebook")
    }
    flags = pd.read_csv(folder / PROCESSED_FILES["flags"], dtype=str, keep_default_na=False)
    rejects = pd.read_csv(folder / PROCESSED_FILES["rejects"], dtype=str, keep_default_na=False)
    return Dataset(
        observations=_read_observations(folder / PROCESSED_FILES["observations"]),
        flags=flags[FLAG_COLUMNS],
        rejects=rejects.astype({"line": "int64"})[REJECT_COLUMNS],
        rows_in={t: counts["in"] for t, counts in build["rows"].items()},
        raw_files=build["raw_files"],
        **text,
    )


def _read_observations(path: Path) -> pd.DataFrame:
    dates = ["as_of", "period_start", "period_end"]
    types = {"value": "float64", "value_decimals": "int64", "approximate": "bool", "preferred": "bool"}
    text = {c: "str" for c in PROCESSED_COLUMNS if c not in types and c not in dates}
    obs = pd.read_csv(path, dtype={**text, **types}, parse_dates=dates)
    obs["flags"] = obs["flags"].fillna("")
    return processed_schema().validate(obs)
