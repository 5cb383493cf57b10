"""Report schedules: checked in full before anything runs, expanded into named jobs."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pandas as pd
import pytest

from analysis.errors import UsageError
from analysis.reports.schedule import (
    declared_kinds,
    declared_parameters,
    districts_with_data,
    load_schedule,
    output_name,
    read_schedule,
    slugify,
)

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
ROOT = Path(__file__).resolve().parents[1]


def write_notebook(folder: Path, name: str, parameters: str) -> None:
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    notebook.cells = [cell, nbformat.v4.new_code_cell("pass")]
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nbformat.write(notebook, folder / f"{name}.ipynb")


@pytest.fixture
def notebooks(tmp_path) -> Path:
    """The toy notebooks plus stand-ins declaring some of the report notebooks' parameters."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for toy in FIXTURES.glob("*.ipynb"):
        shutil.copy(toy, folder)
    write_notebook(
        folder,
        "district_profile",
        "district = 'Kon Rẫy'\nprovince = 'Kon Tum'\nperiod_start = None\nperiod_end = None\n"
        "lang = 'en'\ndata_dir = None\noutput_json = None",
    )
    write_notebook(
        folder,
        "district_comparison",
        "province = 'Kon Tum'\ndistricts = None\nfamily = 'discipline'\nbenchmark = 'pooled'\n"
        "levels = [0.95, 0.998]\nlang = 'en'\ndata_dir = None",
    )
    write_notebook(folder, "data_quality", "data_dir = None\nlang = 'en'")
    return folder


@pytest.fixture
def dataset() -> SimpleNamespace:
    """Two provinces; context rows and commune figures do not make a district 'with data'."""
    units = pd.DataFrame(
        {
            "unit_code": ["62", "68", "614", "615", "616", "682"],
            "name": ["Kon Tum", "Lâm Đồng", "Kon Rẫy", "Đắk Hà", "Sa Thầy", "Đạ Huoai"],
            "level": ["province", "province", "district", "district", "district", "district"],
        }
    )
    observations = pd.DataFrame(
        {
            "table": ["observations", "observations", "observations", "context", "observations"],
            "unit_code": ["615", "614", "23500", "616", "682"],
            "unit_level": ["district", "district", "commune", "district", "district"],
            "unit_label": ["Đắk Hà", "Kon Rẫy", "Đắk Ui", "Sa Thầy", "Đạ Huoai"],
            "province_code": ["62", "62", "62", "62", "68"],
        }
    )
    return SimpleNamespace(units=units, observations=observations)


def schedule_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schedule.yml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, notebooks: Path, dataset=None) -> str:
    with pytest.raises(UsageError) as caught:
        load_schedule(path, notebooks_dir=notebooks, dataset=dataset)
    assert caught.value.exit_code == 2
    return str(caught.value)


# --------------------------------------------------------------------------- names


def test_slugify_makes_vietnamese_names_ascii_without_separators():
    assert slugify("Huyện Đắk Hà") == "huyen-dak-ha"
    assert slugify("Tu Mơ Rông") == "tu-mo-rong"
    assert slugify("ÐĂK GLEI") == "dak-glei"  # Eth typed for Đ
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("C:\\Windows\\x.y") == "c-windows-x-y"


def test_output_name_is_the_same_whatever_the_parameter_order():
    one = output_name("district_profile", {"district": "Kon Rẫy", "lang": "vi"})
    two = output_name("district_profile", {"lang": "vi", "district": "Kon Rẫy"})
    assert one == two == "district_profile__district-kon-ray_lang-vi"


def test_long_output_names_are_cut_and_end_with_a_hash_of_the_parameters():
    first = output_name("district_profile", {"district": "Kon Rẫy " * 20})
    second = output_name("district_profile", {"district": "Kon Rẫy " * 20 + "!"})
    assert len(first) <= 80 and len(second) <= 80
    assert first.startswith("district_profile__district-kon-ray-kon-ray-")
    assert first[:-8] == second[:-8] and first != second


def test_jobs_whose_slugs_collide_get_distinct_names(tmp_path, notebooks):
    # "Kon Rẫy" and "Kon Rấy" differ only by a tone mark, which slugs drop.
    path = schedule_file(tmp_path, "jobs:\n  - notebook: greeting\n    grid: {name: [Kon Rẫy, Kon Rấy, Đắk Hà]}\n")
    names = [job.name for job in load_schedule(path, notebooks_dir=notebooks).jobs]
    assert names[2] == "greeting__name-dak-ha"
    assert names[0] != names[1]
    assert all(
        n.startswith("greeting__name-kon-ray-") and len(n) == len("greeting__name-kon-ray-") + 8 for n in names[:2]
    )


