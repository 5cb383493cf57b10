"""Building the dataset: bad inputs, resolution, processed tables, atomic writes, the real data."""

import json
import os
import unicodedata

import pandas as pd
import pytest

from analysis import paths
from analysis.data.dataset import load_dataset, read_processed, write_processed
from analysis.errors import BusyError, InputError
from analysis.data.schema import PROCESSED_COLUMNS
from analysis.data.storage import build_lock


def replace_in(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def rejects_of(ds):
    return [
        tuple(r) for r in ds.rejects[["table", "line", "record_id", "field", "value", "reason"]].itertuples(index=False)
    ]


def assert_rows_add_up(ds):
    for table, n in ds.summary()["tables"].items():
        assert n["in"] == n["used"] + n["rejected"], table


# --- the clean fixture ---------------------------------------------------------------------------


def test_the_fixture_builds_with_no_rejects(small_dataset):
    assert small_dataset.rejects.empty
    assert small_dataset.summary()["tables"] == {
        "sources": {"in": 9, "used": 9, "rejected": 0},
        "units": {"in": 11, "used": 11, "rejected": 0},
        "codebook": {"in": 19, "used": 19, "rejected": 0},
        "observations": {"in": 32, "used": 32, "rejected": 0},
        "context": {"in": 6, "used": 6, "rejected": 0},
    }


def test_processed_observations_have_the_design_columns_and_types(small_dataset):
    obs = small_dataset.observations
    assert list(obs.columns) == PROCESSED_COLUMNS
    assert obs["value"].dtype == "float64" and obs["value_decimals"].dtype == "int64"
    assert obs["approximate"].dtype == bool and obs["preferred"].dtype == bool
    assert all(str(obs[c].dtype).startswith("datetime64") for c in ("as_of", "period_start", "period_end"))
    assert obs["unit_code"].dtype == "str" and obs["table"].tolist().count("context") == 6


def test_units_resolve_with_their_district_and_province(small_dataset):
    obs = small_dataset.observations.set_index("obs_id")
    assert obs.loc["O0009", ["unit_code", "unit_label", "unit_level", "district_code", "province_code"]].tolist() == [
        "23479",
        "Đăk Rve",
        "commune",
        "614",
        "62",
    ]
    assert obs.loc["O0020", ["unit_name", "unit_code", "unit_label"]].tolist() == ["huyện Đắk Hà", "615", "Đắk Hà"]
    assert obs.loc["O0030", "unit_code"] == "608" and obs.loc["O0031", "unit_code"] == "62"
    assert pd.isna(obs.loc["O0031", "district_code"])


def test_partial_dates_become_first_and_last_days_with_their_precision(small_dataset):
    obs = small_dataset.observations.set_index("obs_id")
    day = lambda column: obs[column].dt.strftime("%Y-%m-%d")  # noqa: E731
    # flow 2020-10 to 2025 (year), stock 2020-09 (month), stock 2022 (year), flow 2019 to 2019
    assert (day("period_start")["O0021"], day("period_end")["O0021"], obs.at["O0021", "date_precision"]) == (
        "2020-10-01",
        "2025-12-31",
        "year",
    )
    assert (day("as_of")["O0031"], obs.at["O0031", "date_precision"]) == ("2020-09-30", "month")
    assert (day("as_of")["C0002"], obs.at["C0002", "date_precision"]) == ("2022-12-31", "year")
    assert (day("period_start")["O0023"], day("period_end")["O0023"]) == ("2019-01-01", "2019-12-31")


def test_up_to_now_ends_a_flow_at_its_source_publication_date(small_dataset):
    obs = small_dataset.observations.set_index("obs_id")
    assert obs.loc["O0003", "period_start"] == pd.Timestamp("2020-01-01")
    assert obs.loc["O0003", "period_end"] == pd.Timestamp("2021-08-23")
    assert obs.loc["O0003", "published"] == "2021-08-23"
    assert pd.isna(obs.loc["O0019", "as_of"]) and pd.isna(obs.loc["O0019", "published"])


def test_value_decimals_are_as_printed(small_dataset):
    obs = small_dataset.observations.set_index("obs_id")
    assert obs.loc[["O0001", "O0016", "C0003", "O0002"], "value_decimals"].tolist() == [2, 1, 2, 0]
    assert obs.loc["C0003", "value"] == 913.9


# --- file-level problems: one InputError, nothing used --------------------------------------------


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda d: (d / "codebook.csv").unlink(), "codebook.csv: file not found"),
        (lambda d: replace_in(d / "observations.csv", ",note\n", "\n"), "observations.csv:1: missing column 'note'"),
        (
            lambda d: replace_in(d / "observations.csv", "indicator,value,unit", "indicator,valeur,unit"),
            "observations.csv:1: missing column 'value' (is 'valeur' a renamed 'value'?)",
        ),
        (lambda d: (d / "sources.csv").write_bytes(b""), "sources.csv: empty file: no header row"),
        (
            lambda d: (d / "observations.csv").write_text(
                "obs_id,source_id,locator,unit_name,province,scope,indicator,"
                "value,unit,qualifier,as_of,period_start,period_end,"
                "period_end_basis,status,note\n"
            ),
            "observations.csv:1: no rows: the table has a header only",
        ),
        (
            lambda d: (d / "observations.csv").write_bytes(
                (d / "observations.csv").read_bytes().replace("Đạ Tẻh".encode(), b"Da Teh\xe1", 1)
            ),
            "observations.csv:24: not UTF-8: byte 0xe1 at byte offset 3894; save the file as UTF-8",
        ),
    ],
)
def test_file_level_problems_are_one_line_naming_the_file(small_raw, break_it, message):
    break_it(small_raw)
    with pytest.raises(InputError) as caught:
        load_dataset(small_raw)
    assert str(caught.value) == f"{small_raw}/{message}"
    assert caught.value.exit_code == 3


