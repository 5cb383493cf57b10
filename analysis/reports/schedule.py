"""Report schedules: which notebooks run with which parameters, checked before any runs.

A schedule is a YAML file (read with ``yaml.safe_load`` only)::

    defaults: {lang: en}            # given to every notebook that declares them
    timeout: {cell: 300, job: 900}  # seconds per cell and per job
    jobs:
      - notebook: district_profile
        grid:                       # one job per combination of the lists
          district: {every_district_with_data: Kon Tum}
          lang: [en, vi]
      - notebook: district_comparison
        parameters: {province: Kon Tum, levels: [0.95, 0.998]}   # values as they are
        grid: {family: [coverage, admissions, discipline]}
      - notebook: data_quality

``parameters`` are passed as given (a list stays a list); ``grid`` lists
multiply into one job per combination. The only shorthand,
``{every_district_with_data: PROVINCE}``, stands for the names of the
province's districts that have at least one published observation
(``all`` instead of a province: every district with data); a notebook that
declares a ``province`` parameter also gets each district's province.

:func:`load_schedule` checks the whole file against the parameters each
notebook declares in its ``parameters`` cell (as ``papermill.inspect_notebook`` finds them)
and raises one :class:`~analysis.errors.UsageError` listing every problem:
unknown notebook, unknown or misspelt parameter (with the closest declared
name), a value whose type differs from the notebook's default, a value that
is not a JSON type, an empty grid, duplicate jobs. A value must be of the
kind of the notebook's default, unless the ``parameters`` cell annotates the
parameter (``benchmark: Union[str, float] = "pooled"`` takes text or a
number; see :func:`declared_kinds`). Each job gets a
deterministic ASCII output name (:func:`output_name`).

Examples:
    >>> slugify("Huyện Đắk Hà")
    'huyen-dak-ha'
    >>> output_name("district_profile", {"lang": "en", "district": "Kon Rẫy"})
    'district_profile__district-kon-ray_lang-en'
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import itertools
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from analysis import paths
from analysis.errors import UsageError
from analysis.reports.runner import Job

TOP_KEYS = ("defaults", "timeout", "jobs")
JOB_KEYS = ("notebook", "parameters", "grid")
TIMEOUT_KEYS = ("cell", "job")
DEFAULT_TIMEOUTS = {"cell": 300.0, "job": 900.0}
#: Parameters the runner sets itself.
RUNNER_PARAMETERS = ("output_json",)
SHORTHANDS = ("every_district_with_data",)
#: The shorthand's argument that stands for every province.
ALL_PROVINCES = "all"
#: Longest output name; longer ones are cut and end with a hash of the parameters.
MAX_NAME = 80
#: Limits on a schedule file, checked on the YAML events before anything is built or expanded:
#: its size in bytes, how deeply lists and mappings nest, how many values it holds once every
#: alias is expanded, and how many digits a number may have.
MAX_SCHEDULE_BYTES = 1 << 20
MAX_DEPTH = 20
MAX_VALUES = 100_000
MAX_DIGITS = 30
#: Longest time limit, in seconds (a week).
MAX_SECONDS = 7 * 24 * 3600.0
#: Characters that are invisible and removed from every text of a schedule (zero-width space,
#: non-joiner, joiner, word joiner, byte-order mark).
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))

_NOT_SLUG_RE = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Schedule:
    """A checked schedule: the jobs to run and their time limits (seconds)."""

    source: str
    jobs: tuple[Job, ...]
    cell_timeout: float
    job_timeout: float


class _NotLiteral:
    """Stands for a notebook default that is an expression, not a literal."""

    def __repr__(self) -> str:
        return "<expression>"


NOT_LITERAL = _NotLiteral()


# --------------------------------------------------------------------------- names


def slugify(text: str) -> str:
    """Lowercase ASCII letters, digits and hyphens for a file name.

    Accents are removed (NFKD), "đ" becomes "d", every other run of
    characters becomes one hyphen, so no slug contains a path separator or
    a dot.

    Args:
        text: Any text.

    Returns:
        The slug; empty when the text has no letter or digit.

    Examples:
        >>> slugify("Ia H'Drai"), slugify("../../etc/passwd"), slugify("Đạ Tẻh")
        ('ia-h-drai', 'etc-passwd', 'da-teh')
    """
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D").replace("Ð", "D"))
    ascii_text = folded.encode("ascii", "ignore").decode().lower()
    return _NOT_SLUG_RE.sub("-", ascii_text).strip("-")


def _value_slug(value) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, list):
        return "-".join(_value_slug(v) for v in value) or "empty"
    if isinstance(value, dict):
        return "-".join(f"{slugify(str(k))}-{_value_slug(v)}" for k, v in sorted(value.items())) or "empty"
    return slugify(str(value)) or "x"


def _parameters_hash(notebook: str, parameters: dict) -> str:
    canonical = json.dumps([notebook, parameters], sort_keys=True, ensure_ascii=False)
    return hashlib.sha1(canonical.encode("utf-8")).hexdigest()[:8]


def output_name(notebook: str, parameters: dict, max_length: int = MAX_NAME) -> str:
    """The deterministic output name of a job: notebook and sorted parameters.

    Args:
        notebook: Notebook name.
        parameters: The job's parameters (JSON values).
        max_length: Longer names are cut and end with 8 hex digits of a hash
            of the notebook and parameters.

    Returns:
        An ASCII name without path separators.

    Examples:
        >>> output_name("data_quality", {})
        'data_quality'
        >>> output_name("c", {"levels": [0.95, 0.998], "districts": None})
        'c__districts-null_levels-0-95-0-998'
        >>> len(output_name("p", {"district": "x" * 200}))
        80
    """
    stem = slugify(notebook).replace("-", "_")
    parts = [f"{k}-{_value_slug(v)}" for k, v in sorted(parameters.items())]
    name = f"{stem}__{'_'.join(parts)}" if parts else stem
    if len(name) > max_length:
        name = f"{name[: max_length - 9].rstrip('-_')}-{_parameters_hash(notebook, parameters)}"
    return name


# --------------------------------------------------------------------------- notebooks


def available_notebooks(notebooks_dir: Path) -> list[str]:
    """Names of the notebooks in a folder (without ``.ipynb``), sorted.

    Examples:
        >>> available_notebooks(Path("/nonexistent"))
        []
    """
    return sorted(p.stem for p in Path(notebooks_dir).glob("*.ipynb"))


def declared_parameters(notebook_path: Path | str) -> dict:
    """The parameters a notebook declares, with their default values.

    The same names as ``papermill.inspect_notebook`` (the assignments of
    the first cell tagged ``parameters``), read with :mod:`ast` rather than
    through papermill, whose import alone takes seconds: checking a
    schedule, or listing it with ``--dry-run``, stays quick.

    Args:
        notebook_path: The notebook.

    Returns:
        Parameter name -> default value (a Python literal), or
        :data:`NOT_LITERAL` when the default is an expression; empty when
        the notebook has no ``parameters`` cell.

    Raises:
        UsageError: The notebook is not readable JSON or its ``parameters``
            cell is not plain Python.

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "n.ipynb"
        >>> cell = {"cell_type": "code", "metadata": {"tags": ["parameters"]},
        ...         "source": ["district = 'Kon Rẫy'\\n", "levels: list = [0.95, 0.998]\\n", "n = len(levels)"]}
        >>> _ = path.write_text(json.dumps({"cells": [cell]}))
        >>> declared_parameters(path)
        {'district': 'Kon Rẫy', 'levels': [0.95, 0.998], 'n': <expression>}
    """
    return {name: default for name, (default, _) in _parameters_cell(notebook_path).items()}


def declared_kinds(notebook_path: Path | str) -> dict:
    """The kinds of value each annotated parameter of a notebook accepts.

    A parameter whose assignment is annotated accepts the kinds its
    annotation names (``benchmark: Union[str, float] = "pooled"`` accepts
    text or a number); :class:`_Checker` takes the kind of the default for
    parameters without an annotation. Annotations are read, never
    evaluated: ``str`` is text, ``int`` and ``float`` a number, ``bool``
    true/false, ``list`` a list, ``dict`` a mapping, ``None`` null, and
    ``Union[...]``, ``Optional[...]`` and ``a | b`` combine them.
    (``papermill.inspect_notebook`` reads ``Union[str, float]`` as the
    parameter's ``inferred_type_name``, but not the ``a | b`` form.)

    Args:
        notebook_path: The notebook.

    Returns:
        Parameter name -> set of kinds (as :func:`_kind` names them), for
        annotated parameters whose annotation names only those types.

    Raises:
        UsageError: As :func:`declared_parameters`.

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "n.ipynb"
        >>> cell = {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": [
        ...     "from typing import Optional, Union\\n", "benchmark: Union[str, float] = 'pooled'\\n",
        ...     "note: Optional[str] = None\\n", "n: int | bool = 3\\n", "lang = 'en'\\n"]}
        >>> _ = path.write_text(json.dumps({"cells": [cell]}))
        >>> {name: sorted(kinds) for name, kinds in declared_kinds(path).items()}
        {'benchmark': ['number', 'text'], 'note': ['null', 'text'], 'n': ['number', 'true/false']}
    """
    found = {
        name: _annotation_kinds(annotation)
        for name, (_, annotation) in _parameters_cell(notebook_path).items()
        if annotation is not None
    }
    return {name: kinds for name, kinds in found.items() if kinds}


_TYPE_KINDS = {
    "str": "text",
    "int": "number",
    "float": "number",
    "bool": "true/false",
    "list": "list",
    "dict": "mapping",
    "None": "null",
}


def _annotation_kinds(node: ast.expr) -> set | None:
    """The kinds an annotation names, or None when it names anything else."""
    if isinstance(node, ast.Constant) and node.value is None:
        return {"null"}
    if isinstance(node, ast.Name):
        return {_TYPE_KINDS[node.id]} if node.id in _TYPE_KINDS else None
    wrapper = node.value.id if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        parts = [_annotation_kinds(node.left), _annotation_kinds(node.right)]
    elif wrapper in ("Union", "Optional"):
        members = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        parts = [_annotation_kinds(m) for m in members] + ([{"null"}] if wrapper == "Optional" else [])
    else:
        return None
    return None if any(p is None for p in parts) else set().union(*parts)


def _parameters_cell(notebook_path: Path | str) -> dict:
    """Name -> (default, annotation node or None) of the assignments of a notebook's parameters cell."""
    path = Path(notebook_path)
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError) as err:
        raise UsageError(f"cannot read the notebook: {err}", file=path) from None
    cell = next((c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        return {}
    source = "".join(cell.get("source", ""))
    try:
        body = ast.parse(source).body
    except SyntaxError as err:
        raise UsageError(f"the parameters cell is not plain Python: {err.msg}", file=path, row=err.lineno) from None
    declared = {}
    for node in body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            declared[node.targets[0].id] = (_literal(node.value), None)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            declared[node.target.id] = (_literal(node.value), node.annotation)
    return declared


def _literal(node: ast.expr):
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return NOT_LITERAL


# --------------------------------------------------------------------------- shorthands


def districts_with_data(observations, units, province: str) -> list[tuple[str, str]]:
    """The districts of a province with at least one published figure.

    Context rows (population, villages) do not count; figures published for
    communes or villages of a district do not count for the district.

    Args:
        observations: Processed observations (``table``, ``unit_code``,
            ``unit_level``, ``unit_label``, ``province_code``).
        units: Units table (``unit_code``, ``name``, ``level``).
        province: Province name, in any spelling of its letters, or ``all``
            for every province.

    Returns:
        ``(district, province)`` names (``unit_label`` and the province's
        ``name``), by province then district, accent-insensitively.

    Raises:
        UsageError: No province of that name.

    Examples:
        >>> import pandas as pd
        >>> units = pd.DataFrame({"unit_code": ["62", "68"], "name": ["Kon Tum", "Lâm Đồng"],
        ...                       "level": ["province", "province"]})
        >>> obs = pd.DataFrame({
        ...     "table": ["observations", "observations", "context", "observations", "observations"],
        ...     "unit_code": ["614", "615", "616", "23500", "682"],
        ...     "unit_level": ["district", "district", "district", "commune", "district"],
        ...     "unit_label": ["Kon Rẫy", "Đắk Hà", "Sa Thầy", "Đắk Ui", "Đạ Huoai"],
        ...     "province_code": ["62", "62", "62", "62", "68"]})
        >>> districts_with_data(obs, units, "kon tum")
        [('Đắk Hà', 'Kon Tum'), ('Kon Rẫy', 'Kon Tum')]
        >>> [district for district, _ in districts_with_data(obs, units, "all")]
        ['Đắk Hà', 'Kon Rẫy', 'Đạ Huoai']
    """
    from analysis.text.names import closest_names, name_key, name_keys

    provinces = units[units["level"] == "province"]
    rows = observations[(observations["table"] == "observations") & (observations["unit_level"] == "district")]
    if province != ALL_PROVINCES:
        match = provinces[name_keys(provinces["name"]) == name_key(province)]
        if match.empty:
            hint = closest_names(province, provinces["name"]) or sorted(provinces["name"])
            raise UsageError(f"no province {province!r}; closest: {', '.join(hint)}")
        rows = rows[rows["province_code"].isin(match["unit_code"])]
    province_names = provinces.set_index("unit_code")["name"]
    found = rows.dropna(subset=["unit_label"]).drop_duplicates(["unit_code"])
    pairs = zip(found["unit_label"], found["province_code"].map(province_names).fillna(found["province_code"]))
    return sorted(set(pairs), key=lambda pair: (name_key(pair[1]), name_key(pair[0])))


# --------------------------------------------------------------------------- reading


def read_schedule(path: Path | str) -> dict:
    """Read a schedule file with ``yaml.safe_load``.

    Args:
        path: The YAML file.

    Returns:
        The parsed mapping (not yet checked).

    Raises:
        UsageError: The file is missing, is not YAML, uses a Python tag
            (``!!python/object``...), or is not a mapping.
    """
    import yaml

    path = Path(path)
    try:
        data = path.read_bytes()
        if len(data) > MAX_SCHEDULE_BYTES:
            raise UsageError(
                f"the schedule is {len(data) / 2**20:.1f} MB; the limit is {MAX_SCHEDULE_BYTES / 2**20:g} MB", file=path
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise UsageError("schedule not found", file=path) from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read the schedule: {err}", file=path) from None
    try:
        _check_limits(yaml.parse(text, Loader=yaml.SafeLoader), path)
        spec = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else None
        tag = re.search(r"tag '([^']*)'", str(err.problem))
        raise UsageError(
            f"YAML tag {tag.group(1) if tag else ''!r} is not allowed: a schedule holds plain "
            "values only (text, numbers, true/false, null, lists, mappings)",
            file=path,
            row=line,
        ) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise UsageError(
            f"not valid YAML: {getattr(err, 'problem', None) or err}", file=path, row=mark.line + 1 if mark else None
        ) from None
    if not isinstance(spec, dict):
        raise UsageError("a schedule is a mapping with a 'jobs' list", file=path)
    return _normalised(spec)


_NUMBER_RE = re.compile(r"[-+]?[0-9_.]+(?:[eE][-+]?[0-9]+)?")


def _check_limits(events, path: Path) -> None:
    """Refuse a schedule beyond :data:`MAX_DEPTH`, :data:`MAX_VALUES` or :data:`MAX_DIGITS`, from its YAML events.

    The events are read one by one (no recursion, nothing built): an alias
    counts as the number of values of its anchor, so an alias bomb (nine
    aliases of nine aliases ...) is refused before anything expands it.
    """
    import yaml

    sizes: dict[str, int] = {}
    open_nodes: list[list] = []  # [anchor, values so far] of each list or mapping being read
    total = 0
    for event in events:
        line = event.start_mark.line + 1
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            open_nodes.append([event.anchor, 1])
            if len(open_nodes) > MAX_DEPTH:
                raise UsageError(f"lists and mappings nest more than {MAX_DEPTH} deep", file=path, row=line)
            continue
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, count = open_nodes.pop()
        elif isinstance(event, yaml.AliasEvent):
            anchor, count = None, sizes.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            digits = sum(c.isdigit() for c in event.value)
            if event.style is None and digits > MAX_DIGITS and _NUMBER_RE.fullmatch(event.value):
                raise UsageError(
                    f"a number of {digits} digits; the limit is {MAX_DIGITS} (quote it if it is text)",
                    file=path,
                    row=line,
                )
            anchor, count = event.anchor, 1
        else:
            continue
        if anchor is not None:
            sizes[anchor] = count
        if open_nodes:
            open_nodes[-1][1] += count
        else:
            total += count
        if total + sum(n for _, n in open_nodes) > MAX_VALUES:
            raise UsageError(f"more than {MAX_VALUES:,} values once its aliases are expanded", file=path, row=line)


def _normalised(value):
    """A parsed schedule with every text (keys too) in NFC and without zero-width characters.

    So that names typed in different Unicode forms are one name (duplicate
    jobs are found) and a notebook receives its parameters in one form.
    """
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value.translate(ZERO_WIDTH))
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    if isinstance(value, dict):
        return {_normalised(k): _normalised(v) for k, v in value.items()}
    return value


def load_schedule(path: Path | str, *, notebooks_dir: Path | None = None, dataset=None) -> Schedule:
    """Read and check a schedule file; see :func:`build_schedule`.

    Args:
        path: The YAML file.
        notebooks_dir: Where the notebooks are (default :func:`analysis.paths.notebooks_dir`).
        dataset: Used to expand shorthands; loaded from the raw tables when
            needed and not given.

    Returns:
        The checked schedule.

    Raises:
        UsageError: Every problem found, in one message.
    """
    return build_schedule(read_schedule(path), source=str(path), notebooks_dir=notebooks_dir, dataset=dataset)


def build_schedule(
    spec: dict, *, source: str = "<schedule>", notebooks_dir: Path | None = None, dataset=None
) -> Schedule:
    """Check a parsed schedule and expand it into jobs.

    Args:
        spec: The parsed YAML mapping.
        source: Where it came from, for messages.
        notebooks_dir: Where the notebooks are (default :func:`analysis.paths.notebooks_dir`).
        dataset: An object with ``observations`` and ``units`` frames, used
            to expand ``every_district_with_data``; loaded with
            :func:`analysis.data.dataset.load_dataset` when needed and not given.

    Returns:
        The schedule, its jobs in file order (grids in the order written).

    Raises:
        UsageError: One message listing every problem found.

    Examples:
        >>> build_schedule({"jobs": [{"notebook": "nope"}]}, notebooks_dir=Path("/nonexistent"))
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: <schedule>: 1 problem:
          job 1: unknown notebook 'nope'; available: (none in /nonexistent)
    """
    notebooks_dir = Path(notebooks_dir or paths.notebooks_dir()).resolve()
    checker = _Checker(notebooks_dir, dataset)
    jobs, timeouts = checker.check(spec)
    if checker.problems:
        count = len(checker.problems)
        listing = "\n".join(f"  {p}" for p in checker.problems)
        raise UsageError(f"{count} problem{'s' if count > 1 else ''}:\n{listing}", file=source)
    return Schedule(source=source, jobs=tuple(_named(jobs)), cell_timeout=timeouts["cell"], job_timeout=timeouts["job"])


def _named(jobs: list[tuple[str, dict, Path, bool]]) -> list[Job]:
    """Jobs with output names; names that collide get a hash of their parameters."""
    names = [output_name(nb, params) for nb, params, _, _ in jobs]
    clash = {n for n in names if names.count(n) > 1}
    return [
        Job(
            notebook=nb,
            parameters=params,
            input_path=str(path),
            writes_json=writes,
            name=f"{name[: MAX_NAME - 9]}-{_parameters_hash(nb, params)}" if name in clash else name,
        )
        for (nb, params, path, writes), name in zip(jobs, names)
    ]


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def seconds_problem(value) -> str | None:
    """Why a value is not a usable time limit, or None.

    Examples:
        >>> seconds_problem(300), seconds_problem(float("inf")), seconds_problem(-1)
        (None, 'must be a positive number of seconds up to 604800 (a week), not inf',
         'must be a positive number of seconds up to 604800 (a week), not -1')
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_SECONDS:
        return f"must be a positive number of seconds up to {MAX_SECONDS:g} (a week), not {value!r}"
    return None


def _json_problem(value) -> str | None:
    """Why a value cannot be passed to a notebook intact, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a JSON number"
    if value is None or isinstance(value, (str, bool, int, float)):
        return None
    if isinstance(value, list):
        return next((p for p in map(_json_problem, value) if p), None)
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return "mapping keys must be text"
        return next((p for p in map(_json_problem, value.values()) if p), None)
    return f"{value!r} is a {type(value).__name__}, not a JSON value (quote dates and other such values)"


class _Checker:
    """Walks a parsed schedule, collecting every problem rather than stopping."""

    def __init__(self, notebooks_dir: Path, dataset):
        self.notebooks_dir = notebooks_dir
        self.dataset = dataset
        self.problems: list[str] = []
        self._declared: dict[str, dict] = {}
        self._kinds: dict[str, dict] = {}

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}" if where else message)

    def check(self, spec: dict):
        for key in spec:
            if key not in TOP_KEYS:
                self.problem("", f"unknown key {key!r}{_suggest(str(key), TOP_KEYS)}; keys: {', '.join(TOP_KEYS)}")
        timeouts = self.check_timeouts(spec.get("timeout"))
        entries = spec.get("jobs")
        if not isinstance(entries, list) or not entries:
            self.problem("jobs", "a non-empty list of jobs is required")
            entries = []
        defaults = spec.get("defaults") or {}
        if not isinstance(defaults, dict):
            self.problem("defaults", "must be a mapping of parameter names to values")
            defaults = {}
        jobs: list[tuple[str, dict, Path, bool]] = []
        seen: dict[tuple, int] = {}
        used_defaults: set[str] = set()
        for number, entry in enumerate(entries, start=1):
            for notebook, params, path, writes in self.check_job(number, entry, defaults, used_defaults):
                key = (notebook, json.dumps(params, sort_keys=True))
                if key in seen:
                    self.problem(
                        f"job {number} ({notebook})",
                        f"duplicates a job of job {seen[key]}: {json.dumps(params, ensure_ascii=False)}",
                    )
                    continue
                seen[key] = number
                jobs.append((notebook, params, path, writes))
        declared_anywhere = {n for d in self._declared.values() if d for n in d}
        for name in defaults:  # their values are checked in each job that takes them
            if self._declared and name not in used_defaults:
                self.problem(
                    "defaults",
                    f"{name!r} is declared by none of the scheduled notebooks{_suggest(str(name), declared_anywhere)}",
                )
        return jobs, timeouts

    def check_timeouts(self, spec) -> dict:
        timeouts = dict(DEFAULT_TIMEOUTS)
        if spec is None:
            return timeouts
        if not isinstance(spec, dict):
            self.problem("timeout", "must be a mapping like {cell: 300, job: 900} (seconds)")
            return timeouts
        for key, value in spec.items():
            if key not in TIMEOUT_KEYS:
                self.problem("timeout", f"unknown key {key!r}{_suggest(str(key), TIMEOUT_KEYS)}")
            elif (problem := seconds_problem(value)) is not None:
                self.problem(f"timeout: {key}", problem)
            else:
                timeouts[key] = float(value)
        return timeouts

    def declared(self, where: str, notebook: str) -> dict | None:
        if notebook not in self._declared:
            path = self.notebooks_dir / f"{notebook}.ipynb"
            try:
                self._declared[notebook] = declared_parameters(path)
                self._kinds[notebook] = declared_kinds(path)
            except UsageError as err:
                self.problem(where, str(err))
                self._declared[notebook] = None
        return self._declared[notebook]

    def check_job(self, number: int, entry, defaults: dict, used_defaults: set):
        where = f"job {number}"
        if not isinstance(entry, dict):
            self.problem(where, "must be a mapping with a 'notebook' key")
            return []
        for key in entry:
            if key not in JOB_KEYS:
                self.problem(where, f"unknown key {key!r}{_suggest(str(key), JOB_KEYS)}; keys: {', '.join(JOB_KEYS)}")
        notebook = entry.get("notebook")
        if not isinstance(notebook, str) or not notebook:
            self.problem(where, "'notebook' (a notebook name) is required")
            return []
        notebook = notebook.removesuffix(".ipynb")
        available = available_notebooks(self.notebooks_dir)
        if notebook not in available:
            listing = ", ".join(available) if available else f"(none in {self.notebooks_dir})"
            self.problem(where, f"unknown notebook {notebook!r}{_suggest(notebook, available)}; available: {listing}")
            return []
        where = f"job {number} ({notebook})"
        declared = self.declared(where, notebook)
        if declared is None:
            return []
        parameters = entry.get("parameters") or {}
        grid = entry.get("grid") or {}
        if not isinstance(parameters, dict):
            self.problem(where, "'parameters' must be a mapping of names to values")
            parameters = {}
        if not isinstance(grid, dict):
            self.problem(where, "'grid' must be a mapping of names to lists of values")
            grid = {}
        if "grid" in entry and not grid:
            self.problem(where, "empty grid: give each grid parameter a list of values")
        fixed = {name: value for name, value in defaults.items() if name in declared}
        used_defaults.update(fixed)
        for name in sorted(set(parameters) & set(grid)):
            self.problem(where, f"{name!r} is both in parameters and in grid")
        fixed.update(parameters)
        ok = self.check_names(where, list(parameters) + list(grid), declared)
        kinds = self._kinds.get(notebook, {})
        for name, value in fixed.items():
            ok &= name not in declared or self.check_value(where, name, value, declared, kinds, in_grid=False)
        axes = []
        for name, values in grid.items():
            axis = self.grid_axis(where, name, values, declared, set(fixed) | set(grid))
            for combo in axis:
                for key, value in combo.items():
                    ok &= self.check_value(where, key, value, declared, kinds, in_grid=True)
            axes.append(axis)
        if not ok or any(not axis for axis in axes):
            return []
        path = self.notebooks_dir / f"{notebook}.ipynb"
        writes = "output_json" in declared
        return [
            (notebook, {k: v for part in (fixed, *combo) for k, v in part.items()}, path, writes)
            for combo in itertools.product(*axes)
        ]

    def check_names(self, where: str, names: list, declared: dict) -> bool:
        ok = True
        for name in names:
            if name in RUNNER_PARAMETERS:
                self.problem(where, f"{name!r} is set by the runner; remove it from the schedule")
                ok = False
            elif name not in declared:
                listing = ", ".join(n for n in declared if n not in RUNNER_PARAMETERS) or "none"
                self.problem(where, f"unknown parameter {name!r}{_suggest(str(name), declared)}; declared: {listing}")
                ok = False
        return ok

    def check_value(self, where: str, name: str, value, declared: dict, kinds: dict, in_grid: bool) -> bool:
        """A value fits a parameter: a JSON value of a kind the parameter's annotation names, or else of
        the kind of its default (any kind when the default is None or an expression; None always)."""
        problem = _json_problem(value)
        if problem:
            self.problem(f"{where}: {name}", problem)
            return False
        default = declared.get(name)
        got = _kind(value)
        hint = "; to run one job per value, put the list under 'grid:'" if got == "list" and not in_grid else ""
        if name in kinds:
            if got in kinds[name] or value is None:
                return True
            self.problem(
                f"{where}: {name}",
                f"expected {' or '.join(sorted(kinds[name]))} as the notebook annotates it, got {got} {value!r}{hint}",
            )
            return False
        if default is None or default is NOT_LITERAL or value is None:
            return True
        want = _kind(default)
        if want == got:
            return True
        self.problem(
            f"{where}: {name}", f"expected {want} like the notebook's default {default!r}, got {got} {value!r}{hint}"
        )
        return False

    def grid_axis(self, where: str, name: str, values, declared: dict, given: set) -> list[dict]:
        """One grid parameter's values, as parameter mappings (a shorthand may set two)."""
        if isinstance(values, dict) and len(values) == 1 and next(iter(values)) in SHORTHANDS:
            ((shorthand, argument),) = values.items()
            return self.every_district(where, name, shorthand, argument, declared, given)
        if isinstance(values, dict):
            keys = ", ".join(map(repr, values))
            self.problem(
                f"{where}: {name}",
                f"unknown grid shorthand {keys}"
                f"{_suggest(str(next(iter(values), '')), SHORTHANDS)}; "
                f"known: {', '.join(SHORTHANDS)}",
            )
            return []
        if not isinstance(values, list):
            self.problem(f"{where}: {name}", f"grid values must be a list, not {values!r}")
            return []
        if not values:
            self.problem(f"{where}: {name}", "empty grid: no value to run")
        return [{name: value} for value in values]

    def every_district(self, where: str, name: str, shorthand: str, argument, declared: dict, given: set) -> list[dict]:
        """``{every_district_with_data: PROVINCE}``: one mapping per district with data.

        A notebook that declares ``province`` also gets each district's province.
        """
        where = f"{where}: {name}"
        if not isinstance(argument, str):
            self.problem(where, f"{shorthand} needs a province name or {ALL_PROVINCES!r}, not {argument!r}")
            return []
        if self.dataset is None:
            from analysis.data.dataset import load_dataset

            self.dataset = load_dataset()
        try:
            pairs = districts_with_data(self.dataset.observations, self.dataset.units, argument)
        except UsageError as err:
            self.problem(where, str(err))
            return []
        if not pairs:
            self.problem(where, f"empty grid: no district of {argument} has data")
        if "province" in declared and name != "province":
            if "province" in given:
                self.problem(where, f"{shorthand} sets 'province' too; remove 'province' from this job")
                return []
            return [{name: district, "province": province} for district, province in pairs]
        names = [district for district, _ in pairs]
        shared = sorted({n for n in names if names.count(n) > 1})
        if shared:
            self.problem(
                where,
                f"district name(s) {', '.join(shared)} belong to several provinces, and "
                "the notebook declares no 'province' parameter to tell them apart",
            )
            return []
        return [{name: district} for district in names]
