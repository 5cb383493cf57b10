"""Vietnamese numbers, hedges, dates and periods in prose (analysis.text.vietnamese)."""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal

import pytest

from analysis.errors import UsageError
from analysis.text.vietnamese import (
    Period,
    as_date,
    at_least_after,
    ending_word,
    find_periods,
    hedge_before,
    lowercase,
    number_tokens,
    paragraph_spans,
    parse_number,
    resolve_period,
    sentence_spans,
    spellings,
    term_start,
    tone_variants,
    value_text,
)


def kinds(text):
    return [(t.kind, value_text(t.value), text[t.start : t.end]) for t in number_tokens(text)]


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "printed, expected",
    [
        ("1.639", "1639"),
        ("75,51", "75.51"),
        ("08", "8"),
        ("1.085.332", "1085332"),
        ("10,20", "10.20"),
        ("75,51%", "75.51"),
        ("1,5 nghìn", "1500"),
        ("29 ngàn", "29000"),
        ("2 triệu", "2000000"),
        ("3 tỷ", "3000000000"),
        ("75.51%", "75.51"),  # an English decimal point typed in a Vietnamese text
    ],
)
def test_parse_number_reads_the_vietnamese_forms(printed, expected):
    assert value_text(parse_number(printed)) == expected


@pytest.mark.parametrize("printed", ["1.639", "75,51", "08", "1.085.332", "10,20", "3,5", "100", "31.372", "0,4"])
def test_parse_number_agrees_with_babel_on_plain_numbers(printed):
    from babel.numbers import parse_decimal

    assert parse_number(printed) == parse_decimal(printed, locale="vi")


@pytest.mark.parametrize("printed", ["20/6", "hơn 5", "", "1.63.9"])
def test_parse_number_refuses_what_is_not_a_number(printed):
    with pytest.raises(ValueError, match="not a Vietnamese number"):
        parse_number(printed)


def test_value_text_keeps_printed_decimals_and_drops_magnitude_zeros():
    assert [value_text(Decimal(v)) for v in ("10.20", "1500.0", "-3")] == ["10.20", "1500", "-3"]


# ---------------------------------------------------------------- what kind of number


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Tính đến ngày 20/6/2021", [("date", "20", "20/6/2021")]),
        ("từ tháng 1/2020 đến nay", [("date", "1", "1/2020")]),
        ("ngày 9/10", [("date", "9", "9/10")]),
        ("39/39 đồng chí", [("ratio", "39", "39/39")]),
        ("69/84 trưởng thôn", [("ratio", "69", "69/84")]),
        ("có 24 trong số 84 thôn", [("ratio", "24", "24 trong số 84")]),
        ("91 trên 91 thôn", [("ratio", "91", "91 trên 91")]),
        ("nhiệm kỳ 2020-2025", [("year", "2020", "2020-2025")]),
        ("trong năm 2021", [("year", "2021", "2021")]),
        ("từ 55 - 60 đảng viên", [("range", "55", "55 - 60")]),
    ],
)
def test_number_tokens_tell_dates_ratios_years_and_ranges_apart(text, expected):
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text, kind",
    [
        ("Nghị quyết số 03-NQ/TU", "document"),
        ("Kế hoạch số 07", "document"),
        ("Quy định 102-QĐ/TW", "document"),
        ("Hướng dẫn số 05 của", "document"),
        ("Quyết định 1241/NQ-UBTVQH15", "document"),
        ("Đại hội lần thứ 6", "ordinal"),
        ("Huyện ủy khóa 18", "ordinal"),
        ("Huyện ủy khoá 18", "ordinal"),
        ("sinh con thứ 3 trở lên", "ordinal"),
        ("Chi bộ thôn 8 có", "name"),
        ("tổ dân phố 5 có", "name"),
    ],
)
def test_document_numbers_ordinals_and_names_are_not_counts(text, kind):
    assert [t.kind for t in number_tokens(text)][0] == kind


@pytest.mark.parametrize(
    "text",
    [
        "thi hành kỷ luật 22 đảng viên",
        "dân tộc thiểu số 162 đồng chí",
        "Trong số 69 trưởng thôn",
        "bí thư chi bộ kiêm trưởng thôn, buôn 29 người",
    ],
)
def test_words_that_end_like_document_words_do_not_hide_counts(text):
    assert [t.kind for t in number_tokens(text)] == ["count"]


