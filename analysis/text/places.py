"""Districts, communes and villages named in a sentence (matched on the original text: names are capitalised)."""

from __future__ import annotations

import re
from typing import NamedTuple

from analysis.text.names import clean_name, name_key

_UPPER = "".join(chr(i) for i in range(0x41, 0x1F00) if chr(i).isupper() and chr(i).isalpha())
_NAME = rf"[{_UPPER}][\w'’-]*(?:\s+[{_UPPER}][\w'’-]*){{0,3}}"
_PLACE_RE = re.compile(
    rf"(?<!\w)(?:(?P<district>(?i:huyện|thị xã|thành phố))\s+(?P<dname>{_NAME})"
    rf"|(?P<commune>(?i:xã|thị trấn|phường))\s+(?P<cname>{_NAME})"
    rf"|(?P<village>(?i:thôn|làng|buôn|bon|plei|bản|tổ dân phố|xóm|ấp))\s+(?P<vname>\d+|{_NAME}))"
)
NAMED_AFTER_RE = re.compile(rf"\s+[{_UPPER}]")
_LEVELS = ("village", "commune", "district")


class Place(NamedTuple):
    """A district, commune or village named in a sentence (``names`` may list several)."""

    start: int
    end: int
    scope: str
    names: tuple[str, ...]


def places_in(text: str, district: str, a: int, b: int) -> list[Place]:
    """Places named in ``text[a:b]``, grouped ("xã A và xã B"; "thôn 8 xã C" is the village)."""
    places: list[Place] = []
    for m in _PLACE_RE.finditer(text, a, b):
        scope = next(level for level in _LEVELS if m.group(level))
        name = clean_name({"district": m.group("dname"), "commune": m.group("cname")}.get(scope) or m.group(0))
        if scope == "district" and name_key(name) == name_key(district):
            name = district
        if places:
            last = places[-1]
            gap = text[last.end : m.start()].strip().lower()
            if gap in ("", ",", "(", "thuộc", "của") and _LEVELS.index(last.scope) < _LEVELS.index(scope):
                places[-1] = Place(last.start, m.end(), last.scope, last.names)
                continue
            if gap in (",", "và", ", và") and last.scope == scope:
                places[-1] = Place(last.start, m.end(), scope, last.names + (name,))
                continue
        places.append(Place(m.start(), m.end(), scope, (name,)))
    return places