def test_every_file_level_problem_is_listed_at_once(small_raw):
    (small_raw / "sources.csv").write_bytes(b"")
    (small_raw / "units.csv").unlink()
    with pytest.raises(InputError) as caught:
        load_dataset(small_raw)
    assert str(caught.value) == (
        f"2 problems: {small_raw}/sources.csv: empty file: no header row; {small_raw}/units.csv: file not found"
    )


def test_a_header_only_context_table_is_valid_and_empty(small_raw):
    path = small_raw / "context.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    ds = load_dataset(small_raw)
    assert ds.summary()["tables"]["context"] == {"in": 0, "used": 0, "rejected": 0}
    assert "C0001" not in set(ds.observations["obs_id"])


def test_a_missing_raw_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="nowhere: no such folder of raw tables"):
        load_dataset(tmp_path / "nowhere")


# --- row-level problems: the row is rejected with its reason -------------------------------------

BAD_ROWS = [  # (old text, new text, the reject it must give); one row each
    (
        "75.51,percent",
        '"75,51%",percent',
        (
            "observations",
            2,
            "O0001",
            "value",
            "75,51%",
            "not a number (use . for decimals, no thousands separators, no % sign); write 75.51",
        ),
    ),
    (
        "party_members,1639,",
        "party_members,-3,",
        (
            "observations",
            3,
            "O0002",
            "value",
            "-3",
            "below the indicator's minimum of 0 (only *_change indicators may be negative)",
        ),
    ),
    (
        "O0007,S000",
        "O0007,S999",
        ("observations", 8, "O0007", "source_id", "S999", "unknown source id; not in sources.csv"),
    ),
    (
        "admissions_rural_cells,4,",
        "admissions_rural_cell,4,",
        ("observations", 9, "O0008", "indicator", "admissions_rural_cell", "unknown indicator; not in codebook.csv"),
    ),
    (
        "O0010,S000,para 1,Kon Rẫy",
        "O0010,S000,para 1,Kon Rây Mới",
        ("observations", 11, "O0010", "unit_name", "Kon Rây Mới", "unknown unit 'Kon Rây Mới'; closest: Kon Rẫy"),
    ),
    (
        "O0012,S000",
        "O0011,S000",
        ("observations", 13, "O0011", "obs_id", "O0011", "duplicate obs_id: first on line 12"),
    ),
    (
        "O0013,S001,opening,Đăk Hà,Kon Tum,district",
        "O0013,S001,opening,Đăk Hà,Kon Tum,distrito",
        (
            "observations",
            14,
            "O0013",
            "scope",
            "distrito",
            "must be one of: province, district, commune, village, region",
        ),
    ),
    (
        "district,villages,84,count",
        "district,villages,84,percent",
        ("observations", 15, "O0014", "unit", "percent", "differs from the codebook's unit for this indicator"),
    ),
    (
        "village_heads_party_members_share,82.1,",
        "village_heads_party_members_share,175,",
        (
            "observations",
            17,
            "O0016",
            "value",
            "175",
            "percent above 100 (only changes and shares of a target may exceed 100)",
        ),
    ),
    (
        "villages_with_cell_committee,64,count,exact",
        "villages_with_cell_committee,64,count,roughly",
        (
            "observations",
            19,
            "O0018",
            "qualifier",
            "roughly",
            "must be one of: exact, more_than, nearly, about, at_least",
        ),
    ),
    (
        ",2020-10,2023-06-30,stated,published,Members admitted",
        ",2020-10,2019-06-30,stated,published,Members admitted",
        ("observations", 21, "O0020", "period_end", "2019-06-30", "period ends before it starts"),
    ),
    (
        "party_members,1320,count,exact,2019-12-31",
        "party_members,1320,count,exact,31/02/2021",
        ("observations", 25, "O0024", "as_of", "31/02/2021", "no such date"),
    ),
]


