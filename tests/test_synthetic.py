"""The SYNTHETIC panel: deterministic, marked, never written over real data, and loadable."""

from __future__ import annotations

import argparse

import pandas as pd
import pytest

from analysis import paths
from analysis.data import synthetic
from analysis.cli.synthetic import add_parsers, parse_years
from analysis.errors import UsageError
from analysis.text.names import name_keys

SMALL = {"provinces": ["62", "68"], "years": [2019, 2020, 2021]}


@pytest.fixture(scope="module")
def codebook():
    return synthetic.read_codebook(paths.raw_dir() / "codebook.csv")


@pytest.fixture(scope="module")
def small(codebook):
    return synthetic.generate_panel(codebook, seed=7, **SMALL)


@pytest.fixture(scope="module")
def national(codebook):
    return synthetic.generate_panel(codebook, seed=0)


@pytest.fixture()
def fake_root(tmp_path, monkeypatch):
    """A repository root of our own, so the refusal tests never aim at the real data/raw."""
    root = tmp_path / "repo"
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "raw" / "observations.csv").write_text("real\n")
    monkeypatch.setenv("ANALYSIS_ROOT", str(root))
    monkeypatch.delenv("ANALYSIS_RAW_DIR", raising=False)
    return root


def _write(panel, out, seed=7):
    return synthetic.write_panel(panel, out, seed=seed, years=SMALL["years"])


def test_same_seed_writes_identical_bytes_and_another_seed_does_not(codebook, tmp_path):
    first = _write(synthetic.generate_panel(codebook, seed=7, **SMALL), tmp_path / "a")
    second = _write(synthetic.generate_panel(codebook, seed=7, **SMALL), tmp_path / "b")
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert names == [
        "README.md",
        "SYNTHETIC",
        "codebook.csv",
        "context.csv",
        "observations.csv",
        "sources.csv",
        "units.csv",
    ]
    assert all((first / n).read_bytes() == (second / n).read_bytes() for n in names)
    other = _write(synthetic.generate_panel(codebook, seed=8, **SMALL), tmp_path / "c", seed=8)
    assert (other / "observations.csv").read_bytes() != (first / "observations.csv").read_bytes()


def test_refuses_the_raw_folder_its_subfolders_and_a_link_to_it(small, fake_root, tmp_path):
    raw = fake_root / "data" / "raw"
    link = tmp_path / "innocent-looking"
    link.symlink_to(raw)
    for target in (raw, raw / "synthetic", link, fake_root / "data"):
        with pytest.raises(UsageError, match="refusing to write synthetic data into or over the real data"):
            _write(small, target)
    assert sorted(p.name for p in raw.iterdir()) == ["observations.csv"]
    assert (raw / "observations.csv").read_text() == "real\n"


def test_refuses_a_raw_folder_moved_by_the_environment(small, tmp_path, monkeypatch):
    elsewhere = tmp_path / "my-raw"
    elsewhere.mkdir()
    monkeypatch.setenv("ANALYSIS_RAW_DIR", str(elsewhere))
    with pytest.raises(UsageError, match="real data folder"):
        _write(small, elsewhere)
    assert list(elsewhere.iterdir()) == []


def test_refuses_a_non_empty_folder_that_is_not_synthetic_but_overwrites_its_own(small, tmp_path):
    busy = tmp_path / "notes"
    busy.mkdir()
    (busy / "thesis.md").write_text("chapter 1")
    with pytest.raises(UsageError, match="not a previous synthetic output"):
        _write(small, busy)
    assert sorted(p.name for p in busy.iterdir()) == ["thesis.md"]
    out = _write(small, tmp_path / "panel")
    (out / "observations.csv").write_text("stale")
    _write(small, out)
    assert (out / "observations.csv").read_text().startswith("obs_id,source_id,")


