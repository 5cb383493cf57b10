"""The severity mix of discipline (reprimand < warning < dismissal < expulsion), with its caveats."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.stats.observations import (
    KEY,
    as_text,
    empty_table,
    first_per_key,
    fmt_numbers,
    join_texts,
    union_flags_by_group,
    usable,
)

SEVERITY_COLUMNS = (
    "unit_code",
    "unit_label",
    "province_code",
    "period_start",
    "period_end",
    "form",
    "count",
    "share",
    "breakdown_total",
    "total_printed",
    "approximate",
    "flags",
    "note",
    "obs_ids",
)


SEVERITY_FORMS = (
    # form, indicator, label_en, label_vi — mildest first
    ("reprimand", "disciplined_reprimand", "reprimand", "khiển trách"),
    ("warning", "disciplined_warning", "warning", "cảnh cáo"),
    ("dismissal", "disciplined_dismissal", "dismissal from post", "cách chức"),
    ("expulsion", "disciplined_expulsion", "expulsion", "khai trừ"),
)


SEVERITY_DTYPE = pd.CategoricalDtype([f[0] for f in SEVERITY_FORMS], ordered=True)

#: Members disciplined, by the body that disciplined them: parts of ``disciplined_members``.


def severity_mix(observations: pd.DataFrame) -> pd.DataFrame:
    """The severity mix of discipline, per unit and period, with its caveats.

    Every unit-period that reports at least one form gets all four forms,
    ordered reprimand < warning < dismissal < expulsion; a form not reported
    has ``count`` NaN (not reported is not zero).

    Args:
        observations: The processed observations (``preferred`` rows used).

    Returns:
        Columns :data:`SEVERITY_COLUMNS`: ``count``; ``share`` of the sum of
        the reported parts (percent); ``breakdown_total`` (that sum);
        ``total_printed`` (``disciplined_members`` of the same period, NaN if
        none); ``flags`` of the parts and the total (the data layer's
        ``breakdown_exceeds_total`` travels here); ``note`` saying when the
        parts do not add up to the printed total; ``obs_ids`` of the part
        and the total.

    Raises:
        InputError: A required column is missing.

    Examples:
        >>> obs = pd.DataFrame({"obs_id": ["O1", "O2", "O3", "O4"], "unit_code": "614",
        ...     "indicator": ["disciplined_members", "disciplined_expulsion",
        ...                   "disciplined_warning", "disciplined_reprimand"],
        ...     "value": [22, 3, 2, 22], "period_start": "2020-01-01",
        ...     "period_end": "2021-08-23",
        ...     "flags": ["", "breakdown_exceeds_total", "breakdown_exceeds_total",
        ...               "breakdown_exceeds_total"]})
        >>> mix = severity_mix(obs)
        >>> mix[["form", "count", "share"]].round(1).values.tolist()
        [['reprimand', 22.0, 81.5], ['warning', 2.0, 7.4], ['dismissal', nan, nan], ['expulsion', 3.0, 11.1]]
        >>> mix["note"].iloc[0]
        'parts sum to 27, above the printed total of 22'
        >>> mix["flags"].iloc[0]
        'breakdown_exceeds_total'
    """
    forms = pd.DataFrame(SEVERITY_FORMS, columns=["form", "indicator", "label_en", "label_vi"])
    obs = usable(observations, None, pd.Index([*forms["indicator"], "disciplined_members"]))
    parts = obs.merge(forms[["form", "indicator"]], on="indicator")
    if parts.empty:
        return empty_table(SEVERITY_COLUMNS, {"form": SEVERITY_DTYPE})
    parts = first_per_key(parts, ["form"])
    groups = parts[KEY + ["unit_code", "unit_label", "province_code"]].drop_duplicates(KEY)
    grid = groups.merge(forms[["form"]], how="cross").merge(
        parts[KEY + ["form", "value", "obs_id", "approximate", "flags"]], on=KEY + ["form"], how="left"
    )
    totals = first_per_key(obs[obs["indicator"] == "disciplined_members"])
    totals = totals[KEY + ["value", "obs_id", "approximate", "flags"]].rename(
        columns={"value": "total_printed", "obs_id": "total_obs", "approximate": "total_approx", "flags": "total_flags"}
    )
    grid = grid.merge(totals, on=KEY, how="left")
    grid["breakdown_total"] = grid.groupby(KEY, dropna=False)["value"].transform("sum")
    grid["share"] = 100 * grid["value"] / grid["breakdown_total"].where(grid["breakdown_total"] > 0)
    grid["flags"] = union_flags_by_group(grid, KEY, ["flags", "total_flags"])
    grid["approximate"] = (grid["approximate"].fillna(False).astype(bool) & grid["value"].notna()) | grid[
        "total_approx"
    ].fillna(False).astype(bool)
    grid["obs_ids"] = join_texts(grid["obs_id"], grid["total_obs"])
    note = np.full(len(grid), "", dtype=object)
    parts_sum, total = grid["breakdown_total"], grid["total_printed"]
    note[total.isna().to_numpy()] = "no printed total for this period"
    for above, word, tail in ((True, "above", ""), (False, "below", " (forms not reported, or other forms)")):
        mask = (parts_sum > total if above else parts_sum < total).to_numpy()
        note[mask] = (
            "parts sum to "
            + fmt_numbers(parts_sum[mask])
            + f", {word} the printed total of "
            + fmt_numbers(total[mask])
            + tail
        ).to_numpy()
    grid["note"] = note
    grid["form"] = grid["form"].astype(SEVERITY_DTYPE)
    out = grid.rename(columns={"value": "count", "ref_start": "period_start", "ref_end": "period_end"})
    out = out.sort_values(["unit_code", "period_end", "period_start", "src_id", "form"], kind="stable")
    return as_text(out[list(SEVERITY_COLUMNS)].reset_index(drop=True))
