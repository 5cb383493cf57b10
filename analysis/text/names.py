"""Vietnamese place names: one spelling for comparison, one key for matching.

Sources spell the same place in several ways: NFC or NFD Unicode, the Eth
letter "Ð" (U+00D0) typed for "Đ" (U+0110), "Đăk" or "Đắk", with or without
"huyện" / "thành phố" / "TP.", "Ia H'Drai" or "Ia H' Drai". This module turns
a name into

* a *clean* spelling (:func:`clean_name`): NFC, Eth fixed, whitespace
  collapsed, for display and for exact comparison;
* a *bare* spelling (:func:`strip_prefix`): the clean spelling without the
  leading administrative type;
* a *key* (:func:`name_key`): the bare spelling without diacritics, spaces,
  apostrophes or hyphens, lowercase, with "đ" read as "d", so that every
  variant above meets.

Columns of names repeat a lot, so the Series versions work on the distinct
values and broadcast the result back (:func:`on_distinct`).

Examples:
    >>> name_key("Huyện Đắk Hà") == name_key("Dak Ha") == "dakha"
    True
    >>> strip_prefix("TP. Kon Tum")
    'Kon Tum'
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

#: Administrative types that may precede a name, longest first so that
#: "thành phố" wins over a shorter prefix; matched case-insensitively.
ADMIN_PREFIXES = ("thành phố", "thị trấn", "thị xã", "huyện", "phường", "quận", "tỉnh", "xã", "tp.", "tp")

ETH_FIXES = {"\u00d0": "\u0110", "\u00f0": "\u0111"}

_PREFIX_RE = re.compile(
    r"^(?:" + "|".join(re.escape(p) for p in ADMIN_PREFIXES if not p.endswith(".")) + r")\s+"
    r"|^tp\.\s*",
    re.IGNORECASE,
)
_SPACES_RE = re.compile(r"\s+")
_NOT_ALNUM_RE = re.compile(r"[^0-9a-z]+")


def fix_text(text: str) -> str:
    """NFC-normalise a text and replace the Eth letter by D with stroke.

    This is safe for whole files: Eth does not occur in Vietnamese.

    Args:
        text: Any text.

    Returns:
        The text in NFC with "Ð"/"ð" replaced by "Đ"/"đ".

    Examples:
        >>> nfd = unicodedata.normalize("NFD", "Đắk Hà")
        >>> len(nfd), len(fix_text(nfd))
        (9, 6)
        >>> fix_text("\u00d0ăk Hà")
        'Đăk Hà'
    """
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    for eth, d_stroke in ETH_FIXES.items():
        text = text.replace(eth, d_stroke)
    return text


def clean_name(name: str) -> str:
    """The comparable spelling of a name: NFC, Eth fixed, single spaces, trimmed.

    Args:
        name: A place name as printed.

    Returns:
        The cleaned name (letters and prefixes kept).

    Examples:
        >>> clean_name("  Huyện   \u00d0ăk  Hà ")
        'Huyện Đăk Hà'
    """
    return _SPACES_RE.sub(" ", fix_text(name)).strip()


def strip_prefix(name: str) -> str:
    """Remove one leading administrative type (huyện, thành phố, TP., xã ...).

    Args:
        name: A place name.

    Returns:
        The cleaned name without its type; the name itself if it has none or
        if nothing would be left.

    Examples:
        >>> strip_prefix("huyện Đắk Hà")
        'Đắk Hà'
        >>> strip_prefix("Thị trấn Đăk Rve")
        'Đăk Rve'
        >>> strip_prefix("Xã")
        'Xã'
    """
    cleaned = clean_name(name)
    bare = _PREFIX_RE.sub("", cleaned, count=1).strip()
    return bare or cleaned


def name_key(name: str) -> str:
    """Accent-, case-, space- and prefix-insensitive key of a place name.

    Args:
        name: A place name in any spelling.

    Returns:
        Lowercase ASCII letters and digits only; "đ" becomes "d".

    Examples:
        >>> name_key("Đăk Hà"), name_key("ÐẮK HÀ"), name_key("huyện Đắk Hà")
        ('dakha', 'dakha', 'dakha')
        >>> name_key("Ia H' Drai") == name_key("Ia HDrai") == "iahdrai"
        True
    """
    bare = strip_prefix(name).lower().replace("đ", "d")
    ascii_only = "".join(c for c in unicodedata.normalize("NFD", bare) if not unicodedata.combining(c))
    return _NOT_ALNUM_RE.sub("", ascii_only)


def distinct_values(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes and distinct values of a Series (a categorical's own, or factorised).

    Args:
        values: A Series, plain or categorical.

    Returns:
        ``(codes, uniques)`` with ``uniques[codes] == values``; code -1 marks a missing value.

    Examples:
        >>> codes, uniques = distinct_values(pd.Series(["b", "a", "b"]))
        >>> codes.tolist(), list(uniques)
        ([0, 1, 0], ['b', 'a'])
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), values.cat.categories
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, pd.Index(uniques)


def combined_codes(*columns) -> np.ndarray:
    """One dense integer per distinct combination of several aligned columns.

    Rows with equal values in every column get the same code (missing
    values count as equal), numbered in order of first appearance: a cheap
    single key for grouping and joining on several columns at once.

    Args:
        *columns: Series or arrays of the same length (plain, categorical or numeric).

    Returns:
        An int64 array of codes ``0 .. k-1``.

    Examples:
        >>> combined_codes(pd.Series(["a", "b", "a", "a"]), np.array([1, 1, 1, 2])).tolist()
        [0, 1, 0, 2]
    """
    combo, size = np.zeros(len(columns[0]), dtype=np.int64), 1  # every value of combo is below size
    for column in columns:
        codes, count = _dense_codes(column)
        if size * (count + 1) >= 2**62:  # make room: renumber the combinations so far
            combo = pd.factorize(combo)[0]
            size = int(combo.max(initial=0)) + 1
        combo = combo * (count + 1) + codes + 1
        size *= count + 1
    return pd.factorize(combo)[0]


def _dense_codes(column) -> tuple[np.ndarray, int]:
    """Integer codes of a column (-1 = missing) and how many there can be; small non-negative integers as they are."""
    values = np.asarray(column) if not isinstance(column, pd.Series) else column
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu" and len(values):
        low, high = values.min(), values.max()
        if low >= 0 and high < 4 * len(values) + 1024:  # already codes (such as a categorical's)
            return values.astype(np.int64, copy=False), int(high) + 1
    codes, uniques = distinct_values(pd.Series(column))
    return codes.astype(np.int64, copy=False), len(uniques)


def on_distinct(values: pd.Series, func: Callable[[str], object], categorical: bool = False) -> pd.Series:
    """Apply a scalar function once per distinct value of a Series.

    Text columns of the raw tables repeat a handful of names, dates and
    codes over thousands of rows; this computes each distinct value once and
    broadcasts the results back. A categorical Series is not even factorised
    again: its categories are the distinct values. Missing values stay
    missing.

    Args:
        values: A Series of strings, plain or categorical (missing values allowed).
        func: A function of one string.
        categorical: Return a categorical Series (for text results that
            repeat: cheap to compare, group and convert later).

    Returns:
        A Series aligned with ``values``: objects, or a categorical.

    Examples:
        >>> on_distinct(pd.Series(["Dak Ha", None, "Đắk Hà"]), name_key).tolist()
        ['dakha', nan, 'dakha']
        >>> on_distinct(pd.Series(["a", "b", "a"], dtype="category"), str.upper, categorical=True).cat.categories
        Index(['A', 'B'], dtype='object')
    """
    codes, uniques = distinct_values(values)
    results = np.empty(len(uniques), dtype=object)
    results[:] = [func(u) for u in uniques.to_numpy(dtype=object)]  # a pandas array is slow to iterate
    if categorical:
        result_codes, categories = pd.factorize(results, use_na_sentinel=True)
        codes = np.append(result_codes, -1)[codes]
        array = pd.Categorical.from_codes(codes, categories=pd.Index(categories, dtype=object))
        return pd.Series(array, index=values.index, name=values.name)
    return pd.Series(np.append(results, np.nan)[codes], index=values.index, name=values.name)


def name_keys(names: pd.Series) -> pd.Series:
    """:func:`name_key` over a Series, computed once per distinct name.

    Args:
        names: Place names (plain or categorical Series).

    Returns:
        Their keys, aligned with ``names``.

    Examples:
        >>> name_keys(pd.Series(["TP Kon Tum", "Kon Tum"])).tolist()
        ['kontum', 'kontum']
    """
    return on_distinct(names, name_key)


def closest_names(name: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The candidate names closest to a name, compared by :func:`name_key`.

    Args:
        name: The name to place.
        candidates: Known names (any spelling).
        n: At most this many suggestions.
        cutoff: Similarity (0-1) below which a candidate is not suggested.

    Returns:
        Candidate names, best first (each at most once).

    Examples:
        >>> closest_names("Kon Rayy", ["Kon Rẫy", "Kon Plông", "Đắk Hà"])
        ['Kon Rẫy']
    """
    by_key: dict[str, str] = {}
    for candidate in candidates:
        by_key.setdefault(name_key(candidate), candidate)
    keys = difflib.get_close_matches(name_key(name), list(by_key), n=n, cutoff=cutoff)
    return [by_key[k] for k in keys]
