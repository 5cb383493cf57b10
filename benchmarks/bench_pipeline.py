"""The national panel: build + all metrics + all comparisons, against a naive loop.

The SYNTHETIC national panel (every district of the 63 provinces, ten years,
every codebook indicator; about 300,000 observations) is generated once into
a temporary folder, untimed. Then, each in a fresh process:

* ``pipeline``: ``analysis.load_dataset(raw_dir)`` (read, validate, resolve,
  flag, reconcile) + ``analysis.compute_metrics(ds.observations)`` +
  ``analysis.compare_districts(ds, family=f, metrics=m)`` for each of the
  three families over all districts. Timed inside the process after the
  imports (the import is reported separately by bench_import); median of 5.
  The note also gives the CPU time of the same work, which a busy shared
  machine inflates less than the wall time.
  Peak RSS of the process (``ru_maxrss``) is the honest memory figure; one
  extra run under ``tracemalloc`` gives the Python-level peak (slower, not
  timed).
* ``naive``: the same metrics computed the way a user would write them
  around the interval functions: the denominators are found once for all
  districts with the package's own ``nearest_stock`` (or a merge on the
  period), then a Python loop over districts filters each metric's rows
  (``frame[frame.unit_code == code]``) and calls statsmodels'
  ``proportion_confint`` / ``confint_poisson`` one row at a time. Timed:
  the merge and the loop, from the same loaded observations (the load is
  not timed). It handles only count numerators, so it does less work than
  ``compute_metrics``, which also turns printed percentages into counts:
  the ratio is, if anything, flattering to the loop. (A fully naive loop
  that also searches each denominator row by row takes minutes.) The loop
  takes about a minute on a busy 2-core machine, so it runs once (the whole
  ``make bench`` should stay near five minutes); ``compute_metrics`` runs
  three times in the same process (median), so the ratio's denominator is
  robust and its numerator is a single long measurement.

  The same process also times a bare ``pandas.read_csv`` of the panel's
  ``observations.csv`` (before the load: the yardstick of issue 15) and a
  second ``load_dataset`` of the same unchanged folder (what every report
  job after a kernel's first pays: hashing the raw files and copying the
  kept build).

Reported: the pipeline's median wall time and peak RSS against the targets
(1.5 s, 1 GB), the pipeline over the bare ``read_csv`` (target ≤ 3×), the
repeated load, and the ratio naive / ``compute_metrics`` time (target 20×).

Run: ``python benchmarks/bench_pipeline.py [--quick] [--json PATH] [--raw DIR]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from measure import REPO, add_common_arguments, judge, median, python_worker, row, write_rows

TARGET_SECONDS = 1.5
TARGET_OVER_READ_CSV = 3.0
TARGET_MB = 1024.0
TARGET_RATIO = 20.0
FAMILIES = ("coverage", "admissions", "discipline")
TOLERANCE_DAYS = 730


# --------------------------------------------------------------------------- workers (fresh processes)


def pipeline_worker(raw_dir: str, memory: bool, keep: str | None = None) -> dict:
    """Load, compute and compare; return the step timings (and tracemalloc's peak).

    With ``keep``, the loaded observations are also pickled there (after the
    timings) for the naive workers, which then need not load the panel again.
    """
    started = time.perf_counter()
    import analysis
    from analysis.stats.comparison import compare_districts
    from analysis.data.dataset import load_dataset
    from analysis.stats.metrics import compute_metrics

    import pandas as pd

    imported = time.perf_counter()
    pd.read_csv(Path(raw_dir) / "observations.csv")
    read_csv = time.perf_counter() - imported
    if memory:
        import tracemalloc

        tracemalloc.start()
    t0, cpu0 = time.perf_counter(), time.process_time()
    ds = load_dataset(raw_dir=raw_dir)
    t1 = time.perf_counter()
    metrics = compute_metrics(ds.observations)
    t2 = time.perf_counter()
    compared = [compare_districts(ds, family=family, metrics=metrics) for family in FAMILIES]
    t3, cpu3 = time.perf_counter(), time.process_time()
    load_dataset(raw_dir=raw_dir)
    again = time.perf_counter() - t3
    result = {
        "read_csv": read_csv,
        "load_again": again,
        "import": imported - started,
        "load": t1 - t0,
        "metrics": t2 - t1,
        "compare": t3 - t2,
        "total": t3 - t0,
        "cpu": cpu3 - cpu0,
        "observations": len(ds.observations),
        "metric_rows": len(metrics),
        "computable": int(metrics["computable"].astype(bool).sum()),
        "compared_rows": sum(len(c) for c in compared),
        "version": analysis.__version__,
    }
    if memory:
        result["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    if keep:
        ds.observations.to_pickle(keep)
    return result


def merged_denominators(observations, definitions) -> dict:
    """Each metric's numerator rows with their denominator, found once for all districts.

    This is the part the naive version is allowed to share with the package
    (``analysis.stats.metrics.nearest_stock`` for stocks, a merge on the period for flows).
    """
    from analysis.stats.metrics import nearest_stock

    obs = observations[observations["preferred"].astype(bool)]
    merged = {}
    for d in definitions:
        numerators = obs[obs["indicator"] == d.numerator]
        if d.match == "same_period":
            bases = obs.loc[obs["indicator"] == d.denominator, ["unit_code", "period_start", "period_end", "value"]]
            found = numerators.merge(
                bases.rename(columns={"value": "stock_value"}),
                how="inner",
                on=["unit_code", "period_start", "period_end"],
            )
        else:
            found = nearest_stock(numerators, obs, d.denominator, tolerance_days=TOLERANCE_DAYS)
        merged[d.metric] = found[found["stock_value"].notna()]
    return merged


def naive_metrics(merged: dict, definitions):
    """The metrics the way a user would loop: per district, per metric, one interval call per row."""
    import warnings

    import pandas as pd
    from statsmodels.stats.proportion import proportion_confint
    from statsmodels.stats.rates import confint_poisson

    districts = sorted(set().union(*(set(frame["unit_code"].dropna()) for frame in merged.values())))
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for code in districts:
            for d in definitions:
                frame = merged[d.metric]
                sub = frame[frame["unit_code"] == code]
                for _, r in sub.iterrows():
                    count, base = float(r["value"]), float(r["stock_value"])
                    if not base > 0:
                        continue
                    if d.kind == "share":
                        low, upp = proportion_confint(count, base, alpha=0.05, method="wilson")
                        estimate = count / base
                    elif d.kind == "rate":
                        if pd.isna(r["period_start"]) or pd.isna(r["period_end"]):
                            continue
                        exposure = base * ((r["period_end"] - r["period_start"]).days + 1) / 365.25
                        low, upp = confint_poisson(count, exposure, method="exact-c", alpha=0.05)
                        estimate = count / exposure
                    else:
                        low = upp = float("nan")
                        estimate = count / base
                    results.append(
                        {
                            "unit_code": code,
                            "metric": d.metric,
                            "estimate": estimate * d.multiplier,
                            "lower": float(low) * d.multiplier,
                            "upper": float(upp) * d.multiplier,
                        }
                    )
    return pd.DataFrame(results)


def naive_worker(observations_pickle: str) -> dict:
    """Time the vectorised metrics and the naive loop on the same loaded observations."""
    import pandas as pd

    from analysis.stats.metrics import METRICS, compute_metrics

    observations = pd.read_pickle(observations_pickle)
    compute_metrics(observations.head(1000))  # warm up statsmodels imports for both sides
    vectorised = []
    for _ in range(3):  # cheap: the median of three
        t0 = time.perf_counter()
        metrics = compute_metrics(observations)
        vectorised.append(time.perf_counter() - t0)
    t1 = time.perf_counter()
    merged = merged_denominators(observations, METRICS)
    t2 = time.perf_counter()
    naive = naive_metrics(merged, METRICS)
    t3 = time.perf_counter()
    return {
        "metrics": sorted(vectorised)[1],
        "naive": t3 - t1,
        "naive_merge": t2 - t1,
        "naive_loop": t3 - t2,
        "naive_rows": len(naive),
        "computable": int(metrics["computable"].astype(bool).sum()),
    }


# --------------------------------------------------------------------------- driver


def generate(out: Path) -> Path:
    """Write the national SYNTHETIC panel (seed 0, 2014-2023) into ``out``."""
    sys.path.insert(0, str(REPO))
    from analysis.data import synthetic

    panel = synthetic.generate_panel(synthetic.read_codebook(), seed=0)
    return synthetic.write_panel(panel, out, seed=0, years=synthetic.DEFAULT_YEARS)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--raw", help="use this raw folder instead of generating the national panel")
    parser.add_argument("--keep", help="internal: pickle the loaded observations here")
    args = parser.parse_args(argv)
    if args.worker:
        if args.worker == "naive":
            result = naive_worker(args.keep)
        else:
            result = pipeline_worker(args.raw, memory=args.worker == "memory", keep=args.keep)
        Path(args.result).write_text(json.dumps(result))
        return 0

    runs, naive_runs = (2, 1) if args.quick else (5, 1)
    with tempfile.TemporaryDirectory(prefix="bench-panel-") as tmp:
        raw = args.raw or str(generate(Path(tmp) / "panel"))
        kept = str(Path(tmp) / "observations.pkl")
        script = Path(__file__).resolve()
        timed = [
            python_worker(script, "--worker", "pipeline", "--raw", raw, *(["--keep", kept] if k == 0 else []))
            for k in range(runs)
        ]
        memory, _ = python_worker(script, "--worker", "memory", "--raw", raw)
        naive = [python_worker(script, "--worker", "naive", "--keep", kept) for _ in range(naive_runs)]

    results = [r for r, _ in timed]
    total = median(r["total"] for r in results)
    rss = max(m.peak_rss_mb for _, m in timed)
    steps = ", ".join(f"{step} {median(r[step] for r in results):.2f} s" for step in ("load", "metrics", "compare"))
    steps += f"; CPU time {median(r['cpu'] for r in results):.2f} s"
    first = results[0]
    pipeline_note = (
        f"{first['observations']:,} observations, {first['metric_rows']:,} metric rows "
        f"({first['computable']:,} computable); {steps} (metrics includes the first import of "
        f"statsmodels' intervals); import of analysis {median(r['import'] for r in results):.2f} s not included"
    )
    ratio_read = median(r["total"] / r["read_csv"] for r in results)
    again = median(r["load_again"] for r in results)
    ratio = median(r["naive"] / r["metrics"] for r, _ in naive)
    naive_note = (
        f"naive {median(r['naive'] for r, _ in naive):.1f} s (merge {median(r['naive_merge'] for r, _ in naive):.1f} s"
        f" + loop {median(r['naive_loop'] for r, _ in naive):.1f} s; {naive[0][0]['naive_rows']:,} intervals, "
        f"count numerators only) vs compute_metrics {median(r['metrics'] for r, _ in naive):.2f} s "
        f"({naive[0][0]['computable']:,} computable rows)"
    )
    rows = [
        row(
            "national panel: build + metrics + comparisons",
            total,
            "s",
            runs,
            rss,
            f"< {TARGET_SECONDS:g} s",
            judge(total, TARGET_SECONDS, "lower"),
            pipeline_note,
        ),
        row(
            "national panel: build + metrics + comparisons / bare pandas.read_csv of observations.csv",
            ratio_read,
            "×",
            runs,
            None,
            f"≤ {TARGET_OVER_READ_CSV:g}×",
            judge(ratio_read, TARGET_OVER_READ_CSV, "lower"),
            f"read_csv {median(r['read_csv'] for r in results):.2f} s in the same processes (median)",
        ),
        row(
            "national panel: load_dataset again, raw files unchanged (kept build)",
            again,
            "s",
            runs,
            None,
            "–",
            "info",
            "hash the five raw files + copy the kept build: what a warm kernel's later report jobs pay",
        ),
        row(
            "national panel: peak memory (RSS)",
            rss,
            "MB",
            runs,
            rss,
            f"< {TARGET_MB:g} MB",
            judge(rss, TARGET_MB, "lower"),
            f"max ru_maxrss over the runs; tracemalloc peak {memory['tracemalloc_peak_mb']:.0f} MB "
            "(Python allocations)",
        ),
        row(
            "national panel: metrics vs naive loop (speed-up)",
            ratio,
            "×",
            len(naive),
            max(m.peak_rss_mb for _, m in naive),
            f"≥ {TARGET_RATIO:g}×",
            judge(ratio, TARGET_RATIO, "higher"),
            naive_note,
        ),
    ]
    write_rows(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
