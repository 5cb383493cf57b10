"""The report notebooks, executed through papermill on the small fixture data.

Each test runs one notebook of ``notebooks/`` on a private copy of
``tests/fixtures/raw_small`` (the ``small_raw`` fixture), with the project's
kernel and ``MPLBACKEND=agg``, and asserts on the JSON artifact it writes and
on the executed notebook. Figures the fixture pins down: Kon Rẫy (614) has 12
figures of its own and of its township, plus 3 context figures; its 22
disciplined members over 1,639 members × 601 days are 8.16 per 1,000
member-years (exact 95% interval 5.11-12.35), and the printed breakdown by
form (3 + 2 + 22) exceeds that total.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import pytest

from analysis.reports.run import stored_notebook_problems

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
REPORTS = ("district_profile", "district_comparison", "data_quality")

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="session")
def kernel() -> str:
    """The project's kernelspec, installed into this environment if missing."""
    from analysis.reports.kernels import KERNEL_NAME, ensure_kernel

    ensure_kernel(KERNEL_NAME)
    return KERNEL_NAME


@pytest.fixture
def run(kernel, tmp_path, monkeypatch):
    """Execute a report notebook into tmp_path; return (executed notebook, artifact or None)."""
    import papermill

    monkeypatch.setenv("MPLBACKEND", "agg")

    def execute(name: str, **parameters):
        executed, artifact = tmp_path / f"{name}.ipynb", tmp_path / f"{name}.json"
        papermill.execute_notebook(
            str(NOTEBOOKS / f"{name}.ipynb"),
            str(executed),
            parameters={**parameters, "output_json": str(artifact)},
            kernel_name=kernel,
            progress_bar=False,
            execution_timeout=120,
            start_timeout=60,
        )
        notebook = nbformat.read(executed, as_version=4)
        return notebook, json.loads(artifact.read_text(encoding="utf-8")) if artifact.exists() else None

    return execute


def outputs(notebook, mime: str) -> list[str]:
    """Every output of the executed notebook in one MIME type."""
    return [
        out["data"][mime] for cell in notebook.cells for out in cell.get("outputs", []) if mime in out.get("data", {})
    ]


def errors(notebook) -> list[str]:
    return [
        f"{out['ename']}: {out['evalue']}"
        for cell in notebook.cells
        for out in cell.get("outputs", [])
        if out["output_type"] == "error"
    ]


def by_key(rows: list[dict], *keys) -> dict:
    return {tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]: row for row in rows}


# ----------------------------------------------------------------------- stored notebooks


@pytest.mark.parametrize("name", REPORTS)
def test_stored_notebook_has_no_outputs_and_a_parameters_cell(name):
    assert stored_notebook_problems(NOTEBOOKS / f"{name}.ipynb") == []


