"""The codebook as the extractor uses it: which indicators exist, their kind, unit, parent and share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.errors import InputError


@dataclass(frozen=True)
class Vocabulary:
    """What the codebook says about the indicators the extractor may propose.

    Build it once with :meth:`from_codebook` to extract many articles.

    Attributes:
        kind: indicator -> ``stock`` or ``flow``.
        unit: indicator -> ``count`` or ``percent``.
        parent: indicator -> the total it is a part of (also the
            denominator of a ratio such as "69/84 trưởng thôn").
        share: count indicator -> its printed-percentage indicator.
        base: share indicator -> the indicator of its denominator.
        label: indicator -> English label, for the note.
        totals: indicators that have breakdown parts.
        over: count indicator -> the denominator of a ratio printed with
            it: its parent, else the base of its share ("52/90 đảng viên
            mới": admissions of the target).
    """

    kind: dict
    unit: dict
    parent: dict
    share: dict
    base: dict
    label: dict
    totals: frozenset
    over: dict

    @classmethod
    def from_codebook(cls, codebook: pd.DataFrame) -> Vocabulary:
        """Read the vocabulary from a codebook table (columns as in ``data/raw/codebook.csv``).

        Examples:
            >>> vocab = Vocabulary.from_codebook(read_codebook())
            >>> vocab.kind["admissions"], vocab.parent["disciplined_warning"], vocab.share["villages_with_party_org"]
            ('flow', 'disciplined_members', 'villages_with_party_org_share')
        """
        columns = ["indicator", "kind", "unit", "parent", "numerator", "denominator", "label_en"]
        rows = codebook[columns].fillna("").astype(str).to_numpy().tolist()
        shares = [r for r in rows if r[2] == "percent" and r[4]]
        return cls(
            kind={r[0]: r[1] for r in rows},
            unit={r[0]: r[2] for r in rows},
            parent={r[0]: r[3] for r in rows if r[3]},
            share={r[4]: r[0] for r in shares if not r[5].endswith("_target")},
            base={r[0]: r[5] for r in shares if r[5]},
            label={r[0]: r[6] for r in rows},
            totals=frozenset(r[3] for r in rows if r[3]),
            over={**{r[4]: r[5] for r in shares if r[5]}, **{r[0]: r[3] for r in rows if r[3]}},
        )


def read_codebook(raw_dir: Path | str | None = None) -> pd.DataFrame:
    """The project codebook (``codebook.csv`` of the raw folder), as text.

    Args:
        raw_dir: The raw folder (default :func:`analysis.paths.raw_dir`).

    Raises:
        InputError: If the file is missing or lacks a column the extractor uses.

    Examples:
        >>> "party_members" in set(read_codebook()["indicator"])
        True
    """
    path = Path(raw_dir if raw_dir is not None else paths.raw_dir()) / "codebook.csv"
    try:
        codebook = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    missing = {"indicator", "kind", "unit", "parent", "numerator", "denominator", "label_en"} - set(codebook)
    if missing:
        raise InputError(f"missing column(s) {', '.join(sorted(missing))}", file=path, row=1)
    return codebook
