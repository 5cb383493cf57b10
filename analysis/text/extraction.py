"""Article text -> candidate observations for a researcher to review.

:func:`extract_figures` reads a Vietnamese article and proposes the figures a
careful coder would take from it, in the raw observations schema plus review
columns. Nothing here writes to ``data/raw``: the proposals go to a
candidates file, a person marks each ``accept`` y/n, and ``python -m
analysis extract --accept`` appends the accepted ones (``docs/extraction.md``).

How a figure is found, sentence by sentence:

1. :func:`analysis.text.vietnamese.number_tokens` classifies every number; dates,
   years, ordinals, document numbers and names ("thôn 8") are never figures.
2. The number's *family* is set by the nearest action word before it in its
   clause ("kết nạp", "kỷ luật", "kiểm tra", "phân công", "tăng" ...) or by
   a passive one right after its noun ("bị kỷ luật", "được phân công"); a
   clause opening with "trong đó" / "gồm" continues the clause before it. A
   plan word ("phấn đấu", "chỉ tiêu", "sẽ") makes the number a target: an
   admissions target, or nothing.
3. The *head noun* after the number (đảng viên, tổ chức cơ sở đảng, chi bộ,
   thôn, trưởng thôn, hộ, cuộc ...) and the words around it select the first
   matching row of :data:`RULES`, the table of indicator patterns.
   Percentages are named by the phrase after or before them
   (:data:`PERCENT_AFTER`, :data:`PERCENT_BEFORE`) or else are the share of
   the count printed beside them; such a share is checked arithmetically,
   and one whose base is another number of the sentence (24 of 69 where the
   codebook's base is the 84 villages) is not proposed.
4. The hedge before the number (or "trở lên" after it) gives the qualifier,
   the nearest period phrase the dates (:mod:`analysis.text.vietnamese`), and a
   commune, village or district named before it in the sentence the scope.

All word lists (:mod:`analysis.text.patterns`) are found in one pass over the lowercased article
(:data:`LEXICON`), which is what makes extraction run at megabytes per
second. The codebook supplies each indicator's kind (stock: ``as_of``;
flow: a period), its English label, its parent (the total a breakdown part
belongs to, which is also the denominator of a ratio such as "69/84 trưởng
thôn") and the share indicator of a count; only codebook indicators are
proposed.

Examples:
    >>> text = "Tính đến ngày 20/6/2021, Đảng bộ huyện có 1.639 đảng viên."
    >>> found = extract_figures(text, unit="Kon Rẫy, Kon Tum", published="2021-08-23", source_id="S000")
    >>> found[["indicator", "value", "as_of", "period_end_basis", "phrase"]].to_dict("records")
    [{'indicator': 'party_members', 'value': '1639', 'as_of': '2021-06-20', 'period_end_basis': 'stated',
      'phrase': '1.639 đảng viên'}]
"""

from __future__ import annotations

import gc
from datetime import date
from pathlib import Path

import pandas as pd

from analysis.errors import InputError, UsageError
from analysis.text.names import clean_name, fix_text, strip_prefix
from analysis.text.reader import Article, Found
from analysis.text.review import CANDIDATE_COLUMNS
from analysis.text.vietnamese import as_date, value_text
from analysis.text.vocabulary import Vocabulary, read_codebook

#: Articles larger than this are refused (a newspaper article is a few kB).
MAX_ARTICLE_BYTES = 20 * 1024 * 1024


# ---------------------------------------------------------------- reading an article


