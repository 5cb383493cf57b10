"""The real data: a few collected figures pinned with their sources, and how far the comparisons reach.

The counts are floors measured on ``data/raw`` by ``compute_metrics`` at the
default denominator tolerance (730 days): distinct districts (not communes,
villages, provinces or regions) with a computable row per metric. They may
only go up as figures are added; docs/data-coverage.md says what was looked for and not found.
"""

from __future__ import annotations

import pytest

from analysis import paths
from analysis.data.dataset import load_dataset
from analysis.stats.metrics import compute_metrics


@pytest.fixture(scope="module")
def real():
    return load_dataset(paths.root() / "data" / "raw")


@pytest.fixture(scope="module")
def computable(real):
    metrics = compute_metrics(real.observations)
    districts = real.units.loc[real.units["level"] == "district", "unit_code"]
    metrics = metrics[metrics["computable"].astype(bool) & metrics["unit_code"].isin(districts)]
    return metrics.groupby("metric")["unit_code"].nunique()


@pytest.mark.parametrize(
    "obs_id, unit_code, indicator, value, source_id, locator",
    [
        ("O2000", "632", "admissions", 42, "S200", "para 3"),  # Chư Prông, first half of 2020
        ("O2001", "632", "party_members", 4100, "S200", "para 3"),
        ("O3000", "674", "admissions", 76, "S300", "para 3"),  # Đam Rông, Jan-Aug 2018
    ],
)
def test_collected_figures_are_kept_as_printed_with_their_source(
    real, obs_id, unit_code, indicator, value, source_id, locator
):
    row = real.observations.set_index("obs_id").loc[obs_id]
    assert (row["unit_code"], row["indicator"], row["value"]) == (unit_code, indicator, value)
    assert (row["source_id"], row["locator"]) == (source_id, locator)
    assert real.sources.set_index("source_id").loc[source_id, "url"].startswith("http")


def test_census_population_is_a_dated_context_figure_with_its_table_row(real):
    row = real.observations.set_index("obs_id").loc["C2003"]
    assert (row["unit_label"], row["indicator"], row["value"]) == ("Tây Giang", "population", 20005)
    assert "Cube1b_DansocapHuyen" in row["locator"]


def test_every_new_figure_has_a_source_with_a_url_and_a_locator(real):
    obs = real.observations
    new = obs[obs["obs_id"].str.fullmatch(r"[OC][1-5]\d{3}")]
    sources = real.sources.set_index("source_id")
    assert len(new) >= 700
    assert (new["locator"].astype(str).str.len() > 0).all()
    assert sources.loc[new["source_id"].unique(), "url"].astype(str).str.startswith("http").all()


@pytest.mark.parametrize(
    "metric, floor",
    [
        ("disciplined_per_1000_member_years", 2),
        ("admissions_per_100_member_years", 18),
        ("admissions_rural_cells_share", 5),
        ("villages_with_party_org_share", 4),
        ("village_heads_party_members_share", 3),
        ("cell_secretaries_also_village_heads_share", 8),
        ("party_members_per_1000_population", 27),
    ],
)
def test_districts_with_a_computable_metric_do_not_fall(computable, metric, floor):
    assert computable.get(metric, 0) >= floor


def test_every_raw_figure_says_how_it_was_entered(real):
    import pandas as pd

    raw = pd.read_csv(paths.root() / "data" / "raw" / "observations.csv", dtype=str, keep_default_na=False)
    assert set(raw["entry_method"]) <= {"extractor", "extractor_corrected", "hand"}
    assert len(raw) == (real.observations["table"] == "observations").sum()
