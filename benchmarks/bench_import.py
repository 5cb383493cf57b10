"""How long ``import analysis`` takes in a fresh process, and what it pulls in.

Two figures, each the median of fresh interpreters:

* ``import analysis``: the cumulative time of the ``analysis`` package in
  ``python -X importtime`` (the import itself, without interpreter start-up);
  the wall time of the whole process is in the note. Target: under 0.5 s.
* ``import analysis`` and touching ``load_dataset``, ``compute_metrics`` and
  ``compare_districts`` (which imports the data modules and pandas), for
  information; the note lists any heavy library (statsmodels, scipy,
  matplotlib, seaborn, papermill, nbconvert, vietnamadminunits) that got
  imported on the way, which the house style forbids at module level.
* the statsmodels interval functions, which the first metric computation
  imports (lazily): part of the pipeline's "metrics" time, for information.

Run: ``python benchmarks/bench_import.py [--quick] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import re
import sys

from measure import PYTHON, add_common_arguments, judge, measure_process, median, row, write_rows

TARGET_S = 0.5
#: What the house style keeps out of module-level imports.
HEAVY = (
    "statsmodels",
    "scipy",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "vietnamadminunits",
    "yaml",
    "babel",
)
TOUCH = "import analysis; analysis.load_dataset; analysis.compute_metrics; analysis.compare_districts"
INTERVALS = (
    "from statsmodels.stats.proportion import proportion_confint; from statsmodels.stats.rates import confint_poisson"
)


def import_seconds(code: str) -> tuple[float, float, float, str]:
    """Import time of the ``analysis`` package (importtime), wall and RSS of one fresh process."""
    report = "import sys; " + code + f"; print(','.join(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    measured = measure_process([PYTHON, "-X", "importtime", "-c", report]).check("import")
    # lines: "import time: self [us] | cumulative | imported package", nested ones indented;
    # the top-level imports after `site` are the ones the code triggered
    top = [
        (int(m.group(1)), m.group(2))
        for m in re.finditer(r"^import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", measured.stderr, re.M)
    ]
    after_site = [us for k, (us, name) in enumerate(top) if k > [n for _, n in top].index("site")]
    return sum(after_site) / 1e6, measured.wall, measured.peak_rss_mb, measured.stdout.strip()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    runs = 3 if args.quick else 5
    rows = []
    for label, code, target in (
        ("import analysis (fresh process)", "import analysis", TARGET_S),
        ("import analysis + data modules (info)", TOUCH, None),
        ("first metric: statsmodels interval imports (info)", INTERVALS, None),
    ):
        try:
            samples = [import_seconds(code) for _ in range(runs)]
        except RuntimeError as err:
            rows.append(
                row(label, None, "s", 0, None, f"< {target} s" if target else "–", "error", str(err).splitlines()[-1])
            )
            continue
        seconds = median(s[0] for s in samples)
        wall = median(s[1] for s in samples)
        heavy = samples[-1][3]
        note = f"process wall {wall:.2f} s incl. interpreter start"
        if heavy and code != INTERVALS:
            note += f"; heavy modules imported at module level: {heavy}"
        status = judge(seconds, target, "lower") if target else "info"
        rows.append(
            row(label, seconds, "s", runs, max(s[2] for s in samples), f"< {target} s" if target else "–", status, note)
        )
    write_rows(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
