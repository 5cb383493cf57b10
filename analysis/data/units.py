"""Administrative units: place names as printed -> GSO unit codes.

The project's own table (``data/raw/units.csv``) decides: it keeps units as
they were, with historical codes, validity dates and spelling variants. A
name is matched within its province and level, trying in turn

1. the cleaned name (NFC, Eth fixed, spaces collapsed, case ignored)
   against each unit's name, full name and aliases;
2. the same without an administrative prefix ("huyện", "TP." ...);
3. the accent-insensitive key (:func:`analysis.text.names.name_key`).

The first step that finds anything decides; if it finds several units and
the figure has a date, the unit valid at that date is kept. A district name
the table does not know is then passed to ``vietnamadminunits`` (LEGACY
mode), but only to normalise its spelling: the package resolves historical
districts silently to their successors ("Đạ Tẻh" -> Đạ Huoai, "Nông Sơn" ->
Quế Sơn), so its answer is used only when it is a spelling of the same name
(similar key) and the table knows that spelling. Anything else is unknown,
with the closest names of the table as suggestions.

Examples:
    >>> units = pd.DataFrame({
    ...     "unit_code": ["62", "614", "615"], "name": ["Kon Tum", "Kon Rẫy", "Đắk Hà"],
    ...     "full_name": ["Tỉnh Kon Tum", "Huyện Kon Rẫy", "Huyện Đắk Hà"],
    ...     "level": ["province", "district", "district"], "parent_code": ["", "62", "62"],
    ...     "valid_from": "", "valid_to": "", "aliases": ["", "", "Đăk Hà"]})
    >>> resolve_unit("huyện Dak Ha", province="Kon Tum", units=units)
    '615'
"""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import paths
from analysis.errors import InputError, UnknownUnitError, UsageError
from analysis.text.names import clean_name, closest_names, combined_codes, name_key, on_distinct, strip_prefix
from analysis.data.storage import read_csv_table

UNIT_COLUMNS = ("unit_code", "name", "full_name", "level", "parent_code", "valid_from", "valid_to", "aliases")

#: How similar (difflib ratio of keys, which must also differ in length by at
#: most one letter) the package's spelling must be to the name asked for, to
#: count as a spelling of it rather than another unit.
PACKAGE_SPELLING_SIMILARITY = 0.75

_MAX_DEPTH = 6  # province > district > commune > village, with room to spare


def load_units(path: Path | str | None = None) -> pd.DataFrame:
    """Read the unit table (``data/raw/units.csv`` by default).

    This reads and checks the columns needed to resolve names; the row-level
    validation with rejects is done by :func:`analysis.data.dataset.load_dataset`.

    Args:
        path: A units CSV; default :func:`analysis.paths.raw_dir` / units.csv.

    Returns:
        The table as text columns.

    Raises:
        InputError: The file is unreadable or lacks a needed column.

    Examples:
        >>> load_units().set_index("unit_code").at["614", "name"]
        'Kon Rẫy'
    """
    path = Path(path) if path is not None else paths.raw_dir() / "units.csv"
    units = read_csv_table(path)
    missing = [c for c in UNIT_COLUMNS if c not in units.columns]
    if missing:
        raise InputError(f"missing column {missing[0]!r}", file=path, row=1)
    return units


def unit_hierarchy(units: pd.DataFrame) -> pd.DataFrame:
    """Label, level, district and province of every unit, by walking parents.

    Args:
        units: The unit table (``unit_code``, ``name``, ``level``, ``parent_code``).

    Returns:
        Indexed by ``unit_code``: ``unit_label``, ``unit_level``,
        ``district_code`` (the unit itself for a district, its ancestor for a
        commune or village, missing above) and ``province_code``.

    Examples:
        >>> units = pd.DataFrame({"unit_code": ["62", "614", "23320"],
        ...     "name": ["Kon Tum", "Kon Rẫy", "Đăk Rve"], "level": ["province", "district", "commune"],
        ...     "parent_code": ["", "62", "614"]})
        >>> unit_hierarchy(units).loc["23320", ["district_code", "province_code"]].tolist()
        ['614', '62']
    """
    codes = units["unit_code"].astype(object)
    parent = pd.Series(units["parent_code"].astype(object).replace("", np.nan).to_numpy(), index=codes)
    level = pd.Series(units["level"].astype(object).to_numpy(), index=codes)
    found = {
        "district": pd.Series(np.nan, index=codes, dtype=object),
        "province": pd.Series(np.nan, index=codes, dtype=object),
    }
    current = pd.Series(codes.to_numpy(), index=codes, dtype=object)
    for _ in range(_MAX_DEPTH):
        current_level = current.map(level)
        for lvl, series in found.items():
            series.fillna(current.where(current_level == lvl), inplace=True)
        current = current.map(parent)
        if current.isna().all():
            break
    return pd.DataFrame(
        {
            "unit_label": units["name"].astype(object).to_numpy(),
            "unit_level": level.to_numpy(),
            "district_code": found["district"].to_numpy(),
            "province_code": found["province"].to_numpy(),
        },
        index=pd.Index(codes.to_numpy(), name="unit_code"),
    )