# --------------------------------------------------------------------------- expansion


def test_declared_parameters_agree_with_papermill_inspect_notebook(notebooks):
    import papermill

    for path in sorted([*notebooks.glob("*.ipynb"), *(ROOT / "notebooks").glob("*.ipynb")]):
        inspected = papermill.inspect_notebook(str(path))
        assert declared_parameters(path) == {
            name: ast.literal_eval(info["default"]) for name, info in inspected.items()
        }, path


def test_grid_multiplies_and_parameters_pass_lists_as_values(tmp_path, notebooks):
    path = schedule_file(
        tmp_path,
        """
defaults: {lang: vi}
timeout: {cell: 30, job: 120}
jobs:
  - notebook: district_comparison
    parameters: {province: Kon Tum, levels: [0.9, 0.99]}
    grid: {family: [coverage, discipline], benchmark: [pooled, median]}
  - notebook: data_quality.ipynb
""",
    )
    schedule = load_schedule(path, notebooks_dir=notebooks)
    assert (schedule.cell_timeout, schedule.job_timeout) == (30.0, 120.0)
    comparisons = [job.parameters for job in schedule.jobs if job.notebook == "district_comparison"]
    assert [(p["family"], p["benchmark"]) for p in comparisons] == [
        ("coverage", "pooled"),
        ("coverage", "median"),
        ("discipline", "pooled"),
        ("discipline", "median"),
    ]
    assert all(p["levels"] == [0.9, 0.99] and p["lang"] == "vi" and p["province"] == "Kon Tum" for p in comparisons)
    quality = schedule.jobs[-1]
    assert (quality.notebook, quality.parameters, quality.name) == (
        "data_quality",
        {"lang": "vi"},
        "data_quality__lang-vi",
    )
    assert Path(quality.input_path) == (notebooks / "data_quality.ipynb").resolve()


def test_runner_passes_output_json_only_to_notebooks_that_declare_it(tmp_path, notebooks):
    path = schedule_file(tmp_path, "jobs:\n  - notebook: greeting\n  - notebook: fails\n")
    greeting, fails = load_schedule(path, notebooks_dir=notebooks).jobs
    assert greeting.writes_json and not fails.writes_json


def test_every_district_with_data_gives_each_district_and_its_province(tmp_path, notebooks, dataset):
    path = schedule_file(
        tmp_path,
        "jobs:\n  - notebook: district_profile\n"
        "    grid: {district: {every_district_with_data: all}, lang: [en, vi]}\n",
    )
    jobs = load_schedule(path, notebooks_dir=notebooks, dataset=dataset).jobs
    assert [job.parameters for job in jobs] == [
        {"district": "Đắk Hà", "province": "Kon Tum", "lang": "en"},
        {"district": "Đắk Hà", "province": "Kon Tum", "lang": "vi"},
        {"district": "Kon Rẫy", "province": "Kon Tum", "lang": "en"},
        {"district": "Kon Rẫy", "province": "Kon Tum", "lang": "vi"},
        {"district": "Đạ Huoai", "province": "Lâm Đồng", "lang": "en"},
        {"district": "Đạ Huoai", "province": "Lâm Đồng", "lang": "vi"},
    ]
    assert jobs[0].name == "district_profile__district-dak-ha_lang-en_province-kon-tum"


def test_every_district_of_one_province_without_a_province_parameter(tmp_path, notebooks, dataset):
    path = schedule_file(
        tmp_path, "jobs:\n  - notebook: greeting\n    grid: {name: {every_district_with_data: KON TUM}}\n"
    )
    jobs = load_schedule(path, notebooks_dir=notebooks, dataset=dataset).jobs
    assert [job.parameters for job in jobs] == [{"name": "Đắk Hà"}, {"name": "Kon Rẫy"}]


def test_districts_of_two_provinces_with_one_name(tmp_path, notebooks, dataset):
    dataset.observations.loc[len(dataset.observations)] = ["observations", "999", "district", "Kon Rẫy", "68"]
    assert districts_with_data(dataset.observations, dataset.units, "all") == [
        ("Đắk Hà", "Kon Tum"),
        ("Kon Rẫy", "Kon Tum"),
        ("Đạ Huoai", "Lâm Đồng"),
        ("Kon Rẫy", "Lâm Đồng"),
    ]
    path = schedule_file(tmp_path, "jobs:\n  - notebook: greeting\n    grid: {name: {every_district_with_data: all}}\n")
    message = problems_of(path, notebooks, dataset)
    assert (
        "job 1 (greeting): name: district name(s) Kon Rẫy belong to several provinces, and the notebook "
        "declares no 'province' parameter to tell them apart"
    ) in message


