"""A SYNTHETIC national panel in the raw schema, for demonstrations and benchmarks.

The real data are a few hundred published figures about a handful of
districts. To show what the package does at national scale, and to measure
it, :func:`generate_panel` draws a panel that looks like the real thing but
is invented from start to end:

* every district-level unit of the 63 provinces (the legacy list shipped
  with ``vietnamadminunits``, read from its data file), for each year asked;
* every indicator of the codebook it is given, with magnitudes around the
  national anchors of the methods page: members about 5.5% of the
  population and growing, admissions about 2.75 per 100 members a year,
  discipline about 4 per 1,000 members a year, village heads mostly members;
* the defects of real data: districts that report little, missing years and
  indicators, hedged figures ("more than 1,600", rounded), stocks printed
  again by a second source with a different value, undated articles, figures
  summed over a congress term, a few printed percentages that disagree with
  their counts and a few discipline breakdowns that exceed their own total
  (as in the real Kon Rẫy article).

Nothing in it is real, and everything says so: source titles and publishers
start with ``SYNTHETIC``, every note does too, and :func:`write_panel` puts
a ``SYNTHETIC`` marker file and a README next to the tables. It refuses to
write into the real ``data/raw`` (checked on the resolved path) or into a
non-empty folder that is not a previous synthetic output. The same seed
gives byte-identical files.

Examples:
    >>> codebook = pd.DataFrame({
    ...     "indicator": ["party_members", "admissions", "population"],
    ...     "kind": ["stock", "flow", "stock"], "unit": ["count"] * 3,
    ...     "family": ["coverage", "admissions", "context"],
    ...     "parent": [""] * 3, "breakdown": [""] * 3,
    ...     "numerator": [""] * 3, "denominator": [""] * 3})
    >>> panel = generate_panel(codebook, seed=1, years=[2020, 2021], provinces=["62"])
    >>> sorted(panel)
    ['codebook', 'context', 'observations', 'sources', 'units']
    >>> int((panel["units"]["level"] == "district").sum())
    10
    >>> panel["sources"]["title"].str.startswith("SYNTHETIC").all()
    np.True_
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import paths
from analysis.errors import InputError, UsageError
from analysis.data.schema import OBSERVATION_COLUMNS
from analysis.data.storage import csv_bytes, read_csv_table, replace_files

#: The word that marks every synthetic file, title and note.
MARKER = "SYNTHETIC"
#: Name of the marker file that identifies a folder as synthetic output.
MARKER_FILE = "SYNTHETIC"
DEFAULT_YEARS = tuple(range(2014, 2024))
#: Observation rows aimed at per district and year when every unit reports
#: (about 300,000 rows for the national panel over ten years).
ROWS_PER_UNIT_YEAR = 46

SOURCE_COLUMNS = [
    "source_id",
    "publisher",
    "title",
    "published",
    "published_note",
    "url",
    "language",
    "kind",
    "accessed",
]
UNIT_COLUMNS = ["unit_code", "name", "full_name", "level", "parent_code", "valid_from", "valid_to", "aliases", "note"]
TABLE_FILES = ("units", "codebook", "sources", "observations", "context")
_LOCATORS = {
    "table": np.array([f"table {k}" for k in range(1, 9)], dtype=object),
    "para": np.array([f"para {k}" for k in range(1, 13)], dtype=object),
}

# Shares of discipline by severity (reprimand < warning < dismissal < expulsion).
_SEVERITY = {"reprimand": 0.70, "warning": 0.19, "dismissal": 0.03, "expulsion": 0.08}
# Centre (share in the middle year) and yearly trend (logit scale) of parts of a total.
_SHARE_CENTRES = {
    "village_heads_party_members": (0.72, 0.12),
    "cell_secretaries_also_village_heads": (0.30, 0.15),
    "deputy_secretaries_also_village_heads": (0.15, 0.05),
    "cell_committee_members_also_village_heads": (0.15, 0.05),
    "villages_with_party_org": (0.985, 0.2),
    "villages_with_party_cell": (0.97, 0.2),
    "villages_with_cell_committee": (0.60, 0.1),
    "members_assigned_households": (0.75, 0.1),  # of the members living in residential areas
    "party_members_in_residential_areas": (0.8, 0.0),
    "villages_without_party_members": (0.03, -0.15),
    "households_assigned": (0.45, 0.08),
}
# Parts drawn from a smaller total than their codebook parent (so that a printed share stays <= 100%).
_DRAWN_FROM = {"members_assigned_households": "party_members_in_residential_areas"}
# Breakdowns whose parts add up to the total (the others leave a remainder).
_EXHAUSTIVE = {"severity", "head_membership", "party_org", "secretary_concurrent", "secretary_residence", "org_type"}
# Indicators every article about a district prints; parts and shares follow less often.
_HEADLINE = ("party_members", "admissions", "disciplined_members")


def default_out_dir() -> Path:
    """Where the synthetic panel goes by default: ``synthetic/`` at the repository root.

    Examples:
        >>> default_out_dir().name
        'synthetic'
    """
    return paths.root() / "synthetic"


def legacy_units(provinces: Iterable[str] | None = None) -> pd.DataFrame:
    """Provinces and district-level units of the 63-province list, as a units table.

    Reads the legacy data file of ``vietnamadminunits`` directly (without
    importing the package, which would load all its data).

    Args:
        provinces: GSO province codes to keep (``["62"]``); all 63 when None.

    Returns:
        A frame in the ``units.csv`` schema, provinces and districts sorted by
        code; ``aliases`` holds the Đắk/Đăk variant where the name has one.

    Raises:
        UsageError: A province code is not in the list.

    Examples:
        >>> units = legacy_units(["62"])
        >>> units.loc[units["unit_code"] == "614", ["name", "full_name", "parent_code"]].values.tolist()
        [['Kon Rẫy', 'Huyện Kon Rẫy', '62']]
        >>> units.loc[units["unit_code"] == "615", "aliases"].item()
        'Đắk Hà'
    """
    spec = importlib.util.find_spec("vietnamadminunits")
    path = Path(spec.submodule_search_locations[0]) / "data" / "parser_legacy.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    province_rows = [
        {
            "unit_code": p["provinceCode"],
            "name": p["provinceShort"],
            "full_name": p["province"],
            "level": "province",
            "parent_code": "",
            "type": p["province"][: -len(p["provinceShort"])].strip(),
        }
        for p in data["DICT_PROVINCE"].values()
    ]
    district_rows = [
        {
            "unit_code": d["districtCode"],
            "name": d["district"][len(d["districtType"]) :].strip(),
            "full_name": d["district"],
            "level": "district",
            "parent_code": data["DICT_PROVINCE"][key]["provinceCode"],
            "type": d["districtType"],
        }
        for key, districts in data["DICT_PROVINCE_DISTRICT"].items()
        for d in districts.values()
    ]
    units = pd.DataFrame(province_rows + district_rows)
    if provinces is not None:
        wanted = [str(p) for p in provinces]
        unknown = sorted(set(wanted) - set(units.loc[units["level"] == "province", "unit_code"]))
        if unknown:
            raise UsageError(
                f"unknown province code(s) {', '.join(unknown)} (the 63 GSO codes run 01-96)", field="provinces"
            )
        units = units[units["unit_code"].isin(wanted) | units["parent_code"].isin(wanted)]
    swapped = units["name"].str.replace("Đắk", "\0").str.replace("Đăk", "Đắk").str.replace("\0", "Đăk")
    units = units.assign(
        valid_from="",
        valid_to="",
        aliases=swapped.where(swapped != units["name"], ""),
        note=f"{MARKER} panel unit (vietnamadminunits legacy list; boundaries held fixed over the years)",
    )
    return units.sort_values(["level", "unit_code"], ascending=[False, True], ignore_index=True)


def read_codebook(path: Path | str | None = None) -> pd.DataFrame:
    """The codebook the panel draws its indicators from (default: the project's).

    Args:
        path: A ``codebook.csv``; ``data/raw/codebook.csv`` when None.

    Returns:
        The codebook, every cell text, with a plain 0-based index.

    Raises:
        InputError: The file is missing or lacks a column the panel needs.

    Examples:
        >>> codebook = read_codebook()
        >>> codebook["indicator"].is_unique, "party_members" in set(codebook["indicator"])
        (True, True)
    """
    path = Path(path) if path is not None else paths.raw_dir() / "codebook.csv"
    codebook = read_csv_table(path).reset_index(drop=True)
    missing = {"indicator", "kind", "unit", "family", "parent", "breakdown", "numerator", "denominator"} - set(codebook)
    if missing:
        raise InputError(f"codebook lacks column(s) {', '.join(sorted(missing))}", file=path)
    return codebook


# --------------------------------------------------------------------------- generation


def generate_panel(
    codebook: pd.DataFrame,
    *,
    seed: int = 0,
    years: Sequence[int] = DEFAULT_YEARS,
    provinces: Iterable[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Draw a synthetic panel of every district, year and codebook indicator.

    Args:
        codebook: The codebook (indicator, kind, unit, family, parent,
            breakdown, numerator, denominator, ...); indicators of family
            ``context`` go to the context table, all others to observations.
        seed: Seed of the random generator; the same seed gives the same panel.
        years: Calendar years covered (stocks as of the year end, flows over
            the year).
        provinces: GSO province codes to cover; all 63 when None.

    Returns:
        The raw tables ``units``, ``codebook``, ``sources``, ``observations``
        and ``context`` as frames of text.

    Raises:
        UsageError: No years, or an unknown province code.

    Examples:
        >>> panel = generate_panel(read_codebook(), seed=3, years=[2020], provinces=["62"])
        >>> panel["observations"]["note"].str.contains("SYNTHETIC").all()
        np.True_
        >>> generate_panel(read_codebook(), seed=3, years=[2020], provinces=["62"])["observations"].equals(
        ...     panel["observations"])
        True
    """
    years = sorted({int(y) for y in years})
    if not years:
        raise UsageError("at least one year is needed", field="years")
    rng = np.random.default_rng(seed)
    units = legacy_units(provinces)
    districts = units[units["level"] == "district"].reset_index(drop=True)
    world = _draw_world(rng, districts, np.asarray(years))
    values = _draw_indicators(rng, codebook, world)
    sources = _SourceBook(units, years)
    long = _report(rng, codebook, values, world)
    long = pd.concat(
        [long, _term_totals(rng, codebook, values, world), _province_totals(rng, codebook, values, world)],
        ignore_index=True,
    ).astype({"district": int, "year": int, "value": float, "years": int})
    long = _add_defects(rng, long, codebook)
    observations, context = _to_raw(rng, long, codebook, units, districts, world, sources)
    return {
        "units": units[UNIT_COLUMNS],
        "codebook": codebook.reset_index(drop=True),
        "sources": sources.table(),
        "observations": observations,
        "context": context,
    }


def _draw_world(rng: np.random.Generator, districts: pd.DataFrame, years: np.ndarray) -> dict:
    """Latent district sizes over the years: population, members, villages, flows."""
    n, t = len(districts), len(years)
    kind = districts["type"].to_numpy()
    urban = np.isin(kind, ["Quận", "Thành phố"])
    quan = kind == "Quận"
    step = (years - years[0])[None, :]
    # provinces in code order, as in the units table
    province = np.unique(districts["parent_code"].to_numpy(dtype=str), return_inverse=True)[1]

    pop0 = np.clip(rng.lognormal(np.log(115_000), 0.5, n), 6_000, 1_100_000)
    population = np.rint(pop0[:, None] * (1 + rng.normal(0.011, 0.006, n))[:, None] ** step)
    ratio = rng.uniform(0.042, 0.066, n) + 0.012 * urban
    admit_rate = 0.0275 * rng.gamma(16, 1 / 16, n)
    exit_rate = rng.uniform(0.012, 0.020, n)
    discipline_rate = 0.004 * rng.gamma(4, 1 / 4, n)

    members = np.empty((n, t))
    admissions = np.empty((n, t))
    targets = np.empty((n, t))
    disciplined = np.empty((n, t))
    previous = np.rint(population[:, 0] * ratio)
    for j in range(t):  # a recursion over the years, vectorised over districts
        targets[:, j] = np.rint(previous * admit_rate * rng.uniform(0.95, 1.25, n))
        admissions[:, j] = rng.poisson(previous * admit_rate)
        disciplined[:, j] = rng.poisson(previous * discipline_rate)
        previous = previous + admissions[:, j] - rng.poisson(previous * exit_rate)
        members[:, j] = previous

    villages0 = np.maximum(5, np.rint(pop0 / rng.uniform(650, 1_500, n)))
    merged = (rng.random(n) < 0.3)[:, None] & (years >= 2020)[None, :]  # villages merged in 2019-2020
    villages = np.where(merged, np.rint(villages0 * rng.uniform(0.8, 0.97, n))[:, None], villages0[:, None])
    area_median = np.select([quan, urban, kind == "Thị xã"], [15.0, 160.0, 300.0], 650.0)
    return {
        "years": years,
        "n": n,
        "t": t,
        "step": step,
        "province_index": province,
        "population": population,
        "party_members": members,
        "admissions": admissions,
        "disciplined_members": disciplined,
        "villages": villages,
        "admissions_target": targets,
        "communes": np.broadcast_to(np.maximum(1, np.rint(villages0 / rng.uniform(5, 13, n)))[:, None], (n, t)),
        "area_km2": np.broadcast_to(np.round(area_median * rng.lognormal(0, 0.4, n), 2)[:, None], (n, t)),
        "households": np.rint(population / rng.uniform(3.4, 4.3, n)[:, None]),
        "ethnic_share": np.clip(rng.beta(0.4, 1.3, province.max() + 1)[province] + rng.normal(0, 0.08, n), 0, 0.97),
        "rural_share": np.select(
            [quan, urban, kind == "Thị xã"],
            [rng.uniform(0, 0.03, n), rng.uniform(0.05, 0.3, n), rng.uniform(0.25, 0.5, n)],
            rng.uniform(0.5, 0.85, n),
        ),
        # how much each district publishes: most a fair amount, one in ten very little
        "propensity": rng.beta(2.0, 1.2, n) * np.where(rng.random(n) < 0.1, 0.15, 1.0),
    }


def _share_over_time(rng, world, centre: float, trend: float, spread: float = 0.8) -> np.ndarray:
    """A district share drifting over the years (logit scale), shape (n, t)."""
    middle = world["step"] - world["step"].mean()
    logit = np.log(centre / (1 - centre)) + rng.normal(0, spread, world["n"])[:, None] + trend * middle
    return 1 / (1 + np.exp(-logit))


def _group_share(rng, world, indicator: str) -> np.ndarray:
    """The share of a group (ethnic minority, women, religious, ...) in its total."""
    n = world["n"]
    if "ethnic_minority" in indicator:
        share = world["ethnic_share"]
    elif "female" in indicator:
        share = rng.uniform(0.30, 0.50, n)
    elif "religious" in indicator:
        share = rng.beta(1, 14, n)
    elif "rural" in indicator:
        share = world["rural_share"]
    else:
        share = rng.beta(2, 5, n)
    return np.broadcast_to(share[:, None], (n, world["t"]))


def _base_of(indicator: str, book: pd.DataFrame, known: Iterable[str]) -> str | None:
    """The total an indicator is a part of: its codebook parent, else the
    denominator of a printed percentage of it, else the total its name starts with."""
    parent = book.at[indicator, "parent"]
    if parent:
        return parent
    shares = book.index[book["numerator"] == indicator]
    if len(shares) and book.at[shares[0], "denominator"]:
        return book.at[shares[0], "denominator"]
    for prefix in ("party_members", "admissions", "disciplined", "villages", "households"):
        total = "disciplined_members" if prefix == "disciplined" else prefix
        if indicator.startswith(prefix + "_") and total in known and total != indicator:
            return total
    return None


def _draw_indicators(rng: np.random.Generator, codebook: pd.DataFrame, world: dict) -> dict[str, np.ndarray]:
    """True values (n districts x t years, NaN = not defined) of every codebook indicator."""
    book = codebook.set_index("indicator")
    known = set(book.index) | {k for k, v in world.items() if np.shape(v) == (world["n"], world["t"])}
    values: dict[str, np.ndarray] = {}
    shape = (world["n"], world["t"])

    def get(indicator: str) -> np.ndarray:
        if indicator not in values:
            values[indicator] = draw(indicator)
        return values[indicator]

    def draw(indicator: str) -> np.ndarray:
        if indicator in world and np.shape(world[indicator]) == shape:
            return np.asarray(world[indicator], dtype=float)
        if indicator not in book.index:
            raise InputError(f"indicator {indicator!r} is referred to but not defined", file="codebook.csv")
        row = book.loc[indicator]
        if row["unit"] == "percent":
            if row["numerator"] in known and row["denominator"] in known:
                numerator, denominator = get(row["numerator"]), get(row["denominator"])
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.where(denominator > 0, np.round(100 * numerator / denominator, 2), np.nan)
            return np.round(100 * _share_over_time(rng, world, 0.6, 0.05), 2)
        if indicator.endswith("_change") and indicator[: -len("_change")] in known:
            base = get(indicator[: -len("_change")])
            return np.concatenate([np.full((shape[0], 1), np.nan), np.diff(base, axis=1)], axis=1)
        base = _DRAWN_FROM.get(indicator) or _base_of(indicator, book, known)
        if base is not None:
            total = get(base)
            if row["breakdown"] and row["parent"] == base:
                split_breakdown(base, row["breakdown"])
                return values[indicator]
            centre, trend = _SHARE_CENTRES.get(indicator, (rng.uniform(0.2, 0.7), rng.uniform(0.0, 0.1)))
            share = _share_over_time(rng, world, centre, trend)
            return rng.binomial(np.nan_to_num(total).astype(np.int64), share).astype(float)
        members = get("party_members")
        # anything else: a stock or a flow in proportion to the members, of a random order of magnitude
        flow = row["kind"] == "flow"
        per_member = np.exp(rng.uniform(*np.log([0.0002, 0.005] if flow else [0.001, 0.03])))
        size = members * rng.lognormal(np.log(per_member), 0.4, shape[0])[:, None]
        return rng.poisson(size).astype(float) if flow else np.rint(size * (1 + 0.01 * world["step"]))

    def split_breakdown(parent: str, breakdown: str) -> None:
        # parts of one breakdown never exceed the total: drawn one after the other
        # from what is left (a multinomial whose shares vary by district and year)
        parts = book.index[(book["parent"] == parent) & (book["breakdown"] == breakdown)].tolist()
        parts.sort(key=lambda part: part not in _SHARE_CENTRES)  # known shares first, the rest last
        left = np.nan_to_num(get(parent)).astype(np.int64)
        if len(parts) == 1:
            share = (
                _share_over_time(rng, world, *_SHARE_CENTRES[parts[0]])
                if parts[0] in _SHARE_CENTRES
                else _group_share(rng, world, parts[0])
            )
            values[parts[0]] = rng.binomial(left, share).astype(float)
            return
        exhaustive = breakdown in _EXHAUSTIVE
        mass = np.ones(shape)
        for k, part in enumerate(parts):
            if exhaustive and k == len(parts) - 1:
                drawn = left
            else:
                if breakdown == "severity":
                    weight = next((w for name, w in _SEVERITY.items() if name in part), 0.05)
                    share = np.broadcast_to((weight * rng.lognormal(0, 0.3, shape[0]))[:, None], shape)
                elif part in _SHARE_CENTRES:
                    share = _share_over_time(rng, world, *_SHARE_CENTRES[part])
                elif exhaustive:
                    share = mass / (len(parts) - k)
                else:
                    share = np.full(shape, rng.uniform(0.05, 0.7 / len(parts)))
                drawn = rng.binomial(left, np.clip(share / np.maximum(mass, 1e-9), 0, 1))
                mass = np.maximum(mass - share, 0)
            values[part] = drawn.astype(float)
            left = left - drawn

    for indicator in codebook["indicator"]:
        get(indicator)
    return {k: v for k, v in values.items() if k in book.index}


def _indicator_weight(codebook: pd.DataFrame) -> np.ndarray:
    """How often an indicator is printed, relative to the others."""
    indicator = codebook["indicator"]
    return np.select(
        [indicator.isin(_HEADLINE), codebook["unit"] == "percent", codebook["parent"] != ""], [4.0, 0.9, 1.0], 0.7
    )


def _report(rng: np.random.Generator, codebook: pd.DataFrame, values: dict, world: dict) -> pd.DataFrame:
    """Which true values get printed: district presence, indicator weight, whole breakdowns at once."""
    n, t = world["n"], world["t"]
    propensity = world["propensity"]
    present = rng.random((n, t)) < (0.3 + 0.7 * propensity)[:, None]
    context = (codebook["family"] == "context").to_numpy()
    weight = _indicator_weight(codebook)
    scale = _reporting_scale(weight[~context], propensity, present, ROWS_PER_UNIT_YEAR * n * t)
    blocks: dict[tuple[str, str], np.ndarray] = {}
    frames = []
    for k, row in enumerate(codebook.itertuples(index=False)):  # a loop over indicator definitions
        value = values[row.indicator]
        if context[k]:
            chance = {"population": 0.75, "villages": 0.5}.get(row.indicator, 0.12)
            printed = rng.random((n, t)) < chance
            first = rng.integers(0, t, n)  # every district's context is printed at least once
            printed[np.arange(n), first] = True
        else:
            chance = np.minimum(1.0, scale * weight[k] * (0.2 + 0.8 * propensity))[:, None]
            if row.breakdown:
                key = (row.parent, row.breakdown)
                if key not in blocks:
                    blocks[key] = rng.random((n, t)) < chance
                printed = present & blocks[key]
            else:
                printed = present & (rng.random((n, t)) < chance)
        printed &= np.isfinite(value)
        d, y = np.nonzero(printed)
        frames.append(
            pd.DataFrame({"district": d, "year": y, "indicator": row.indicator, "value": value[d, y], "years": 1})
        )
    return pd.concat(frames, ignore_index=True)


def _reporting_scale(weight: np.ndarray, propensity: np.ndarray, present: np.ndarray, target: float) -> float:
    """The factor on reporting chances that makes the expected row count ``target`` (bisection)."""
    years_present = present.sum(axis=1)
    low, high = 0.0, 50.0
    for _ in range(40):
        mid = (low + high) / 2
        chance = np.minimum(1.0, mid * weight[None, :] * (0.2 + 0.8 * propensity)[:, None])
        expected = (chance.sum(axis=1) * years_present).sum()
        low, high = (mid, high) if expected < target else (low, mid)
    return (low + high) / 2


def _term_totals(rng: np.random.Generator, codebook: pd.DataFrame, values: dict, world: dict) -> pd.DataFrame:
    """Flows summed over the 2015-2019 congress term, printed by some districts' term reviews."""
    term = (world["years"] >= 2015) & (world["years"] <= 2019)
    flows = codebook[(codebook["kind"] == "flow") & (codebook["unit"] == "count") & (codebook["family"] != "context")]
    if term.sum() < 2 or flows.empty:
        return pd.DataFrame(columns=["district", "year", "indicator", "value", "years"])
    reviewing = np.flatnonzero(rng.random(world["n"]) < 0.15)
    last = int(np.flatnonzero(term)[-1])
    frames = []
    for indicator in flows["indicator"]:
        total = values[indicator][reviewing][:, term].sum(axis=1)
        keep = np.isfinite(total) & (rng.random(len(reviewing)) < 0.6)
        frames.append(
            pd.DataFrame(
                {
                    "district": reviewing[keep],
                    "year": last,
                    "indicator": indicator,
                    "value": total[keep],
                    "years": int(term.sum()),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _province_totals(rng: np.random.Generator, codebook: pd.DataFrame, values: dict, world: dict) -> pd.DataFrame:
    """Province totals of members and population (district = -1 - province index)."""
    frames = []
    index = world["province_index"]
    for indicator in ("party_members", "population"):
        if indicator not in values:
            continue
        totals = np.zeros((index.max() + 1, world["t"]))
        np.add.at(totals, index, values[indicator])
        p, y = np.nonzero(rng.random(totals.shape) < 0.8)
        frames.append(
            pd.DataFrame({"district": -1 - p, "year": y, "indicator": indicator, "value": totals[p, y], "years": 1})
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _add_defects(rng: np.random.Generator, long: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Hedges, second sources, undated articles, disagreeing percentages, breakdowns over their total."""
    book = codebook.set_index("indicator")
    unit = book["unit"].reindex(long["indicator"]).to_numpy()
    family = book["family"].reindex(long["indicator"]).to_numpy()
    n = len(long)
    long = long.assign(qualifier="exact", note=f"{MARKER} figure", source_role="main", undated=False)
    count, value = unit == "count", long["value"].to_numpy()

    # hedged: about 5% of counts of 20 or more, rounded to two significant digits
    hedged = count & (value >= 20) & (rng.random(n) < 0.05) & (family != "context")
    kind = rng.choice(np.array(["more_than", "nearly", "about"]), size=n, p=[0.5, 0.3, 0.2])
    step = np.maximum(5.0, 10.0 ** (np.floor(np.log10(np.maximum(value, 1))) - 1))
    rounded = np.select(
        [kind == "more_than", kind == "nearly"],
        [np.floor((value - 1) / step) * step, np.ceil((value + 1) / step) * step],
        np.round(value / step) * step,
    )
    long["value"] = np.where(hedged, rounded, value)
    long["qualifier"] = np.where(hedged, kind, "exact")
    long.loc[hedged, "note"] = f"{MARKER} figure, printed hedged and rounded"

    # undated: about 1% of district rows come from an article without a date
    undated = (
        (long["district"].to_numpy() >= 0)
        & (long["years"].to_numpy() == 1)
        & (family != "context")
        & (rng.random(n) < 0.01)
    )
    long["undated"] = undated
    long.loc[undated, "note"] = f"{MARKER} figure from an undated article ('to date')"

    # disagreeing percentages: a few printed shares off by 1-3 points
    off = (unit == "percent") & (rng.random(n) < 0.004) & (value > 5) & (value < 95)
    long.loc[off, "value"] = np.round(value[off] + rng.choice([-1, 1], off.sum()) * rng.uniform(1, 3, off.sum()), 2)
    long.loc[off, "note"] = f"SUSPECT: {MARKER} printed share disagrees with its own counts"

    over = _over_total(rng, long, book)
    long.loc[over, "value"] += rng.integers(1, 6, len(over))
    long.loc[over, "note"] = f"SUSPECT: {MARKER} severity parts exceed the printed total (kept as printed)"

    # second sources: about 2% of district member stocks printed again, slightly different
    again = long[
        (long["indicator"] == "party_members") & (long["district"] >= 0) & ~long["undated"] & (long["years"] == 1)
    ]
    again = again[rng.random(len(again)) < 0.02].copy()
    shift = np.maximum(1, np.rint(again["value"].to_numpy() * rng.uniform(0.002, 0.02, len(again))))
    again["value"] = again["value"] + rng.choice([-1, 1], len(again)) * shift
    again["qualifier"] = "exact"
    again["source_role"] = "second"
    again["note"] = f"{MARKER} figure; a second source prints a different value for the same date"
    return pd.concat([long, again], ignore_index=True)


def _over_total(rng: np.random.Generator, long: pd.DataFrame, book: pd.DataFrame) -> np.ndarray:
    """Row labels of one severity part in about 1% of fully printed breakdowns, to push over the total."""
    severity = book.index[book["breakdown"] == "severity"]
    parents = book.loc[severity, "parent"].unique()
    if len(severity) == 0:
        return np.array([], dtype=int)
    annual = long[(long["years"] == 1) & (long["district"] >= 0) & (long["qualifier"] == "exact")]
    parts = annual[annual["indicator"].isin(severity)]
    complete = parts.groupby(["district", "year"])["indicator"].transform("size") == len(severity)
    with_total = annual[annual["indicator"].isin(parents)].set_index(["district", "year"]).index
    candidates = parts[complete & pd.MultiIndex.from_frame(parts[["district", "year"]]).isin(with_total)]
    firsts = candidates.groupby(["district", "year"]).head(1)
    chosen = firsts[rng.random(len(firsts)) < 0.01]
    if chosen.empty and not firsts.empty:
        chosen = firsts.iloc[[0]]
    return chosen.index.to_numpy()


def _ids(prefix: str, count: int, width: int) -> np.ndarray:
    """``prefix`` + zero-padded numbers 1..count, indexed from 0 (``_ids("S", 3, 5)[0] == "S00001"``)."""
    return np.array([f"{prefix}{k:0{width}d}" for k in range(1, count + 1)], dtype=object)


class _SourceBook:
    """The synthetic sources and their ids.

    Per province and year: a newspaper (``main``), a portal and a second
    paper (``second``, which disagrees now and then), all ``S`` ids, and a
    statistical yearbook (``C`` id). Per province: an undated portal page and
    a review of the 2015-2020 congress term.
    """

    ARTICLES = {  # role: (publisher prefix, title prefix, published after the year, kind)
        "main": (f"{MARKER} Báo", f"{MARKER} Công tác xây dựng Đảng ở các huyện năm", "-01-20", "press"),
        "portal": (f"{MARKER} Cổng thông tin tỉnh", f"{MARKER} Số liệu tổ chức cơ sở đảng năm", "-02", "portal"),
        "second": (
            f"{MARKER} Tạp chí Xây dựng Đảng, chuyên trang",
            f"{MARKER} Nhìn lại công tác phát triển đảng viên năm",
            "-03-15",
            "press",
        ),
    }

    def __init__(self, units: pd.DataFrame, years: Sequence[int]):
        self.names = units.loc[units["level"] == "province", "name"].to_numpy(dtype=object)
        self.years = np.asarray(years)
        self.n, self.t = len(self.names), len(self.years)
        self._s = _ids("S", 3 * self.n * self.t + 2 * self.n, 5)
        self._c = _ids("C", self.n * self.t, 4)

    def article_id(self, role: str, province: np.ndarray, year: np.ndarray) -> np.ndarray:
        """Ids of the article of a role, for arrays of province and year positions."""
        n, t = self.n, self.t
        if role == "undated":
            return self._s[3 * n * t + province]
        if role == "term":
            return self._s[3 * n * t + n + province]
        return self._s[(province * t + year) * 3 + list(self.ARTICLES).index(role)]

    def statistics_id(self, province: np.ndarray, year: np.ndarray) -> np.ndarray:
        """Ids of the statistical yearbooks, for arrays of province and year positions."""
        return self._c[province * self.t + year]

    def table(self) -> pd.DataFrame:
        """The sources table in the raw schema, sorted by id."""
        p, y = np.repeat(np.arange(self.n), self.t), np.tile(np.arange(self.t), self.n)
        name, year = self.names[p], self.years[y].astype(str).astype(object)
        published_year = (self.years[y] + 1).astype(str).astype(object)
        frames = [
            pd.DataFrame(
                {
                    "source_id": self.article_id(role, p, y),
                    "publisher": f"{publisher} " + name,
                    "title": f"{title} " + year + " - " + name,
                    "published": published_year + after,
                    "published_note": "",
                    "kind": kind,
                }
            )
            for role, (publisher, title, after, kind) in self.ARTICLES.items()
        ]
        everyone = np.arange(self.n)
        frames.append(
            pd.DataFrame(
                {
                    "source_id": self.article_id("undated", everyone, everyone),
                    "publisher": f"{MARKER} Cổng thông tin tỉnh " + self.names,
                    "title": f"{MARKER} Kết quả xây dựng tổ chức đảng đến nay - " + self.names,
                    "published": "",
                    "published_note": f"{MARKER}: undated page",
                    "kind": "portal",
                }
            )
        )
        frames.append(
            pd.DataFrame(
                {
                    "source_id": self.article_id("term", everyone, everyone),
                    "publisher": f"{MARKER} Báo " + self.names,
                    "title": f"{MARKER} Tổng kết nhiệm kỳ 2015-2020 - " + self.names,
                    "published": "2020-07",
                    "published_note": "",
                    "kind": "press",
                }
            )
        )
        frames.append(
            pd.DataFrame(
                {
                    "source_id": self.statistics_id(p, y),
                    "publisher": f"{MARKER} Cục Thống kê tỉnh " + name,
                    "title": f"{MARKER} Niên giám thống kê " + name + " " + year,
                    "published": published_year + "-06",
                    "published_note": "",
                    "kind": "statistics",
                }
            )
        )
        table = pd.concat(frames, ignore_index=True).assign(url="", language="vi", accessed="")
        return table[SOURCE_COLUMNS].sort_values("source_id", ignore_index=True).astype(str)


def _dates(
    rng: np.random.Generator, year: np.ndarray, years_counted: np.ndarray, kind: np.ndarray, undated: np.ndarray
) -> dict[str, np.ndarray]:
    """as_of / period_start / period_end / period_end_basis, partial dates as sources give them."""
    n = len(year)
    first = int(min(year.min(initial=0), (year - years_counted + 1).min(initial=0)))
    calendar = np.arange(first, int(year.max(initial=0)) + 1).astype(str).astype(object)
    # full date, year-month or year only: looked up by (style, year) rather than built per row
    ends = np.stack([calendar + "-12-31", calendar + "-12", calendar])
    starts = np.stack([calendar + "-01-01", calendar + "-01", calendar])
    style = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    end = ends[style, year - first]
    start = starts[style, year - years_counted + 1 - first]
    flow = kind == "flow"
    return {
        "as_of": np.where(~flow & ~undated, end, ""),
        "period_start": np.where(flow, start, ""),
        "period_end": np.where(flow & ~undated, end, ""),
        "period_end_basis": np.where(undated, "unknown", "stated"),
    }


def _format_values(value: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Numbers as a raw table prints them: whole counts as integers, others with 2 decimals."""
    text = np.empty(len(value), dtype=object)
    decimals = (unit == "percent") | (value != np.rint(value))
    text[~decimals] = np.rint(value[~decimals]).astype(np.int64).astype(str)
    text[decimals] = pd.Series(value[decimals]).map("{:.2f}".format).to_numpy(dtype=object)
    return text


def _to_raw(
    rng,
    long: pd.DataFrame,
    codebook: pd.DataFrame,
    units: pd.DataFrame,
    districts: pd.DataFrame,
    world: dict,
    sources: _SourceBook,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The long table of printed values as the observations and context raw tables."""
    book = codebook.set_index("indicator")
    provinces = units[units["level"] == "province"].reset_index(drop=True)
    province_of_district = pd.Index(provinces["unit_code"]).get_indexer(districts["parent_code"])
    district = long["district"].to_numpy()
    order = pd.Series(np.arange(len(codebook)), index=codebook["indicator"])
    long = long.assign(
        province=np.where(district < 0, -1 - district, province_of_district[np.maximum(district, 0)]),
        rank=order.reindex(long["indicator"]).to_numpy(),
    )
    long = long.sort_values(["year", "province", "district", "rank", "source_role"], kind="stable", ignore_index=True)
    n = len(long)
    district = long["district"].to_numpy()
    is_province = district < 0
    province = long["province"].to_numpy()
    year = long["year"].to_numpy()

    # the name as printed: mostly the short name, sometimes the full name or the alias
    ambiguous = districts.duplicated(["parent_code", "name"], keep=False).to_numpy()
    usual = np.where(ambiguous, districts["full_name"], districts["name"])
    alias = np.where(districts["aliases"] != "", districts["aliases"], usual)
    spelling = rng.choice(3, size=n, p=[0.85, 0.1, 0.05])
    d = np.maximum(district, 0)
    name = np.select([spelling == 1, spelling == 2], [districts["full_name"].to_numpy()[d], alias[d]], usual[d])
    name = np.where(is_province, provinces["name"].to_numpy()[province], name)

    family = book["family"].reindex(long["indicator"]).to_numpy()
    kind = book["kind"].reindex(long["indicator"]).to_numpy()
    unit = book["unit"].reindex(long["indicator"]).to_numpy()
    in_context = family == "context"
    role = long["source_role"].to_numpy()
    undated = long["undated"].to_numpy()
    term = long["years"].to_numpy() > 1
    source = np.select(
        [in_context, undated, term, role == "second"],
        [
            sources.statistics_id(province, year),
            sources.article_id("undated", province, year),
            sources.article_id("term", province, year),
            sources.article_id("second", province, year),
        ],
        np.where(
            rng.random(n) < 0.6,
            sources.article_id("main", province, year),
            sources.article_id("portal", province, year),
        ),
    )
    locator = np.where(in_context, _LOCATORS["table"][rng.integers(0, 8, n)], _LOCATORS["para"][rng.integers(0, 12, n)])
    frame = pd.DataFrame(
        {
            "source_id": source,
            "locator": locator,
            "unit_name": name,
            "province": provinces["name"].to_numpy()[province],
            "scope": np.where(is_province, "province", "district"),
            "indicator": long["indicator"].to_numpy(),
            "value": _format_values(long["value"].to_numpy(), unit),
            "unit": unit,
            "qualifier": long["qualifier"].to_numpy(),
            **_dates(rng, world["years"][year], long["years"].to_numpy(), kind, undated),
            "status": "published",
            "note": long["note"].to_numpy(),
        }
    )
    observations = frame[~in_context].reset_index(drop=True)
    context = frame[in_context].reset_index(drop=True)
    observations.insert(0, "obs_id", _ids("O", len(observations), 6))
    context.insert(0, "obs_id", _ids("C", len(context), 6))
    return observations[list(OBSERVATION_COLUMNS)].astype(str), context[list(OBSERVATION_COLUMNS)].astype(str)


# --------------------------------------------------------------------------- writing


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def write_panel(
    panel: dict[str, pd.DataFrame], out_dir: Path | str | None = None, *, seed: int, years: Sequence[int]
) -> Path:
    """Write a synthetic panel with its SYNTHETIC marker and README.

    Args:
        panel: The tables of :func:`generate_panel`.
        out_dir: Destination folder; ``synthetic/`` at the repository root when None.
        seed: The seed used (recorded in the marker and README).
        years: The years covered (recorded likewise).

    Returns:
        The resolved output folder.

    Raises:
        UsageError: The folder is (or is inside) the real raw data folder, or
            it is not empty and holds no ``SYNTHETIC`` marker file.

    Examples:
        >>> import tempfile
        >>> panel = generate_panel(read_codebook(), seed=3, years=[2020], provinces=["62"])
        >>> out = write_panel(panel, Path(tempfile.mkdtemp()) / "demo", seed=3, years=[2020])
        >>> sorted(p.name for p in out.iterdir())[:3], (out / "SYNTHETIC").read_text()[:10]
        (['README.md', 'SYNTHETIC', 'codebook.csv'], 'SYNTHETIC:')
    """
    out = Path(out_dir if out_dir is not None else default_out_dir()).expanduser().resolve()
    for real in {paths.raw_dir().resolve(), (paths.root() / "data").resolve()}:
        if _is_within(out, real) or _is_within(real, out):
            raise UsageError(f"refusing to write synthetic data into or over the real data folder {real}", file=out)
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER_FILE).is_file():
        raise UsageError(
            "refusing to write into a non-empty folder that is not a previous synthetic output "
            f"(no {MARKER_FILE} file there)",
            file=out,
        )
    years = sorted(int(y) for y in years)
    described = f"{years[0]}-{years[-1]}" if years else "none"
    stamp = (
        f"{MARKER}: invented data from analysis.data.synthetic (seed {seed}, years {described}). "
        "Not real figures; never copy these files into data/raw.\n"
    )
    counts = {name: len(panel[name]) for name in TABLE_FILES}
    readme = "\n".join(
        [
            f"# {MARKER} panel: invented figures, not data",
            "",
            f"Generated by `python -m analysis synthetic` (seed {seed}, years {described}).",
            "Every figure here is drawn at random around national orders of magnitude",
            "(membership about 5.5% of the population, admissions about 2.75 per 100",
            "members a year, discipline about 4 per 1,000 members a year), for",
            "demonstrations and benchmarks of the package. Source titles and publishers",
            f"start with `{MARKER}` and every note says it. Only `codebook.csv` is real: a",
            "copy of the project's codebook. Do not cite, do not mix with `data/raw/`.",
            "",
            "Point the package at this folder with `analysis.load_dataset(raw_dir=...)`,",
            "`python -m analysis build --raw DIR`, or a schedule's `data_dir` parameter",
            "(see `schedules/synthetic.yml`).",
            "",
            "| table | rows |",
            "|---|---|",
            *[f"| {name}.csv | {counts[name]} |" for name in TABLE_FILES],
            "",
        ]
    )
    files = {f"{name}.csv": csv_bytes(panel[name]) for name in TABLE_FILES}
    files["README.md"] = readme.encode("utf-8")
    files[MARKER_FILE] = stamp.encode("utf-8")  # last: the folder is synthetic once complete
    replace_files(files, out)
    return out