@pytest.mark.parametrize(
    "old, new, reject",
    [
        (
            ",1639,count",
            ',"1,639",count',
            (
                "observations",
                3,
                "O0002",
                "value",
                "1,639",
                "not a number (use . for decimals, no thousands separators, no % sign); write 1639",
            ),
        ),
        (
            "disciplined_members,22,count,exact,,2020-01,",
            "disciplined_members,22,count,exact,,1929-12,",
            ("observations", 4, "O0003", "period_start", "1929-12", "before the party was founded (3 February 1930)"),
        ),
    ],
)
def test_a_count_with_a_grouping_comma_and_a_date_before_1930_are_rejected_with_their_reason(
    small_raw, old, new, reject
):
    replace_in(small_raw / "observations.csv", old, new)
    assert rejects_of(load_dataset(small_raw)) == [reject]


def test_bad_rows_are_each_rejected_with_a_reason_and_the_rest_is_used(small_raw):
    for old, new, _ in BAD_ROWS:
        replace_in(small_raw / "observations.csv", old, new)
    ds = load_dataset(small_raw)
    assert rejects_of(ds) == [reject for _, _, reject in BAD_ROWS]
    assert ds.summary()["tables"]["observations"] == {"in": 32, "used": 20, "rejected": 12}
    assert not {"O0001", "O0002", "O0010", "O0024"} & set(ds.observations["obs_id"])
    assert (ds.observations["obs_id"] == "O0011").sum() == 1  # the first of the duplicates is kept
    assert_rows_add_up(ds)


def test_several_problems_in_one_row_are_all_reported_and_the_row_counted_once(small_raw):
    replace_in(
        small_raw / "observations.csv",
        "O0002,S000,para 5,Kon Rẫy,Kon Tum,district,party_members,1639,count",
        "O0002,S999,para 5,Kon Rẫy,Kon Tum,district,party_members,-5,percent",
    )
    ds = load_dataset(small_raw)
    assert {r[3] for r in rejects_of(ds)} == {"source_id", "value", "unit"}
    assert ds.summary()["tables"]["observations"]["rejected"] == 1
    assert_rows_add_up(ds)


