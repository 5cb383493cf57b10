"""The words of the reports, in English and Vietnamese, from catalogues a translator can edit.

The texts live in ``analysis/reports/catalogue/en.yml`` and ``vi.yml``, one
file per language with the same keys: ``narrative`` (paragraphs with
``{placeholders}``), ``columns`` (table headers), ``qualifiers`` (hedge
words), ``severities``, ``rules`` (what each quality check means),
``families``, ``caveats``, ``anchors`` (how a national benchmark is cited) and
``words``. They are read once, when this module is imported, into the
dictionaries below; :func:`narrate` and :func:`say` render a paragraph with
its values escaped.

Examples:
    >>> narrate("artifact_skipped", "vi")
    'Không có tham số `output_json`, nên không ghi bản tóm tắt dạng máy đọc.'
    >>> COLUMNS["unit_label"]
    ('Unit', 'Đơn vị')
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import yaml

from analysis.errors import UsageError

#: Languages of the reports, in the order of the pairs below.
LANGUAGES = ("en", "vi")
CATALOGUE_DIR = Path(__file__).with_name("catalogue")


def load_catalogue(lang: str) -> dict:
    """One language's catalogue: section -> key -> text.

    Args:
        lang: ``'en'`` or ``'vi'``.

    Returns:
        The parsed ``catalogue/<lang>.yml``.

    Examples:
        >>> sorted(load_catalogue("en"))[:3]
        ['anchors', 'caveats', 'columns']
    """
    with open(CATALOGUE_DIR / f"{lang}.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)


_CATALOGUES = {lang: load_catalogue(lang) for lang in LANGUAGES}


def _pairs(section: str) -> dict[str, tuple[str, str]]:
    """``key -> (English, Vietnamese)`` for one section (keys of the English catalogue)."""
    return {key: tuple(_CATALOGUES[lang][section].get(key) for lang in LANGUAGES) for key in _CATALOGUES["en"][section]}


#: Narrative paragraphs of the three reports, by key and language.
NARRATIVE = {key: dict(zip(LANGUAGES, pair)) for key, pair in _pairs("narrative").items()}
#: Table column labels, by column name: (English, Vietnamese).
COLUMNS = _pairs("columns")
#: Hedge words of the ``qualifier`` column (empty for exact figures).
QUALIFIERS = _pairs("qualifiers")
SEVERITIES = _pairs("severities")
#: What each quality check (``analysis.data.quality.RULES``) means, in plain words.
RULE_MEANINGS = _pairs("rules")
FAMILY_LABELS = _pairs("families")
#: Caveats of a comparison: id -> (English, Vietnamese). ``{items}`` names each district concerned with the
#: metric and, where a quality check is the cause, the figures (ids) involved; ``{units}`` only the districts.
CAVEATS = _pairs("caveats")
#: How a national benchmark is cited, by metric: (English, Vietnamese).
ANCHOR_TEXTS = _pairs("anchors")
#: How a caveat item names the figures (ids) involved.
FIGURES_WORD = _pairs("words")["figures"]


def pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "vi" else pair[0]


class Narration(str):
    """Markdown made by :func:`narrate`, its values already escaped: quoted as it is by another narration."""


def narrate(key: str, lang: str, **values) -> Narration:
    """One narrative paragraph in English or Vietnamese, with values filled in.

    The values are data (a unit's full name, a source title ...): each is
    HTML-escaped before it goes into the Markdown, so markup in the data
    shows as text and never reaches the report as markup; the paragraph's own
    Markdown is kept. See :func:`markdown_value`.

    Args:
        key: A key of :data:`NARRATIVE`.
        lang: ``'en'`` or ``'vi'``.
        **values: The placeholders of the paragraph.

    Returns:
        Markdown text.

    Raises:
        UsageError: Unknown key or language.

    Examples:
        >>> narrate("flags_none", "en")
        'No quality check raised a flag on these figures.'
        >>> narrate("profile_title", "en", full_name="<b>Kon Rẫy</b>", province="Kon Tum")
        '# Profile of &lt;b&gt;Kon Rẫy&lt;/b&gt;, Kon Tum province'
    """
    if key not in NARRATIVE:
        raise UsageError(f"no narrative {key!r}", field="key")
    if lang not in ("en", "vi"):
        raise UsageError(f"lang must be 'en' or 'vi'; got {lang!r}", field="lang")
    template = NARRATIVE[key][lang]
    in_code = {name for name in values if template.count(f"`{{{name}}}`") == template.count(f"{{{name}}}") > 0}
    return Narration(
        template.format(**{name: markdown_value(value, name in in_code) for name, value in values.items()})
    )


#: Markdown punctuation that would turn a value into a link, an image, emphasis or code (escaped with a backslash).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]])")


def markdown_value(value, in_code_span: bool = False) -> str:
    """A value as narration quotes it: data text escaped, so that markup in the data shows as text.

    ``<``, ``>`` and ``&`` are HTML-escaped (nbconvert passes raw HTML in
    Markdown through to the report), and the Markdown punctuation of links,
    images, emphasis and code gets a backslash (nbconvert keeps
    ``javascript:`` links). A :class:`Narration` is already escaped and is
    kept as it is. Inside a code span (a placeholder between backticks)
    Markdown shows the text literally, entities included, so a value there is
    kept as it is, unless it holds a backtick, which would end the span.

    Args:
        value: Text, a number or a :class:`Narration`.
        in_code_span: Whether the placeholder is the whole of a code span.

    Returns:
        The text to put in the Markdown.

    Examples:
        >>> markdown_value("<script>alert(2)</script> & Co"), markdown_value(1639)
        ('&lt;script&gt;alert(2)&lt;/script&gt; &amp; Co', '1639')
        >>> print(markdown_value("[Kon Rẫy](javascript:alert(1)) *_x_*"))
        \\[Kon Rẫy\\](javascript:alert(1)) \\*\\_x\\_\\*
        >>> markdown_value("R&D/raw", in_code_span=True), markdown_value("a`<b>", in_code_span=True)
        ('R&D/raw', 'a\\\\`&lt;b&gt;')
    """
    text = str(value)
    if isinstance(value, Narration) or (in_code_span and "`" not in text):
        return text
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(text, quote=False))


def say(*keys: str, lang: str, **values):
    """:func:`narrate` of one or more paragraphs, as Markdown for a notebook to display.

    Examples:
        >>> print(say("rejects_heading", "rejects_none", lang="en").data)
        ## Rejected rows
        <BLANKLINE>
        No row was rejected.
    """
    from IPython.display import Markdown

    return Markdown("\n\n".join(narrate(key, lang, **values) for key in keys))