def test_punctuation_separates_a_word_from_the_number_after_it():
    assert [t.kind for t in number_tokens("Toàn huyện có 84 thôn; 24 thôn")] == ["count", "count"]


def test_word_ordinals_have_no_digits_to_take_for_counts():
    assert number_tokens("01 trường hợp sinh con thứ ba")[0].value == 1
    assert len(number_tokens("sinh con thứ ba")) == 0


def test_zero_padding_and_percent():
    toks = number_tokens("08 tổ chức, 10,20%")
    assert [(t.kind, t.value) for t in toks] == [("count", Decimal("8")), ("percent", Decimal("10.20"))]


# ---------------------------------------------------------------- hedges


@pytest.mark.parametrize(
    "prefix, qualifier",
    [
        ("có hơn ", "more_than"),
        ("đạt trên ", "more_than"),
        ("gần ", "nearly"),
        ("đạt gần ", "nearly"),
        ("khoảng ", "about"),
        ("xấp xỉ ", "about"),
        ("trên dưới ", "about"),
        ("ước tính ", "about"),
        ("ít nhất ", "at_least"),
        ("có ", "exact"),
        ("trên địa bàn có ", "exact"),
        ("trên tổng số ", "exact"),
        ("chưa đến ", None),
        ("cao hơn ", None),
        ("dưới ", None),
    ],
)
def test_hedge_before_a_number(prefix, qualifier):
    assert hedge_before(prefix)[0] == qualifier


def test_hedge_length_covers_the_hedge_words():
    assert hedge_before("toàn huyện có trên dưới  ") == ("about", 11)


def test_a_hedge_does_not_reach_across_punctuation():
    assert hedge_before("nhiều hơn. ") == ("exact", 0)


def test_number_tokens_carry_their_hedge():
    text = "Đảng bộ có gần 1,5 nghìn đảng viên"
    token = number_tokens(text)[0]
    assert (token.qualifier, text[token.lead : token.end]) == ("nearly", "gần 1,5 nghìn")


def test_at_least_after_reads_tro_len_only_in_the_same_phrase():
    assert at_least_after(" đảng viên trở lên") == len(" đảng viên trở lên")
    assert at_least_after(" đảng viên, trở lên") == 0


# ---------------------------------------------------------------- periods


@pytest.mark.parametrize(
    "phrase, published, expected",
    [
        ("từ tháng 1/2020 đến nay", "2021-08-23", Period("2020-01-01", "2021-08-23", "publication_date", False)),
        ("Tính đến ngày 20/6/2021", "2021-08-23", Period(None, "2021-06-20", "stated", True)),
        ("6 tháng đầu năm 2023", "2023-07-10", Period("2023-01-01", "2023-06-30", "stated", False)),
        ("9 tháng đầu năm", "2018-10-05", Period("2018-01-01", "2018-09-30", "stated", False)),
        ("nhiệm kỳ 2020-2025", "2023-07-10", Period("2020-10-01", "2023-07-10", "publication_date", False)),
        ("nhiệm kỳ 2015-2020", "2023-07-10", Period("2015-10-01", "2020-09-30", "inferred", False)),
        ("từ đầu nhiệm kỳ đến ngày 30/6/2023", None, Period("2020-10-01", "2023-06-30", "stated", False)),
        ("trong 5 năm (2016-2021)", "2021-08-23", Period("2016-01-01", "2021-08-23", "publication_date", False)),
        ("giai đoạn 2016-2020", "2021-08-23", Period("2016-01-01", "2020-12-31", "stated", False)),
        ("quý I/2023", "2023-04-12", Period("2023-01-01", "2023-03-31", "stated", False)),
        ("trong năm 2019", "2020-04-21", Period("2019-01-01", "2019-12-31", "stated", False)),
        ("năm 2021", "2021-12-15", Period("2021-01-01", "2021-12-15", "publication_date", False)),
        ("Đến cuối năm 2016", "2020-04-21", Period(None, "2016-12-31", "stated", True)),
        ("từ năm 2008, đã", "2018-11-20", Period("2008-01-01", "2018-11-20", "publication_date", False)),
        ("từ đầu năm đến nay", "2018-11-20", Period("2018-01-01", "2018-11-20", "publication_date", False)),
        ("So với đầu nhiệm kỳ", "2018-11-20", Period("2015-10-01", "2018-11-20", "publication_date", False)),
        ("Hiện nay", "2021-07-15", Period(None, "2021-07-15", "publication_date", True)),
        ("năm qua, chi bộ kết nạp", "2023-03-02", Period("2022-01-01", "2022-12-31", "inferred", False)),
        ("trong năm vừa qua", "2023-11-20", Period("2023-01-01", "2023-11-20", "publication_date", False)),
        ("hiện Đảng bộ có", "2020-04-21", Period(None, "2020-04-21", "publication_date", True)),
    ],
)
def test_periods_resolve_against_the_publication_date(phrase, published, expected):
    assert resolve_period(phrase, published) == expected