def test_a_rejected_source_takes_its_observations_with_it(small_raw):
    replace_in(small_raw / "sources.csv", "S101,Test fixture press,", "S101,,")
    ds = load_dataset(small_raw)
    assert rejects_of(ds)[0] == ("sources", 5, "S101", "publisher", "", "empty; a value is required")
    assert {r[2] for r in rejects_of(ds)[1:]} == {f"O00{n}" for n in range(23, 28)} | {"O0032"}
    assert {r[3] for r in rejects_of(ds)[1:]} == {"source_id"}
    assert_rows_add_up(ds)


def test_a_figure_of_a_rejected_source_or_indicator_is_told_where_it_was_rejected(small_raw):
    replace_in(small_raw / "sources.csv", "S101,Test fixture press,", "S101,,")
    replace_in(small_raw / "codebook.csv", "admissions_rural_cells,flow,", "admissions_rural_cells,stocky,")
    ds = load_dataset(small_raw)
    reasons = {r[4]: r[5] for r in rejects_of(ds) if r[0] == "observations"}
    assert reasons["S101"] == "source S101 was rejected (sources.csv:5)"
    assert reasons["admissions_rural_cells"] == "indicator admissions_rural_cells was rejected (codebook.csv:14)"


def test_a_negative_change_and_a_target_exceeded_are_not_rejected(small_raw):
    replace_in(
        small_raw / "observations.csv", "admissions_target_achieved_share,100,", "admissions_target_achieved_share,110,"
    )
    ds = load_dataset(small_raw)
    assert ds.rejects.empty
    assert ds.observations.set_index("obs_id").loc[["O0022", "O0029"], "value"].tolist() == [110.0, -3.0]


def test_spellings_in_the_raw_table_resolve_and_are_stored_in_nfc(small_raw):
    spellings = {
        "O0013": "\u00d0ĂK HÀ",
        "O0014": unicodedata.normalize("NFD", "Đắk Hà"),
        "O0015": "Dak Ha",
        "O0016": "huyện  Đăk  Hà",
        "O0018": "Đắc Hà",
    }
    for obs_id, name in spellings.items():
        replace_in(small_raw / "observations.csv", f"{obs_id},S001,opening,Đăk Hà", f"{obs_id},S001,opening,{name}")
    obs = load_dataset(small_raw).observations.set_index("obs_id").loc[list(spellings)]
    assert set(obs["unit_code"]) == {"615"}
    assert obs["unit_name"].tolist() == ["ĐĂK HÀ", "Đắk Hà", "Dak Ha", "huyện Đăk Hà", "Đắc Hà"]
    assert all(unicodedata.is_normalized("NFC", name) for name in obs["unit_name"])


def test_a_byte_order_mark_and_windows_line_ends_change_nothing(small_raw, small_dataset):
    path = small_raw / "observations.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    ds = load_dataset(small_raw)
    pd.testing.assert_frame_equal(ds.observations, small_dataset.observations)
    assert ds.raw_files["observations.csv"] != small_dataset.raw_files["observations.csv"]


# --- the kept build ------------------------------------------------------------------------------


def test_loading_the_same_raw_files_again_does_not_build_again(small_raw, small_dataset, monkeypatch):
    from analysis.data import dataset

    monkeypatch.setattr(dataset, "_build", lambda raw_dir: pytest.fail("built again"))
    again = load_dataset(small_raw)
    pd.testing.assert_frame_equal(again.observations, small_dataset.observations)
    assert again.raw_files == small_dataset.raw_files


def test_a_changed_byte_in_a_raw_table_is_seen_by_the_next_load(small_raw, small_dataset):
    path = small_raw / "observations.csv"
    data = path.read_bytes()
    at = data.index(b",75.51,") + 5  # the last digit of the first row's value
    path.write_bytes(data[:at] + b"2" + data[at + 1 :])
    changed = load_dataset(small_raw)
    assert changed.raw_files["observations.csv"] != small_dataset.raw_files["observations.csv"]
    assert small_dataset.observations.loc[0, "value"] == 75.51
    assert changed.observations.loc[0, "value"] == 75.52