def test_every_file_is_marked_synthetic(small, tmp_path):
    out = _write(small, tmp_path / "panel")
    assert (out / "SYNTHETIC").read_text().startswith("SYNTHETIC: invented data")
    assert (out / "README.md").read_text().startswith("# SYNTHETIC panel")
    assert small["sources"]["title"].str.startswith("SYNTHETIC").all()
    assert small["sources"]["publisher"].str.startswith("SYNTHETIC").all()
    for table in ("observations", "context", "units"):
        assert small[table]["note"].str.contains("SYNTHETIC").all(), table


def test_national_panel_covers_every_district_and_indicator(national, codebook):
    units = national["units"]
    assert (units["level"] == "province").sum() == 63
    assert (units["level"] == "district").sum() >= 600
    printed = set(national["observations"]["indicator"]) | set(national["context"]["indicator"])
    assert printed == set(codebook["indicator"])
    context_family = set(codebook.loc[codebook["family"] == "context", "indicator"])
    assert set(national["context"]["indicator"]) == context_family
    assert 250_000 <= len(national["observations"]) <= 400_000
    districts = national["observations"].query("scope == 'district'")
    assert districts.groupby(["province", "unit_name"]).ngroups >= 600


def _district_year(frame: pd.DataFrame, indicator: str, date: str) -> pd.Series:
    rows = frame[
        (frame["indicator"] == indicator)
        & (frame["scope"] == "district")
        & (frame["qualifier"] == "exact")
        & frame[date].str.match(r"^\d{4}-12-31$")
        & (frame["period_start"].str.len() != 4)
    ]
    rows = rows[~rows["note"].str.contains("second source|undated")]
    if date == "period_end":
        rows = rows[rows["period_start"].str[:4] == rows["period_end"].str[:4]]
    key = rows["province"] + "|" + rows["unit_name"] + "|" + rows[date].str[:4]
    return pd.Series(rows["value"].astype(float).to_numpy(), index=key).groupby(level=0).first()


def test_magnitudes_sit_around_the_national_anchors(national):
    obs = national["observations"]
    members = _district_year(obs, "party_members", "as_of")
    admissions = _district_year(obs, "admissions", "period_end")
    disciplined = _district_year(obs, "disciplined_members", "period_end")
    both = members.index.intersection(admissions.index)
    assert 2.3 < 100 * admissions[both].sum() / members[both].sum() < 3.2  # 2.75 per 100 members a year
    both = members.index.intersection(disciplined.index)
    assert 3.0 < 1000 * disciplined[both].sum() / members[both].sum() < 5.0  # about 4 per 1,000
    province_members = obs[
        (obs["scope"] == "province") & (obs["indicator"] == "party_members") & obs["as_of"].str.startswith("2019")
    ]
    per_province = province_members.groupby("province")["value"].first().astype(float)
    assert len(per_province) > 40
    assert 4.0e6 < per_province.mean() * 63 < 6.5e6  # about 5.2 million members in 2019


def test_the_defects_of_real_data_are_there(national):
    obs = national["observations"]
    hedged = obs["qualifier"] != "exact"
    assert set(obs.loc[hedged, "qualifier"]) == {"more_than", "nearly", "about"}
    counts = obs["unit"] == "count"
    assert 0.02 < hedged[counts].mean() < 0.08
    members = obs[(obs["indicator"] == "party_members") & (obs["scope"] == "district") & (obs["as_of"] != "")]
    members = members.assign(
        key=members["province"] + "|" + name_keys(members["unit_name"]) + "|" + members["as_of"].str[:4]
    )
    second = members[members["note"].str.contains("a second source prints a different value")]
    assert len(second) > 50
    pairs = members[members["key"].isin(second["key"])].groupby("key")
    assert (pairs["value"].nunique() >= 2).all() and (pairs["source_id"].nunique() >= 2).all()
    undated = obs[obs["note"].str.contains("undated")]
    assert len(undated) > 1000 and (undated["as_of"] == "").all() and (undated["period_end"] == "").all()
    sources = national["sources"].set_index("source_id")
    assert (sources.loc[undated["source_id"].unique(), "published"] == "").all()
    assert obs["note"].str.startswith("SUSPECT: SYNTHETIC severity parts exceed").sum() >= 1
    per_district = obs[obs["scope"] == "district"].groupby(["province", "unit_name"]).size()
    assert per_district.min() < per_district.median() / 4  # some districts report little