def unit_names(units: pd.DataFrame) -> pd.DataFrame:
    """Every spelling of every unit (name, full name, aliases), long format.

    Args:
        units: The unit table (``unit_code``, ``name``, ``full_name``,
            ``level``, ``parent_code``, ``aliases``; validity if present).

    Returns:
        One row per (unit, spelling): ``unit_code``, ``level``,
        ``province_code``, ``valid_from``, ``valid_to``, ``spelling`` and its
        comparison forms ``clean`` (casefolded), ``bare`` (no prefix,
        casefolded) and ``key``.

    Examples:
        >>> units = pd.DataFrame({"unit_code": ["615"], "name": ["Đắk Hà"], "full_name": ["Huyện Đắk Hà"],
        ...     "level": ["district"], "parent_code": [""], "aliases": ["Đăk Hà|Dak Ha"]})
        >>> unit_names(units)["spelling"].tolist()
        ['Đắk Hà', 'Huyện Đắk Hà', 'Đăk Hà', 'Dak Ha']
    """
    hierarchy = unit_hierarchy(units)
    base = units.assign(province_code=hierarchy["province_code"].to_numpy())
    keep = ["unit_code", "level", "province_code"] + [c for c in ("valid_from", "valid_to") if c in units]
    aliases = base["aliases"].astype(object).fillna("").str.split("|")
    spellings = pd.concat(
        [
            base[keep].assign(spelling=base["name"].astype(object)),
            base[keep].assign(spelling=base["full_name"].astype(object)),
            base[keep].assign(spelling=aliases).explode("spelling"),
        ]
    )
    spellings = spellings.sort_index(kind="stable").reset_index(drop=True)
    spellings["spelling"] = on_distinct(spellings["spelling"].astype(object).fillna(""), clean_name)
    spellings = spellings.loc[spellings["spelling"] != ""].drop_duplicates(["unit_code", "spelling"])
    return _with_match_forms(spellings.reset_index(drop=True), "spelling")