def test_changing_a_loaded_dataset_does_not_change_the_next_load(small_raw, small_dataset):
    small_dataset.observations.loc[0, "value"] = -1.0
    small_dataset.notes.append("changed")
    again = load_dataset(small_raw)
    assert again.observations.loc[0, "value"] != -1.0
    assert "changed" not in again.notes


# --- processed tables ---------------------------------------------------------------------------


def test_write_then_read_gives_the_same_dataset(small_dataset, tmp_path):
    build = write_processed(small_dataset, tmp_path / "processed", extra_tables={"metrics": pd.DataFrame({"m": [1]})})
    again = read_processed(tmp_path / "processed")
    pd.testing.assert_frame_equal(again.observations, small_dataset.observations)
    pd.testing.assert_frame_equal(again.flags, small_dataset.flags)
    assert again.summary() == small_dataset.summary()
    assert (tmp_path / "processed" / "metrics.csv").read_text() == "m\n1\n"
    written = json.loads((tmp_path / "processed" / "build.json").read_text())
    assert written == build
    assert set(written["outputs"]) == {
        "observations.csv",
        "flags.csv",
        "rejects.csv",
        "sources.csv",
        "units.csv",
        "codebook.csv",
        "metrics.csv",
    }
    assert written["rows"]["observations"] == {"in": 32, "used": 32, "rejected": 0}
    assert written["flags"]["breakdown_exceeds_total"] == 1
    assert written["raw_files"] == small_dataset.raw_files and len(written["raw_files"]) == 5


def test_reading_files_that_do_not_match_build_json_is_refused(small_dataset, tmp_path):
    write_processed(small_dataset, tmp_path)
    with (tmp_path / "flags.csv").open("a") as handle:
        handle.write("edited by hand\n")
    with pytest.raises(InputError, match="flags.csv: does not match build.json"):
        read_processed(tmp_path)


def test_reading_an_empty_folder_asks_for_a_build(tmp_path):
    with pytest.raises(InputError, match="build.json: no processed data here; run `python -m analysis build`"):
        read_processed(tmp_path)


