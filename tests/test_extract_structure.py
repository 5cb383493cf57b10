"""How the extractor reads the structure of a sentence (issue 17), on sentences the team wrote.

Who acts (the subject body), what the verb does, "trong đó" breakdowns,
bracketed lists, ratios, lists read in turn, periods as the press writes
them, one candidate per fact, and linear time on long paragraphs.
"""

from __future__ import annotations

import time

import pytest

from analysis.text import reader
from analysis.text.extraction import extract_figures, split_unit
from analysis.text.vocabulary import Vocabulary, read_codebook

KON_RAY = "Kon Rẫy, Kon Tum"


@pytest.fixture(scope="module")
def vocab():
    return Vocabulary.from_codebook(read_codebook())


@pytest.fixture
def find(vocab):
    def run(text, published="2023-01-10", unit=KON_RAY):
        return extract_figures(text, unit=unit, published=published, source_id="NEW", codebook=vocab)

    return run


def facts(found):
    return [(r.indicator, float(r.value), r.qualifier) for r in found.itertuples()]


# ---------------------------------------------------------------- who acts, and on what


@pytest.mark.parametrize(
    "text, indicator",
    [
        (
            "Năm 2022, Ủy ban Kiểm tra các cấp thi hành kỷ luật 16 đảng viên.",
            "disciplined_members_by_inspection_commissions",
        ),
        ("Năm 2022, cấp ủy các cấp đã thi hành kỷ luật 35 đảng viên.", "disciplined_members_by_party_committees"),
        ("Năm 2022, các chi bộ đã thi hành kỷ luật 7 đảng viên.", "disciplined_members_by_cells"),
        ("Năm 2022, toàn Đảng bộ thi hành kỷ luật 58 đảng viên.", "disciplined_members"),
    ],
)
def test_the_disciplining_body_is_the_subject_of_the_sentence(find, text, indicator):
    assert facts(find(text))[0][0] == indicator


def test_a_body_named_in_an_earlier_sentence_does_not_make_a_total_its_own(find):
    found = find("Ủy ban Kiểm tra Huyện ủy đã kiểm tra 5 tổ chức đảng. Năm 2022, toàn huyện kỷ luật 9 đảng viên.")
    assert "disciplined_members" in found["indicator"].tolist()


def test_the_forms_after_a_bodys_count_are_its_breakdown(find):
    found = find("Năm 2022, Ủy ban Kiểm tra các cấp thi hành kỷ luật 9 đảng viên, trong đó khiển trách 6, cảnh cáo 3.")
    assert found["parent_candidate"].tolist() == ["", "NEW-001", "NEW-001"]


def test_organisations_disciplined_are_not_members(find):
    found = find("Năm 2022, Ban Thường vụ Huyện ủy thi hành kỷ luật 2 tập thể chi ủy và 4 tổ chức đảng.")
    assert [f[:2] for f in facts(found)] == [("disciplined_party_orgs", 2), ("disciplined_party_orgs", 4)]


def test_reasons_forms_and_their_shares_and_fewer_than_before(find):
    found = find(
        "Năm 2022, toàn Đảng bộ thi hành kỷ luật 20 đảng viên, giảm 4 đảng viên so với năm 2021; trong đó "
        "có 3 cấp ủy viên. Về nội dung vi phạm: tham nhũng 5 trường hợp (chiếm 25%), đánh bạc 2 đồng chí. "
        "Khiển trách 12 đồng chí (chiếm 60%)."
    )
    assert facts(found) == [
        ("disciplined_members", 20, "exact"),
        ("disciplined_members_change", -4, "exact"),
        ("disciplined_committee_members", 3, "exact"),
        ("disciplined_corruption", 5, "exact"),
        ("disciplined_corruption_share", 25, "exact"),
        ("disciplined_gambling", 2, "exact"),
        ("disciplined_reprimand", 12, "exact"),
        ("disciplined_reprimand_share", 60, "exact"),
    ]
    assert "party_members_change" not in set(found["indicator"])


def test_inspection_by_grassroots_committees_and_on_signs_of_violation(find):
    found = find(
        "Năm 2022, các đảng ủy cơ sở kiểm tra 31 tổ chức đảng và 14 đảng viên; giám sát 20 chi bộ. "
        "Khi có dấu hiệu vi phạm, Ủy ban Kiểm tra Huyện ủy đã kiểm tra 3 tổ chức đảng, 7 đảng viên."
    )
    assert [f[0] for f in facts(found)] == [
        "grassroots_committees_inspected_orgs",
        "grassroots_committees_inspected_members",
        "grassroots_committees_supervised_orgs",
        "party_orgs_inspected_signs_of_violation",
        "members_inspected_signs_of_violation",
    ]


