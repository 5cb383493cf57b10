"""Vietnamese numbers, hedges, dates and periods in prose.

Provincial party press writes figures the Vietnamese way ("1.639 đảng viên",
"75,51%", "08 tổ chức", "69/84 thôn", "24 trong số 84"), hedges them ("hơn",
"gần", "khoảng", "trở lên") and dates them in words ("tính đến ngày
20/6/2021", "từ tháng 1/2020 đến nay", "6 tháng đầu năm 2023", "nhiệm kỳ
2020-2025"). This module reads those forms; :mod:`analysis.text.extraction` decides
what the numbers count.

* :func:`parse_number` and :func:`value_text`: one number, as printed.
* :func:`number_tokens`: every number in a text, classified as a count,
  percent or ratio, or as something that is not a figure (a date, a year, a
  range, an ordinal, a document number, a place name such as "thôn 8").
* :func:`hedge_before` and :func:`at_least_after`: the qualifier of a number.
* :func:`find_periods` and :func:`resolve_period`: period and as-of phrases,
  resolved against the publication date to ISO dates.
* :func:`paragraph_spans` and :func:`sentence_spans`: where paragraphs and
  sentences start and end.

Regexes are written in lowercase with the "old" tone-mark placement ("ủy",
"hóa") and compiled case-insensitively with :func:`tone_variants`, so "Ủy
ban", "uỷ ban" and "UỶ BAN" all match. Texts are expected in NFC
(:func:`analysis.text.names.fix_text`).

Examples:
    >>> parse_number("1.639"), parse_number("75,51"), parse_number("08")
    (Decimal('1639'), Decimal('75.51'), Decimal('8'))
    >>> [(t.kind, value_text(t.value)) for t in number_tokens("ngày 20/6/2021 có 69/84 thôn")]
    [('date', '20'), ('ratio', '69')]
    >>> resolve_period("từ tháng 1/2020 đến nay", "2021-08-23")
    Period(start='2020-01-01', end='2021-08-23', basis='publication_date', point=False)
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from analysis.errors import UsageError

# ---------------------------------------------------------------- spelling

_TONE_PAIRS = {
    "òa": "oà",
    "óa": "oá",
    "ỏa": "oả",
    "õa": "oã",
    "ọa": "oạ",
    "òe": "oè",
    "óe": "oé",
    "ỏe": "oẻ",
    "õe": "oẽ",
    "ọe": "oẹ",
    "ùy": "uỳ",
    "úy": "uý",
    "ủy": "uỷ",
    "ũy": "uỹ",
    "ụy": "uỵ",
}
_TONE_RE = re.compile("|".join(_TONE_PAIRS))


def tone_variants(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern:
    """Compile a lowercase regex so that both tone-mark placements match.

    Vietnamese has two conventions for placing the tone mark on "oa", "oe"
    and "uy" ("hóa"/"hoá", "ủy"/"uỷ"); sources mix them. Write the pattern
    with the first and this compiles it matching either.

    Args:
        pattern: A regular expression in lowercase.
        flags: ``re`` flags; case-insensitive by default. Patterns applied
            to text already put through :func:`lowercase` pass ``0``:
            without IGNORECASE the regex engine scans about twice as fast.

    Returns:
        The compiled pattern.

    Examples:
        >>> bool(tone_variants("ủy ban kiểm tra").search("Uỷ ban Kiểm tra Huyện ủy"))
        True
    """
    expanded = _TONE_RE.sub(lambda m: f"(?:{m.group(0)}|{_TONE_PAIRS[m.group(0)]})", pattern)
    return re.compile(expanded, flags)


def lowercase(text: str) -> str:
    """The text in lowercase, with every character at the same offset.

    ``str.lower`` keeps the length of Vietnamese text; the one character
    whose lowercase is two characters (U+0130, dotted capital I) is mapped
    to "i" first, so offsets found in the result are offsets in the text.

    Examples:
        >>> lowercase("ĐẢNG VIÊN İ")
        'đảng viên i'
    """
    return text.replace("\u0130", "I").lower()


def spellings(words) -> frozenset[str]:
    """Words in both tone-mark placements (for :func:`ending_word`).

    Examples:
        >>> sorted(spellings(["khóa", "lần"]))
        ['khoá', 'khóa', 'lần']
    """
    return frozenset(v for w in words for v in (w, _TONE_RE.sub(lambda m: _TONE_PAIRS[m.group(0)], w)))


_PUNCTUATION = "()[]{}\"'“”‘’,;:.!?-–…"


def ending_word(prefix: str, words: frozenset[str]) -> str | None:
    """The word or phrase (up to three words) of ``words`` that a text ends with.

    Case and runs of spaces are ignored, and so is punctuation between the
    words; punctuation at the very end means that no word ends the text
    ("thôn; " does not end with "thôn"). This is how the words just before a
    number are read: a set lookup of the last words is much faster than a
    regex search anchored at the end of the text.

    Args:
        prefix: The text before a number.
        words: Lowercase words and phrases (see :func:`spellings`).

    Returns:
        The longest matching phrase, or None.

    Examples:
        >>> ending_word("Nghị quyết Đại hội lần thứ ", spellings(["thứ", "lần thứ"]))
        'lần thứ'
        >>> ending_word("thi hành kỷ luật (khai trừ ", {"khai trừ"}), ending_word("khai ", {"hai"})
        ('khai trừ', None)
    """
    return _ending(_last_words(prefix), words)


def _last_words(prefix: str) -> list[str]:
    """The last words (up to three, lowercase) right before a position.

    Punctuation between the last word and the position means no word is
    right before it ("thôn; 24" is not "thôn 24"): the result is empty.
    """
    parts = prefix[-40:].lower().rsplit(None, 3)
    if not parts or parts[-1][-1] in _PUNCTUATION:
        return []
    if len(prefix) > 40 and len(parts) == 4:
        parts = parts[1:]  # the first may be a word the window cut in two
    words = [w.strip(_PUNCTUATION) for w in parts[-3:]]
    return [w for w in words if w]


def _ending(parts: list[str], words: frozenset[str]) -> str | None:
    n = len(parts)
    if n == 3 and (phrase := f"{parts[0]} {parts[1]} {parts[2]}") in words:
        return phrase
    if n >= 2 and (phrase := f"{parts[-2]} {parts[-1]}") in words:
        return phrase
    if n and parts[-1] in words:
        return parts[-1]
    return None


# ---------------------------------------------------------------- numbers

_MAGNITUDES = {"nghìn": 1000, "ngàn": 1000, "triệu": 10**6, "tỷ": 10**9, "tỉ": 10**9}
_GROUPED = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?(?!\d)"
_NUMBER_RE = re.compile(
    rf"(?P<num>{_GROUPED}|(?P<point>\d+\.\d{{1,2}})|\d+(?:,\d+)?)"
    r"(?:\s?(?P<mag>nghìn|ngàn|triệu|tỷ|tỉ))?\s?%?"
)


def parse_number(text: str) -> Decimal:
    """Parse one number written the Vietnamese way.

    "." groups thousands and "," marks decimals; zero-padding ("08") and a
    magnitude word (nghìn/ngàn, triệu, tỷ) are allowed, and so is a trailing
    "%". A dot followed by one or two digits ("75.51") is read as a decimal
    point, the way English-language pages and careless typing write it.
    ``babel.numbers.parse_decimal(text, locale="vi")`` agrees on the
    ordinary forms; this is the fast path used on whole articles.

    Args:
        text: The number as printed.

    Returns:
        The value as a Decimal (trailing decimal zeros kept: "10,20" is
        ``Decimal('10.20')``).

    Raises:
        ValueError: If the text is not a number.

    Examples:
        >>> parse_number("1.085.332"), parse_number("10,20%"), parse_number("1,5 nghìn")
        (Decimal('1085332'), Decimal('10.20'), Decimal('1500.0'))
        >>> parse_number("20/6")
        Traceback (most recent call last):
        ...
        ValueError: not a Vietnamese number: '20/6'
    """
    match = _NUMBER_RE.fullmatch(lowercase(text.strip()))
    if not match:
        raise ValueError(f"not a Vietnamese number: {text!r}")
    return _decimal(match)


def _decimal(m: re.Match) -> Decimal:
    """The value of a match with groups ``num``, ``point`` (a decimal point) and ``mag``."""
    num = m.group("num")
    value = Decimal(num if m.group("point") else num.replace(".", "").replace(",", "."))
    return value * _MAGNITUDES[m.group("mag")] if m.group("mag") else value


def value_text(value: Decimal) -> str:
    """The value as the raw tables store it: "." decimals, no grouping.

    Whole numbers lose any ".0" a magnitude word left; printed decimals keep
    their digits ("10.20").

    Examples:
        >>> value_text(Decimal("1500.0")), value_text(Decimal("10.20")), value_text(Decimal("8"))
        ('1500', '10.20', '8')
    """
    if value == value.to_integral_value():
        return str(int(value))
    return str(value)


class NumberToken(NamedTuple):
    """A number in a text and what kind of number it is.

    ``kind`` is one of ``count``, ``percent``, ``ratio`` (``value`` of
    ``denominator``), ``range`` (``value`` is the lower end), or a kind that
    is never a figure: ``date``, ``year``, ``ordinal``, ``document``,
    ``name`` (the "8" of "thôn 8"), ``malformed``. For figures,
    ``qualifier`` and ``lead`` (where the hedge starts; ``start`` when there
    is none) are those of :func:`hedge_before`.
    """

    start: int
    end: int
    kind: str
    value: Decimal | None
    denominator: Decimal | None = None
    qualifier: str | None = "exact"
    lead: int | None = None


_Y = r"(?:19|20)\d{2}"
_TOKEN_RE = re.compile(
    r"(?=\d)(?<![\w.,/%-])"  # a digit first: every other position is skipped at once
    rf"(?P<num>{_GROUPED}|(?P<point>\d+\.\d{{1,2}})(?=\s?%)|\d+(?:,\d+)?)"
    r"(?:\s?(?P<mag>nghìn|ngàn|triệu|tỷ|tỉ)(?!\w))?"
    r"(?P<pct>\s?%)?"
    r"(?:(?P<sep>\s?/\s?|\s+trên\s+(?:tổng\s+(?:số\s+)?)?|\s+trong\s+(?:tổng\s+)?số\s+)"
    rf"(?P<den>{_GROUPED}|\d+)(?:\s?/\s?(?P<year>\d{{2,4}}))?(?![\w/]))?"
    r"(?:\s?[-–]\s?(?P<upper>\d+(?:[.,]\d+)*)(?![\w/]))?"
)
_YEAR_RE = re.compile(_Y)
_DOC_AFTER_RE = re.compile(r"\s?[-/][^\W\d_]")
_DOC_WORDS = spellings(
    (
        "nghị quyết",
        "chỉ thị",
        "kế hoạch",
        "quyết định",
        "quy định",
        "hướng dẫn",
        "kết luận",
        "thông báo",
        "công văn",
        "đề án",
        "chương trình",
        "thông tư",
        "nghị định",
        "văn bản",
        "tờ trình",
        "báo cáo",
        "quy chế",
        "điều",
        "khoản",
        "mục",
        "chương",
        "trang",
        "phụ lục",
    )
)
_ORDINAL_WORDS = spellings(("thứ", "lần", "khóa", "đại hội", "đợt", "phiên", "kỳ họp", "hạng"))
_NAME_WORDS = spellings(
    (
        "thôn",
        "làng",
        "buôn",
        "bon",
        "plei",
        "tổ dân phố",
        "tổ",
        "khu",
        "khối",
        "xóm",
        "ấp",
        "bản",
        "đội",
        "tiểu khu",
        "quốc lộ",
        "tỉnh lộ",
        "đường",
        "phòng",
        "km",
        "số nhà",
        "khoảnh",
        "lô",
    )
)
_DATE_WORDS = spellings(("ngày", "hôm", "sáng", "chiều", "tối", "đêm", "đến", "từ", "tới", "tháng"))


def number_tokens(text: str) -> list[NumberToken]:
    """Every number in a text, classified.

    Dates ("20/6/2021", "tháng 1/2020"), years and year ranges ("2020-2025"),
    document numbers ("03-NQ/TU", "Kế hoạch số 07"), ordinals ("lần thứ 6",
    "khóa 18", "con thứ 3") and names ("thôn 8") are recognised so that they
    are never taken for counts. "x/y", "x trên y" and "x trong số y" are
    ratios unless the words around them make a date.

    Args:
        text: Text in NFC.

    Returns:
        The tokens in text order.

    Examples:
        >>> toks = number_tokens("Nghị quyết số 03-NQ/TU, lần thứ 6, thôn 8, 24 trong số 84, 1.639 đảng viên, 75,51%")
        >>> [(t.kind, value_text(t.value)) for t in toks]
        [('document', '3'), ('ordinal', '6'), ('name', '8'), ('ratio', '24'), ('count', '1639'), ('percent', '75.51')]
        >>> [t.kind for t in number_tokens("tháng 1/2020, nhiệm kỳ 2020-2025, từ 55 - 60 người")]
        ['date', 'year', 'range']
    """
    low = lowercase(text)
    tokens = []
    for m in _TOKEN_RE.finditer(low):
        start = m.start()
        value = _decimal(m)
        before = low[max(0, start - 40) : start]
        words = _last_words(before)
        kind, denominator = _token_kind(low, m, value, before, words)
        qualifier, hedge = _hedge(before, words) if kind in FIGURE_KINDS else ("exact", 0)
        tokens.append(NumberToken(start, m.end(), kind, value, denominator, qualifier, start - hedge))
    return tokens


#: The kinds of number that can be a figure.
FIGURE_KINDS = frozenset({"count", "percent", "ratio", "range"})


def _without_number_word(before: str, words: list[str]) -> list[str]:
    """The words before a document number without "số" / "liên tịch" ("Kế hoạch số 07")."""
    if words[-1:] == ["số"]:
        words = _last_words(before[: before.lower().rindex("số")])
    if words[-2:] == ["liên", "tịch"]:
        words = words[:-2]
    return words


def _token_kind(text: str, m: re.Match, value: Decimal, before: str, words: list[str]) -> tuple[str, Decimal | None]:
    end = m.end()
    num = m.group("num")
    if _DOC_AFTER_RE.match(text, end) or _ending(_without_number_word(before, words), _DOC_WORDS):
        return "document", None
    if text.startswith(".", end) and text[end + 1 : end + 2].isdigit():
        return "malformed", None
    if m.group("den") is not None:
        den = Decimal(m.group("den").replace(".", ""))
        slash = "/" in m.group("sep")
        if m.group("year") is not None:
            return "date", None
        if slash and _YEAR_RE.fullmatch(m.group("den")) and value <= 12:
            return "date", None
        if slash and _ending(words, _DATE_WORDS):
            return "date", None
        if m.group("pct") or m.group("mag"):
            return "malformed", None
        if value <= den:
            return "ratio", den
        return ("date" if slash and value <= 31 and den <= 12 else "malformed"), None
    if m.group("upper") is not None:
        if _YEAR_RE.fullmatch(num) and _YEAR_RE.fullmatch(m.group("upper")):
            return "year", None
        return "range", None
    if _ending(words, _ORDINAL_WORDS):
        return "ordinal", None
    if _ending(words, _NAME_WORDS) and "trưởng" not in words[:-1]:  # "thôn 8", not "trưởng thôn 29 người"
        return "name", None
    if m.group("pct"):
        return "percent", None
    if _YEAR_RE.fullmatch(num) and not m.group("mag"):
        return "year", None
    return "count", None


# ---------------------------------------------------------------- hedges

_HEDGES = {
    "more_than": ("hơn", "trên"),
    "nearly": ("gần như", "gần", "ngót", "suýt soát"),
    "about": ("trên dưới", "xấp xỉ", "khoảng", "chừng", "ước tính", "ước khoảng", "ước"),
    "at_least": ("ít nhất", "tối thiểu"),
    # hedges the raw tables have no qualifier for: the number is not coded
    None: (
        "dưới",
        "chưa đến",
        "chưa tới",
        "không quá",
        "không đến",
        "cao hơn",
        "thấp hơn",
        "nhiều hơn",
        "ít hơn",
        "hàng",
    ),
}
_HEDGE_OF = {w: q for q, words in _HEDGES.items() for w in spellings(words)}
_HEDGE_WORDS = spellings(_HEDGE_OF)
_AT_LEAST_RE = tone_variants(r"^[^\d,;.()]{0,30}?(?<!\w)trở\s+lên")


def hedge_before(prefix: str) -> tuple[str | None, int]:
    """The qualifier a hedge word right before a number gives it.

    Args:
        prefix: The text that ends where the number starts.

    Returns:
        ``(qualifier, length)``: ``exact`` and 0 when there is no hedge;
        ``more_than`` (hơn, trên), ``nearly`` (gần, ngót), ``about``
        (khoảng, xấp xỉ, trên dưới, ước), ``at_least`` (ít nhất, tối thiểu)
        with the number of characters the hedge takes; ``None`` for hedges
        the raw tables cannot code (dưới, chưa đến, cao hơn ...). "trên" is
        a hedge only directly before a number ("trên 94%"), not in "trên
        địa bàn" or "trên tổng số 84".

    Examples:
        >>> hedge_before("đạt gần "), hedge_before("có trên "), hedge_before("trên dưới ")
        (('nearly', 4), ('more_than', 5), ('about', 10))
        >>> hedge_before("trên địa bàn có "), hedge_before("chưa đến ")
        (('exact', 0), (None, 9))
    """
    return _hedge(prefix, _last_words(prefix))


def _hedge(prefix: str, words: list[str]) -> tuple[str | None, int]:
    word = _ending(words, _HEDGE_WORDS)
    if word is None:
        return "exact", 0
    return _HEDGE_OF[word], len(prefix) - len(prefix.rstrip()) + len(word)


def at_least_after(suffix: str) -> int:
    """Where "trở lên" (or more) closes the phrase after a number, else 0.

    Args:
        suffix: The text right after the number.

    Returns:
        The length of the suffix up to the end of "trở lên", or 0.

    Examples:
        >>> at_least_after(" đảng viên trở lên trong cả nhiệm kỳ")
        18
        >>> at_least_after(" đảng viên, trở lên")
        0
    """
    m = _AT_LEAST_RE.match(suffix)
    return m.end() if m else 0


# ---------------------------------------------------------------- dates and periods


class Period(NamedTuple):
    """A period or an as-of date resolved to ISO dates.

    ``point`` periods are as-of dates (``start`` is None, ``end`` is the
    date). ``basis`` says where ``end`` comes from: ``stated`` in the text,
    ``publication_date`` ("đến nay"), ``inferred`` (the end of a congress
    term, September of its last year), or ``unknown`` (no publication date
    to resolve "đến nay" against).
    """

    start: str | None
    end: str | None
    basis: str
    point: bool


class PeriodMention(NamedTuple):
    """A period phrase found in a text: its span and its resolved period."""

    start: int
    end: int
    period: Period
    kind: str = ""  # which phrase: asof, year, term, from_to ... (the group names of the period pattern)


#: "Năm qua" (the past year) in an article published up to this month means the previous year.
PAST_YEAR_UNTIL_MONTH = 6

#: Party congress terms run from the congresses of autumn of their first
#: year; the month is a convention (district congresses met June-October).
TERM_START_MONTH = 10

_DATE = (
    rf"(?:ngày\s+)?\d{{1,2}}\s?/\s?\d{{1,2}}\s?/\s?{_Y}"
    rf"|(?:ngày\s+)?\d{{1,2}}\s+tháng\s+\d{{1,2}}\s+năm\s+{_Y}"
    rf"|tháng\s+\d{{1,2}}\s?(?:/|-|năm)\s?{_Y}"
    rf"|qu[ýí]\s+(?:iv|i{{1,3}}|[1-4])\s?(?:/|năm)\s?{_Y}"
    rf"|(?:(?:đầu|cuối|hết)\s+)?năm\s+(?:{_Y}|nay)"
    r"|(?:đầu|cuối|hết)\s+năm"
    rf"|đầu\s+nhiệm\s+kỳ(?:\s+{_Y}\s?[-–]\s?{_Y})?"
    rf"|{_Y}"
)
_NOW = r"(?:thời\s+điểm\s+)?(?:hiện\s+nay|hiện\s+tại|nay)"
_PERIOD_RE = tone_variants(  # applied to lowercase text
    rf"(?P<from_to>(?:kể\s+)?từ\s+(?P<f>{_DATE})\s+(?:cho\s+)?(?:đến|tới)\s+(?:hết\s+|cuối\s+)?(?P<t>{_DATE}|{_NOW}))"
    rf"|(?P<since>(?:kể\s+)?từ\s+(?P<s>{_DATE}))(?!\s?[-–/]?\s?\d)"
    rf"|(?P<asof>(?<!\w)(?:tính\s+)?(?:đến|tới)\s+(?P<a>(?:hết\s+|cuối\s+|đầu\s+)?(?:{_DATE})|{_NOW}))"
    rf"|(?P<last_months>(?<![\d.,])(?P<ln>\d{{1,2}})\s+tháng\s+(?:vừa\s+)?qua)"
    rf"|(?P<months>(?<![\d.,])(?P<n>\d{{1,2}})\s+tháng\s+(?P<half>đầu|cuối)\s+năm(?:\s+(?P<my>{_Y}|nay))?)"
    rf"|(?P<quarter>qu[ýí]\s+(?P<q>iv|i{{1,3}}|[1-4])(?!\w)(?:\s?(?:/|năm)\s?(?P<qy>{_Y}))?)"
    rf"|(?P<term>nhiệm\s+kỳ\s+(?P<t1>{_Y})\s?[-–]\s?(?P<t2>{_Y}))"
    rf"|(?P<range>(?:giai\s+đoạn|thời\s+kỳ|\()\s?(?P<r1>{_Y})\s?[-–]\s?(?P<r2>{_Y}))"
    rf"|(?P<month>(?<!\w)tháng\s+(?P<mm>\d{{1,2}})\s?(?:/|-|năm)\s?(?P<mmy>{_Y}))"
    rf"|(?P<yearend>(?<!\w)(?:cuối|hết)\s+năm\s+(?P<ye>{_Y}))"
    rf"|(?P<year>(?<!\w)năm\s+(?P<y>{_Y}|nay)(?!\s?[-–]\s?\d))"
    r"|(?P<past_year>(?<!\w)năm\s+(?:vừa\s+)?qua)"
    rf"|(?P<compare>so\s+với\s+(?:cùng\s+kỳ\s+)?(?P<c>{_DATE}))"
    r"|(?P<now>(?<!\w)(?:hiện\s+nay|hiện\s+tại|đến\s+nay|hiện\s+có"
    r"|(?<!thực )(?<!thể )(?<!xuất )(?<!phát )(?<!biểu )hiện(?=\s)"
    r"(?!\s+(?:đại|tượng|trạng|thực|hành|diện|vật|ra|lên|rõ))))",
    0,
)
_PERIOD_START_RE = tone_variants(
    r"(?<!\w)(?:từ|kể|tính|đến|tới|quý|quí|nhiệm|giai|thời|tháng|cuối|hết|năm|so|hiện|\d{1,2}(?=\s+tháng))(?!\w)|\(", 0
)
_DMY_RE = re.compile(rf"(?:ngày\s+)?(\d{{1,2}})\s?(?:/|\s+tháng\s+)\s?(\d{{1,2}})\s?(?:/|\s+năm\s+)\s?({_Y})", re.I)
_MY_RE = re.compile(rf"tháng\s+(\d{{1,2}})\s?(?:/|-|năm)\s?({_Y})", re.I)
_Q_RE = re.compile(rf"qu[ýí]\s+(iv|i{{1,3}}|[1-4])(?!\w)(?:\s?(?:/|năm)\s?({_Y}))?", re.I)
_TERM_IN_RE = re.compile(rf"({_Y})\s?[-–]\s?({_Y})")
_YEAR_IN_RE = re.compile(_Y)
_AFTER_DOCUMENT_RE = re.compile(r"\d+-[^\W\d_]+(?:/[^\W\d_]+)*\s+$")
_QUARTERS = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}


class PartialDate(date):
    """A publication date known only to the month (``2023-04``) or the year (``2023``).

    It compares and computes as the last day it can be (an article of April
    2023 states its "đến nay" figures in April at the latest) and prints as
    given, so that a date resolved to the publication (``as_of``,
    ``period_end``) is written as partial as the source gave it.

    Examples:
        >>> d = PartialDate("2023-04")
        >>> d.isoformat(), d > date(2023, 4, 29), d.year
        ('2023-04', True, 2023)
    """

    text: str

    def __new__(cls, text: str):
        year, _, month = text.partition("-")
        last = _month_end(int(year), int(month)) if month else date(int(year), 12, 31)
        self = super().__new__(cls, last.year, last.month, last.day)
        self.text = text
        return self

    def isoformat(self) -> str:
        return self.text

    __str__ = isoformat


_PARTIAL_DATE_RE = re.compile(r"\d{4}(?:-(?:0[1-9]|1[0-2]))?")


def as_date(value: str | date | None) -> date | None:
    """A publication date given as ISO text or a date (None stays None); ``YYYY-MM`` and
    ``YYYY`` give a :class:`PartialDate`.

    Raises:
        UsageError: If the text is not an ISO date, full or partial.

    Examples:
        >>> as_date("2021-08-23")
        datetime.date(2021, 8, 23)
        >>> as_date("2023-04").isoformat(), as_date("2012").isoformat()
        ('2023-04', '2012')
        >>> as_date("23/8/2021")
        Traceback (most recent call last):
        ...
        analysis.errors.UsageError: published: expected a date as YYYY-MM-DD, YYYY-MM or YYYY, got '23/8/2021'
    """
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if _PARTIAL_DATE_RE.fullmatch(text):
        return PartialDate(text)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"expected a date as YYYY-MM-DD, YYYY-MM or YYYY, got {value!r}", field="published") from None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def term_start(on: date) -> date:
    """The start of the party congress term that contains a date.

    Terms run in five-year steps from the autumn of years divisible by five
    (2010-2015, 2015-2020, 2020-2025), starting in :data:`TERM_START_MONTH`.

    Examples:
        >>> term_start(date(2023, 6, 30)), term_start(date(2020, 8, 1))
        (datetime.date(2020, 10, 1), datetime.date(2015, 10, 1))
    """
    year = on.year - on.year % 5
    if on < date(year, TERM_START_MONTH, 1):
        year -= 5
    return date(year, TERM_START_MONTH, 1)


def _date_bounds(phrase: str, reference: date | None) -> tuple[date | None, date | None]:
    """First and last day a date phrase can mean (None when unresolvable)."""
    low = phrase.lower()
    if m := _DMY_RE.search(phrase):
        day = date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        return day, day
    if m := _MY_RE.search(phrase):
        year, month = int(m.group(2)), int(m.group(1))
        return date(year, month, 1), _month_end(year, month)
    if (m := _Q_RE.search(phrase)) and (m.group(2) or reference is not None):
        year, q = int(m.group(2) or reference.year), _QUARTERS[m.group(1).lower()]
        return date(year, 3 * q - 2, 1), _month_end(year, 3 * q)
    if "nhiệm kỳ" in low:
        if m := _TERM_IN_RE.search(phrase):
            first = date(int(m.group(1)), TERM_START_MONTH, 1)
        elif reference is not None:
            first = term_start(reference)
        else:
            return None, None
        return first, first
    years = _YEAR_IN_RE.findall(phrase)
    if years:
        year = int(years[0])
    elif reference is not None:
        year = reference.year
    else:
        return None, None
    if low.startswith(("cuối", "hết")):
        return date(year, 12, 31), date(year, 12, 31)
    if low.startswith("đầu"):
        return date(year, 1, 1), date(year, 1, 1)
    return date(year, 1, 1), date(year, 12, 31)


def _is_now(phrase: str) -> bool:
    return phrase.lower().split()[-1] in ("nay", "tại")


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _resolve(m: re.Match, published: date | None) -> Period:
    kind, g = m.lastgroup, m.group
    if kind == "from_to":
        to_now = _is_now(g("t"))
        end = published if to_now else _date_bounds(g("t"), published)[1]
        start = _date_bounds(g("f"), end or published)[0]
        basis = ("publication_date" if published else "unknown") if to_now else "stated"
        return Period(_iso(start), _iso(end), basis, False)
    if kind == "since":
        start = _date_bounds(g("s"), published)[0]
        return Period(_iso(start), _iso(published), "publication_date" if published else "unknown", False)
    if kind == "asof":
        if _is_now(g("a")):
            return publication_period(published)
        first, end = _date_bounds(g("a"), published)
        if g("a").lower().startswith("đầu") and first is not None:  # "đến đầu tháng 7/2023": the 1st of July
            end = first
        return Period(None, _iso(end), "stated", True)
    if kind == "months":
        year = g("my")
        year = published.year if (year is None or year.lower() == "nay") and published else year
        if year is None:
            return Period(None, None, "unknown", False)
        n, year = min(int(g("n")), 12), int(year)
        if g("half").lower() == "đầu":
            return Period(date(year, 1, 1).isoformat(), _month_end(year, n).isoformat(), "stated", False)
        return Period(date(year, 13 - n, 1).isoformat(), date(year, 12, 31).isoformat(), "stated", False)
    if kind == "last_months":  # "6 tháng qua": the N whole months before the month of publication
        if published is None:
            return Period(None, None, "unknown", False)
        months = published.year * 12 + published.month - 1
        first, last = months - min(int(g("ln")), 24), months - 1
        return Period(
            date(first // 12, first % 12 + 1, 1).isoformat(),
            _month_end(last // 12, last % 12 + 1).isoformat(),
            "inferred",
            False,
        )
    if kind == "quarter":
        first, last = _date_bounds(m.group(0), published)
        return Period(_iso(first), _iso(last), "stated", False)
    if kind == "term":
        first = date(int(g("t1")), TERM_START_MONTH, 1)
        last = date(int(g("t2")), TERM_START_MONTH - 1, 30)
        if published is not None and first <= published < last:
            return Period(first.isoformat(), published.isoformat(), "publication_date", False)
        return Period(first.isoformat(), last.isoformat(), "inferred", False)
    if kind == "range":
        first, last = date(int(g("r1")), 1, 1), date(int(g("r2")), 12, 31)
        if published is not None and first <= published < last and published.year == last.year:
            return Period(first.isoformat(), published.isoformat(), "publication_date", False)
        return Period(first.isoformat(), last.isoformat(), "stated", False)
    if kind == "month":
        first, last = _date_bounds(m.group(0), published)
        return Period(_iso(first), _iso(last), "stated", False)
    if kind == "yearend":
        return Period(None, f"{g('ye')}-12-31", "stated", True)
    if kind == "year":
        if g("y").lower() == "nay":
            if published is None:
                return Period(None, None, "unknown", False)
            year = published.year
        else:
            year = int(g("y"))
        if published is not None and published.year == year:
            return Period(f"{year}-01-01", published.isoformat(), "publication_date", False)
        return Period(f"{year}-01-01", f"{year}-12-31", "stated", False)
    if kind == "past_year":  # "năm qua": early in a year, the year before; later, this year so far
        if published is None:
            return Period(None, None, "unknown", False)
        if published.month <= PAST_YEAR_UNTIL_MONTH:
            return Period(f"{published.year - 1}-01-01", f"{published.year - 1}-12-31", "inferred", False)
        return Period(f"{published.year}-01-01", published.isoformat(), "publication_date", False)
    if kind == "compare":
        start = _date_bounds(g("c"), published)[0]
        return Period(_iso(start), _iso(published), "publication_date" if published else "unknown", False)
    return publication_period(published)


def publication_period(published: str | date | None) -> Period:
    """The as-of date of a figure stated "now": the publication date.

    Examples:
        >>> publication_period("2021-08-23")
        Period(start=None, end='2021-08-23', basis='publication_date', point=True)
        >>> publication_period(None)
        Period(start=None, end=None, basis='unknown', point=True)
    """
    published = as_date(published)
    if published is None:
        return Period(None, None, "unknown", True)
    return Period(None, published.isoformat(), "publication_date", True)


def find_periods(text: str, published: str | date | None) -> list[PeriodMention]:
    """Every period or as-of phrase in a text, resolved to ISO dates.

    Understood: "từ X đến nay / đến ngày D" (from-to), "từ X" (since X, to
    the publication date), "tính đến ngày D", "đến cuối năm Y" (as of),
    "N tháng đầu năm Y", "quý I/Y", "tháng M/Y", "năm Y", "cuối năm Y",
    "năm qua" (the previous year up to June, else the year so far, inferred),
    "nhiệm kỳ Y1-Y2", "giai đoạn Y1-Y2" / "(Y1-Y2)", "so với X" (a change
    since X), and "hiện nay", "hiện có", "đến nay" (as of the publication
    date). A bare date ("Nghị quyết ... ngày 18/3/2016") is not a period.

    Args:
        text: Text in NFC.
        published: The publication date (``None`` when the source is
            undated: "đến nay" then resolves to an unknown end).

    Returns:
        The mentions in text order.

    Examples:
        >>> [m.period for m in find_periods("Tính đến ngày 20/6/2021, huyện có", "2021-08-23")]
        [Period(start=None, end='2021-06-20', basis='stated', point=True)]
        >>> find_periods("6 tháng đầu năm 2023", None)[0].period
        Period(start='2023-01-01', end='2023-06-30', basis='stated', point=False)
        >>> find_periods("trong nhiệm kỳ 2020-2025", "2023-07-10")[0].period
        Period(start='2020-10-01', end='2023-07-10', basis='publication_date', point=False)
        >>> find_periods("Nghị quyết số 03-NQ/TU ngày 18/3/2016", "2021-08-23")
        []
    """
    published = as_date(published)
    low = lowercase(text)
    mentions, done = [], 0
    # the full pattern is tried only where one of its first words starts: ten times faster than finditer
    for anchor in _PERIOD_START_RE.finditer(low):
        if anchor.start() < done or not (m := _PERIOD_RE.match(low, anchor.start())):
            continue
        done = m.end()
        if m.lastgroup == "year" and _AFTER_DOCUMENT_RE.search(low, max(0, m.start() - 12), m.start()):
            continue  # "Nghị quyết 22-NQ/TW năm 2008" dates the document, not the figures
        try:
            period = _resolve(m, published)
        except ValueError:  # an impossible date ("tháng 13/2023", "31/2/2023"): the phrase dates nothing
            continue
        if period.start and period.end and period.start > period.end:
            continue  # "từ tháng 5/2023 đến tháng 2/2023": a misprint, not a period
        mentions.append(PeriodMention(m.start(), m.end(), period, m.lastgroup))
    return mentions


def resolve_period(phrase: str, published: str | date | None) -> Period | None:
    """The period the first period phrase of a text means.

    Args:
        phrase: Text containing a period phrase.
        published: The publication date, or None.

    Returns:
        The :class:`Period`, or None if the text has no period phrase.

    Examples:
        >>> resolve_period("từ đầu nhiệm kỳ đến ngày 30/6/2023", None)
        Period(start='2020-10-01', end='2023-06-30', basis='stated', point=False)
        >>> resolve_period("nhiệm kỳ 2020-2025", None)
        Period(start='2020-10-01', end='2025-09-30', basis='inferred', point=False)
        >>> resolve_period("Toàn huyện có", "2021-08-23") is None
        True
    """
    found = find_periods(phrase, published)
    return found[0].period if found else None


# ---------------------------------------------------------------- paragraphs and sentences

_PARAGRAPH_RE = re.compile(r"[^\r\n]*\S[^\r\n]*")
_SENTENCE_END_RE = re.compile(r"[.!?…]+[\"”’)]*\s+")
_ABBREVIATIONS = ("tp.", "tx.", "tt.", "ths.", "ts.", "pgs.", "gs.", "bs.", "q.", "p.")
_LAST_WORD_RE = re.compile(r"\S+$")


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every non-blank line, the unit a locator counts.

    Examples:
        >>> paragraph_spans("Tiêu đề\\n\\nĐoạn một.\\nĐoạn hai.")
        [(0, 7), (9, 18), (19, 28)]
    """
    return [m.span() for m in _PARAGRAPH_RE.finditer(text)]


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` of the sentences of a paragraph.

    A sentence ends at ".", "!", "?" or "…" followed by a space and a
    capital letter, a digit or an opening quote; "TP. Kon Tum" and the
    thousands dot of "1.639" do not end one.

    Args:
        text: The text.
        start: Where the paragraph starts.
        end: Where it ends (default: the end of the text).

    Examples:
        >>> s = "TP. Kon Tum có 1.639 đảng viên. Toàn huyện có 84 thôn."
        >>> [s[a:b] for a, b in sentence_spans(s)]
        ['TP. Kon Tum có 1.639 đảng viên.', 'Toàn huyện có 84 thôn.']
    """
    end = len(text) if end is None else end
    spans, current = [], start
    for m in _SENTENCE_END_RE.finditer(text, start, end):
        nxt = text[m.end() : m.end() + 1]
        if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in '"“('):
            continue
        word = _LAST_WORD_RE.search(text, current, m.start() + 1)
        if word and word.group(0).lower() in _ABBREVIATIONS:
            continue
        spans.append((current, m.start() + len(m.group(0).rstrip())))
        current = m.end()
    if current < end:
        spans.append((current, end))
    return spans
