"""Candidate figures from Vietnamese articles (analysis.text.extraction).

The test articles in ``tests/articles`` are the team's own writing in the
style of provincial party press (no sentence comes from a real article);
each has a gold file of the figures a careful coder would take from it
(``*.gold.csv``) and is listed in ``articles.csv`` with its district and
publication date. ``heldout`` articles were written after the extractor and
are reported, not tuned on.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import InputError, UsageError
from analysis.text.extraction import CANDIDATE_COLUMNS, extract_figures, read_article
from analysis.text.patterns import PERCENT_AFTER, PERCENT_BEFORE, RULES, ZERO_PHRASES
from analysis.text.review import accepted_candidates, duplicate_figures, raw_rows
from analysis.text.vocabulary import Vocabulary, read_codebook

ARTICLES = Path(__file__).parent / "articles"
INDEX = pd.read_csv(ARTICLES / "articles.csv", dtype=str)
KON_RAY = "Kon Rẫy, Kon Tum"


@pytest.fixture(scope="module")
def vocab():
    return Vocabulary.from_codebook(read_codebook())


@pytest.fixture
def find(vocab):
    def run(text, published="2021-08-23", unit=KON_RAY):
        return extract_figures(text, unit=unit, published=published, source_id="NEW", codebook=vocab)

    return run


def figures(found):
    """(indicator, value, qualifier) of each candidate, values as numbers."""
    return [(r.indicator, float(r.value), r.qualifier) for r in found.itertuples()]


def extract_article(row, vocab):
    text = read_article(ARTICLES / row.file)
    return extract_figures(text, unit=row.unit, published=row.published, source_id="NEW", codebook=vocab)


def gold(row):
    return pd.read_csv(ARTICLES / row.file.replace(".txt", ".gold.csv"), dtype=str, keep_default_na=False)


def score(found, expected):
    """True positives, false positives and false negatives at the figure level."""
    got, want = Counter(figures(found)), Counter(figures(expected))
    return sum((got & want).values()), sum((got - want).values()), sum((want - got).values())


# ---------------------------------------------------------------- the test articles


def test_precision_and_recall_on_the_test_articles(vocab):
    tuned = INDEX[INDEX["heldout"] == "no"]
    per_article = {row.file: score(extract_article(row, vocab), gold(row)) for row in tuned.itertuples()}
    tp, fp, fn = (sum(s[i] for s in per_article.values()) for i in range(3))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert len(per_article) >= 5
    assert precision >= 0.9 and recall >= 0.8, per_article


def test_the_heldout_article_is_measured_like_the_others(vocab):
    heldout = INDEX[INDEX["heldout"] == "yes"]
    assert len(heldout) == 1
    tp, fp, fn = score(extract_article(next(heldout.itertuples()), vocab), gold(next(heldout.itertuples())))
    # written after the extractor and not tuned on: reported in docs/extraction.md, held to a lower bar here
    assert tp / (tp + fp) >= 0.75 and tp / (tp + fn) >= 0.7, (tp, fp, fn)


@pytest.mark.parametrize("row", list(INDEX[INDEX["heldout"] == "no"].itertuples()), ids=lambda r: r.file)
def test_matched_figures_have_the_gold_scope_dates_and_parent(row, vocab):
    found = extract_article(row, vocab)
    parent_of = dict(zip(found["obs_id"], found["indicator"]))
    found = found.assign(v=found["value"].astype(float), parent=found["parent_candidate"].map(parent_of).fillna(""))
    fields = ["scope", "unit_name", "as_of", "period_start", "period_end", "period_end_basis", "parent"]
    wrong = []
    for g in gold(row).assign(v=lambda d: d["value"].astype(float)).itertuples():
        match = found[(found["indicator"] == g.indicator) & (found["v"] == g.v) & (found["unit_name"] == g.unit_name)]
        assert len(match), (g.indicator, g.value, g.unit_name)
        got = match.iloc[0]
        wrong += [(g.indicator, g.value, f, getattr(g, f), got[f]) for f in fields if getattr(g, f) != got[f]]
    assert wrong == []


def test_every_pattern_names_a_codebook_indicator(vocab):
    named = (
        {r.indicator for r in RULES}
        | {i for i, _ in PERCENT_AFTER}
        | {i for i, _ in PERCENT_BEFORE}
        | {i for i, _ in ZERO_PHRASES}
    )
    assert named - set(vocab.kind) == set()


def test_only_codebook_indicators_are_proposed(vocab):
    codebook = read_codebook()
    smaller = codebook[codebook["indicator"] != "disciplined_warning"]
    text = "Năm 2020, huyện thi hành kỷ luật 5 đảng viên, trong đó khai trừ 2, cảnh cáo 3."
    found = extract_figures(text, unit=KON_RAY, published="2021-01-05", source_id="NEW", codebook=smaller)
    assert found["indicator"].tolist() == ["disciplined_members", "disciplined_expulsion"]


# ---------------------------------------------------------------- ratios and percentages


def test_a_ratio_gives_the_count_and_its_denominator(find):
    found = find("Đến nay, 69/84 trưởng thôn là đảng viên.")
    assert figures(found) == [("village_heads_party_members", 69, "exact"), ("villages", 84, "exact")]
    assert found.loc[1, "note"].endswith("denominator of a printed ratio")


@pytest.mark.parametrize(
    "text",
    [
        "Có 24 trong số 84 thôn có bí thư chi bộ đồng thời là trưởng thôn.",
        "Có 24 trên 84 thôn có bí thư chi bộ đồng thời là trưởng thôn.",
    ],
)
def test_x_trong_so_y_and_x_tren_y_are_ratios(find, text):
    assert figures(find(text)) == [("cell_secretaries_also_village_heads", 24, "exact"), ("villages", 84, "exact")]


def test_a_percentage_beside_a_ratio_is_its_own_figure(find):
    found = find("Hiện nay, 78/82 thôn, làng có trưởng thôn là đảng viên, đạt tỷ lệ 95,1%.")
    assert figures(found) == [
        ("village_heads_party_members", 78, "exact"),
        ("villages", 82, "exact"),
        ("village_heads_party_members_share", 95.1, "exact"),
    ]


def test_a_percentage_of_another_base_is_not_proposed(find):
    text = (
        "Toàn huyện có 84 thôn. Trong số 69 trưởng thôn là đảng viên, có 24 đồng chí đang giữ chức bí thư "
        "chi bộ, bằng 34,78%."
    )
    found = find(text)
    assert "cell_secretaries_also_village_heads_share" not in set(found["indicator"])  # 24/69, not 24/84
    assert ("cell_secretaries_also_village_heads", 24, "exact") in figures(found)


def test_a_percentage_that_matches_no_base_is_kept_and_marked_suspect(find):
    found = find("Toàn huyện có 84 thôn; 24 thôn có bí thư chi bộ kiêm trưởng thôn, chiếm 40%.")
    share = found[found["indicator"] == "cell_secretaries_also_village_heads_share"].iloc[0]
    assert "SUSPECT: 24 of 84 is 28.57%" in share["note"] and share["confidence"] == "0.50"


@pytest.mark.parametrize(
    "text",
    [
        "Số đảng viên tăng 1,2% so với năm 2017.",  # a change
        "Tỷ lệ đảng viên bị kỷ luật bằng khoảng 0,4% tổng số đảng viên.",  # no such indicator
        "Huyện phấn đấu đến năm 2025 có 100% thôn có thôn trưởng là đảng viên.",  # a target
        "Tốc độ kết nạp đạt 8,7%/năm.",  # a rate
    ],
)
def test_percentages_that_are_not_shares_are_not_proposed(find, text):
    assert find(text)["unit"].tolist() in ([], ["count"])


# ---------------------------------------------------------------- breakdowns


def test_a_breakdown_is_linked_to_its_total(find):
    found = find(
        "Từ đầu năm đến nay, huyện thi hành kỷ luật 22 đảng viên, trong đó khai trừ 03, cảnh cáo 02, "
        "khiển trách 17 đồng chí."
    )
    assert figures(found) == [
        ("disciplined_members", 22, "exact"),
        ("disciplined_expulsion", 3, "exact"),
        ("disciplined_warning", 2, "exact"),
        ("disciplined_reprimand", 17, "exact"),
    ]
    assert found["parent_candidate"].tolist() == ["", "NEW-001", "NEW-001", "NEW-001"]


def test_parts_named_before_or_after_their_number(find):
    found = find(
        "Năm 2023 toàn huyện kết nạp 103 đảng viên mới; trong đó, nữ 40 đồng chí, 58 đảng viên là "
        "người dân tộc thiểu số, 12 đảng viên ở chi bộ nông thôn."
    )
    assert figures(found) == [
        ("admissions", 103, "exact"),
        ("admissions_female", 40, "exact"),
        ("admissions_ethnic_minority", 58, "exact"),
        ("admissions_rural_cells", 12, "exact"),
    ]
    assert set(found["parent_candidate"][1:]) == {"NEW-001"}


def test_a_breakdown_in_the_next_sentence_is_linked_too(find):
    found = find("Năm 2020 có 5 đảng viên bị kỷ luật. Trong số đó có 01 trường hợp sinh con thứ ba.")
    assert figures(found) == [("disciplined_members", 5, "exact"), ("disciplined_population_policy", 1, "exact")]
    assert found.loc[1, "parent_candidate"] == "NEW-001"


def test_forms_printed_after_their_numbers(find):
    found = find("Năm 2022, các cấp ủy thi hành kỷ luật 7 đảng viên, gồm 1 khai trừ, 2 cảnh cáo, 4 khiển trách.")
    assert figures(found) == [
        ("disciplined_members", 7, "exact"),
        ("disciplined_expulsion", 1, "exact"),
        ("disciplined_warning", 2, "exact"),
        ("disciplined_reprimand", 4, "exact"),
    ]


def test_an_ethnic_group_named_by_name_is_an_ethnic_minority_part(find):
    found = find("Năm 2021 kết nạp 156 đảng viên, trong đó có 61 đảng viên là người Jrai, 20 người Ba Na.")
    assert figures(found)[1:] == [
        ("admissions_ethnic_minority", 61, "exact"),
        ("admissions_ethnic_minority", 20, "exact"),
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Số buôn có trưởng buôn là đảng viên là 65/82.", ("village_heads_party_members", 65, "exact")),
        (
            "Toàn huyện có bí thư chi bộ kiêm trưởng thôn, buôn 29 người.",
            ("cell_secretaries_also_village_heads", 29, "exact"),
        ),
        ("Số trưởng bản là đảng viên: 40 người.", ("village_heads_party_members", 40, "exact")),
        ("Có 12 phó bí thư chi bộ đồng thời là trưởng làng.", ("deputy_secretaries_also_village_heads", 12, "exact")),
        (
            "Có 20 thôn, làng bố trí bí thư chi bộ đồng thời là trưởng thôn.",
            ("cell_secretaries_also_village_heads", 20, "exact"),
        ),
        ("Số thôn, làng có trưởng thôn là đảng viên đạt 49 thôn.", ("village_heads_party_members", 49, "exact")),
        ("Toàn huyện có 112 thôn thì 111 thôn đã có tổ chức đảng.", ("villages", 112, "exact")),
    ],
)
def test_village_heads_whatever_the_village_is_called(find, text, expected):
    assert figures(find(text))[0] == expected


def test_a_margin_above_target_is_its_own_figure_and_does_not_hide_the_breakdown_after_it(find):
    found = find(
        "Năm 2022, toàn huyện kết nạp 98 đảng viên mới, vượt 8,9% so với chỉ tiêu; trong số đảng viên mới "
        "có 57 người dân tộc thiểu số, 35 nữ và 4 người theo đạo Tin lành.",
        published="2023-03-02",
    )
    assert figures(found) == [
        ("admissions", 98, "exact"),
        ("admissions_target_exceeded_share", 8.9, "exact"),
        ("admissions_ethnic_minority", 57, "exact"),
        ("admissions_female", 35, "exact"),
        ("admissions_religious", 4, "exact"),
    ]


def test_forms_listed_with_their_counts_in_brackets(find):
    found = find(
        "Năm 2022 thi hành kỷ luật 9 đảng viên bằng hình thức khiển trách (6 trường hợp) và cảnh cáo (3 trường hợp).",
        published="2023-03-02",
    )
    assert figures(found) == [
        ("disciplined_members", 9, "exact"),
        ("disciplined_reprimand", 6, "exact"),
        ("disciplined_warning", 3, "exact"),
    ]


def test_an_unknown_part_inside_a_breakdown_is_not_taken_for_the_total_again(find):
    found = find("Năm 2023 kết nạp 103 đảng viên mới; trong đó, công nhân 69 đồng chí.")
    assert figures(found) == [("admissions", 103, "exact")]


def test_the_printed_inconsistency_of_a_breakdown_is_kept(find):
    found = find("Thi hành kỷ luật 22 đảng viên, trong đó khai trừ 3, cảnh cáo 2, khiển trách 22.")
    assert sum(float(v) for v in found["value"][1:]) == 27  # the quality rules flag it; the extractor keeps it


# ---------------------------------------------------------------- hedges and numbers


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hiện nay, Đảng bộ huyện có hơn 1.800 đảng viên.", ("party_members", 1800, "more_than")),
        ("Đảng bộ có gần 1,5 nghìn đảng viên.", ("party_members", 1500, "nearly")),
        (
            "Các chi bộ phân công 620 đảng viên phụ trách khoảng 2.100 hộ gia đình.",
            ("households_assigned", 2100, "about"),
        ),
        ("Tỷ lệ đảng viên nữ xấp xỉ 36,2%.", ("party_members_female_share", 36.2, "about")),
        ("Tỷ lệ trưởng thôn là đảng viên đạt trên 80%.", ("village_heads_party_members_share", 80, "more_than")),
        (
            "Huyện đề ra chỉ tiêu kết nạp từ 300 đảng viên trở lên trong nhiệm kỳ 2020-2025.",
            ("admissions_target", 300, "at_least"),
        ),
        ("Đảng bộ huyện có 08 tổ chức cơ sở đảng.", ("grassroots_party_orgs", 8, "exact")),
    ],
)
def test_hedges_and_zero_padding(find, text, expected):
    assert expected in figures(find(text))


def test_tren_dia_ban_is_not_a_hedge(find):
    assert figures(find("Hiện nay, 84/84 thôn trên địa bàn đã có tổ chức đảng.")) == [
        ("villages_with_party_org", 84, "exact"),
        ("villages", 84, "exact"),
    ]


# ---------------------------------------------------------------- traps


def test_dates_resolutions_congresses_plans_and_years_are_not_counts(find):
    text = (
        "Thực hiện Nghị quyết số 03-NQ/TU ngày 18/3/2016, Nghị quyết Đại hội Đảng bộ huyện lần thứ XVI, "
        "khóa 18, nhiệm kỳ 2020-2025 và Kế hoạch số 07-KH/HU ngày 9/10/2020, tính đến ngày 20/6/2021 "
        "Đảng bộ huyện có 1.639 đảng viên."
    )
    found = find(text)
    assert figures(found) == [("party_members", 1639, "exact")]
    assert found.loc[0, "as_of"] == "2021-06-20"


@pytest.mark.parametrize(
    "text",
    [
        "Trong số đảng viên vi phạm có người sinh con thứ ba.",
        "Chi bộ thôn 8 được tặng giấy khen vì có 5 năm liền hoàn thành xuất sắc nhiệm vụ.",
        "Nhiều đảng viên được tặng Huy hiệu 30 năm tuổi Đảng.",
        "Các hộ được hỗ trợ vốn vay hơn 3 tỷ đồng.",
        "Trên 90% chi bộ thôn có từ 5 đảng viên trở lên.",
        "Bình quân mỗi chi bộ thôn có 12 đảng viên.",
        "Năm 2021, Huyện ủy khen thưởng 28 tổ chức cơ sở đảng tiêu biểu.",
        "Trong quý IV/2018, Ủy ban Kiểm tra Huyện ủy sẽ kiểm tra 12 tổ chức đảng.",
        "Qua kiểm tra đã phát hiện 5 đảng viên vi phạm.",
        "Xã phấn đấu đến năm 2025 mỗi chi bộ thôn kết nạp ít nhất 2 đảng viên mỗi năm.",
        "Sáu tháng đầu năm, có 100 quần chúng tham gia lớp học.",
    ],
)
def test_numbers_that_are_not_figures_are_not_proposed(find, text):
    assert find(text).empty


def test_a_plan_is_no_figure_but_the_result_in_the_same_sentence_is(find):
    found = find(
        "Với chỉ tiêu kết nạp từ 300 đảng viên trở lên trong nhiệm kỳ 2020-2025, từ đầu nhiệm kỳ đến "
        "ngày 30/6/2023, huyện đã kết nạp được 300 đảng viên, đạt 100% chỉ tiêu.",
        published="2023-07-10",
    )
    assert figures(found) == [
        ("admissions_target", 300, "at_least"),
        ("admissions", 300, "exact"),
        ("admissions_target_achieved_share", 100, "exact"),
    ]
    assert found[["period_start", "period_end"]].values.tolist() == [
        ["2020-10-01", "2025-09-30"],
        ["2020-10-01", "2023-06-30"],
        ["2020-10-01", "2023-06-30"],
    ]


def test_a_repeated_paragraph_gives_one_candidate_and_says_so(find):
    paragraph = "Đến nay, toàn huyện có 75,51% thôn trưởng là đảng viên."
    found = find(f"Tiêu đề bài viết\n{paragraph}\nĐoạn giữa không có số liệu.\n{paragraph}")
    assert figures(found) == [("village_heads_party_members_share", 75.51, "exact")]
    assert "also printed at para 3" in found.loc[0, "note"]


def test_a_title_figure_printed_again_in_the_body_is_proposed_once(find):
    found = find(
        "Đăk Hà kết nạp 300 đảng viên mới\nTừ đầu nhiệm kỳ đến ngày 30/6/2023, huyện kết nạp 300 đảng viên.",
        unit="Đăk Hà, Kon Tum",
        published="2023-07-10",
    )
    assert figures(found) == [("admissions", 300, "exact")]
    assert found.loc[0, "locator"].startswith("para 1") and "also printed at title" in found.loc[0, "note"]


# ---------------------------------------------------------------- scope


def test_a_communes_figures_in_a_district_article_belong_to_the_commune(find):
    found = find(
        "Toàn huyện có 1.639 đảng viên. Tại xã Đăk Pxi, Đảng ủy xã hiện có 11 chi bộ trực thuộc với "
        "136 đảng viên. Hiện nay, 8/11 chi bộ của xã có chi ủy."
    )
    assert found[["indicator", "value", "scope", "unit_name"]].values.tolist() == [
        ["party_members", "1639", "district", "Kon Rẫy"],
        ["cells_under_grassroots_committees", "11", "commune", "Đăk Pxi"],
        ["party_members", "136", "commune", "Đăk Pxi"],
        ["cells_with_cell_committee", "8", "commune", "Đăk Pxi"],
    ]  # the base 11 is the cells already proposed


def test_two_communes_named_together_get_one_candidate_each(find):
    found = find("Thị trấn Đăk Rve và xã Đăk Kôi có 100% thôn trưởng là đảng viên.")
    assert found[["scope", "unit_name"]].values.tolist() == [["commune", "Đăk Rve"], ["commune", "Đăk Kôi"]]


def test_a_commune_named_after_the_number_in_its_clause(find):
    found = find("Có 100% thôn trưởng là đảng viên ở xã Đăk Kôi, toàn huyện có 84 thôn.")
    assert found[["unit_name", "indicator"]].values.tolist() == [
        ["Đăk Kôi", "village_heads_party_members_share"],
        ["Kon Rẫy", "villages"],
    ]


def test_village_and_province_scopes(find):
    found = find("Chi bộ thôn 8 xã Sa Bình có 12 đảng viên. Toàn tỉnh có 31.372 đảng viên.")
    assert found[["scope", "unit_name"]].values.tolist() == [["village", "thôn 8"], ["province", "Kon Tum"]]


def test_toan_huyen_after_a_commune_returns_to_the_district(find):
    found = find("Xã Đăk Kôi có 120 đảng viên, toàn huyện có 1.639 đảng viên.")
    assert found["unit_name"].tolist() == ["Đăk Kôi", "Kon Rẫy"]


# ---------------------------------------------------------------- periods


def test_a_period_carries_through_its_paragraph(find):
    found = find(
        "Từ tháng 1/2020 đến nay, Ban Thường vụ Huyện ủy kiểm tra 07 cuộc. Qua kiểm tra, đã thi hành kỷ "
        "luật 22 đảng viên.\nĐoạn khác: huyện kết nạp 30 đảng viên."
    )
    assert found[["indicator", "period_start", "period_end", "period_end_basis"]].values.tolist() == [
        ["standing_committee_inspections", "2020-01-01", "2021-08-23", "publication_date"],
        ["disciplined_members", "2020-01-01", "2021-08-23", "publication_date"],
        ["admissions", "", "2021-08-23", "publication_date"],
    ]
    assert "no period in the text" in found.loc[2, "note"] and found.loc[2, "confidence"] == "0.80"


def test_a_continuing_paragraph_keeps_the_period_of_the_one_before(find):
    found = find(
        "9 tháng đầu năm 2018, các cấp kiểm tra 81 tổ chức đảng.\nQua kiểm tra, đã thi hành kỷ luật 44 đảng viên.",
        published="2018-10-05",
    )
    assert found[["period_start", "period_end"]].values.tolist() == [["2018-01-01", "2018-09-30"]] * 2


def test_a_later_paragraph_carries_periods_to_flows_only_and_never_a_plans_date(find):
    found = find(
        "Năm 2022, các cấp kiểm tra 28 tổ chức đảng. Huyện phấn đấu đến năm 2025 kết nạp thêm đảng viên.\n"
        "Ngoài ra, đã kết nạp 12 đảng viên; 1.460 đảng viên được phân công phụ trách hộ.",
        published="2023-03-02",
    )
    assert found[["indicator", "as_of", "period_start", "period_end"]].values.tolist() == [
        ["party_orgs_inspected", "", "2022-01-01", "2022-12-31"],
        ["admissions", "", "2022-01-01", "2022-12-31"],
        ["members_assigned_households", "2023-03-02", "", ""],
    ]


def test_stocks_get_an_as_of_and_flows_a_period(find):
    found = find(
        "Tính đến ngày 30/6/2023, Đảng bộ có 3.362 đảng viên và đã kết nạp 300 đảng viên.", published="2023-07-10"
    )
    assert found[["as_of", "period_start", "period_end", "period_end_basis"]].values.tolist() == [
        ["2023-06-30", "", "", "stated"],
        ["", "", "2023-06-30", "stated"],
    ]


def test_an_undated_article_leaves_up_to_now_unknown(vocab):
    found = extract_figures(
        "Đến nay, huyện có 1.639 đảng viên.", unit=KON_RAY, published=None, source_id="S002", codebook=vocab
    )
    assert found[["as_of", "period_end_basis"]].values.tolist() == [["", "unknown"]]


def test_a_change_takes_the_period_since_its_comparison_and_its_sign(find):
    found = find(
        "So với đầu nhiệm kỳ, toàn Đảng bộ giảm 3 chi bộ cơ sở; số đảng viên tăng hơn 150 đồng chí.",
        published="2023-07-10",
    )
    assert figures(found) == [("grassroots_cells_change", -3, "exact"), ("party_members_change", 150, "more_than")]
    assert set(found["period_start"]) == {"2020-10-01"}


# ---------------------------------------------------------------- the output


def test_output_is_the_raw_schema_plus_review_columns(find):
    found = find("Tiêu đề\nTính đến ngày 20/6/2021, Đảng bộ huyện có 51 tổ chức cơ sở đảng với 1.639 đảng viên.")
    assert list(found.columns) == list(CANDIDATE_COLUMNS)
    assert all(str(t) == "str" for t in found.dtypes)
    first = found.iloc[0]
    assert (first["obs_id"], first["source_id"], first["status"], first["accept"]) == (
        "NEW-001",
        "NEW",
        "published",
        "",
    )
    assert first["locator"] == f"para 1, chars {first['span_start']}-{first['span_end']}"
    assert first["note"] == f"chars {first['span_start']}-{first['span_end']}: Grassroots party organisations"
    assert first["phrase"] == "51 tổ chức cơ sở đảng"


def test_notes_never_carry_article_text(vocab):
    for row in INDEX.itertuples():
        found = extract_article(row, vocab)
        assert not any(phrase in note for phrase, note in zip(found["phrase"], found["note"]))


def test_no_figures_gives_an_empty_table_with_the_columns(find):
    found = find("Bài viết không có số liệu nào.")
    assert found.empty and list(found.columns) == list(CANDIDATE_COLUMNS)


def test_nfd_text_and_the_eth_letter_give_the_same_candidates(find):
    text = "Xã Đăk Kôi có 120 đảng viên."
    odd = unicodedata.normalize("NFD", text).replace("Đ", "\u00d0")
    assert find(odd)[["indicator", "value", "unit_name"]].equals(find(text)[["indicator", "value", "unit_name"]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"language": "en"}, "only Vietnamese"),
        ({"unit": ", Kon Tum"}, "expected 'District, Province'"),
        ({"published": "23/8/2021"}, "expected a date as YYYY-MM-DD"),
    ],
)
def test_bad_arguments_are_usage_errors(vocab, kwargs, message):
    args = {"unit": KON_RAY, "published": "2021-08-23", "source_id": "NEW", "codebook": vocab, **kwargs}
    with pytest.raises(UsageError, match=message):
        extract_figures("Có 5 đảng viên.", **args)


# ---------------------------------------------------------------- reading article files


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file"),
        (b"  \n\n ", "empty file"),
        ("Có 5 đảng viên".encode() + b"\x00\x01", "binary file (NUL byte at byte offset 19)"),
        ("Có 5".encode("utf-8") + b" \xe9 ", "not UTF-8 text: byte 0xe9 at byte offset 6"),
    ],
)
def test_read_article_refuses_what_is_not_an_article(tmp_path, content, message):
    path = tmp_path / "a.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_article(path)


def test_read_article_refuses_huge_files_with_the_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * (2**20 + 2**17))
    with pytest.raises(InputError, match=r"big.txt: file is 1\.1 MB; the limit for an article is 1 MB"):
        read_article(path, max_bytes=2**20)


def test_read_article_removes_a_byte_order_mark_and_normalises(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbf" + unicodedata.normalize("NFD", "Đắk Hà").encode())
    assert read_article(path) == "Đắk Hà"


# ---------------------------------------------------------------- reviewed rows -> raw rows


def test_raw_rows_assign_ids_source_and_provenance_without_the_phrase(find):
    found = find("Năm 2020, huyện thi hành kỷ luật 5 đảng viên, trong đó khai trừ 2.").assign(
        article="a.txt", source_publisher="Báo Test", source_title="Bài thử", source_published="2021-08-23", accept="y"
    )
    sources = pd.DataFrame({"source_id": ["S000", "S007"], "title": ["x", "y"], "url": ["", ""]})
    observations, new_sources = raw_rows(
        accepted_candidates(found, file="c.csv"), observations=pd.DataFrame({"obs_id": ["O0009"]}), sources=sources
    )
    assert observations["obs_id"].tolist() == ["O0010", "O0011"]
    assert set(observations["source_id"]) == {"S008"} and new_sources["source_id"].tolist() == ["S008"]
    assert observations.loc[1, "note"] == (
        "Disciplined: expulsion; part of O0010; proposed by extract v2.0 from "
        f"a.txt chars {found.loc[1, 'span_start']}-{found.loc[1, 'span_end']}; "
        "reviewed"
    )
    assert "phrase" not in observations.columns and list(observations.columns)[0] == "obs_id"


def test_a_new_source_needs_its_details_and_must_not_exist_already(find):
    found = find("Huyện có 5 đảng viên.").assign(accept="y", source_publisher="", source_title="")
    sources = pd.DataFrame({"source_id": ["S000"], "title": ["Bài thử"], "url": [""]})
    with pytest.raises(InputError, match="carry no publisher and title"):
        raw_rows(found, observations=pd.DataFrame({"obs_id": []}), sources=sources)
    with pytest.raises(InputError, match="already in sources.csv as S000"):
        raw_rows(
            found.assign(source_publisher="P", source_title="Bài thử"),
            observations=pd.DataFrame({"obs_id": []}),
            sources=sources,
        )


def test_duplicates_within_the_new_rows_are_found():
    row = {
        "obs_id": "O0001",
        "source_id": "S1",
        "indicator": "villages",
        "unit_name": "A",
        "value": "84",
        "as_of": "",
        "period_start": "",
        "period_end": "",
    }
    new = pd.DataFrame([row, {**row, "obs_id": "O0002", "value": "84.0"}])
    assert duplicate_figures(new, new.iloc[0:0])[["obs_id", "duplicate_of"]].values.tolist() == [["O0002", "O0001"]]
