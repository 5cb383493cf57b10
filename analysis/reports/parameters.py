"""Parameters of the report notebooks: checked, normalised, explained when wrong.

Each report notebook (``notebooks/*.ipynb``) has a ``parameters`` cell of
literals, which papermill may replace, and then one call to the matching
``validate_<kind>_params`` function below. That call either returns a frozen
params object with every value in its normal form (codes resolved, dates
parsed, paths absolute) or raises :class:`~analysis.errors.UsageError` with
one line saying what is wrong and what would be right: an unknown district
lists the valid districts of the province, an unknown family the families,
and so on. A name such as ``'../../etc/passwd'`` is simply an unknown
district: names are looked up in the unit table, never used as paths.

Only ``units.csv`` is read here (to resolve names), so a mistyped parameter
fails in a second, before the dataset is built.

Decisions that apply to all three notebooks:

* ``data_dir=None`` means :func:`analysis.paths.raw_dir`; a folder given
  must exist.
* ``output_json=None`` means *no artifact is written* (exploring a notebook
  in JupyterLab then leaves no files behind); the report runner always
  passes an absolute path. A path given must end in ``.json`` and its folder
  must exist; a relative path is taken from the working directory.
* ``lang`` is ``'en'`` or ``'vi'``.

Examples:
    >>> check_lang("VI")
    'vi'
    >>> check_period("2020", "2021-08")
    ('2020-01-01', '2021-08-31')
    >>> check_period("2021", "2020")
    Traceback (most recent call last):
    ...
    analysis.errors.UsageError: period_end: ends (2020-12-31) before it starts (2021-01-01)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.errors import UsageError
from analysis.stats.intervals import conf_levels

LANGS = ("en", "vi")
#: Benchmark keyword of the comparison notebook (else a number in display units).
POOLED = "pooled"
#: Region keyword of the comparison notebook: every district in the unit table.
ALL = "all"


@dataclass(frozen=True)
class ProfileParams:
    """Checked parameters of ``district_profile.ipynb``.

    Attributes:
        district: The district's name in the unit table (``'Kon Rẫy'``).
        unit_code: Its GSO code (``'614'``).
        province: The province's name in the unit table.
        province_code: The province's code (``'62'``).
        period_start, period_end: ISO dates limiting the figures shown, or None.
        lang: ``'en'`` or ``'vi'``.
        data_dir: Absolute raw-data folder.
        output_json: Absolute artifact path, or None (no artifact).
    """

    district: str
    unit_code: str
    province: str
    province_code: str
    period_start: str | None
    period_end: str | None
    lang: str
    data_dir: Path
    output_json: Path | None


@dataclass(frozen=True)
class ComparisonParams:
    """Checked parameters of ``district_comparison.ipynb``.

    Attributes:
        province: The province's name in the unit table, or None when the
            comparison is over a region or every district.
        province_code: Its code, or None.
        region: The region's name in the unit table (``'Tây Nguyên'``),
            :data:`ALL` for every district, or None for a province.
        region_code: The region's code (``'R-TN'``), or None.
        unit_codes: Codes of the districts compared (all of the province or
            region when the ``districts`` parameter is None), in GSO order.
        districts: The ``districts`` parameter as codes, or None (every district).
        family: ``coverage``, ``admissions`` or ``discipline``.
        benchmark: ``'pooled'`` or a number in display units.
        levels: Inner and outer confidence levels, e.g. ``(0.95, 0.998)``.
        period: ``(first day, last day)`` as ISO dates to compare within, or
            None for each district's latest period.
        lang, data_dir, output_json: As in :class:`ProfileParams`.
    """

    province: str | None
    province_code: str | None
    region: str | None
    region_code: str | None
    unit_codes: tuple[str, ...]
    districts: tuple[str, ...] | None
    family: str
    benchmark: str | float
    levels: tuple[float, float]
    period: tuple[str, str] | None
    lang: str
    data_dir: Path
    output_json: Path | None

    @property
    def place(self) -> str:
        """What is compared, for the narration: the province's or region's name, or :data:`ALL`."""
        return self.province or self.region


@dataclass(frozen=True)
class QualityParams:
    """Checked parameters of ``data_quality.ipynb`` (see :class:`ProfileParams`)."""

    lang: str
    data_dir: Path
    output_json: Path | None


# ----------------------------------------------------------------- single values


def check_lang(lang) -> str:
    """The report language, ``'en'`` or ``'vi'`` (case and spaces ignored).

    Raises:
        UsageError: Any other value.

    Examples:
        >>> check_lang(" en ")
        'en'
        >>> check_lang("fr")
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: lang: must be 'en' or 'vi', not 'fr'
    """
    text = str(lang).strip().lower() if isinstance(lang, str) else lang
    if text not in LANGS:
        raise UsageError(f"must be 'en' or 'vi', not {lang!r}", field="lang")
    return text


def check_data_dir(data_dir) -> Path:
    """The raw-data folder as an absolute path (None: the project's ``data/raw``).

    Raises:
        UsageError: The folder does not exist.

    Examples:
        >>> check_data_dir(None) == paths.raw_dir()
        True
        >>> check_data_dir("/no/such/folder")
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: data_dir: no such folder: /no/such/folder
    """
    folder = paths.raw_dir() if data_dir is None else Path(str(data_dir)).expanduser().resolve()
    if not folder.is_dir():
        raise UsageError(f"no such folder: {folder}", field="data_dir")
    return folder


def check_output_json(output_json) -> Path | None:
    """Where the artifact goes: an absolute ``.json`` path in an existing folder, or None.

    Raises:
        UsageError: Not a ``.json`` name, or its folder does not exist.

    Examples:
        >>> check_output_json(None) is None
        True
        >>> check_output_json("/no/such/folder/report.json")
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: output_json: folder does not exist: /no/such/folder
        >>> check_output_json("/tmp/report.txt")
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: output_json: must be a .json file name, not '/tmp/report.txt'
    """
    if output_json is None:
        return None
    path = Path(str(output_json)).expanduser()
    if path.suffix.lower() != ".json":
        raise UsageError(f"must be a .json file name, not {str(output_json)!r}", field="output_json")
    path = path.resolve()
    if not path.parent.is_dir():
        raise UsageError(f"folder does not exist: {path.parent}", field="output_json")
    return path


def check_period(period_start, period_end) -> tuple[str | None, str | None]:
    """A period as ISO dates; a partial start is its first day, a partial end its last.

    Either end may be None (open). Dates are ``YYYY``, ``YYYY-MM`` or
    ``YYYY-MM-DD`` (text, or a year as a number). A period that holds no
    figure is allowed: the report then says that nothing was published for it.

    Raises:
        UsageError: An unreadable date, or an end before the start.

    Examples:
        >>> check_period(None, 2021)
        (None, '2021-12-31')
        >>> check_period("2021-02-30", None)
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: period_start: not a date: '2021-02-30' (use YYYY, YYYY-MM or YYYY-MM-DD)
    """
    from analysis.data.schema import parse_dates

    found = {}
    for name, value, side in (("period_start", period_start, "first"), ("period_end", period_end, "last")):
        if value is None:
            found[name] = None
            continue
        text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
        parsed = parse_dates(pd.Series([text or ""])).iloc[0] if text else None
        if parsed is None or parsed["status"] != "ok" or "/" in text:
            raise UsageError(f"not a date: {value!r} (use YYYY, YYYY-MM or YYYY-MM-DD)", field=name)
        found[name] = parsed[side].strftime("%Y-%m-%d")
    start, end = found["period_start"], found["period_end"]
    if start and end and end < start:
        raise UsageError(f"ends ({end}) before it starts ({start})", field="period_end")
    return start, end


def check_comparison_period(period) -> tuple[str, str] | None:
    """The time a comparison is made within, as ``(first day, last day)`` ISO dates, or None.

    Args:
        period: None (each district's latest period), a year or date
            (``"2021"``, ``2021``, ``"2021-06"``: its whole span), or a list of
            two of them (``["2020", "2022-06"]``: from the first day of the one
            to the last day of the other).

    Raises:
        UsageError: Anything else, an unreadable date, or an end before the start.

    Examples:
        >>> check_comparison_period(None) is None
        True
        >>> check_comparison_period(2021), check_comparison_period(["2020", "2022-06"])
        (('2021-01-01', '2021-12-31'), ('2020-01-01', '2022-06-30'))
        >>> check_comparison_period(["2023", "2021"])
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: period: ends (2021-12-31) before it starts (2023-01-01)
    """
    if period is None:
        return None
    pair = list(period) if isinstance(period, (list, tuple)) else [period, period]
    if len(pair) != 2 or any(value is None for value in pair):
        raise UsageError(f"must be None, a year or date, or a list of two; got {period!r}", field="period")
    try:
        start, end = check_period(*pair)
    except UsageError as err:
        raise UsageError(err.message, field="period") from None
    return start, end


def check_family(family) -> str:
    """A metric family: ``coverage``, ``admissions`` or ``discipline``.

    Raises:
        UsageError: Any other value.

    Examples:
        >>> check_family("Discipline")
        'discipline'
        >>> check_family("structure")
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: family: unknown family 'structure'; use one of coverage, admissions, discipline
    """
    from analysis.stats.metrics import FAMILIES

    text = str(family).strip().lower() if isinstance(family, str) else family
    if text not in FAMILIES:
        raise UsageError(f"unknown family {family!r}; use one of {', '.join(FAMILIES)}", field="family")
    return text


def check_benchmark(benchmark) -> str | float:
    """``'pooled'`` or a benchmark value in display units (a number, or a number as text).

    Text is accepted because schedules and ``papermill -p`` may give one.

    Raises:
        UsageError: Anything else, a negative number, NaN or infinity.

    Examples:
        >>> check_benchmark("pooled"), check_benchmark(4), check_benchmark("4.5")
        ('pooled', 4.0, 4.5)
        >>> check_benchmark("national")
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: benchmark: must be 'pooled' or a number (display units, ...), not 'national'
    """
    if isinstance(benchmark, str) and benchmark.strip().lower() == POOLED:
        return POOLED
    value = None
    if isinstance(benchmark, (int, float, str)) and not isinstance(benchmark, bool):
        try:
            value = float(benchmark)
        except ValueError:
            value = None
    if value is None or not math.isfinite(value) or value < 0:
        raise UsageError(
            f"must be 'pooled' or a number (display units, e.g. 4.0 per 1,000 member-years), not {benchmark!r}",
            field="benchmark",
        )
    return value


# ----------------------------------------------------------------- units


def _read_units(data_dir: Path) -> pd.DataFrame:
    from analysis.data.units import load_units

    return load_units(data_dir / "units.csv")


def _province(units: pd.DataFrame, province) -> tuple[str, str]:
    """(name, code) of a province given by name (any spelling) or code."""
    from analysis.data.units import resolve_unit

    provinces = units[units["level"] == "province"]
    text = str(province).strip() if province is not None else ""
    by_code = provinces[provinces["unit_code"] == text]
    if len(by_code):
        return by_code["name"].iloc[0], text
    try:
        code = resolve_unit(text, level="province", units=units) if text else None
    except UsageError:  # unknown, or ambiguous
        code = None
    if code is None:
        names = ", ".join(_sorted_names(provinces["name"]))
        raise UsageError(f"unknown province {province!r}; valid provinces: {names}", field="province")
    return provinces.loc[provinces["unit_code"] == code, "name"].iloc[0], code


def _sorted_names(names: pd.Series) -> list[str]:
    from analysis.text.names import name_key

    return sorted(names.astype(str).unique(), key=name_key)


def districts_of(units: pd.DataFrame, province_code: str) -> pd.DataFrame:
    """The districts of a province in the unit table (historical ones included).

    Args:
        units: The unit table.
        province_code: The province's code.

    Returns:
        ``unit_code`` and ``name``, in GSO code order.

    Examples:
        >>> units = pd.DataFrame({"unit_code": ["62", "615", "614"], "name": ["Kon Tum", "Đắk Hà", "Kon Rẫy"],
        ...     "level": ["province", "district", "district"], "parent_code": ["", "62", "62"]})
        >>> districts_of(units, "62")["name"].tolist()
        ['Kon Rẫy', 'Đắk Hà']
    """
    return _districts_in(units, [province_code])


def _district(units: pd.DataFrame, district, province: str, province_code: str) -> tuple[str, str]:
    """(name, code) of one district of the province, by name (any spelling) or code."""
    from analysis.data.units import resolve_unit

    valid = districts_of(units, province_code)
    text = str(district).strip() if isinstance(district, (str, int)) and not isinstance(district, bool) else ""
    code = text if text in set(valid["unit_code"]) else None
    if code is None and text:
        try:
            code = resolve_unit(text, province=province, level="district", units=units)
        except UsageError:  # unknown, or ambiguous
            code = None
    if code is None or code not in set(valid["unit_code"]):
        names = ", ".join(_sorted_names(valid["name"])) or "(none in the unit table)"
        raise UsageError(
            f"unknown district {district!r} in {province}; valid districts: {names}{_elsewhere(units, text)}",
            field="district",
        )
    return valid.loc[valid["unit_code"] == code, "name"].iloc[0], code


def _district_anywhere(units: pd.DataFrame, district) -> tuple[str, str, str, str]:
    """(name, code, province name, province code) of a district of any province."""
    from analysis.data.units import resolve_unit
    from analysis.text.names import closest_names, name_key, name_keys

    districts = units[units["level"] == "district"]
    text = str(district).strip() if isinstance(district, (str, int)) and not isinstance(district, bool) else ""
    code = text if text in set(districts["unit_code"]) else None
    if code is None and text:
        try:
            code = resolve_unit(text, level="district", units=units)
        except UsageError:  # unknown, or ambiguous
            code = None
    if code is None:
        namesakes = districts[name_keys(districts["name"]) == name_key(text)] if text else districts.iloc[:0]
        if len(namesakes) > 1:
            where = units.loc[units["unit_code"].isin(namesakes["parent_code"]), "name"]
            raise UsageError(
                f"district {district!r} exists in several provinces ({', '.join(_sorted_names(where))}); set province",
                field="district",
            )
        close = closest_names(text, districts["name"]) if text else []
        hint = f"; closest: {', '.join(close)}" if close else "; set province to list its districts"
        raise UsageError(f"unknown district {district!r}{hint}", field="district")
    parent = districts.loc[districts["unit_code"] == code, "parent_code"].iloc[0]
    province = units.loc[units["unit_code"] == parent, "name"]
    return (
        districts.loc[districts["unit_code"] == code, "name"].iloc[0],
        code,
        province.iloc[0] if len(province) else "",
        parent,
    )


def _elsewhere(units: pd.DataFrame, name: str) -> str:
    """A hint when the name is a district of another province, else ''."""
    from analysis.data.units import resolve_unit

    try:
        code = resolve_unit(name, level="district", units=units) if name else None
    except UsageError:  # unknown, or ambiguous
        return ""
    parent = units.loc[units["unit_code"] == code, "parent_code"]
    provinces = units.loc[units["unit_code"].isin(parent), "name"]
    return f" ({name!r} is a district of {provinces.iloc[0]}: set province)" if len(provinces) else ""


# ----------------------------------------------------------------- the three notebooks


def validate_profile_params(
    district, province="Kon Tum", period_start=None, period_end=None, lang="en", data_dir=None, output_json=None
) -> ProfileParams:
    """Check the parameters of the district profile notebook.

    Args:
        district: District name in any spelling the unit table knows
            (``'Kon Rẫy'``, ``'huyện Kon Ray'``) or its GSO code.
        province: Province name or code; None to look the district up in
            every province (its name must then be unique).
        period_start, period_end: Optional dates limiting the figures shown
            (see :func:`check_period`).
        lang: ``'en'`` or ``'vi'``.
        data_dir: Raw-data folder, or None for the project's.
        output_json: Artifact path, or None for no artifact.

    Returns:
        The :class:`ProfileParams`.

    Raises:
        UsageError: One line naming the parameter; an unknown district lists
            the valid districts of the province.
        InputError: ``units.csv`` in ``data_dir`` is missing or unreadable.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "units.csv").write_text(
        ...     "unit_code,name,full_name,level,parent_code,valid_from,valid_to,aliases\\n"
        ...     "62,Kon Tum,Tỉnh Kon Tum,province,,,,\\n"
        ...     "614,Kon Rẫy,Huyện Kon Rẫy,district,62,,,Kon Ray\\n"
        ...     "615,Đắk Hà,Huyện Đắk Hà,district,62,,,Đăk Hà\\n", encoding="utf-8")
        >>> p = validate_profile_params("Kon Ray", data_dir=folder, period_start="2020")
        >>> p.district, p.unit_code, p.province_code, p.period_start
        ('Kon Rẫy', '614', '62', '2020-01-01')
        >>> validate_profile_params("../../etc/passwd", data_dir=folder)
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: district: unknown district '../../etc/passwd' in Kon Tum; valid ...: Đắk Hà, Kon Rẫy
    """
    lang = check_lang(lang)
    start, end = check_period(period_start, period_end)
    folder = check_data_dir(data_dir)
    output = check_output_json(output_json)
    units = _read_units(folder)
    if province is None:
        name, code, province_name, province_code = _district_anywhere(units, district)
    else:
        province_name, province_code = _province(units, province)
        name, code = _district(units, district, province_name, province_code)
    return ProfileParams(
        district=name,
        unit_code=code,
        province=province_name,
        province_code=province_code,
        period_start=start,
        period_end=end,
        lang=lang,
        data_dir=folder,
        output_json=output,
    )


def validate_comparison_params(
    province="Kon Tum",
    region=None,
    districts=None,
    family="discipline",
    benchmark=POOLED,
    levels=(0.95, 0.998),
    period=None,
    lang="en",
    data_dir=None,
    output_json=None,
) -> ComparisonParams:
    """Check the parameters of the district comparison notebook.

    Args:
        province: Province name or code; None with a ``region``.
        region: None to compare the districts of ``province``; a region's
            name or code in the unit table (``'Tây Nguyên'``, ``'R-TN'``) for
            the districts of its provinces; ``'all'`` for every district.
            Not with a province.
        districts: District names or codes (a list; one name as text is one
            district), or None for every district of the province or region.
            At least two different districts.
        family: ``coverage``, ``admissions`` or ``discipline``.
        benchmark: ``'pooled'`` or a number in display units.
        levels: Inner and outer confidence levels.
        period: The time to compare within (see :func:`check_comparison_period`),
            or None for each district's latest period.
        lang, data_dir, output_json: As in :func:`validate_profile_params`.

    Returns:
        The :class:`ComparisonParams`.

    Raises:
        UsageError: One line naming the parameter; unknown districts are all
            named, with the valid districts of the province; an unknown
            region lists the valid ones.
        InputError: ``units.csv`` in ``data_dir`` is missing or unreadable.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "units.csv").write_text(
        ...     "unit_code,name,full_name,level,parent_code,valid_from,valid_to,aliases\\n"
        ...     "R-TN,Tây Nguyên,Vùng Tây Nguyên,region,,,,Tay Nguyen\\n"
        ...     "62,Kon Tum,Tỉnh Kon Tum,province,R-TN,,,\\n"
        ...     "614,Kon Rẫy,Huyện Kon Rẫy,district,62,,,\\n"
        ...     "615,Đắk Hà,Huyện Đắk Hà,district,62,,,Đăk Hà\\n", encoding="utf-8")
        >>> p = validate_comparison_params(data_dir=folder, benchmark="4", period="2021")
        >>> p.unit_codes, p.family, p.benchmark, p.levels, p.period
        (('614', '615'), 'discipline', 4.0, (0.95, 0.998), ('2021-01-01', '2021-12-31'))
        >>> r = validate_comparison_params(province=None, region="Tay Nguyen", data_dir=folder)
        >>> r.region, r.region_code, r.unit_codes, r.place
        ('Tây Nguyên', 'R-TN', ('614', '615'), 'Tây Nguyên')
        >>> validate_comparison_params(region="all", data_dir=folder)
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: region: give a province or a region, not both; set province to None
        >>> validate_comparison_params(province=None, region="Bắc Bộ", data_dir=folder)
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: region: unknown region 'Bắc Bộ'; valid regions: Tây Nguyên, or 'all' ...
        >>> validate_comparison_params(districts=["Đăk Hà"], data_dir=folder)
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: districts: a comparison needs at least two districts; got Đắk Hà
    """
    lang = check_lang(lang)
    family = check_family(family)
    benchmark = check_benchmark(benchmark)
    levels = conf_levels(levels, count=2, field="levels")
    window = check_comparison_period(period)
    folder = check_data_dir(data_dir)
    output = check_output_json(output_json)
    units = _read_units(folder)
    province_name = province_code = region_name = region_code = None
    if region is not None:
        if province is not None:
            raise UsageError("give a province or a region, not both; set province to None", field="region")
        region_name, region_code = _region(units, region)
        roster = _districts_in(units, None if region_name == ALL else _provinces_of(units, region_code))
        where = region_name if region_name != ALL else "the unit table"
    elif province is None:
        raise UsageError(f"give a province, or a region (or {ALL!r}) with province None", field="province")
    else:
        province_name, province_code = _province(units, province)
        roster, where = districts_of(units, province_code), province_name
    if districts is None:
        codes = roster["unit_code"].tolist()
    elif province_code is not None:
        codes = _district_list(units, districts, province_name, province_code)
    else:
        codes = _district_list_anywhere(units, districts, roster, where)
    if len(codes) < 2:
        named = ", ".join(roster.set_index("unit_code").loc[codes, "name"])
        if districts is None:
            raise UsageError(
                f"a comparison needs at least two districts; {where} has {named or 'none'} in the unit table",
                field="region" if region else "province",
            )
        raise UsageError(f"a comparison needs at least two districts; got {named}", field="districts")
    return ComparisonParams(
        province=province_name,
        province_code=province_code,
        region=region_name,
        region_code=region_code,
        unit_codes=tuple(sorted(codes)),
        districts=None if districts is None else tuple(sorted(codes)),
        family=family,
        benchmark=benchmark,
        levels=levels,
        period=window,
        lang=lang,
        data_dir=folder,
        output_json=output,
    )


def _region(units: pd.DataFrame, region) -> tuple[str, str | None]:
    """(name, code) of a region given by name (any spelling) or code; (:data:`ALL`, None) for every district."""
    from analysis.data.units import resolve_unit

    text = str(region).strip() if isinstance(region, str) else ""
    if text.lower() == ALL:
        return ALL, None
    regions = units[units["level"] == "region"]
    code = text if text in set(regions["unit_code"]) else None
    if code is None and text:
        try:
            code = resolve_unit(text, level="region", units=units)
        except UsageError:  # unknown, or ambiguous
            code = None
    if code is None or code not in set(regions["unit_code"]):
        names = ", ".join(_sorted_names(regions["name"])) or "(none in the unit table)"
        raise UsageError(
            f"unknown region {region!r}; valid regions: {names}, or {ALL!r} for every district", field="region"
        )
    return regions.loc[regions["unit_code"] == code, "name"].iloc[0], code


def _provinces_of(units: pd.DataFrame, region_code: str) -> list[str]:
    """Codes of the provinces of a region in the unit table."""
    return units.loc[(units["level"] == "province") & (units["parent_code"] == region_code), "unit_code"].tolist()


def _districts_in(units: pd.DataFrame, province_codes) -> pd.DataFrame:
    """``unit_code`` and ``name`` of the districts of some provinces (None: all), in GSO code order."""
    chosen = units[units["level"] == "district"]
    if province_codes is not None:
        chosen = chosen[chosen["parent_code"].isin(province_codes)]
    return chosen[["unit_code", "name"]].sort_values("unit_code").reset_index(drop=True)


def _district_list_anywhere(units: pd.DataFrame, districts, roster: pd.DataFrame, where: str) -> list[str]:
    """Codes of the districts named, each of any province of ``roster``; every unknown name reported at once."""
    given = [districts] if isinstance(districts, str) else districts
    if not isinstance(given, (list, tuple)) or not given:
        raise UsageError(f"must be a list of district names, or None for all; got {districts!r}", field="districts")
    codes, unknown = [], []
    for name in given:
        try:
            code = _district_anywhere(units, name)[1]
        except UsageError as err:
            unknown.append(f"{name!r} ({err.message})")
            continue
        if code in set(roster["unit_code"]):
            codes.append(code)
        else:
            unknown.append(f"{name!r} (not in {where})")
    if unknown:
        raise UsageError(f"unknown district(s) {', '.join(unknown)}", field="districts")
    return list(dict.fromkeys(codes))


def _district_list(units: pd.DataFrame, districts, province: str, province_code: str) -> list[str]:
    """Codes of the districts named; every unknown name reported at once."""
    given = [districts] if isinstance(districts, str) else districts
    if not isinstance(given, (list, tuple)) or not given:
        raise UsageError(f"must be a list of district names, or None for all; got {districts!r}", field="districts")
    codes, unknown = [], []
    for name in given:
        try:
            codes.append(_district(units, name, province, province_code)[1])
        except UsageError:
            unknown.append(repr(name))
    if unknown:
        valid = ", ".join(_sorted_names(districts_of(units, province_code)["name"]))
        raise UsageError(
            f"unknown district(s) {', '.join(unknown)} in {province}; valid districts: {valid}", field="districts"
        )
    return list(dict.fromkeys(codes))


def validate_quality_params(data_dir=None, lang="en", output_json=None) -> QualityParams:
    """Check the parameters of the data-quality notebook.

    Args:
        data_dir, lang, output_json: As in :func:`validate_profile_params`.

    Returns:
        The :class:`QualityParams`.

    Raises:
        UsageError: One line naming the parameter.

    Examples:
        >>> validate_quality_params(lang="vi").lang
        'vi'
    """
    return QualityParams(
        lang=check_lang(lang), data_dir=check_data_dir(data_dir), output_json=check_output_json(output_json)
    )