def test_an_interrupted_write_leaves_the_previous_build_intact(small_dataset, small_raw, tmp_path, monkeypatch):
    out = tmp_path / "processed"
    write_processed(small_dataset, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    replace_in(small_raw / "observations.csv", "party_members,1639,", "party_members,1640,")
    changed = load_dataset(small_raw)
    real, calls = os.replace, []
    monkeypatch.setattr(os, "replace", lambda a, b: calls.append(b) or (1 / 0 if len(calls) == 2 else real(a, b)))
    with pytest.raises(ZeroDivisionError):
        write_processed(changed, out)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert read_processed(out).observations.set_index("obs_id").at["O0002", "value"] == 1639


def test_a_full_disk_is_an_input_error_naming_the_folder_and_the_previous_build_stays(
    small_dataset, tmp_path, monkeypatch
):
    import errno

    import analysis.data.storage

    out = tmp_path / "processed"
    write_processed(small_dataset, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(path, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(analysis.data.storage, "_write_synced", full)
    with pytest.raises(InputError) as caught:
        write_processed(small_dataset, out)
    assert str(caught.value) == f"{out}: cannot write the processed tables: No space left on device"
    assert caught.value.exit_code == 3
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_an_output_folder_under_a_file_is_an_input_error_naming_it(small_dataset, tmp_path):
    (tmp_path / "file").write_text("not a folder\n", encoding="utf-8")
    with pytest.raises(
        InputError,
        match="^" + str(tmp_path / "file" / "processed") + ": cannot create the output folder: Not a directory$",
    ):
        write_processed(small_dataset, tmp_path / "file" / "processed")


def test_a_build_waits_for_another_holding_the_lock_then_reports_busy(small_dataset, tmp_path):
    with build_lock(tmp_path):
        with pytest.raises(BusyError, match="holds the lock"):
            write_processed(small_dataset, tmp_path, lock_timeout=0.2)
    assert not (tmp_path / "observations.csv").exists()


# --- the real data --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real():
    return load_dataset(paths.root() / "data" / "raw")


def test_the_real_data_build_with_every_row_used(real):
    tables = real.summary()["tables"]
    assert tables["observations"]["in"] >= 531
    assert tables["observations"]["rejected"] == 0 and tables["context"]["rejected"] == 0
    assert real.rejects.empty
    assert_rows_add_up(real)


def test_real_kon_ray_figures_resolve_to_614(real):
    obs = real.observations
    kon_ray = obs.loc[(obs["unit_name"] == "Kon Rẫy") & (obs["scope"] == "district")]
    assert len(kon_ray) >= 30 and set(kon_ray["unit_code"]) == {"614"}
    assert set(kon_ray["province_code"]) == {"62"}


def test_real_kon_ray_discipline_breakdown_is_flagged(real):
    flags = real.flags.loc[(real.flags["rule"] == "breakdown_exceeds_total") & (real.flags["unit_code"] == "614")]
    assert flags["message"].tolist() == [
        "severity breakdown of disciplined_members sums to 27 (3+2+22), more than the total 22"
    ]
    ids = flags["obs_ids"].iloc[0].split(";")
    obs = real.observations.set_index("obs_id").loc[ids]
    assert sorted(obs["value"]) == [2, 3, 22, 22]
    assert all("breakdown_exceeds_total" in f for f in obs["flags"])


def test_real_dak_ha_members_3362_and_3387_conflict(real):
    obs = real.observations
    members = obs.loc[(obs["unit_code"] == "615") & (obs["indicator"] == "party_members")].set_index("value")
    pair = {members.at[3362.0, "obs_id"], members.at[3387.0, "obs_id"]}
    conflicts = real.flags.loc[real.flags["rule"] == "conflicting_sources", "obs_ids"].str.split(";").map(set)
    assert pair in conflicts.tolist()
    assert members.at[3362.0, "preferred"] and not members.at[3387.0, "preferred"]


def test_real_dak_ha_undated_article_is_placed_at_the_portal_date_and_not_against_2018(real):
    members = real.observations.loc[
        (real.observations["unit_code"] == "615") & (real.observations["indicator"] == "party_members")
    ].set_index("value")
    undated, of_2018 = members.at[3387.0, "obs_id"], members.at[3000.0, "obs_id"]
    conflicts = real.flags.loc[real.flags["rule"] == "conflicting_sources"]
    with_undated = conflicts.loc[conflicts["obs_ids"].str.split(";").map(lambda ids: undated in ids)]
    assert len(with_undated) == 1 and of_2018 not in with_undated["obs_ids"].iloc[0]
    assert (
        "the undated figure is placed at 2023-06-30: 4 other figures of S002 for this unit agree"
        in with_undated["message"].iloc[0]
    )


def test_a_figure_of_a_commune_whose_district_was_rejected_names_the_district(small_raw):
    text = (small_raw / "units.csv").read_text(encoding="utf-8")
    (small_raw / "units.csv").write_text(
        text.replace("614,Kon Rẫy,Huyện Kon Rẫy,district,62,2002,", "614,Kon Rẫy,Huyện Kon Rẫy,district,62,2026,"),
        encoding="utf-8",
    )
    rejects = load_dataset(small_raw).rejects.set_index("record_id")["reason"]
    assert rejects["O0009"] == "its district 'Kon Rẫy' (614) was rejected (units.csv:6)"
    assert rejects["O0002"] == "unit 'Kon Rẫy' (614) was rejected (units.csv:6)"


def test_an_unused_column_is_dropped_with_a_note_and_the_build_is_unchanged(small_raw):
    before = load_dataset(small_raw)
    path = small_raw / "observations.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0] + ",comment"] + [line + ",x" for line in lines[1:]]) + "\n", encoding="utf-8")
    after = load_dataset(small_raw)
    assert after.notes == [f"{path}:1: column 'comment' is not used by the build (ignored)"]
    assert after.observations.equals(before.observations)
