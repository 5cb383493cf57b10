"""Warm kernels: one kernel per worker, reused from job to job, each job in a fresh namespace.

The toy notebook (written by a fixture) first prints what it finds in its
kernel, as one JSON line: the kernel's process id, whether a variable of an
earlier job is visible, matplotlib's rcParams, pandas and numpy options,
the working directory, an environment variable, warning filters, the random
state and the execution count. With ``leak`` it then changes all of these;
it draws a figure, writes its artifact, and finally raises, hangs or kills
its kernel when ``mode`` says so. Jobs run through ``run_jobs`` with one
worker, so consecutive jobs meet in the same worker process.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from analysis.errors import UsageError
from analysis.reports.kernels import WARM_IMPORTS, warm_kernels_by_default
from analysis.reports.runner import Job, RunSettings, run_jobs

pytestmark = pytest.mark.notebook

#: Enough for the toy notebook: kernels start in about a second.
LIGHT_IMPORTS = ("numpy", "pandas", "matplotlib.pyplot")

CELLS = [
    'label = "a"\nleak = False\nmode = "ok"\noutput_json = None',
    "import json, os, random, warnings\n"
    "import matplotlib\nimport matplotlib.pyplot as plt\nimport numpy as np\nimport pandas as pd\n"
    "from matplotlib_inline.config import InlineBackend\n"
    "found = {\n"
    '    "pid": os.getpid(), "earlier_variable": "secret" in globals(),\n'
    '    "linewidth": matplotlib.rcParams["lines.linewidth"], "max_rows": pd.get_option("display.max_rows"),\n'
    '    "precision": np.get_printoptions()["precision"], "cwd": os.getcwd(), "env": os.environ.get("TOY_LEAK"),\n'
    '    "warnings": [f[0] for f in warnings.filters[:3]], "random": random.random(),\n'
    '    "count": get_ipython().execution_count, "figures": plt.get_fignums(),\n'
    '    "close_figures": InlineBackend.instance().close_figures,\n'
    "}\n"
    "print(json.dumps(found))",
    "if leak:\n"
    "    secret = 1\n"
    '    matplotlib.rcParams["lines.linewidth"] = 7\n'
    '    pd.set_option("display.max_rows", 3)\n'
    "    np.set_printoptions(precision=2)\n"
    '    os.environ["TOY_LEAK"] = "yes"\n'
    '    warnings.simplefilter("error")\n'
    "    random.seed(7)\n"
    '    os.chdir("/")\n'
    '    get_ipython().run_line_magic("config", "InlineBackend.close_figures = False")\n'
    "    plt.figure()  # stays open",
    "fig, ax = plt.subplots(figsize=(2, 1.5))\nax.plot([1, 3, 2])",  # shown by the inline backend, no plt.show()
    'if output_json:\n    with open(output_json, "w") as f:\n        json.dump({"label": label, **found}, f)',
    'if mode == "raise":\n    raise ValueError("hỏng rồi")\n'
    'if mode == "hang":\n    import time\n    time.sleep(600)\n'
    'if mode == "die":\n    os._exit(3)\n'
    'if mode == "thread":\n    import threading, time\n'
    '    threading.Thread(target=time.sleep, args=(60,), name="toy-thread").start()',
]


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> str:
    """The toy notebook, in a folder of its own (its kernels' working directory)."""
    folder = tmp_path_factory.mktemp("toy")
    cells = [new_code_cell(CELLS[0], metadata={"tags": ["parameters"]})] + [new_code_cell(c) for c in CELLS[1:]]
    notebook = new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nbformat.write(notebook, folder / "state.ipynb")
    return str(folder / "state.ipynb")


def job(toy: str, label: str, **parameters) -> Job:
    return Job("state", {"label": label, **parameters}, f"state__{label}", toy, writes_json=True)


def settings(out: Path, **overrides) -> RunSettings:
    return RunSettings(
        **{"out_dir": str(out), "cell_timeout": 30, "job_timeout": 60, "warm_imports": LIGHT_IMPORTS, **overrides}
    )


def found(out: Path, result) -> dict:
    """What the job's kernel looked like when the job began (the JSON line its second cell printed)."""
    notebook = nbformat.read(out / result.outputs["notebook"], as_version=4)
    (line,) = [o.text for c in notebook.cells for o in c.get("outputs", []) if o.get("text", "").startswith('{"pid"')]
    return json.loads(line)


def pngs(out: Path, result) -> int:
    """How many figures the job's report shows."""
    page = (out / result.outputs["html"]).read_text(encoding="utf-8")
    return len(re.findall(r'<img [^>]*src="data:image/png;base64,', page))


#: The sequence of the warm run, with a kernel replaced after two jobs.
SEQUENCE = [
    ("a", {"leak": True}),
    ("b", {}),
    ("c", {"mode": "raise"}),
    ("d", {}),
    ("e", {"mode": "hang"}),
    ("f", {}),
    ("g", {"mode": "die"}),
    ("h", {"mode": "thread"}),
    ("i", {}),
]


@pytest.fixture(scope="module")
def warm(toy, tmp_path_factory) -> dict:
    """The sequence in one worker with warm kernels (at most two jobs per kernel)."""
    out = tmp_path_factory.mktemp("warm")
    jobs = [job(toy, label, **p) for label, p in SEQUENCE]
    results = run_jobs(jobs, settings(out, kernel_jobs=2, cell_timeout=2), workers=1)  # imports done: quick cells
    return {"out": out, "results": {r.parameters["label"]: r for r in results}}


@pytest.fixture(scope="module")
def cold(toy, tmp_path_factory) -> dict:
    """Jobs a and b on an external executor (a thread pool): cold kernels, though warm ones are asked for."""
    out = tmp_path_factory.mktemp("cold")
    with ThreadPoolExecutor(1) as pool:
        results = run_jobs(
            [job(toy, "a", leak=True), job(toy, "b")], settings(out, warm_kernels=True), workers=1, executor=pool
        )
    return {"out": out, "results": {r.parameters["label"]: r for r in results}}


def test_next_job_reuses_the_warm_kernel(warm):
    results, out = warm["results"], warm["out"]
    assert (results["a"].status, results["b"].status) == ("ok", "ok")
    assert found(out, results["b"])["pid"] == found(out, results["a"])["pid"]
    assert found(out, results["e"])["pid"] == found(out, results["d"])["pid"]


def test_cold_kernels_differ_from_job_to_job(cold):
    results, out = cold["results"], cold["out"]
    assert found(out, results["b"])["pid"] != found(out, results["a"])["pid"]


def test_variables_and_settings_of_a_job_do_not_reach_the_next_one(warm, toy):
    seen = found(warm["out"], warm["results"]["b"])
    assert seen["earlier_variable"] is False
    assert (seen["linewidth"], seen["max_rows"], seen["precision"]) == (1.5, 60, 8)  # the libraries' defaults
    assert seen["env"] is None
    assert seen["cwd"] == str(Path(toy).parent)
    assert seen["warnings"][0] != "error"
    assert seen["random"] != random.Random(7).random()  # job a seeded the generator; b gets a fresh one
    assert (seen["figures"], seen["close_figures"]) == ([], True)  # job a left a figure open, and figures open
    assert seen["count"] == 4  # the cell is In [3] (after the parameters and the injected ones); IPython counts on


def test_a_job_in_a_reused_kernel_finds_what_a_fresh_kernel_shows(warm, cold):
    warm_seen, cold_seen = (found(run["out"], run["results"]["b"]) for run in (warm, cold))
    assert {**warm_seen, "pid": 0, "random": 0} == {**cold_seen, "pid": 0, "random": 0}


def test_outputs_match_those_of_a_cold_kernel(warm, cold):
    for label in ("a", "b"):
        warm_result, cold_result = warm["results"][label], cold["results"][label]
        artifacts = [
            json.loads((run["out"] / r.outputs["artifact"]).read_text())
            for run, r in ((warm, warm_result), (cold, cold_result))
        ]
        assert [{**a, "pid": 0, "random": 0} for a in artifacts][0] == {**artifacts[1], "pid": 0, "random": 0}
        assert pngs(warm["out"], warm_result) == pngs(cold["out"], cold_result) == 1
        notebooks = [
            nbformat.read(run["out"] / r.outputs["notebook"], as_version=4)
            for run, r in ((warm, warm_result), (cold, cold_result))
        ]
        shapes = [[(c.execution_count, [o.output_type for o in c.outputs]) for c in nb.cells] for nb in notebooks]
        assert shapes[0] == shapes[1]


def test_kernel_is_replaced_after_its_job_limit(warm):
    results, out = warm["results"], warm["out"]
    assert results["c"].status == "failed"
    assert found(out, results["c"])["pid"] != found(out, results["b"])["pid"]  # b was the kernel's second job


def test_failing_job_makes_the_next_job_run_in_a_fresh_kernel(warm):
    results, out = warm["results"], warm["out"]
    assert (results["c"].reason, results["c"].error) == ("error", "ValueError: hỏng rồi (at In [7])")
    assert results["d"].status == "ok"
    assert found(out, results["d"])["pid"] != found(out, results["c"])["pid"]  # c was that kernel's first job


def test_hanging_job_is_stopped_by_the_cell_limit_and_the_next_job_succeeds(warm):
    results, out = warm["results"], warm["out"]
    assert (results["e"].reason, results["e"].error) == ("cell timeout", "a cell ran longer than the cell limit of 2 s")
    assert results["e"].duration < 20
    assert results["f"].status == "ok"
    assert found(out, results["f"])["pid"] != found(out, results["e"])["pid"]


def test_dead_kernel_fails_its_job_and_the_next_job_gets_a_new_one(warm):
    results, out = warm["results"], warm["out"]
    assert results["g"].reason == "kernel died"
    assert results["h"].status == "ok"
    assert found(out, results["h"])["pid"] != found(out, results["g"])["pid"]


def test_kernel_where_a_job_left_a_thread_running_is_replaced(warm):
    results, out = warm["results"], warm["out"]
    assert (results["h"].status, results["i"].status) == ("ok", "ok")
    assert found(out, results["i"])["pid"] != found(out, results["h"])["pid"]  # h was that kernel's first job


def test_every_job_ran_in_the_same_worker(warm):
    assert len({r.pid for r in warm["results"].values()}) == 1


def test_environment_variable_chooses_cold_kernels(monkeypatch):
    monkeypatch.setenv("ANALYSIS_KERNELS", "cold")
    assert RunSettings(out_dir="/tmp/x").warm_kernels is False
    monkeypatch.delenv("ANALYSIS_KERNELS")
    assert RunSettings(out_dir="/tmp/x").warm_kernels is True


def test_unknown_kernel_mode_is_a_usage_error():
    with pytest.raises(UsageError, match=r"ANALYSIS_KERNELS='tepid': use 'warm' or 'cold'"):
        warm_kernels_by_default({"ANALYSIS_KERNELS": "tepid"})


def test_every_warm_import_exists():
    from importlib.util import find_spec

    assert [name for name in WARM_IMPORTS if find_spec(name) is None] == []


def test_worker_skips_the_slow_import_and_still_validates_notebooks(toy):
    code = (
        "import sys\nfrom analysis.reports.runner import _init_worker\n_init_worker()\n"
        "import nbformat, papermill\n"
        f"nbformat.validate(nbformat.read({toy!r}, as_version=4))\n"
        "print(sys.modules.get('rfc3987_syntax'))"
    )
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (finished.returncode, finished.stdout.strip()) == (0, "None"), finished.stderr