def test_up_to_now_in_an_undated_article_has_an_unknown_end():
    assert resolve_period("từ tháng 1/2020 đến nay", None) == Period("2020-01-01", None, "unknown", False)
    assert resolve_period("Hiện nay", None) == Period(None, None, "unknown", True)


@pytest.mark.parametrize(
    "text",
    [
        "Nghị quyết số 03-NQ/TU ngày 18/3/2016 của Ban Thường vụ",  # a bare date dates the document
        "Sau 10 năm thực hiện Nghị quyết 22-NQ/TW năm 2008",  # the year of a resolution
        "Việc thực hiện chủ trương đã được triển khai",  # "thực hiện" is not "hiện" (now)
    ],
)
def test_dates_of_documents_are_not_periods(text):
    assert find_periods(text, "2021-08-23") == []


def test_period_mentions_give_their_positions():
    text = "Tính đến ngày 20/6/2021, Đảng bộ huyện có 51 tổ chức."
    mention = find_periods(text, "2021-08-23")[0]
    assert text[mention.start : mention.end] == "Tính đến ngày 20/6/2021"


def test_term_start_is_the_autumn_of_the_term_year():
    assert term_start(date(2025, 9, 30)) == date(2020, 10, 1)
    assert term_start(date(2025, 10, 1)) == date(2025, 10, 1)


def test_as_date_refuses_a_non_iso_date():
    assert as_date(None) is None
    with pytest.raises(UsageError, match="expected a date as YYYY-MM-DD"):
        as_date("2021-13-01")


# ---------------------------------------------------------------- words, spelling, text


def test_tone_variants_match_both_tone_mark_placements_and_any_case():
    pattern = tone_variants("kế hoạch hóa|ủy ban")
    assert all(pattern.search(t) for t in ("KẾ HOẠCH HOÁ", "kế hoạch hóa", "Uỷ ban", "Ủy ban"))


def test_ending_word_reads_phrases_and_tone_variants():
    words = spellings(["khóa", "lần thứ", "tổ dân phố"])
    assert ending_word("Huyện ủy khoá ", words) == "khoá"
    assert ending_word("Đại hội lần thứ ", words) == "lần thứ"
    assert ending_word("(tổ  dân phố ", words) == "tổ dân phố"
    assert ending_word("khai ", {"hai"}) is None


def test_lowercase_keeps_every_offset():
    text = "İ Đảng VIÊN"
    assert len(lowercase(text)) == len(text)


def test_nfd_text_gives_the_same_tokens_after_normalisation():
    from analysis.text.names import fix_text

    nfc = "Đảng bộ có hơn 1.800 đảng viên"
    nfd = unicodedata.normalize("NFD", nfc)
    assert [t[:4] for t in number_tokens(fix_text(nfd))] == [t[:4] for t in number_tokens(nfc)]


def test_sentences_do_not_end_at_abbreviations_or_thousands_dots():
    text = "TP. Kon Tum có 1.639 đảng viên. Toàn huyện có 84 thôn.\nĐoạn hai."
    spans = [text[a:b] for p0, p1 in paragraph_spans(text) for a, b in sentence_spans(text, p0, p1)]
    assert spans == ["TP. Kon Tum có 1.639 đảng viên.", "Toàn huyện có 84 thôn.", "Đoạn hai."]