@pytest.mark.parametrize("name", REPORTS)
def test_parameters_cell_holds_one_literal_per_name_and_is_followed_by_validation(name):
    cells = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells
    tagged = [i for i, cell in enumerate(cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    body = ast.parse(cells[tagged[0]].source).body
    if isinstance(body[0], ast.ImportFrom):  # only typing, for an annotation, and first (papermill reads on)
        assert body[0].module == "typing"
        body = body[1:]
    for statement in body:
        assert isinstance(statement, (ast.Assign, ast.AnnAssign))
        assert isinstance(statement.targets[0] if isinstance(statement, ast.Assign) else statement.target, ast.Name)
        ast.literal_eval(statement.value)  # raises if the default is not a literal
    assert f"validate_{name.split('_')[-1]}_params(" in cells[tagged[0] + 1].source


def test_notebooks_declare_the_parameters_the_runner_schedules_against():
    import papermill

    declared = {
        name: {
            k: ast.literal_eval(v["default"])
            for k, v in papermill.inspect_notebook(str(NOTEBOOKS / f"{name}.ipynb")).items()
        }
        for name in REPORTS
    }
    common = {"lang": "en", "data_dir": None, "output_json": None}
    assert declared == {
        "district_profile": {
            "district": "Kon Rẫy",
            "province": "Kon Tum",
            "period_start": None,
            "period_end": None,
            **common,
        },
        "district_comparison": {
            "province": "Kon Tum",
            "region": None,
            "districts": None,
            "family": "discipline",
            "benchmark": "pooled",
            "levels": [0.95, 0.998],
            "period": None,
            **common,
        },
        "data_quality": common,
    }


# ----------------------------------------------------------------------- district profile


def test_profile_traces_every_figure_and_metric_of_the_district_to_its_source(run, small_raw):
    notebook, artifact = run("district_profile", district="Kon Ray", data_dir=str(small_raw))
    assert errors(notebook) == []
    assert (artifact["kind"], artifact["district"], artifact["unit_code"], artifact["province_code"]) == (
        "district_profile",
        "Kon Rẫy",
        "614",
        "62",
    )
    assert artifact["n_observations"] == 15
    assert artifact["obs_ids"][:3] == ["O0001", "O0002", "O0003"] and "O0009" in artifact["obs_ids"]  # township
    assert "O0013" not in artifact["obs_ids"]  # Đắk Hà's
    assert artifact["sources"] == ["S000", "C001", "C002"]
    metrics = by_key(artifact["metrics"], "metric")
    rate = metrics["disciplined_per_1000_member_years"]
    assert round(rate["estimate"], 2) == 8.16 and (round(rate["lower"], 2), round(rate["upper"], 2)) == (5.11, 12.35)
    assert (rate["obs_ids"], rate["source_ids"], rate["comparison"]) == ("O0003;O0002", "S000", "not compared")
    assert rate["reason"].startswith("the only comparable district")
    admissions = metrics["admissions_per_100_member_years"]
    assert (admissions["comparison"], round(admissions["benchmark"], 3)) == ("similar", 3.179)
    assert metrics["village_heads_party_members_share"]["computable"] is False
    assert "breakdown_exceeds_total" in artifact["flags"]
    assert artifact["figures"] == ["caterpillar_admissions", "severity_mix"]
    assert artifact["figure_titles"]["severity_mix"] == "Members disciplined, by form"
    assert len(outputs(notebook, "image/png")) == 2
    tables = "".join(outputs(notebook, "text/html"))
    assert "Báo Kon Tum" in tables and "para 6" in tables and "Where in the document" in tables


def test_profile_in_vietnamese_keeps_only_the_figures_of_the_period(run, small_raw):
    notebook, artifact = run(
        "district_profile",
        district="614",
        period_start="2021",
        period_end="2021-12",
        lang="vi",
        data_dir=str(small_raw),
    )
    assert errors(notebook) == []
    assert (artifact["lang"], artifact["period_start"], artifact["period_end"]) == ("vi", "2021-01-01", "2021-12-31")
    assert artifact["n_observations"] == 12  # the undated villages and the 2022 context figures are left out
    assert artifact["sources"] == ["S000"]
    metrics = by_key(artifact["metrics"], "metric")
    assert metrics["disciplined_per_1000_member_years"]["label"] == "Số đảng viên bị kỷ luật trên 1.000 đảng viên-năm"
    assert metrics["admissions_per_100_member_years"]["comparison_label"] == "tương đương"
    assert artifact["figure_titles"]["severity_mix"] == "Đảng viên bị kỷ luật theo hình thức"
    text = "".join(outputs(notebook, "text/markdown"))
    assert "# Hồ sơ: Huyện Kon Rẫy, tỉnh Kon Tum" in text and "12 số liệu từ 1 nguồn" in text
    assert "Vị trí trong tài liệu" in "".join(outputs(notebook, "text/html"))


def test_unknown_district_stops_the_notebook_with_the_valid_districts_and_writes_no_artifact(run, small_raw):
    from papermill.exceptions import PapermillExecutionError

    with pytest.raises(PapermillExecutionError) as caught:
        run("district_profile", district="../../etc/passwd", data_dir=str(small_raw))
    message = "district: unknown district '../../etc/passwd' in Kon Tum; valid districts: Đắk Hà, Kon Rẫy, Kon Tum"
    assert caught.value.ename == "UsageError" and caught.value.evalue == message
    executed = nbformat.read(small_raw.parent / "district_profile.ipynb", as_version=4)  # papermill keeps it
    assert errors(executed) == [f"UsageError: {message}"]
    assert not (small_raw.parent / "district_profile.json").exists()


# ----------------------------------------------------------------------- district comparison


def test_discipline_comparison_against_a_given_rate_carries_the_breakdown_caveat(run, small_raw):
    notebook, artifact = run("district_comparison", family="discipline", benchmark=4.0, data_dir=str(small_raw))
    assert errors(notebook) == []
    assert (artifact["kind"], artifact["province_code"], artifact["family"], artifact["benchmark"]) == (
        "district_comparison",
        "62",
        "discipline",
        4.0,
    )
    assert artifact["unit_codes"] == ["608", "614", "615"]
    [row] = artifact["rows"]
    assert (row["unit_code"], row["comparison"], row["obs_ids"], row["source_ids"]) == (
        "614",
        "higher",
        "O0003;O0002",
        "S000",
    )
    assert round(row["estimate"], 2) == 8.16
    caveats = by_key(artifact["caveats"], "id")
    assert caveats["breakdown_exceeds_total"]["units"] == ["Kon Rẫy"]
    assert caveats["breakdown_exceeds_total"]["text"].startswith(
        "Kon Rẫy (Members disciplined per 1,000 member-years; figures O0003, O0004, O0005, O0006):"
    )
    assert (artifact["national_anchor"], "national_benchmark" in caveats) == ("disciplined_per_1000_member_years", True)
    assert artifact["benchmark_note"].startswith("4 per 1,000 member-years, the national anchor: about 20,000")
    markdown = "".join(outputs(notebook, "text/markdown"))
    assert "**Benchmark**: 4 per 1,000 member-years, the national anchor" in markdown
    assert "saved beside it as `district_comparison.json`" in markdown and str(small_raw.parent) not in markdown
    assert {(r["unit_code"], r["reason"]) for r in artifact["not_compared"]} == {
        ("608", "not reported"),
        ("615", "not reported"),
    }
    assert artifact["availability"]["614"] == {"disciplined_per_1000_member_years": "computed"}
    assert artifact["figures"] == ["availability", "caterpillar_disciplined_per_1000_member_years"]
    assert len(outputs(notebook, "image/png")) == 2


def test_admissions_comparison_in_vietnamese_pools_shrinks_and_draws_a_funnel(run, small_raw):
    notebook, artifact = run(
        "district_comparison", districts=["Kon Rẫy", "Dak Ha"], family="admissions", lang="vi", data_dir=str(small_raw)
    )
    assert errors(notebook) == []
    assert artifact["unit_codes"] == ["614", "615"]
    rows = by_key(artifact["rows"], "unit_code", "metric")
    rate = {code: rows[(code, "admissions_per_100_member_years")] for code in ("614", "615")}
    assert [r["comparison"] for r in rate.values()] == ["similar", "similar"]
    assert [r["comparison_label"] for r in rate.values()] == ["tương đương", "tương đương"]
    assert round(rate["614"]["benchmark"], 3) == round(rate["615"]["benchmark"], 3) == 3.179
    assert rate["614"]["estimate"] < rate["614"]["shrunk_estimate"] < rate["614"]["benchmark"]
    assert rate["615"]["label"] == "Số đảng viên kết nạp trên 100 đảng viên-năm"
    caveats = by_key(artifact["caveats"], "id")
    assert caveats["periods_differ"]["text"].startswith("Các ước lượng thuộc 2 thời điểm hoặc thời kỳ khác nhau")
    assert artifact["figure_titles"]["funnel_admissions_per_100_member_years"] == (
        "Đồ thị phễu: Số đảng viên kết nạp trên 100 đảng viên-năm"
    )
    assert artifact["figure_titles"]["availability"] == "Độ sẵn có của số liệu theo huyện"
    assert len(outputs(notebook, "image/png")) == 3


# ----------------------------------------------------------------------- data quality


def test_data_quality_counts_every_flag_and_reject_by_source_and_district(run, small_raw):
    bad_row = (
        "O0033,S000,para 9,Kon Rẫy,Kon Tum,district,village_heads_party_members_share,120,percent,exact,"
        "2021-08-23,,,stated,published,A percentage above 100 for the test.\n"
    )
    with open(small_raw / "observations.csv", "a", encoding="utf-8") as handle:
        handle.write(bad_row)
    notebook, artifact = run("data_quality", data_dir=str(small_raw))
    assert errors(notebook) == []
    assert (artifact["rows_in"], artifact["used"], artifact["rejected"]) == (78, 77, 1)
    assert artifact["tables"]["observations"] == {"in": 33, "used": 32, "rejected": 1}
    [reject] = artifact["rejects"]
    assert (reject["table"], reject["line"], reject["record_id"], reject["field"]) == (
        "observations",
        34,
        "O0033",
        "value",
    )
    assert artifact["flags_by_rule"] == {
        "historical_unit": 7,
        "hedged_value": 5,
        "period_unknown": 3,
        "suspect_note": 3,
        "conflicting_sources": 2,
        "denominator_missing": 2,
        "breakdown_exceeds_total": 1,
        "derived_value": 1,
        "percent_count_mismatch": 1,
    }
    assert artifact["warnings"] == 10
    assert artifact["by_source"]["S000"]["breakdown_exceeds_total"] == 1
    assert artifact["by_source"]["S101"] == {"hedged_value": 1, "historical_unit": 1, "percent_count_mismatch": 1}
    assert artifact["by_district"]["Đắk Hà (615)"]["conflicting_sources"] == 1
    assert "O0033" in "".join(outputs(notebook, "text/html"))


# ----------------------------------------------------------------------- notebooks that read as analysis


@pytest.mark.parametrize("name", REPORTS)
def test_report_notebook_cells_call_the_public_analysis_functions_with_their_arguments(name):
    code = "\n".join(
        c.source for c in nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells if c.cell_type == "code"
    )
    assert "ds = load_dataset(params.data_dir)" in code
    if name != "data_quality":
        assert "compute_metrics(ds.observations" in code and "compare_districts(ds, province=params." in code
    if name == "district_comparison":
        for argument in (
            "family=params.family",
            "benchmark=params.benchmark",
            "period=params.period",
            "region=params.region_code",
            "conf_level=params.levels",
        ):
            assert argument in code


@pytest.mark.parametrize("name", REPORTS)
def test_reader_notes_are_markdown_cells_tagged_to_stay_out_of_the_report(name):
    cells = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells
    notes = [c for c in cells if c.cell_type == "markdown"]
    assert notes and all("notebook-only" in c.metadata.get("tags", []) for c in notes)


def _changed_notebook(tmp_path, old: str, new: str) -> Path:
    """A copy of the comparison notebook with one argument of its compare_districts call changed."""
    notebook = nbformat.read(NOTEBOOKS / "district_comparison.ipynb", as_version=4)
    [cell] = [c for c in notebook.cells if "compare_districts(ds" in c.source]
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    path = tmp_path / "changed" / "district_comparison.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook, path)
    return path


def test_changing_the_benchmark_in_the_comparison_cell_changes_the_classification_shown(
    run, kernel, small_raw, tmp_path
):
    import papermill

    _, before = run("district_comparison", family="admissions", data_dir=str(small_raw))
    changed = _changed_notebook(tmp_path, "benchmark=params.benchmark", "benchmark=1.0")
    executed, artifact = tmp_path / "changed" / "out.ipynb", tmp_path / "changed" / "out.json"
    papermill.execute_notebook(
        str(changed),
        str(executed),
        kernel_name=kernel,
        progress_bar=False,
        parameters={"family": "admissions", "data_dir": str(small_raw), "output_json": str(artifact)},
        execution_timeout=120,
        start_timeout=60,
    )
    after = json.loads(artifact.read_text(encoding="utf-8"))
    key = ("615", "admissions_per_100_member_years")
    assert by_key(before["rows"], "unit_code", "metric")[key]["comparison"] == "similar"
    assert by_key(after["rows"], "unit_code", "metric")[key]["comparison"] == "much higher"
    assert (before["benchmark"], after["benchmark"]) == ("pooled", 1.0)
    shown = "".join(outputs(nbformat.read(executed, as_version=4), "text/html"))
    assert "much higher" in shown and "**Benchmark**: 1, given for every metric" in "".join(
        outputs(nbformat.read(executed, as_version=4), "text/markdown")
    )


def test_region_comparison_within_a_period_in_vietnamese_names_the_region_and_each_rows_period(run, small_raw):
    from test_explore_notebook import with_region

    notebook, artifact = run(
        "district_comparison",
        province=None,
        region="Tây Nguyên",
        family="admissions",
        period=["2019", "2021"],
        lang="vi",
        data_dir=str(with_region(small_raw)),
    )
    assert errors(notebook) == []
    assert (artifact["province_code"], artifact["region"], artifact["region_code"], artifact["period"]) == (
        None,
        "Tây Nguyên",
        "R-TN",
        ["2019-01-01", "2021-12-31"],
    )
    assert {"614", "615", "682"} <= set(artifact["unit_codes"])
    rows = by_key(artifact["rows"], "unit_code", "metric")
    assert rows[("682", "admissions_per_100_member_years")]["period"].startswith("2019-01-01 – ")
    markdown = "".join(outputs(notebook, "text/markdown"))
    assert "# So sánh các huyện của vùng Tây Nguyên: kết nạp đảng viên mới" in markdown
    assert "trong thời kỳ **2019-01-01 đến 2021-12-31**" in markdown


def test_the_html_report_leaves_out_reader_notes_and_code_but_the_explore_page_shows_its_code(run, small_raw, tmp_path):
    from analysis.reports.runner import write_html

    notebook, _ = run("data_quality", data_dir=str(small_raw))
    report = tmp_path / "quality.html"
    write_html(tmp_path / "data_quality.ipynb", report)
    page = report.read_text(encoding="utf-8")
    assert "Rows by table" in page  # the narration, from library code
    assert "Notes like this one are for the reader of the notebook" not in page
    assert "validate_quality_params" not in page  # code hidden
    explore = nbformat.read(NOTEBOOKS / "explore.ipynb", as_version=4)
    explore.cells = explore.cells[:3]
    stored = tmp_path / "explore.ipynb"
    nbformat.write(explore, stored)
    write_html(stored, tmp_path / "explore.html")
    shown = (tmp_path / "explore.html").read_text(encoding="utf-8")
    assert "Exploring the data with the package" in shown and "analysis.plots" in shown
    assert "caterpillar_plot" in shown  # the import cell's code is on the page