def test_every_district_with_data_refuses_a_province_set_by_hand(tmp_path, notebooks, dataset):
    path = schedule_file(
        tmp_path,
        "jobs:\n  - notebook: district_profile\n    parameters: {province: Kon Tum}\n"
        "    grid: {district: {every_district_with_data: all}}\n",
    )
    assert (
        "job 1 (district_profile): district: every_district_with_data sets 'province' too; "
        "remove 'province' from this job"
    ) in problems_of(path, notebooks, dataset)


def test_default_schedule_fits_the_report_notebooks(dataset):
    schedule = load_schedule(ROOT / "schedules" / "default.yml", notebooks_dir=ROOT / "notebooks", dataset=dataset)
    comparisons = [
        f"district_comparison__family-{family}_lang-{lang}_province-{place}"
        for place in ("kon-tum", "null_region-tay-nguyen", "null_region-all")
        for family in ("coverage", "admissions")
        for lang in ("en", "vi")
    ]
    assert [job.name for job in schedule.jobs if job.notebook != "district_comparison"] == [
        "explore",
        "district_profile__district-dak-ha_lang-en_province-kon-tum",
        "district_profile__district-kon-ray_lang-en_province-kon-tum",
        "district_profile__district-da-huoai_lang-en_province-lam-dong",
        "data_quality__lang-en",
    ]
    assert set(comparisons) < {job.name for job in schedule.jobs}
    assert all(job.writes_json for job in schedule.jobs if job.notebook != "explore")
    scopes = {
        (
            job.parameters.get("province"),
            job.parameters.get("region"),
            job.parameters["family"],
            job.parameters["lang"],
        ): job.parameters.get("benchmark")
        for job in schedule.jobs
        if job.notebook == "district_comparison"
    }
    assert len(scopes) == 18  # Kon Tum, Tây Nguyên and every district, three families, two languages
    assert {family: benchmark for (_, _, family, _), benchmark in scopes.items()} == {
        "coverage": None,
        "admissions": None,
        "discipline": 4.0,
    }  # the national anchor


def test_an_annotated_parameter_takes_every_kind_its_annotation_names(tmp_path, notebooks):
    write_notebook(
        notebooks,
        "district_comparison",
        "from typing import Optional, Union\nprovince = 'Kon Tum'\nfamily = 'discipline'\n"
        "benchmark: Union[str, float] = 'pooled'\nnote: Optional[str] = None\nlevels = [0.95, 0.998]",
    )
    path = schedule_file(
        tmp_path,
        """
jobs:
  - notebook: district_comparison
    grid: {benchmark: [pooled, 4.0, 3], family: [discipline]}
  - notebook: district_comparison
    parameters: {benchmark: [4.0], note: 2, family: 1}
""",
    )
    message = problems_of(path, notebooks)
    assert message.endswith(
        "3 problems:\n"
        "  job 2 (district_comparison): benchmark: expected number or text as the notebook "
        "annotates it, got list [4.0]; to run one job per value, put the list under 'grid:'\n"
        "  job 2 (district_comparison): note: expected null or text as the notebook annotates "
        "it, got number 2\n"
        "  job 2 (district_comparison): family: expected text like the notebook's default "
        "'discipline', got number 1"
    )
    path.write_text(
        "jobs:\n  - notebook: district_comparison\n    grid: {benchmark: [pooled, 4.0, 3]}\n", encoding="utf-8"
    )
    assert [job.parameters["benchmark"] for job in load_schedule(path, notebooks_dir=notebooks).jobs] == [
        "pooled",
        4.0,
        3,
    ]


def test_without_an_annotation_a_parameter_takes_the_kind_of_its_default(tmp_path, notebooks):
    path = schedule_file(tmp_path, "jobs:\n  - notebook: district_comparison\n    parameters: {benchmark: 4.0}\n")
    assert "benchmark: expected text like the notebook's default 'pooled', got number 4.0" in problems_of(
        path, notebooks
    )


def test_the_comparison_notebook_annotates_benchmark_so_a_schedule_may_give_a_number():
    assert declared_kinds(ROOT / "notebooks" / "district_comparison.ipynb") == {"benchmark": {"text", "number"}}


# --------------------------------------------------------------------------- problems


