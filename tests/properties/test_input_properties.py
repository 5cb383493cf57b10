"""Properties of the readers of outside input: schedules, raw tables, notebook parameters.

Whatever the bytes, a reader raises only the project's own errors (a
:class:`~analysis.errors.UsageError` for a schedule or a parameter, an
:class:`~analysis.errors.InputError` for a table); what it accepts comes
back as written (a table round trip), and checking a valid schedule again
gives the same jobs.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.data.storage import csv_bytes, read_csv_table
from analysis.errors import InputError, UsageError
from analysis.reports.parameters import check_lang, check_period
from analysis.reports.schedule import build_schedule, read_schedule

pytestmark = pytest.mark.slow_properties

TOY_NOTEBOOKS = Path(__file__).parents[1] / "reliability" / "notebooks"
YAML_PIECES = st.sampled_from(
    [
        "jobs:",
        "\n",
        "  - ",
        "notebook: toy",
        "parameters:",
        "grid:",
        "{",
        "}",
        "[",
        "]",
        "mode: ",
        "&a ",
        "*a",
        "!!python/name:os.system",
        "'",
        '"',
        ": ",
        ", ",
        "- ",
        "timeout: {cell: ",
        ".inf",
        "1e400",
        "9" * 40,
        "\t",
        "\u200d",
        "Đắk Hà",
        "#",
    ]
)
#: Plain JSON values a schedule may hold (no float that JSON cannot write).
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


def written(tmp_path_factory, name: str, data: bytes) -> Path:
    path = tmp_path_factory.mktemp("p") / name
    path.write_bytes(data)
    return path


@given(st.one_of(st.binary(max_size=300), st.lists(YAML_PIECES, max_size=30).map("".join).map(str.encode)))
def test_reading_any_schedule_raises_only_a_usage_error(tmp_path_factory, data):
    try:
        spec = read_schedule(written(tmp_path_factory, "s.yml", data))
    except UsageError:
        return
    assert isinstance(spec, dict)


@given(st.dictionaries(st.sampled_from(["jobs", "defaults", "timeout", "other"]), JSON_VALUES, max_size=4))
def test_checking_any_parsed_schedule_raises_only_a_usage_error(spec):
    try:
        build_schedule(spec, notebooks_dir=TOY_NOTEBOOKS)
    except UsageError:
        pass


#: Values of the toy notebook's one parameter, in every Unicode form a user may type.
MODES = st.text(alphabet=st.sampled_from(list("abĐắk Hà-\u200d")), min_size=1, max_size=12)


@given(st.lists(MODES, min_size=1, max_size=5), st.sampled_from(["NFC", "NFD"]))
def test_a_valid_schedule_checked_again_gives_the_same_jobs(modes, form):
    spec = {"jobs": [{"notebook": "toy", "grid": {"mode": [unicodedata.normalize(form, m) for m in modes]}}]}
    try:
        first = build_schedule(spec, notebooks_dir=TOY_NOTEBOOKS)
    except UsageError:  # two values that are one name once normalised: a duplicate job
        return
    again = {"jobs": [{"notebook": job.notebook, "parameters": job.parameters} for job in first.jobs]}
    second = build_schedule(again, notebooks_dir=TOY_NOTEBOOKS)
    assert [(j.name, j.parameters) for j in second.jobs] == [(j.name, j.parameters) for j in first.jobs]


@given(st.binary(max_size=400))
def test_reading_any_raw_table_raises_only_an_input_error(tmp_path_factory, data):
    try:
        frame = read_csv_table(written(tmp_path_factory, "t.csv", data))
    except InputError:
        return
    assert all(isinstance(v, str) for v in frame.to_numpy().ravel())


#: Cells as a coder types them: NFC text without the Eth letter or a carriage return (both are normalised on reading).
CELLS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u00d0\u00f0")
    | st.sampled_from([",", '"', "\n", " "]),
    max_size=15,
).map(lambda t: unicodedata.normalize("NFC", t))


@given(st.lists(st.tuples(CELLS, CELLS), min_size=1, max_size=8))
def test_a_table_written_as_csv_reads_back_as_written(tmp_path_factory, rows):
    frame = pd.DataFrame(rows, columns=["a", "b"])
    frame = frame.loc[(frame != "").any(axis=1)]  # a blank record is a blank line, which readers skip
    if frame.empty:
        return
    back = read_csv_table(written(tmp_path_factory, "t.csv", csv_bytes(frame)))
    assert back.to_numpy().tolist() == frame.to_numpy().tolist()


@given(st.one_of(st.text(max_size=10), JSON_VALUES))
def test_check_lang_raises_only_a_usage_error(value):
    try:
        assert check_lang(value) in ("en", "vi")
    except UsageError:
        pass


DATE_TEXTS = st.one_of(
    st.none(),
    st.integers(-5, 3000),
    st.text(max_size=12),
    st.builds("{}-{:02d}".format, st.integers(1900, 2100), st.integers(0, 13)),
    st.builds("{}-{:02d}-{:02d}".format, st.integers(1900, 2100), st.integers(1, 12), st.integers(0, 32)),
)


@given(DATE_TEXTS, DATE_TEXTS)
def test_check_period_gives_an_ordered_iso_period_or_a_usage_error(start, end):
    try:
        first, last = check_period(start, end)
    except UsageError:
        return
    for day in (first, last):
        assert day is None or pd.Timestamp(day).strftime("%Y-%m-%d") == day
    assert first is None or last is None or first <= last