def _with_match_forms(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    names = frame[column].astype(object)
    return frame.assign(
        clean=on_distinct(names, lambda s: clean_name(s).casefold()),
        bare=on_distinct(names, lambda s: strip_prefix(s).casefold()),
        key=on_distinct(names, name_key),
    )


def resolve_units(
    places: pd.DataFrame,
    units: pd.DataFrame,
    *,
    name: str = "unit_name",
    province: str = "province",
    level: str | None = "scope",
    date: str | None = None,
) -> pd.DataFrame:
    """Resolve a column of place names to unit codes, once per distinct place.

    Args:
        places: Rows with a name column, a province column (name as printed;
            empty = any province) and optionally a level column.
        units: The unit table. When ``date`` is given, its ``valid_from`` and
            ``valid_to`` must be datetimes (missing = open), as
            :func:`analysis.data.dataset.load_dataset` prepares them.
        name: Column with the place names.
        province: Column with the province names.
        level: Column with the unit level (``scope``), or None to match any level.
        date: Column of datetimes used to choose between units that share a
            name (a historical unit and its successor), or None.

    Returns:
        Aligned with ``places``: ``unit_code`` (missing when unresolved) and
        ``reason`` (why not, naming the closest candidates; missing when resolved).

    Examples:
        >>> units = pd.DataFrame({"unit_code": ["62", "608"], "name": ["Kon Tum", "Kon Tum"],
        ...     "full_name": ["Tỉnh Kon Tum", "Thành phố Kon Tum"], "level": ["province", "district"],
        ...     "parent_code": ["", "62"], "aliases": ["", "TP Kon Tum"]})
        >>> places = pd.DataFrame({"unit_name": ["TP. Kon Tum", "Kon Tum", "Kon Tom"],
        ...     "province": "Kon Tum", "scope": ["district", "province", "district"]})
        >>> resolve_units(places, units)
          unit_code                                      reason
        0       608                                         NaN
        1        62                                         NaN
        2       NaN  unknown unit 'Kon Tom'; closest: Kon Tum
    """
    codes, row_combo, errors = _resolve(places, units, name=name, province=province, level=level, date=date)
    messages = np.array([np.nan if err is None else err.message for err in errors] + [np.nan], dtype=object)
    unresolved = np.flatnonzero(codes.codes < 0)
    reason = np.full(len(codes), np.nan, dtype=object)
    reason[unresolved] = messages[row_combo[unresolved]]
    return pd.DataFrame({"unit_code": codes, "reason": pd.Series(reason, dtype=object)}).set_axis(places.index)


def _resolve(places, units, *, name, province, level, date):
    """Codes per row, each row's distinct combination, and per combination the error explaining a missing code.

    Returns:
        ``(codes, row_combo, errors)``: the codes as a categorical (missing
        when not resolved), the combination number of each row, and an
        object array of :class:`UsageError` (or None) per combination.
    """
    table = unit_names(units)
    columns = [name, province] + ([level] if level else [])
    row_combo, first_rows = _distinct_rows(places, columns)
    combos = places.iloc[first_rows][columns].astype(object).fillna("")
    combos = combos.set_axis(["name", "province", "level"][: len(columns)], axis=1)
    combos = combos.reset_index(drop=True).assign(combo=lambda f: np.arange(len(f)))
    if "level" not in combos:
        combos["level"] = ""
    combos["province_code"] = _province_codes(combos["province"], table)

    candidates = _candidates(combos, table)
    unresolved = combos.loc[~combos["combo"].isin(candidates["combo"])]
    if len(unresolved):
        candidates = pd.concat([candidates, _package_candidates(unresolved, table)], ignore_index=True)

    dates = places[date] if date else None
    known = pd.Index(units["unit_code"]).unique()
    codes = pd.Categorical.from_codes(_choose(candidates, row_combo, dates, units, known), categories=known)
    return codes, row_combo, _errors(combos, candidates, table, units)


def _distinct_rows(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the number of its distinct combination of ``columns``; and each one's first row."""
    combo = combined_codes(*(frame[column] for column in columns))
    return combo, np.unique(combo, return_index=True)[1]


def _province_codes(province_names: pd.Series, table: pd.DataFrame) -> pd.Series:
    """Province code for each province name ('' -> missing, unknown -> 'unknown')."""
    provinces = table.loc[table["level"] == "province"]
    keys = on_distinct(province_names, name_key)
    lookup = provinces.drop_duplicates("key").set_index("key")["unit_code"]
    codes = keys.map(lookup).astype(object)
    return codes.where(codes.notna() | (province_names == ""), "unknown")


def _no_candidates() -> pd.DataFrame:
    return pd.DataFrame({"combo": pd.Series(dtype="int64"), "unit_code": pd.Series(dtype=object)})


def _candidates(combos: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """(combo, unit_code) pairs of the first matching step that finds any."""
    forms = _with_match_forms(combos[["combo", "name", "level", "province_code"]], "name")
    pairs = forms.merge(table, on="key", suffixes=("", "_unit"))
    same_level = (pairs["level"] == "") | (pairs["level"] == pairs["level_unit"])
    same_province = pairs["province_code"].isna() | (pairs["province_code"] == pairs["province_code_unit"])
    pairs = pairs.loc[same_level & same_province].copy()
    if pairs.empty:
        return _no_candidates()
    pairs["step"] = np.select([pairs["clean"] == pairs["clean_unit"], pairs["bare"] == pairs["bare_unit"]], [1, 2], 3)
    pairs = pairs.loc[pairs["step"] == pairs.groupby("combo")["step"].transform("min")]
    return pairs[["combo", "unit_code"]].drop_duplicates().reset_index(drop=True)


def _package_candidates(unresolved: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Candidates from vietnamadminunits' spelling of unknown district names."""
    asks = unresolved.loc[
        unresolved["level"].isin(["district", ""])
        & (unresolved["province"] != "")
        & (unresolved["province_code"] != "unknown")
    ]
    if asks.empty:
        return _no_candidates()
    from vietnamadminunits import parse_address

    spelled = []
    for place, prov in asks[["name", "province"]].itertuples(index=False):  # distinct unknown names only
        district = parse_address(f"{place}, {prov}", mode="LEGACY", level=2).short_district
        spelled.append(district if district and _same_spelling(place, district) else None)
    respelled = asks.assign(name=spelled, level="district").dropna(subset=["name"])
    return _candidates(respelled, table) if len(respelled) else _no_candidates()


def _same_spelling(asked: str, given: str) -> bool:
    """Whether two names are spellings of one name: keys of about equal length, and similar."""
    a, b = name_key(asked), name_key(given)
    return abs(len(a) - len(b)) <= 1 and difflib.SequenceMatcher(None, a, b).ratio() >= PACKAGE_SPELLING_SIMILARITY


def _choose(
    candidates: pd.DataFrame, row_combo: np.ndarray, dates: pd.Series | None, units: pd.DataFrame, known: pd.Index
) -> np.ndarray:
    """Each row's code as a position in ``known`` (-1: none): the only candidate, or the one valid at its date."""
    count = candidates.groupby("combo")["unit_code"].transform("size").to_numpy()
    combo = candidates["combo"].to_numpy()
    by_combo = np.full(row_combo.max(initial=-1) + 1, -1)
    by_combo[combo[count == 1]] = known.get_indexer(candidates["unit_code"].to_numpy()[count == 1])
    chosen = by_combo[row_combo]
    several = candidates.loc[count > 1]
    if dates is None or several.empty:
        return chosen
    undecided = np.zeros(len(by_combo), dtype=bool)
    undecided[combo[count > 1]] = True
    row = np.flatnonzero(undecided[row_combo] & dates.notna().to_numpy())
    rows = pd.DataFrame({"row": row, "combo": row_combo[row], "date": dates.to_numpy()[row]})
    validity = units.set_index("unit_code")[["valid_from", "valid_to"]]
    dated = rows.merge(several, on="combo").join(validity, on="unit_code")
    valid = (dated["valid_from"].isna() | (dated["valid_from"] <= dated["date"])) & (
        dated["valid_to"].isna() | (dated["date"] <= dated["valid_to"])
    )
    dated = dated.loc[valid]
    picked = dated.loc[dated.groupby("row")["unit_code"].transform("size") == 1]
    chosen[picked["row"].to_numpy()] = known.get_indexer(picked["unit_code"].to_numpy())
    return chosen


def _errors(combos: pd.DataFrame, candidates: pd.DataFrame, table: pd.DataFrame, units: pd.DataFrame) -> np.ndarray:
    """The error of each combo (None when it has a single candidate; one loop over the others only)."""
    count = candidates["combo"].value_counts()
    failing = combos.loc[~combos["combo"].isin(count.index[count == 1])]
    found = candidates.loc[candidates["combo"].isin(failing["combo"])].groupby("combo")["unit_code"].agg(list)
    labels = units.set_index("unit_code")
    errors = np.full(len(combos), None, dtype=object)
    columns = ["combo", "name", "province", "level", "province_code"]
    for combo, place, prov, lvl, prov_code in failing[columns].itertuples(index=False):
        codes = found.get(combo, [])
        if prov_code == "unknown":
            provinces = table.loc[table["level"] == "province"]
            errors[combo] = UnknownUnitError(prov, _closest_units(prov, provinces, labels), field="province")
        elif codes:
            listed = ", ".join(f"{labels.at[c, 'name']} ({labels.at[c, 'level']} {c})" for c in codes)
            errors[combo] = UsageError(
                f"ambiguous unit {place!r}: {listed}; give the scope, or a date at which only one of them existed"
            )
        else:
            pool = table
            if isinstance(prov_code, str):
                pool = pool.loc[pool["province_code"] == prov_code]
            if lvl:
                pool = pool.loc[pool["level"] == lvl]
            errors[combo] = UnknownUnitError(place, _closest_units(place, pool, labels))
    return errors


def _closest_units(place: str, spellings: pd.DataFrame, labels: pd.DataFrame) -> list[str]:
    """Names of the units with a spelling closest to ``place``, best first, each unit once."""
    by_spelling = spellings.drop_duplicates("spelling").set_index("spelling")["unit_code"]
    codes = by_spelling.reindex(closest_names(place, by_spelling.index, n=6)).drop_duplicates()
    return [labels.at[code, "name"] for code in codes[:3]]


def resolve_unit(
    name: str, province: str | None = None, level: str | None = None, units: pd.DataFrame | None = None
) -> str:
    """Resolve one place name to its unit code.

    Args:
        name: The place as printed ("Dak Ha", "huyện Đắk Hà", "TP. Kon Tum").
        province: Its province name, or None to search every province.
        level: ``province``, ``district``, ``commune`` or ``village``, or None.
        units: The unit table; default :func:`load_units`.

    Returns:
        The unit code (``"615"``).

    Raises:
        UnknownUnitError: Nothing matches, or the province is unknown (the
            message names the closest candidates).
        UsageError: Several units match (the message lists them).

    Examples:
        >>> units = pd.DataFrame({"unit_code": ["62", "614"], "name": ["Kon Tum", "Kon Rẫy"],
        ...     "full_name": ["Tỉnh Kon Tum", "Huyện Kon Rẫy"], "level": ["province", "district"],
        ...     "parent_code": ["", "62"], "aliases": ""})
        >>> resolve_unit("Kon Rẫy", "Kon Tum", units=units)
        '614'
        >>> resolve_unit("Kon Ray Moi", "Kon Tum", units=units)
        Traceback (most recent call last):
        ...
        analysis.errors.UnknownUnitError: unknown unit 'Kon Ray Moi'; closest: Kon Rẫy
    """
    units = load_units() if units is None else units
    place = pd.DataFrame({"unit_name": [name], "province": [province or ""], "scope": [level or ""]})
    codes, row_combo, errors = _resolve(place, units, name="unit_name", province="province", level="scope", date=None)
    if codes.codes[0] >= 0:
        return codes[0]
    raise errors[row_combo[0]]
