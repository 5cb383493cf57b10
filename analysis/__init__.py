"""Sourced figures on Vietnamese district party organisations, and their comparison.

The public API is re-exported here lazily, so ``import analysis`` stays fast
and each heavy library is imported only by the function that needs it::

    import analysis
    ds = analysis.load_dataset()            # validated observations, flags, rejects
    metrics = analysis.compute_metrics(ds.observations)
    table = analysis.compare_districts(ds, province="Kon Tum", family="discipline")

See ``docs/design.md`` for the tables and the contracts between modules.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Dataset": "analysis.data.dataset",
    "load_dataset": "analysis.data.dataset",
    "write_processed": "analysis.data.dataset",
    "read_processed": "analysis.data.dataset",
    "resolve_unit": "analysis.data.units",
    "compute_metrics": "analysis.stats.metrics",
    "compare_districts": "analysis.stats.comparison",
    "extract_figures": "analysis.text.extraction",
    "run_schedule": "analysis.reports.run",
    "export_table": "analysis.reports.formatting",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