def test_unknown_notebook_lists_the_available_ones(tmp_path, notebooks):
    message = problems_of(schedule_file(tmp_path, "jobs:\n  - notebook: greetings\n"), notebooks)
    assert "job 1: unknown notebook 'greetings' (did you mean 'greeting'?)" in message
    assert (
        "available: crashes, data_quality, district_comparison, district_profile, fails, figure, greeting, sleeps"
        in message
    )


def test_misspelt_parameter_gets_the_closest_declared_name(tmp_path, notebooks):
    message = problems_of(
        schedule_file(tmp_path, "jobs:\n  - notebook: district_profile\n    parameters: {distrct: Kon Rẫy}\n"),
        notebooks,
    )
    assert (
        "job 1 (district_profile): unknown parameter 'distrct' (did you mean 'district'?); "
        "declared: district, province, period_start, period_end, lang, data_dir"
    ) in message


def test_every_problem_is_listed_in_one_message(tmp_path, notebooks):
    path = schedule_file(
        tmp_path,
        """
defaults: {langue: en}
timeout: {cell: 0, jobs: 10}
jobs:
  - notebook: greeting
    parameters: {name: [Kon Rẫy, Đắk Hà], output_json: /tmp/x.json}
    grid: {times: []}
  - notebook: nowhere
  - notebook: district_comparison
    grid: {family: discipline, levels: [[0.9], 0.95]}
  - notebook: fails
    parameters: {message: 2021-06-20}
  - notebook: greeting
    parameters: {name: world}
  - notebook: greeting
    grid: {name: [world]}
""",
    )
    message = problems_of(path, notebooks)
    expected = [
        "timeout: cell: must be a positive number of seconds up to 604800 (a week), not 0",
        "timeout: unknown key 'jobs' (did you mean 'job'?)",
        "job 1 (greeting): 'output_json' is set by the runner; remove it from the schedule",
        "job 1 (greeting): name: expected text like the notebook's default 'world', got list "
        "['Kon Rẫy', 'Đắk Hà']; to run one job per value, put the list under 'grid:'",
        "job 1 (greeting): times: empty grid: no value to run",
        "job 2: unknown notebook 'nowhere'",
        "job 3 (district_comparison): family: grid values must be a list, not 'discipline'",
        "job 3 (district_comparison): levels: expected list like the notebook's default [0.95, 0.998], got number 0.95",
        "job 4 (fails): message: datetime.date(2021, 6, 20) is a date, not a JSON value (quote dates",
        'job 6 (greeting): duplicates a job of job 5: {"name": "world"}',
        "defaults: 'langue' is declared by none of the scheduled notebooks (did you mean 'lang'?)",
    ]
    for line in expected:
        assert line in message
    assert message.startswith(f"{path}: {len(expected)} problems:\n")


def test_python_object_tag_is_refused_with_its_line(tmp_path):
    path = schedule_file(
        tmp_path,
        "jobs:\n  - notebook: greeting\n    parameters:\n      name: !!python/object/apply:os.system ['echo owned']\n",
    )
    with pytest.raises(UsageError) as caught:
        read_schedule(path)
    assert str(caught.value) == (
        f"{path}:4: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not "
        "allowed: a schedule holds plain values only (text, numbers, true/false, null, "
        "lists, mappings)"
    )


def test_schedule_that_is_not_a_mapping_or_not_yaml_is_refused(tmp_path):
    with pytest.raises(UsageError, match="a schedule is a mapping with a 'jobs' list"):
        read_schedule(schedule_file(tmp_path, "- notebook: greeting\n"))
    with pytest.raises(UsageError, match=r"schedule.yml:3: not valid YAML"):
        read_schedule(schedule_file(tmp_path, "jobs: [\n  {notebook: greeting\n"))
    with pytest.raises(UsageError, match="schedule not found"):
        read_schedule(tmp_path / "missing.yml")


def test_unknown_province_in_the_shorthand_suggests_one(tmp_path, notebooks, dataset):
    path = schedule_file(
        tmp_path, "jobs:\n  - notebook: district_profile\n    grid: {district: {every_district_with_data: Kon Tom}}\n"
    )
    message = problems_of(path, notebooks, dataset)
    assert "job 1 (district_profile): district: no province 'Kon Tom'; closest: Kon Tum" in message


def test_a_province_without_district_figures_is_an_empty_grid(tmp_path, notebooks, dataset):
    dataset.units.loc[len(dataset.units)] = ["64", "Gia Lai", "province"]
    path = schedule_file(
        tmp_path, "jobs:\n  - notebook: district_profile\n    grid: {district: {every_district_with_data: Gia Lai}}\n"
    )
    assert "district: empty grid: no district of Gia Lai has data" in problems_of(path, notebooks, dataset)