@pytest.mark.parametrize(
    "text, indicator, value",
    [
        ("Năm 2022, huyện đã phát triển mới được 108 đảng viên.", "admissions", 108),
        ("Năm 2022, huyện chuyển 43 đảng viên dự bị thành đảng viên chính thức.", "members_made_official", 43),
        ("Năm 2022, huyện xóa tên 1 đảng viên và cho ra khỏi Đảng 2 trường hợp.", "members_removed_from_party", 2),
        ("Năm 2022, huyện tiếp nhận 73 đảng viên từ nơi khác chuyển đến.", "members_transferred_in", 73),
        ("Năm 2022, huyện đề nghị Ban Thường vụ khai trừ 1 trường hợp.", "expulsions_proposed", 1),
        ("Kết luận có 5 đảng viên vi phạm đến mức phải thi hành kỷ luật.", "members_found_warranting_discipline", 5),
        ("Đến nay, huyện có 12 chi bộ trường học và 10 chi bộ quân sự.", "military_cells", 10),
        (
            "Đảng bộ huyện có 47 tổ chức cơ sở đảng, trong đó có 33 đảng bộ và 14 chi bộ trực thuộc Huyện ủy.",
            "grassroots_cells",
            14,
        ),
    ],
)
def test_what_the_verb_does_names_the_figure(find, text, indicator, value):
    assert (indicator, value) in [f[:2] for f in facts(find(text))]


def test_a_breakdown_in_brackets_is_of_the_action_before_the_brackets(find):
    found = find(
        "Năm 2022, huyện phát triển 67 đảng viên (gồm 32 đảng viên người dân tộc thiểu số, 33 đảng viên nữ), "
        "nâng tổng số đảng viên lên 1.153 đồng chí (giảm 1 tổ chức cơ sở đảng so với năm 2021); trong đó, "
        "có 19 chi bộ cơ sở."
    )
    assert facts(found) == [
        ("admissions", 67, "exact"),
        ("admissions_ethnic_minority", 32, "exact"),
        ("admissions_female", 33, "exact"),
        ("party_members", 1153, "exact"),
        ("grassroots_party_orgs_change", -1, "exact"),
        ("grassroots_cells", 19, "exact"),
    ]


def test_a_bracketed_list_names_each_count_before_it(find):
    found = find(
        "Đảng bộ huyện có 51 tổ chức cơ sở đảng (đảng bộ cơ sở 20; chi bộ cơ sở 31), chi bộ trực thuộc đảng "
        "ủy cơ sở 305, với 4.100 đảng viên."
    )
    assert [f[:2] for f in facts(found)] == [
        ("grassroots_party_orgs", 51),
        ("grassroots_party_committees", 20),
        ("grassroots_cells", 31),
        ("cells_under_grassroots_committees", 305),
        ("party_members", 4100),
    ]
    assert found["parent_candidate"].tolist()[:3] == ["", "NEW-001", "NEW-001"]


def test_a_share_printed_after_a_part_of_a_total_is_the_parts(find):
    found = find("Đến nay, huyện có 400 đảng viên là người theo đạo trong tổng số 4.809 đảng viên, chiếm tỷ lệ 8,3%.")
    assert [f[:2] for f in facts(found)][-1] == ("party_members_religious_share", 8.3)


def test_a_count_after_a_semicolon_inside_a_sentence_is_still_a_total(find):
    found = find("Đảng bộ huyện có 31 tổ chức cơ sở đảng, với tổng số; 3.020 đảng viên.")
    assert ("party_members", 3020) in [f[:2] for f in facts(found)]


def test_a_ratio_over_a_target_gives_the_target(find):
    found = find(
        "Trong 6 tháng qua, huyện kết nạp được 52/90 đảng viên mới, đạt 57,77% theo chỉ tiêu.", published="2022-07-15"
    )
    assert facts(found) == [
        ("admissions", 52, "exact"),
        ("admissions_target", 90, "exact"),
        ("admissions_target_achieved_share", 57.77, "exact"),
    ]


