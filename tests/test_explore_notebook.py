"""The explore notebook: a walk through the public API, executed on the small fixture data.

Every ``analysis`` name it uses must be public (``analysis.__all__``, the
statistics surface ``analysis.stats``, the plots of ``analysis.plots``), it
is stored without outputs, its report page shows its code, and run top to
bottom it computes what the fixture pins down: Kon Rẫy (614) has 15 figures
from 3 sources; its 27 admissions over 1,054.5 member-years are 2.56 per 100
member-years, Đắk Hà's 3.25 and Lâm Đồng's Đạ Tẻh 3.41, all similar to their pooled 3.21.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import analysis
from analysis.reports.run import stored_notebook_problems

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "explore.ipynb"


def public_api_problems(source: str) -> list[str]:
    """Every use of a non-public ``analysis`` name in notebook code (IPython magics skipped)."""
    tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "analysis":
            problems += [
                f"from {node.module} import {alias.name}"
                for alias in node.names
                if not _public(node.module, alias.name)
            ]
        elif isinstance(node, ast.Import):
            problems += [f"import {alias.name}" for alias in node.names if alias.name.startswith("analysis.")]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "analysis"
            and node.attr not in analysis.__all__
        ):
            problems.append(f"analysis.{node.attr}")
    return problems


def _public(module: str, name: str) -> bool:
    """A name is public in ``analysis`` (its ``__all__``), in ``analysis.plots``, or in ``analysis.stats``
    (its ``__all__`` when it declares one, else any name of its modules without a leading underscore)."""
    if module == "analysis":
        return name in analysis.__all__
    if module != "analysis.plots" and not (module == "analysis.stats" or module.startswith("analysis.stats.")):
        return False
    if name.startswith("_") or not hasattr(importlib.import_module(module), name):
        return False
    surface = importlib.import_module("analysis.stats" if module.startswith("analysis.stats") else module)
    return name in getattr(surface, "__all__", [name])


def code_of(notebook) -> str:
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")


def test_the_explore_notebook_uses_only_public_names():
    assert public_api_problems(code_of(nbformat.read(NOTEBOOK, as_version=4))) == []


def test_a_private_name_in_notebook_code_is_caught():
    source = (
        "%matplotlib inline\nimport analysis\nfrom analysis.reports.formatting import show_table\n"
        "from analysis.stats.comparison import _latest, classify\nanalysis.paths.raw_dir()\n"
        "import analysis.reports.runner\n"
    )
    assert public_api_problems(source) == [
        "from analysis.reports.formatting import show_table",
        "from analysis.stats.comparison import _latest",
        "import analysis.reports.runner",
        "analysis.paths",
    ]


def test_the_explore_notebook_is_stored_clean_explains_each_step_and_shows_its_code_in_the_report():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert stored_notebook_problems(NOTEBOOK) == []
    assert notebook.metadata["grassroots"]["show_code"] is True
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds[0] == "markdown" and kinds.count("markdown") >= 9
    headings = [cell.source.splitlines()[0] for cell in notebook.cells if cell.cell_type == "markdown"]
    assert [h for h in headings if h.startswith("## ")][:3] == [
        "## 1. Load the dataset",
        "## 2. One district's figures, with their sources and flags",
        "## 3. The three families of metrics",
    ]


def with_region(raw: Path) -> Path:
    """The fixture's provinces placed in the Tây Nguyên region (as data/raw has them)."""
    header, rest = (raw / "units.csv").read_text(encoding="utf-8").split("\n", 1)
    rest = rest.replace("province,,", "province,R-TN,")
    (raw / "units.csv").write_text(
        f"{header}\nR-TN,Tây Nguyên,Vùng Tây Nguyên,region,,,,Tay Nguyen,\n{rest}", encoding="utf-8"
    )
    return raw


@pytest.mark.notebook
def test_the_explore_notebook_runs_top_to_bottom_and_computes_the_comparison_it_exports(
    small_raw, tmp_path, monkeypatch
):
    import papermill

    from analysis.reports.kernels import KERNEL_NAME, ensure_kernel

    ensure_kernel(KERNEL_NAME)
    monkeypatch.setenv("MPLBACKEND", "agg")
    exports = tmp_path / "exports"
    exports.mkdir()
    executed = tmp_path / "explore.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(executed),
        kernel_name=KERNEL_NAME,
        progress_bar=False,
        parameters={"data_dir": str(with_region(small_raw)), "export_dir": str(exports)},
        execution_timeout=120,
        start_timeout=60,
        cwd=str(NOTEBOOK.parent),
    )
    notebook = nbformat.read(executed, as_version=4)
    outputs = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    assert [out for out in outputs if out["output_type"] == "error"] == []
    assert "Kon Rẫy (614): 15 figures from 3 sources" in "".join(out.get("text", "") for out in outputs)
    assert sum("image/png" in out.get("data", {}) for out in outputs) == 2  # funnel and caterpillar
    table = pd.read_csv(exports / "admissions_per_100_member_years.csv", encoding="utf-8-sig", dtype={"unit_code": str})
    rows = table[table["comparison"] != "not compared"].set_index("unit_code")
    assert rows.index.tolist() == ["614", "615", "682"]  # Đạ Tẻh is in Lâm Đồng, also in the region
    assert rows["estimate"].round(2).tolist() == [2.56, 3.25, 3.41]
    assert rows["comparison"].tolist() == ["similar"] * 3 and rows["benchmark"].round(3).tolist() == [3.205] * 3
    assert set(table["metric"]) == {"admissions_per_100_member_years"}
