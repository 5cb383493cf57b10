"""Figures: their data, their Vietnamese text, and that every glyph renders."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from analysis.stats.classification import classify  # noqa: E402
from analysis.stats.funnels import funnel_limits, overdispersion  # noqa: E402
from analysis.stats.shrinkage import shrink  # noqa: E402
from analysis.errors import UsageError  # noqa: E402
from analysis.stats.metrics import metric_definitions  # noqa: E402
from analysis.plots import availability_plot, caterpillar_plot, funnel_plot, severity_mix_plot  # noqa: E402

RATE = "disciplined_per_1000_member_years"


def label_of(metric: str, lang: str) -> str:
    defs = metric_definitions().set_index("metric")
    return defs.loc[metric, f"label_{lang}"]


@pytest.fixture
def rates() -> pd.DataFrame:
    """Ten districts on the discipline rate: eight comparable, one hedged, two not comparable."""
    names = [
        "Kon Rẫy",
        "Đắk Hà",
        "Đắk Tô",
        "Ngọc Hồi",
        "Đắk Glei",
        "Kon Plông",
        "Sa Thầy",
        "TP Kon Tum",
        "Ia H'Drai",
        "Tu Mơ Rông",
    ]
    events = np.array([22, 30, 10, 12, 25, 4, 9, 40, 6, np.nan])
    exposure = np.array([2458.5, 5050, 3000, 2800, 2600, 1500, 2400, 9000, np.nan, np.nan])
    frame = pd.DataFrame(
        {
            "unit_code": [str(c) for c in (614, 615, 612, 611, 610, 613, 616, 608, 618, 617)],
            "unit_label": names,
            "metric": RATE,
            "numerator": events,
            "denominator": exposure / 1.5,
            "exposure": exposure,
            "estimate": events / exposure * 1000,
            "multiplier": 1000.0,
            "computable": ~np.isnan(exposure),
            "approximate": [False, True] + [False] * 8,
            "reason": [""] * 8 + ["no denominator: party_members not reported", "not reported"],
        }
    )
    return frame


def by_gid(fig: Figure, gid: str):
    found = [a for a in fig.findobj() if getattr(a, "get_gid", lambda: None)() == gid]
    assert found, gid
    return found[0]


def missing_glyph_warnings(fig: Figure) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught if "missing from" in str(w.message)]


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def one_line(text: str) -> str:
    return " ".join(text.split())


def overflows(fig: Figure) -> bool:
    """Whether anything drawn reaches outside the figure (saved without bbox_inches='tight' it would be cut)."""
    fig.canvas.draw()
    drawn, page = fig.get_tightbbox(fig.canvas.get_renderer()), fig.bbox_inches
    return drawn.x0 < -0.01 or drawn.y0 < -0.01 or drawn.x1 > page.x1 + 0.01 or drawn.y1 > page.y1 + 0.01


def test_the_overflow_check_can_fail():
    fig = Figure(figsize=(2, 2))
    FigureCanvasAgg(fig)
    fig.text(0.9, 0.5, "a label running past the edge")
    assert overflows(fig)


# --- funnel ------------------------------------------------------------------


def test_funnel_limit_lines_are_the_funnel_limits_of_the_pooled_benchmark(rates):
    fig = funnel_plot(rates, RATE)
    ok = rates["computable"]
    target = rates.loc[ok, "numerator"].sum() / rates.loc[ok, "exposure"].sum() * 1000
    assert by_gid(fig, "benchmark").get_ydata()[0] == pytest.approx(target)
    for level in (0.95, 0.998):
        for side in ("lower", "upper"):
            line = by_gid(fig, f"limit-{level:g}-{side}")
            expected = funnel_limits(target, line.get_xdata(), "rate", conf_level=level, method="phe", multiplier=1000)[
                side
            ]
            assert line.get_ydata() == pytest.approx(expected.to_numpy())


def test_funnel_shows_one_point_per_comparable_district_and_counts_the_others(rates):
    fig = funnel_plot(rates, RATE)
    points = [c for c in fig.axes[0].collections if str(c.get_gid()).startswith("points-")]
    assert sum(len(c.get_offsets()) for c in points) == 8
    xy = np.vstack([c.get_offsets() for c in points])
    assert sorted(xy[:, 0]) == sorted(rates.loc[rates["computable"], "exposure"])
    note = by_gid(fig, "note").get_text()
    assert "1 × no denominator" in note and "1 × not reported" in note


def test_funnel_marks_hedged_figures_with_open_markers_and_explains_them(rates):
    fig = funnel_plot(rates, RATE)
    hedged = [c for c in fig.axes[0].collections if str(c.get_gid()).endswith("-approximate")]
    assert len(hedged) == 1 and len(hedged[0].get_offsets()) == 1
    assert hedged[0].get_offsets()[0][0] == 5050
    fill = hedged[0].get_facecolor()
    assert fill.size == 0 or fill[:, 3].max() == 0  # no fill
    solid = by_gid(fig, "points-similar")
    assert solid.get_facecolor()[:, 3].min() > 0
    legend = [one_line(t.get_text()) for t in fig.axes[0].get_legend().get_texts()]
    assert "Open marker: approximate (hedged) figure" in legend


def test_funnel_colours_agree_with_the_classification(rates):
    fig = funnel_plot(rates, RATE)
    classes = classify(rates)["comparison"]
    drawn = {
        c.get_gid().removeprefix("points-").removesuffix("-approximate")
        for c in fig.axes[0].collections
        if str(c.get_gid()).startswith("points-")
    }
    assert drawn == set(classes[classes != "not compared"])


def test_funnel_with_additive_overdispersion_draws_the_adjusted_limits(rates):
    fig = funnel_plot(rates, RATE, overdispersion="additive")
    ok = rates[rates["computable"]]
    target = ok["numerator"].sum() / ok["exposure"].sum()
    od = overdispersion(ok["numerator"], ok["exposure"], "rate", target=target * 1000, multiplier=1000)
    line = by_gid(fig, "limit-0.95-upper")
    expected = funnel_limits(
        target * 1000,
        line.get_xdata(),
        "rate",
        conf_level=0.95,
        method="funnelplotr",
        overdispersion="additive",
        tau2=od.tau2,
        multiplier=1000,
    )["upper"]
    assert od.tau2 > 0
    assert line.get_ydata() == pytest.approx(expected.to_numpy())


def test_funnel_in_vietnamese_has_translated_text_and_every_glyph(rates):
    fig = funnel_plot(rates, RATE, lang="vi")
    title = fig.axes[0].get_title()
    assert title == "Đồ thị phễu: " + label_of(RATE, "vi")
    assert "Đ" in title
    legend = [one_line(t.get_text()) for t in fig.axes[0].get_legend().get_texts()]
    assert "Giới hạn 99,8%" in legend and "tương đương" in legend
    assert fig.axes[0].get_xlabel() == "Số đảng viên-năm"
    assert fig.axes[0].get_ylabel() == "Trên 1.000 đảng viên-năm"
    assert "không công bố" in by_gid(fig, "note").get_text()
    assert missing_glyph_warnings(fig) == []


def test_funnel_keeps_its_legend_and_labels_off_the_points_and_inside_the_figure(rates):
    fig = funnel_plot(rates, RATE)
    ax = fig.axes[0]
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 > ax.get_window_extent().x1  # beside the axes, not over the points
    labels = {t.get_text(): t for t in ax.texts if t.get_gid() == "point-label"}
    assert labels["TP Kon Tum"].get_ha() == "right"  # the largest district: labelled towards the inside
    assert labels["Kon Plông"].get_ha() == "left"
    assert not overflows(fig)


def test_funnel_range_follows_the_points_not_the_mouth_of_the_funnel():
    shares = pd.DataFrame(
        {
            "unit_label": ["A", "B"],
            "metric": "x",
            "numerator": [111.0, 84.0],
            "denominator": [112.0, 84.0],
            "multiplier": 100.0,
            "computable": True,
            "approximate": False,
        }
    )
    bottom, top = funnel_plot(shares, "x").axes[0].get_ylim()
    assert 90 < bottom < 99.1 and 100 < top < 101  # a point at 100% is drawn whole, the axis does not start at 0


def test_funnel_of_a_metric_nobody_can_be_compared_on_is_refused(rates):
    with pytest.raises(UsageError, match=r"no district can be compared on metric 'nothing' \(no denominator"):
        funnel_plot(rates.assign(metric="nothing", computable=False, reason="no denominator"), "nothing")
    with pytest.raises(UsageError, match="the only comparable district"):
        funnel_plot(rates.iloc[[0, 8]], RATE)


# --- caterpillar ---------------------------------------------------------------


def test_caterpillar_draws_every_value_and_keeps_rows_without_one(rates):
    compared = shrink(classify(rates))
    fig = caterpillar_plot(compared)
    ax = fig.axes[0]
    drawn = sum(len(c.get_offsets()) for c in ax.collections if str(c.get_gid()).startswith("estimates"))
    assert drawn == 8
    assert [t.get_text() for t in ax.get_yticklabels()][0] in {"Ia H'Drai", "Tu Mơ Rông"}
    assert len(ax.get_yticklabels()) == 10
    assert by_gid(fig, "benchmark").get_xdata()[0] == pytest.approx(compared["benchmark"].iloc[0])
    reasons = sorted(t.get_text() for t in ax.texts if t.get_gid() == "reason")
    assert reasons == ["no denominator", "not reported"]
    shrunk = np.sort(np.asarray(by_gid(fig, "shrunk").get_offsets())[:, 0])
    assert shrunk == pytest.approx(np.sort(compared["shrunk_estimate"].dropna().to_numpy()))


def test_caterpillar_in_vietnamese_translates_classes_and_reasons(rates):
    compared = classify(rates, benchmark=4.0)
    fig = caterpillar_plot(compared, lang="vi")
    assert fig.get_suptitle() == "Đối chiếu các huyện với mốc so sánh"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "cao hơn nhiều" in legend and "không so sánh" in legend
    assert {t.get_text() for t in fig.axes[0].texts if t.get_gid() == "reason"} == {"không có mẫu số", "không công bố"}
    assert " ".join(fig.axes[0].get_title().split()) == label_of(RATE, "vi")
    assert missing_glyph_warnings(fig) == []


def test_caterpillar_draws_one_panel_per_metric():
    frame = pd.concat(
        [
            classify(
                pd.DataFrame(
                    {
                        "unit_code": ["614", "615"],
                        "unit_label": ["Kon Rẫy", "Đắk Hà"],
                        "metric": m,
                        "numerator": [4.0, 69.0],
                        "denominator": [27.0, 84.0],
                        "estimate": [14.8, 82.1],
                        "multiplier": 100.0,
                        "computable": True,
                    }
                ),
                benchmark=50.0,
            )
            for m in ("admissions_rural_cells_share", "village_heads_party_members_share")
        ]
    )
    fig = caterpillar_plot(frame, lang="en")
    assert [" ".join(ax.get_title().split()) for ax in fig.axes] == [
        label_of("admissions_rural_cells_share", "en"),
        label_of("village_heads_party_members_share", "en"),
    ]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Đắk Hà", "Kon Rẫy"]  # 614 at the top


def test_caterpillar_sets_the_highlighted_district_in_bold(rates):
    fig = caterpillar_plot(classify(rates), highlight="615")
    weights = {t.get_text(): t.get_fontweight() for t in fig.axes[0].get_yticklabels()}
    assert weights["Đắk Hà"] == "bold"
    assert {w for name, w in weights.items() if name != "Đắk Hà"} == {"normal"}


def test_caterpillar_value_axis_says_per_1000_for_a_share_scaled_by_1000():
    frame = classify(
        pd.DataFrame(
            {
                "unit_code": ["614", "615"],
                "unit_label": ["Kon Rẫy", "Đắk Hà"],
                "metric": "party_members_per_1000_population",
                "numerator": [1639.0, 3362.0],
                "denominator": [31071.0, 79590.0],
                "estimate": [52.7, 42.2],
                "multiplier": 1000.0,
                "computable": True,
            }
        )
    )
    assert caterpillar_plot(frame, lang="vi").axes[0].get_xlabel() == "Trên 1.000"
    assert caterpillar_plot(frame, lang="en").axes[0].get_xlabel() == "Per 1,000"


# --- availability ---------------------------------------------------------------


def availability_matrix() -> pd.DataFrame:
    index = pd.MultiIndex.from_tuples([("614", "Kon Rẫy"), ("615", "Đắk Hà")], names=["unit_code", "unit_label"])
    return pd.DataFrame(
        {
            RATE: ["computed", "not reported"],
            "village_heads_party_members_share": ["reported without denominator", "computed"],
        },
        index=index,
    )


def test_availability_plot_codes_each_cell_by_status():
    fig = availability_plot(availability_matrix())
    image = fig.axes[0].images[0].get_array()
    assert np.asarray(image).tolist() == [[0, 1], [2, 0]]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Kon Rẫy", "Đắk Hà"]
    assert [one_line(t.get_text()) for t in fig.axes[0].get_xticklabels()] == [
        label_of(RATE, "en"),
        label_of("village_heads_party_members_share", "en"),
    ]


def test_availability_plot_in_vietnamese():
    fig = availability_plot(availability_matrix(), lang="vi")
    assert fig.axes[0].get_title() == "Độ sẵn có của số liệu theo huyện"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["tính được", "có số liệu, thiếu mẫu số", "không công bố"]
    assert missing_glyph_warnings(fig) == []


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_availability_plot_of_one_metric_fits_names_title_and_legend(lang):
    # The discipline comparison has one metric: the figure used to be 3 inches wide and cut names off.
    names = ["Thành phố Kon Tum", "Đắk Glei", "Kon Rẫy", "Ia H'Drai"]
    matrix = pd.DataFrame({RATE: ["not reported", "not reported", "computed", "not reported"]}, index=names)
    fig = availability_plot(matrix, lang=lang)
    fig.canvas.draw()
    assert fig.get_figwidth() >= 6.5
    ax, legend = fig.axes[0], fig.legends[0]
    assert legend.get_window_extent().y1 <= ax.get_window_extent().y0  # under the matrix
    [tick] = ax.get_xticklabels()
    assert tick.get_rotation() == 0 and "\n" in tick.get_text()  # level and wrapped
    assert one_line(tick.get_text()) == label_of(RATE, lang)
    assert not overflows(fig)
    assert missing_glyph_warnings(fig) == []


def test_availability_plot_of_many_metrics_slants_wrapped_labels_inside_the_figure():
    metrics = metric_definitions().query("family == 'coverage'")["metric"].tolist()
    matrix = pd.DataFrame({m: ["computed", "not reported"] for m in metrics}, index=["Kon Rẫy", "Đắk Hà"])
    fig = availability_plot(matrix)
    assert {t.get_rotation() for t in fig.axes[0].get_xticklabels()} == {40}
    assert not overflows(fig)


def test_availability_plot_rejects_an_unknown_status():
    matrix = availability_matrix()
    matrix.iloc[0, 0] = "maybe"
    with pytest.raises(UsageError, match="unknown availability status 'maybe'"):
        availability_plot(matrix)


# --- severity mix -----------------------------------------------------------------


def kon_ray_mix(total=22.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_code": "614",
            "unit_label": "Kon Rẫy",
            "period_start": "2020-01-01",
            "period_end": "2021-08-23",
            "form": ["reprimand", "warning", "dismissal", "expulsion"],
            "count": [22.0, 2.0, np.nan, 3.0],
            "total_printed": total,
        }
    )


def test_severity_bars_stack_the_forms_from_mildest_to_most_severe():
    fig = severity_mix_plot(kon_ray_mix())
    ax = fig.axes[0]
    widths = {}
    for form in ("reprimand", "warning", "expulsion"):
        bar = by_gid(fig, f"form-{form}")
        widths[form] = (bar.get_x(), bar.get_width())
    assert widths == {"reprimand": (0, 22), "warning": (22, 2), "expulsion": (24, 3)}
    assert not [a for a in fig.findobj() if getattr(a, "get_gid", lambda: None)() == "form-dismissal"]
    assert by_gid(fig, "printed-total").get_offsets()[0][0] == 22
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["reprimand", "warning", "expulsion", "Printed total"]


def test_severity_plot_states_the_caveat_only_when_the_parts_exceed_the_total():
    note = " ".join(by_gid(severity_mix_plot(kon_ray_mix()), "note").get_text().split())
    assert note == (
        "Kon Rẫy (2020-01-01 – 2021-08-23): the forms add up to 27, more than the printed total "
        "of 22; the source is inconsistent."
    )
    fine = severity_mix_plot(kon_ray_mix(total=27.0))
    assert not [t for t in fine.axes[0].texts if t.get_gid() == "note"]


def test_severity_plot_in_vietnamese():
    fig = severity_mix_plot(kon_ray_mix(), lang="vi")
    assert fig.axes[0].get_title() == "Đảng viên bị kỷ luật theo hình thức"
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["khiển trách", "cảnh cáo", "khai trừ", "Tổng số công bố"]
    assert "nguồn không nhất quán" in by_gid(fig, "note").get_text()
    assert missing_glyph_warnings(fig) == []


def test_severity_plot_uses_the_callers_wording_of_the_period():
    fig = severity_mix_plot(kon_ray_mix().assign(period="1/2020 – 8/2021"))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Kon Rẫy (1/2020 – 8/2021)"]


def test_severity_plot_names_a_missing_column():
    with pytest.raises(UsageError, match="lacks column 'count'"):
        severity_mix_plot(kon_ray_mix().drop(columns="count"))


# --- all figures -------------------------------------------------------------------


def test_the_glyph_check_can_fail():
    fig = Figure()
    FigureCanvasAgg(fig)
    fig.suptitle("\u4e00")  # a CJK character DejaVu Sans lacks
    assert missing_glyph_warnings(fig)


def test_figures_are_returned_not_shown_and_reject_unknown_languages(rates):
    before = plt.get_fignums()
    figures = [
        funnel_plot(rates, RATE),
        caterpillar_plot(classify(rates)),
        availability_plot(availability_matrix()),
        severity_mix_plot(kon_ray_mix()),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    assert plt.get_fignums() == before
    with pytest.raises(UsageError, match="lang must be 'en' or 'vi'; got 'fr'"):
        funnel_plot(rates, RATE, lang="fr")