def test_a_list_of_percentages_is_read_in_turn_with_the_posts_after_it(find):
    found = find(
        "Đến nay, toàn huyện có 75,51% thôn trưởng là đảng viên; 14,29%, 10,20% và 10,20% bí thư chi bộ, "
        "phó bí thư chi bộ và chi ủy viên là thôn trưởng. Có 101/101 đồng chí tham dự."
    )
    assert facts(found) == [
        ("village_heads_party_members_share", 75.51, "exact"),
        ("cell_secretaries_also_village_heads_share", 14.29, "exact"),
        ("deputy_secretaries_also_village_heads_share", 10.2, "exact"),
        ("cell_committee_members_also_village_heads_share", 10.2, "exact"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Kết quả, 44 đảng viên được biểu dương.",  # a count that opens its clause: the subject of what follows
        "Huyện có 20 thôn; trong đó, xã A có 03 thôn, 01 làng.",  # villages counted by kind: no total of its own
    ],
)
def test_counts_that_are_not_totals(find, text):
    found = [f[:2] for f in facts(find(text))]
    assert not any(value == 44 for _, value in found) and ("villages", 3.0) not in found


def test_a_zero_without_a_digit_is_only_a_low_confidence_candidate(find):
    found = find("Đến nay, huyện không còn thôn chưa có đảng viên.")
    assert found["value"].tolist() == ["0"] and float(found.loc[0, "confidence"]) < 0.5


# ---------------------------------------------------------------- periods


@pytest.mark.parametrize(
    "text, published, period",
    [
        ("Quý I đã kết nạp được 22 đảng viên.", "2025-04", ("2025-01-01", "2025-03-31")),
        ("Trong 6 tháng qua, huyện kết nạp 52 đảng viên.", "2022-07-15", ("2022-01-01", "2022-06-30")),
        ("So với năm 2002, số đảng viên tăng 27 đồng chí.", "2023-01-10", ("2002-01-01", "2023-01-10")),
        (
            "Qua kiểm điểm cuối năm 2016, huyện có 35 tổ chức cơ sở đảng đạt trong sạch vững mạnh.",
            "2017-01-20",
            ("2016-01-01", "2016-12-31"),
        ),
    ],
)
def test_periods_as_the_press_writes_them(find, text, published, period):
    found = find(text, published=published)
    assert (found.loc[0, "period_start"], found.loc[0, "period_end"]) == period


@pytest.mark.parametrize(
    "text, as_of",
    [
        ("Tính đến đầu tháng 7/2020, huyện có 3.392 đảng viên.", "2020-07-01"),
        (
            "Đại hội nhiệm kỳ 2020-2025 có 248 đại biểu đại diện cho 2.480 đảng viên.",
            "2020-07-23",
        ),  # never a term's end
        ("Chi bộ được thành lập năm 2010, với tổng số đảng viên 11 đồng chí.", "2020-07-23"),  # the year of an event
        ("Năm 2019, dân số toàn huyện là 26.686 người.", "2019"),  # a year alone, as printed
    ],
)
def test_a_stock_is_dated_by_an_as_of_or_a_year(find, text, as_of):
    found = find(text, published="2020-07-23")
    assert found["as_of"].iloc[-1] == as_of


def test_a_paragraph_that_continues_the_one_before_inherits_its_period(find):
    found = find(
        "Trong 6 tháng đầu năm 2022, huyện kết nạp 52 đảng viên.\nCùng thời gian này, huyện xóa tên 1 đảng viên.",
        published="2022-07-15",
    )
    assert found["period_end"].tolist() == ["2022-06-30", "2022-06-30"]


def test_one_candidate_per_fact_title_and_body_merged_with_the_best_dated_period(find):
    found = find(
        "Huyện kết nạp 52 đảng viên mới\nTrong 6 tháng đầu năm 2022, huyện kết nạp 52 đảng viên.\n"
        "Như vậy, huyện đã kết nạp 52 đảng viên.",
        published="2022-07-15",
    )
    assert len(found) == 1 and found.loc[0, "period_end"] == "2022-06-30"
    assert "also printed at para 2" in found.loc[0, "note"] and "also printed at title" in found.loc[0, "note"]


# ---------------------------------------------------------------- locators and units


def test_locators_count_the_title_then_the_non_blank_lines(find):
    found = find("Tiêu đề bài viết\n\nNăm 2022, huyện kết nạp 30 đảng viên.\n\n\nĐến nay, huyện có 1.639 đảng viên.")
    assert found["locator"].str.replace(r", chars .*", "", regex=True).tolist() == ["para 1", "para 2"]


