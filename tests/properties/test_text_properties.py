"""Properties of the Vietnamese number and period parsers (:mod:`analysis.text.vietnamese`).

Outside input is any text: the parsers raise nothing but their documented
``ValueError``; a number written the Vietnamese way parses back to itself;
a month or quarter resolves to its own first and last day.
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from analysis.text.vietnamese import find_periods, number_tokens, parse_number, resolve_period

pytestmark = pytest.mark.slow_properties

#: Text as articles have it: Vietnamese letters, digits, the punctuation numbers and dates use, spaces.
ARTICLE_TEXT = st.text(
    alphabet=st.sampled_from(
        list("0123456789.,/%-–() \nđĐăâêôơưáàảãạếềểễệốồổỗộớờởỡợứừửữựíìỉĩịýỳỷỹỵabcdeghiklmnopqrstuvxy")
    )
    | st.characters(),
    max_size=200,
)
WORDS = st.sampled_from(
    [
        "năm",
        "tháng",
        "quý",
        "từ",
        "đến",
        "nay",
        "ngày",
        "nhiệm kỳ",
        "giai đoạn",
        "tính đến",
        "cuối",
        "đầu",
        "hết",
        "hiện nay",
        "6 tháng đầu năm",
        "đảng viên",
        "trên",
        "trong số",
        "%",
    ]
)
PHRASES = st.lists(
    st.one_of(WORDS, st.integers(0, 3000).map(str), st.sampled_from(["/", "-", ",", "."])), max_size=12
).map(" ".join)
PUBLISHED = st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2030, 12, 31)))


def vietnamese(value: int, decimals: str = "") -> str:
    """A number written the Vietnamese way: '.' between groups of three digits, ',' before decimals."""
    grouped = f"{value:,}".replace(",", ".")
    return f"{grouped},{decimals}" if decimals else grouped


@given(st.integers(0, 10**15))
def test_a_whole_number_written_the_vietnamese_way_parses_back(value):
    assert parse_number(vietnamese(value)) == value


@given(st.integers(0, 10**9), st.text(alphabet="0123456789", min_size=1, max_size=4))
def test_a_decimal_written_with_a_comma_parses_back_with_its_digits(value, decimals):
    assert parse_number(vietnamese(value, decimals) + "%") == Decimal(f"{value}.{decimals}")


@given(ARTICLE_TEXT)
def test_parse_number_raises_only_value_error(text):
    try:
        parse_number(text)
    except ValueError:
        pass


@given(st.integers(1, 10**9))
def test_a_count_in_a_sentence_is_found_with_its_value(value):
    tokens = number_tokens(f"Toàn huyện có {vietnamese(value)} đảng viên.")
    assert [(t.kind, t.value) for t in tokens] == [("count", value)]


@given(st.one_of(ARTICLE_TEXT, PHRASES))
def test_number_tokens_never_raise_and_lie_inside_the_text(text):
    for token in number_tokens(text):
        assert 0 <= token.start < token.end <= len(text)


@given(st.one_of(ARTICLE_TEXT, PHRASES), PUBLISHED)
def test_find_periods_never_raise_and_give_real_dates(text, published):
    for mention in find_periods(text, published):
        for day in (mention.period.start, mention.period.end):
            if day is not None:
                date.fromisoformat(day)


@given(st.integers(1, 12), st.integers(1990, 2030), PUBLISHED)
def test_a_month_resolves_to_its_first_and_last_day(month, year, published):
    period = resolve_period(f"trong tháng {month}/{year}", published)
    last = calendar.monthrange(year, month)[1]
    assert (period.start, period.end) == (f"{year}-{month:02d}-01", f"{year}-{month:02d}-{last:02d}")


@given(st.integers(1990, 2030), st.integers(1990, 2030), PUBLISHED)
def test_a_stated_period_never_ends_before_it_starts(first, last, published):
    assume(first <= last)
    period = resolve_period(f"giai đoạn {first}-{last}", published)
    assert period.start <= period.end


#: Date phrases with numbers in and out of range, as a careless article may print them.
DATE_PHRASES = st.one_of(
    st.builds("tháng {}/{}".format, st.integers(0, 20), st.integers(1990, 2030)),
    st.builds("tính đến ngày {}/{}/{}".format, st.integers(0, 40), st.integers(0, 20), st.integers(1990, 2030)),
    st.builds(
        "{} tháng {} năm {}".format,
        st.integers(0, 20),
        st.sampled_from(["đầu", "cuối"]),
        st.one_of(st.integers(1990, 2030).map(str), st.just("nay")),
    ),
)


@given(DATE_PHRASES, PUBLISHED)
@example("6 tháng cuối năm nay", None)
@example("tháng 13/2023", None)
def test_find_periods_never_raise_on_date_phrases(text, published):
    find_periods(text, published)


@given(st.integers(1, 12), st.integers(1, 12), st.integers(1990, 2030))
@example(5, 2, 2023)
def test_a_from_to_period_never_ends_before_it_starts(first, last, year):
    period = resolve_period(f"từ tháng {first}/{year} đến tháng {last}/{year}", None)
    assert period is None if last < first else period.start <= period.end