def test_severity_parts_add_up_to_their_total_except_the_deliberate_ones(national):
    obs = national["observations"]
    annual = obs[
        (obs["scope"] == "district")
        & (obs["qualifier"] == "exact")
        & (obs["period_end"] != "")
        & (obs["period_start"].str[:4] == obs["period_end"].str[:4])
    ]
    parts = annual[
        annual["indicator"].isin(
            ["disciplined_reprimand", "disciplined_warning", "disciplined_dismissal", "disciplined_expulsion"]
        )
    ]
    key = ["province", "unit_name", "period_end"]
    sums = (
        parts.assign(v=parts["value"].astype(int))
        .groupby(key)
        .agg(v=("v", "sum"), n=("v", "size"), suspect=("note", lambda s: s.str.startswith("SUSPECT").any()))
    )
    totals = annual[annual["indicator"] == "disciplined_members"].assign(t=lambda f: f["value"].astype(int))
    joined = sums[sums["n"] == 4].join(totals.set_index(key)["t"], how="inner")
    assert len(joined) > 100
    assert (joined.loc[~joined["suspect"], "v"] == joined.loc[~joined["suspect"], "t"]).all()
    assert (joined.loc[joined["suspect"], "v"] > joined.loc[joined["suspect"], "t"]).all()


def test_written_panel_loads_with_every_row_used_and_districts_resolved(small, tmp_path):
    from analysis.data.dataset import load_dataset

    out = _write(small, tmp_path / "panel")
    ds = load_dataset(raw_dir=out)
    for table in ("observations", "context"):
        rejected = (ds.rejects["table"] == table).sum() if len(ds.rejects) else 0
        used = (ds.observations["table"] == table).sum()
        assert used + rejected == len(small[table]), table
    assert len(ds.rejects) == 0, ds.rejects.head().to_string()
    districts = ds.observations[ds.observations["scope"] == "district"]
    expected = small["units"].query("level == 'district'")["unit_code"]
    assert set(districts["unit_code"]) == set(expected)
    kon_ray = districts[districts["unit_name"].isin(["Kon Rẫy", "Huyện Kon Rẫy"])]
    assert len(kon_ray) and (kon_ray["unit_code"] == "614").all()


def test_legacy_units_reject_an_unknown_province_code():
    with pytest.raises(UsageError, match="unknown province code.*99"):
        synthetic.legacy_units(["62", "99"])


def test_command_writes_the_panel_and_says_it_is_synthetic(tmp_path, capsys, monkeypatch):
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers())
    out = tmp_path / "demo"
    args = parser.parse_args(
        ["synthetic", "--out", str(out), "--seed", "3", "--years", "2020-2021", "--provinces", "62"]
    )
    assert args.func(args) == 0
    said = capsys.readouterr().out
    assert "SYNTHETIC" in said and "10 districts, 2020-2021" in said
    units = pd.read_csv(out / "units.csv", dtype=str)
    assert sorted(units.loc[units["level"] == "district", "unit_code"]) == ["608"] + [str(c) for c in range(610, 619)]


@pytest.mark.parametrize(
    "text, message",
    [
        ("2023-2014", "earlier to the later"),
        ("twenty", "not a year"),
        ("1900-2100", "^--years: '1900-2100': years must lie within 1945-2100$"),
        ("2020-2101", "within 1945-2100"),
        ("1944", "within 1945-2100"),
    ],
)
def test_bad_years_are_a_usage_error(text, message):
    with pytest.raises(UsageError, match=message):
        parse_years(text)


def test_no_years_is_a_usage_error(codebook):
    with pytest.raises(UsageError, match="at least one year"):
        synthetic.generate_panel(codebook, years=[])