def test_a_name_with_a_comma_in_brackets_is_one_district(find):
    assert split_unit("Tiên Tốc (Bình An, Lâm Bình), Tuyên Quang") == ("Tiên Tốc (Bình An, Lâm Bình)", "Tuyên Quang")
    found = find("Năm 2022, huyện kết nạp 30 đảng viên.", unit="Tiên Tốc (Bình An, Lâm Bình), Tuyên Quang")
    assert found.loc[0, "unit_name"] == "Tiên Tốc (Bình An, Lâm Bình)" and found.loc[0, "province"] == "Tuyên Quang"


# ---------------------------------------------------------------- linear time


UNIT = (
    "Tính đến ngày 30/6/2023, Đảng bộ xã Đăk Kôi có 120 đảng viên. Năm 2022, xã Đăk Kôi kết nạp 12 đảng "
    "viên, trong đó có 5 đảng viên nữ. Năm 2022, xã Đăk Kôi thi hành kỷ luật 2 đảng viên. "
)


def test_one_long_paragraph_gives_the_candidates_of_the_same_sentences_split_into_paragraphs(vocab):
    text = UNIT * 400
    columns = ["indicator", "value", "qualifier", "unit_name", "as_of", "period_start", "period_end"]
    one = extract_figures(text, unit=KON_RAY, published="2023-07-10", source_id="NEW", codebook=vocab)
    split = extract_figures(
        text.replace(". Năm", ".\nNăm"), unit=KON_RAY, published="2023-07-10", source_id="NEW", codebook=vocab
    )
    assert one[columns].values.tolist() == split[columns].values.tolist()


def test_a_paragraph_cut_into_blocks_reads_as_if_it_were_not(vocab, monkeypatch):
    text = "".join(UNIT.replace("120", str(100 + i)) for i in range(300))
    whole = extract_figures(text, unit=KON_RAY, published="2023-07-10", source_id="NEW", codebook=vocab)
    monkeypatch.setattr(reader, "BLOCK", 1000)
    cut = extract_figures(text, unit=KON_RAY, published="2023-07-10", source_id="NEW", codebook=vocab)
    assert whole.drop(columns="note").equals(cut.drop(columns="note"))


def cpu_seconds(vocab, text: str) -> float:
    start = time.process_time()
    extract_figures(text, unit=KON_RAY, published="2023-07-10", source_id="NEW", codebook=vocab)
    return time.process_time() - start


def test_time_grows_linearly_with_the_length_of_one_paragraph(vocab):
    paragraph = "".join(UNIT.replace("120", str(100 + i % 500)) for i in range(2000))  # about 0.4 MB, one line
    small = min(cpu_seconds(vocab, paragraph[: len(paragraph) // 4]) for _ in range(2))
    large = min(cpu_seconds(vocab, paragraph) for _ in range(2))
    assert large / small < 6  # four times the text: about four times the work (quadratic would be 16)


def test_every_lexicon_word_starts_with_one_of_the_letters_the_scan_looks_for():
    from re import _constants as C
    from re import _parser

    from analysis.text.patterns import LEXICON, LEXICON_FIRST_LETTERS, _lower

    def first(items):
        """The letters a parsed pattern can start with, and whether it can match the empty string."""
        letters = set()
        for op, arg in items:
            if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
                continue
            if op is C.LITERAL:
                return letters | {chr(arg)}, False
            if op is C.IN:
                return letters | {chr(a) for o, a in arg if o is C.LITERAL}, False
            if op is C.SUBPATTERN:
                found, empty = first(arg[-1])
            elif op is C.BRANCH:
                parts = [first(branch) for branch in arg[1]]
                found, empty = set().union(*(p[0] for p in parts)), any(p[1] for p in parts)
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
                found, empty = first(arg[2])
                empty = empty or arg[0] == 0
            else:
                raise AssertionError(f"cannot tell the first letter of {op}")
            letters |= found
            if not empty:
                return letters, False
        return letters, True

    for kind, name, pattern in LEXICON:
        letters, empty = first(_parser.parse(_lower(pattern).pattern))
        assert not empty and letters <= set(LEXICON_FIRST_LETTERS), (kind, name, letters - set(LEXICON_FIRST_LETTERS))