def read_article(path: Path | str, max_bytes: int = MAX_ARTICLE_BYTES) -> str:
    """Read an article file as NFC text, refusing what cannot be an article.

    Args:
        path: A UTF-8 text file (a byte-order mark is allowed).
        max_bytes: The largest file accepted.

    Returns:
        The text, NFC-normalised with the Eth letter fixed.

    Raises:
        InputError: The file is missing, larger than ``max_bytes``, empty
            (or only whitespace), binary (contains a NUL byte), or not UTF-8
            (the message gives the byte offset).

    Examples:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = p.write_bytes("Có 1.639 đảng viên".encode("utf-8") + b"\\xff")
        >>> read_article(p)
        Traceback (most recent call last):
        ...
        analysis.errors.InputError: .../a.txt: not UTF-8 text: byte 0xff at byte offset 23; save the article as UTF-8
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    if size > max_bytes:
        raise InputError(
            f"file is {size / 2**20:.1f} MB; the limit for an article is {max_bytes / 2**20:g} MB", file=path
        )
    data = path.read_bytes()
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(f"binary file (NUL byte at byte offset {nul}); expected UTF-8 text", file=path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            f"not UTF-8 text: byte 0x{data[err.start]:02x} at byte offset {err.start}; save the article as UTF-8",
            file=path,
        ) from None
    if not text.strip():
        raise InputError("empty file: no article text", file=path)
    return fix_text(text)


# ---------------------------------------------------------------- extraction


def extract_figures(
    text: str,
    *,
    unit: str,
    published: str | date | None,
    source_id: str,
    codebook: pd.DataFrame | Vocabulary | None = None,
    language: str = "vi",
) -> pd.DataFrame:
    """Propose the figures of a Vietnamese article as candidate observations.

    Args:
        text: The article (title on the first line, one paragraph per line).
        unit: The district the article is about, with its province:
            ``"Kon Rẫy, Kon Tum"`` (a "huyện" prefix is dropped).
        published: The publication date (``YYYY-MM-DD``), or None when the
            article is undated ("đến nay" then has an unknown end).
        source_id: The source id for every row (``NEW`` for a source not
            yet in ``sources.csv``).
        codebook: The codebook table, or a :class:`Vocabulary` built from it
            (default: ``codebook.csv`` of the raw folder); only its
            indicators are proposed.
        language: Only ``"vi"`` (English outlets write numbers differently).

    Returns:
        One row per candidate, columns :data:`CANDIDATE_COLUMNS`, all text
        as in the raw tables: the raw observation columns (``obs_id``
        provisional ``NEW-001`` ...; ``locator`` ``para N, chars a-b`` or
        ``title, chars a-b``; ``status`` ``published``; ``note`` the
        position and an English gloss, never article text), then
        ``span_start``/``span_end`` (offsets in the NFC text), ``phrase``
        (the matched words, for the reviewer only), ``confidence`` (0-1),
        ``parent_candidate`` (the total a breakdown part belongs to) and an
        empty ``accept``. A figure printed again (a repeated paragraph, the
        title, a ratio's base) is proposed once; its note says where else.

    Raises:
        UsageError: A language other than Vietnamese, a malformed date or unit.

    Examples:
        >>> text = ("Kon Rẫy sắp xếp chi bộ\\n"
        ...         "Từ tháng 1/2020 đến nay, huyện thi hành kỷ luật 22 đảng viên, trong đó khai trừ 03, "
        ...         "cảnh cáo 02. Xã Đăk Kôi có 100% thôn trưởng là đảng viên.")
        >>> found = extract_figures(text, unit="Kon Rẫy, Kon Tum", published="2021-08-23", source_id="NEW")
        >>> cols = ["obs_id", "indicator", "value", "period_start", "unit_name", "parent_candidate"]
        >>> for row in found[cols].itertuples(index=False):
        ...     print(*row)
        NEW-001 disciplined_members 22 2020-01-01 Kon Rẫy
        NEW-002 disciplined_expulsion 3 2020-01-01 Kon Rẫy NEW-001
        NEW-003 disciplined_warning 2 2020-01-01 Kon Rẫy NEW-001
        NEW-004 village_heads_party_members_share 100  Đăk Kôi
    """
    if language != "vi":
        raise UsageError(f"only Vietnamese text ('vi') is supported, not {language!r}", field="language")
    if not isinstance(codebook, Vocabulary):
        codebook = Vocabulary.from_codebook(codebook if codebook is not None else read_codebook())
    district, province = split_unit(unit)
    article = Article(fix_text(text), as_date(published), codebook, district, province)
    collecting = gc.isenabled()
    gc.disable()  # reading makes millions of small acyclic objects on a long text: no cycles to collect
    try:
        found = _deduplicate(_link_parts(article.read(), codebook))
    finally:
        if collecting:
            gc.enable()
    return _to_frame(found, article.text, source_id=source_id, province=province)


def split_unit(unit: str) -> tuple[str, str]:
    """The district and province of a ``"District, Province"`` argument.

    The last comma outside brackets separates them, so a name that carries
    its former communes in brackets keeps them; a "huyện" prefix is dropped.

    Raises:
        UsageError: No district name.

    Examples:
        >>> split_unit("huyện Kon Rẫy, Kon Tum")
        ('Kon Rẫy', 'Kon Tum')
        >>> split_unit("Tiên Tốc (Bình An, Lâm Bình), Tuyên Quang")
        ('Tiên Tốc (Bình An, Lâm Bình)', 'Tuyên Quang')
        >>> split_unit("Tiên Tốc (Bình An, Lâm Bình)")
        ('Tiên Tốc (Bình An, Lâm Bình)', '')
    """
    depth, cut = 0, -1
    for i, char in enumerate(unit):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            cut = i
    name, province = (unit[:cut], unit[cut + 1 :]) if cut >= 0 else (unit, "")
    name = strip_prefix(name) if name.strip() else ""
    if not name:
        raise UsageError(f"expected 'District, Province', got {unit!r}", field="unit")
    return name, clean_name(province)


# ---------------------------------------------------------------- after reading: links, duplicates, frame


def _link_parts(found: list[Found], vocab: Vocabulary) -> list[Found]:
    """Point each breakdown part at the nearest earlier total of the same place in its paragraph.

    One pass with the last index of every (paragraph, indicator, place): linear however long a paragraph is.
    A disciplining body's count (``disciplined_members_by_inspection_commissions``) is the total of the
    forms printed after it.
    """
    last: dict[tuple, int] = {}
    for i, part in enumerate(found):
        parent = vocab.parent.get(part.indicator)
        if parent is not None and not part.restated:
            j = last.get((part.para, parent, part.names))
            if j is not None:
                part.parent = j
        total = vocab.parent.get(part.indicator, "")
        if part.indicator.startswith(f"{total}_by_"):  # one body's count is the total its forms break down
            last[(part.para, total, part.names)] = i
        last[(part.para, part.indicator, part.names)] = i
    return found


def _deduplicate(found: list[Found]) -> list[Found]:
    """One candidate per fact: the first of the figures with the same indicator, value, unit, qualifier and
    place, wherever they are printed (the title, a repeated paragraph, a ratio's base printed again).

    The kept candidate takes the best-dated period among them (a stated period before an inferred one,
    before the publication date) and its note says where else the figure is printed.
    """

    def key(f):
        return f.indicator, f.value, f.unit, f.qualifier, f.scope, f.names

    first_of: dict[tuple, int] = {}
    alias: dict[int, int] = {}
    order = sorted(range(len(found)), key=lambda i: found[i].title)  # body first: the title repeats it
    for i in order:
        f = found[i]
        first = first_of.setdefault(key(f), i)
        if first == i:
            continue
        alias[i] = first
        kept = found[first]
        if _DATING.index(f.period.basis) < _DATING.index(kept.period.basis):
            kept.period = f.period
        _note_also(kept, "title" if f.title else f"para {f.para}")
    kept = [i for i in range(len(found)) if i not in alias]
    numbers = {i: n for n, i in enumerate(kept, start=1)}
    for i in kept:
        f = found[i]
        f.parent = numbers.get(alias.get(f.parent, f.parent)) if f.parent is not None else None
    return [found[i] for i in kept]


#: How well a period is known, best first.
_DATING = ("stated", "inferred", "publication_date", "unknown")


def _note_also(found: Found, where: str) -> None:
    note = f"also printed at {where}"
    if note not in found.notes:
        found.notes.append(note)


def _to_frame(found: list[Found], text: str, *, source_id: str, province: str) -> pd.DataFrame:
    rows = []  # dicts turned into columns at the end: much faster than growing a frame
    for n, f in enumerate(found, start=1):
        a, b = f.span
        where = "title" if f.title else f"para {f.para}"
        stock = f.kind == "stock"
        rows.append(
            {
                "obs_id": f"NEW-{n:03d}",
                "source_id": source_id,
                "locator": f"{where}, chars {a}-{b}",
                "unit_name": f.names[0],
                "province": province,
                "scope": f.scope,
                "indicator": f.indicator,
                "value": value_text(f.value),
                "unit": f.unit,
                "qualifier": f.qualifier,
                "as_of": (f.period.end or "") if stock else "",
                "period_start": "" if stock else (f.period.start or ""),
                "period_end": "" if stock else (f.period.end or ""),
                "period_end_basis": f.period.basis,
                "status": "published",
                "note": "; ".join([f"chars {a}-{b}: {f.gloss}"] + f.notes),
                "span_start": str(a),
                "span_end": str(b),
                "phrase": text[a:b],
                "confidence": f"{f.confidence:.2f}",
                "parent_candidate": f"NEW-{f.parent:03d}" if f.parent else "",
                "accept": "",
            }
        )
    return pd.DataFrame({c: [r[c] for r in rows] for c in CANDIDATE_COLUMNS}, dtype="str")
