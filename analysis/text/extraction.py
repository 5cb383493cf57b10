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

All word lists are found in one pass over the lowercased article
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
    [{'indicator': 'party_members', 'value': '1639', 'as_of': '2021-06-20', 'period_end_basis': 'stated', 'phrase': '1.639 đảng viên'}]
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from analysis import paths
from analysis.errors import InputError, UsageError
from analysis.text.names import clean_name, fix_text, name_key, strip_prefix
from analysis.text.vietnamese import (
    FIGURE_KINDS, NumberToken, Period, PeriodMention, as_date, at_least_after, ending_word, find_periods, lowercase, number_tokens, paragraph_spans, publication_period, resolve_period, sentence_spans, spellings,
    tone_variants, value_text,
)

#: Written into the provenance note of accepted rows.
EXTRACTOR_VERSION = "1.0"

#: Articles larger than this are refused (a newspaper article is a few kB).
MAX_ARTICLE_BYTES = 20 * 1024 * 1024

OBSERVATION_COLUMNS = (
    "obs_id", "source_id", "locator", "unit_name", "province", "scope", "indicator", "value", "unit",
    "qualifier", "as_of", "period_start", "period_end", "period_end_basis", "status", "note",
)
REVIEW_COLUMNS = ("span_start", "span_end", "phrase", "confidence", "parent_candidate", "accept")
CANDIDATE_COLUMNS = OBSERVATION_COLUMNS + REVIEW_COLUMNS


def _lower(pattern: str) -> re.Pattern:
    """A pattern for the lowercased article (both tone-mark placements, no IGNORECASE)."""
    return tone_variants(pattern, 0)


# ---------------------------------------------------------------- head nouns

_V = r"(?:thôn|làng|buôn|bon|plei|bản|tổ dân phố|khu dân cư|ấp|xóm|khu phố)"
#: A village head, whatever the village is called ("trưởng thôn", "trưởng buôn", "thôn trưởng" ...).
_HEADMAN = r"(?:trưởng (?:thôn|làng|buôn|bon|plei|bản|ấp|xóm|khu dân cư)|thôn trưởng|tổ trưởng tổ dân phố)"

#: The disciplinary forms, mildest first.
_FORMS = {"reprimand": r"khiển trách", "warning": r"cảnh cáo", "dismissal": r"cách chức",
          "expulsion": r"khai trừ(?: ra khỏi đảng)?"}

#: Nouns that say what a number counts, tried in this order right after it.
HEADS = (
    ("district_committee_member", r"(?:đồng chí )?(?:huyện|thị|thành) ủy viên"
                                  r"|đồng chí ủy viên ban chấp hành đảng bộ (?:huyện|thị xã|thành phố)"),
    ("commune_committee_member", r"(?:đồng chí )?(?:cấp ủy viên cấp xã|cấp ủy viên xã|đảng ủy viên)"),
    ("committee_member", r"(?:đồng chí )?(?:chi ủy viên|cấp ủy viên chi bộ)"),
    ("deputy", r"(?:đồng chí )?phó bí thư chi bộ"),
    ("secretary", r"(?:đồng chí )?bí thư chi bộ"),
    ("village_head", _HEADMAN),
    ("new_member", r"đảng viên mới"),
    ("member", r"đảng viên"),
    ("candidate", r"quần chúng(?: ưu tú)?|đối tượng kết nạp|đối tượng đảng|cảm tình đảng"),
    ("case", r"trường hợp"),
    ("female", r"nữ|phụ nữ"),
    ("person", r"đồng chí|người|cán bộ,? đảng viên"),
    ("org_visit", r"lượt tổ chức(?: cơ sở)?(?: đảng)?"),
    ("grassroots_org", r"tổ chức cơ sở đảng|tổ chức đảng cơ sở|tccsđ"),
    ("grassroots_committee", r"đảng bộ cơ sở"),
    ("grassroots_cell", r"chi bộ cơ sở"),
    ("party_org", r"tổ chức đảng|tổ chức"),
    ("cell", r"chi bộ"),
    ("village", _V),
    ("household_group", r"nhóm hộ"),
    ("household", r"hộ(?: gia đình| dân| đồng bào)?"),
    ("session", r"cuộc(?: kiểm tra| giám sát)?"),
    ("delegate", r"đại biểu"),
    *((f"form_{form}", words) for form, words in _FORMS.items()),  # "gồm 1 khai trừ, 2 cảnh cáo"
)
_HEAD_ALTERNATIVES = "|".join(f"(?P<{n}>{p})" for n, p in HEADS)
_HEAD_RE = _lower(rf"\s*(?:{_HEAD_ALTERNATIVES})(?!\w)")
#: "Số thôn có trưởng thôn là đảng viên là 112": the noun before the number.
_HEAD_BEFORE_RE = _lower(rf"(?<!\w)(?:tổng\s+)?số\s+(?:{_HEAD_ALTERNATIVES})(?!\w)[^;\d]{{0,60}}?(?:là|:|lên|đạt)\s*$")

# ---------------------------------------------------------------- the lexicon: one pass for every word list

#: Action words: the nearest one before a number sets its family.
TRIGGERS = (
    ("admit", r"kết nạp|phát triển đảng viên"),
    ("introduce", r"giới thiệu|cảm tình đảng|bồi dưỡng nhận thức"),
    ("discipline", r"kỷ luật|khiển trách|cảnh cáo|cách chức|khai trừ"),
    ("struck_off", r"xóa tên"),
    ("inspect_signs", r"kiểm tra (?:khi )?có dấu hiệu vi phạm|kiểm tra dấu hiệu vi phạm"),
    ("inspect", r"kiểm tra"),
    ("supervise", r"giám sát"),
    ("assign", r"phân công|phụ trách|theo dõi"),
    ("merge", r"sáp nhập|hợp nhất"),
    ("dissolve", r"giải thể"),
    ("establish", r"thành lập"),
    ("change", r"tăng(?! cường)|giảm"),
    ("stock", r"tổng số|hiện có|có tổng|đại diện cho"),
    ("other", r"khen thưởng|tặng|trao|huy hiệu|tập huấn|bồi dưỡng|học tập|quán triệt|đánh giá|xếp loại|"
              r"biểu dương|điều động|luân chuyển|chuyển sinh hoạt|miễn sinh hoạt|tham dự|tham gia|"
              r"tiêu biểu|xuất sắc|phát hiện"),
)

#: Every word list, as (kind, name, pattern); earlier entries win where phrases overlap.
LEXICON = (
    # who inspects: the standing committee, the inspection commission, or "all levels"
    ("subject", "generic", r"ủy ban kiểm tra các cấp|các cấp"),
    ("subject", "ic", r"ủy ban kiểm tra|ubkt"),
    ("subject", "sc", r"ban thường vụ|btv"),
    *(("trigger", family, pattern) for family, pattern in TRIGGERS),
    # a plan or a result
    ("mood", "plan", r"sẽ|dự kiến|phấn đấu|chỉ tiêu|mục tiêu|kế hoạch(?! số| hóa)|đề ra|định hướng|đặt ra"),
    ("mood", "real", r"đã|đạt được|kết quả|hiện nay|đến nay"),
    # the level a sentence speaks of
    ("level", "district", r"toàn huyện|huyện có|đảng bộ huyện|huyện ủy|toàn đảng bộ|cả huyện|thị ủy|thành ủy"),
    ("level", "province", r"toàn tỉnh|cả tỉnh|đảng bộ tỉnh|tỉnh có|trên địa bàn tỉnh"),
    # "the commune" without a name: the commune named before in the paragraph
    ("anaphor", "commune", r"(?:đảng ủy|đảng bộ|toàn|của|cả) (?:xã|thị trấn|phường)"),
    # a breakdown follows; a figure per unit is an average, not a total
    ("opener", "part", r"trong đó|trong số|gồm|bao gồm|cụ thể|riêng"),
    ("per_unit", "average", r"mỗi(?! năm| tháng| quý| kỳ)|bình quân|trung bình"),
)
_LEXICON_RE = _lower(
    r"(?<!\w)(?:" + "|".join(f"(?P<{kind}__{name}>{p})" for kind, name, p in LEXICON) + r")(?!\w)"
)
_LEXICON_GROUPS = {f"{kind}__{name}": (kind, name) for kind, name, _ in LEXICON}
_LEXICON_KINDS = tuple(dict.fromkeys(kind for kind, _, _ in LEXICON))
_PASSIVE_RE = _lower(
    r"[^,;()\d]{0,25}?(?<!\w)(?:bị|được|đã được)\s+(?:xử lý\s+|thi hành\s+)?"
    r"(?:(?P<discipline>kỷ luật|khiển trách|cảnh cáo|cách chức|khai trừ)|(?P<admit>kết nạp)|"
    r"(?P<struck_off>xóa tên)|(?P<assign>phân công|giao phụ trách))"
)
_OPENS_RE = _lower(r"[\s,:(]*(?:trong đó|trong số|gồm|bao gồm|cụ thể|riêng)(?!\w)")
_CONTINUATION_RE = _lower(
    r"\s*(?:qua (?:đó|kiểm tra|giám sát)|trong đó|cũng trong|bên cạnh đó|ngoài ra|cùng với đó|đồng thời)(?!\w)"
)
_SIGNS_RE = _lower(r"dấu hiệu vi phạm")
_RATE_AFTER_RE = re.compile(r"\s?/\s?(?:năm|tháng)")
_SEMICOLON_RE = re.compile(";")
_COMMA_RE = re.compile(r"[,;:(]")
_CHANGE_WORDS = spellings(("tăng", "giảm", "vượt", "hơn so với"))

# ---------------------------------------------------------------- the table of indicator patterns

#: Ethnic-minority groups of the Central Highlands and the north named in party press.
_GROUPS = (r"jrai|gia rai|ba na|bahnar|xơ đăng|ê đê|m'nông|mnông|cơ ho|mạ|giẻ triêng|brâu|rơ măm|hrê|chu ru|"
           r"tày|nùng|thái|mường|h'mông|mông|dao|khmer|chăm|sán chay|sán dìu|cơ tu|tà ôi|vân kiều")
_ETHNIC = rf"(?:là )?(?:người )?(?:đồng bào )?(?:dân tộc thiểu số|dtts|(?:dân tộc )?(?:{_GROUPS})(?!\w))"
_FEMALE = r"(?:là )?(?:phụ )?nữ"
_RELIGIOUS = r"(?:là )?(?:người )?(?:có đạo|theo đạo|có tín ngưỡng|theo tôn giáo|tôn giáo)"
_RURAL = r"(?:ở|tại|thuộc|trong) (?:các )?chi bộ (?:nông thôn|thôn|làng|ở thôn)"
_POPULATION = r"(?:vi phạm )?(?:chính sách dân số|sinh con thứ|kế hoạch hóa gia đình)"
_PROHIBITED = r"(?:vi phạm )?(?:những |các )?(?:điều|quy định về những điều) đảng viên không được làm"
_CONCURRENTLY = r"(?:kiêm|đồng thời là|đồng thời giữ chức|cũng là|kiêm nhiệm)(?: chức)?"
_CONCURRENT = rf"^[^;]{{0,30}}?{_CONCURRENTLY} {_HEADMAN}"
#: A post held with the village head's, printed before its number ("bí thư chi bộ kiêm trưởng thôn 29 người").
_POST_BEFORE = rf"{_CONCURRENTLY} {_HEADMAN}(?:,? (?:thôn|làng|buôn|bản|bon|tổ dân phố))*"


class Rule(NamedTuple):
    """One row of the pattern table: when a count means ``indicator``.

    A number matches when its family is in ``families``, its head noun in
    ``heads`` (None: no noun), ``label`` (if any) ends the words just before
    it, ``tail`` (if any) matches right after its noun, and ``context`` (if
    any) occurs in its sentence; ``subject`` restricts inspection counts to
    the standing committee (``sc``) or the inspection commission (``ic``).
    A rule with neither label nor tail, or marked ``generic`` (its tail only
    checks that the noun phrase ends), is *plain*: the total itself.
    """

    indicator: str
    families: frozenset
    heads: frozenset
    label: re.Pattern | None = None
    tail: re.Pattern | None = None
    context: re.Pattern | None = None
    subject: str | None = None
    confidence: float = 0.9
    generic: bool = False


def _rule(indicator, families, heads, *, label=None, tail=None, context=None, subject=None, confidence=0.9,
          generic=False):
    return Rule(indicator, frozenset(families), frozenset(heads),
                label and _lower(rf"(?<!\w)(?:đảng viên\s+)?(?:{label})\s*(?:là|:|có|\()?\s*$"),
                tail and _lower(tail), context and _lower(context), subject, confidence, generic)


def _part(indicator, families, heads, words):
    """A breakdown part named before its number ("nữ 37") or after its noun ("37 đảng viên nữ")."""
    return (_rule(indicator, families, heads | {None}, label=words),
            _rule(indicator, families, heads,
                  tail=rf"^[^,;:()\d]{{0,25}}?(?<!\w)(?:bị |với hình thức |bằng hình thức |hình thức |ở |tại )?"
                       rf"(?:{words})(?!\w)(?!\s*\()"))  # "... khiển trách (6 trường hợp)": a list follows


_MEMBER = {"member", "person"}
_CASE = _MEMBER | {"case"}
_ADMIT = {"admit"}
_DISCIPLINE = {"discipline"}
_STOCK = {"stock", "none"}
_ORG = {"grassroots_org", "party_org"}
_NEW = _MEMBER | {"new_member"}

#: The table of indicator patterns for counts; the first matching row wins.
RULES = (
    _rule("admissions_target", {"plan_admit"}, _NEW),
    _rule("admission_candidates_introduced", {"introduce"}, _MEMBER | {"candidate"}),
    *_part("admissions_rural_cells", _ADMIT, _NEW, _RURAL),
    *_part("admissions_ethnic_minority", _ADMIT, _NEW, _ETHNIC),
    *_part("admissions_female", _ADMIT, _NEW, _FEMALE),
    _rule("admissions_female", _ADMIT, {"female"}),
    *_part("admissions_religious", _ADMIT, _NEW, _RELIGIOUS),
    _rule("admissions", _ADMIT, _NEW | {"candidate"}),
    *(r for form, words in _FORMS.items() for r in _part(f"disciplined_{form}", _DISCIPLINE, _CASE, words)),
    *(_rule(f"disciplined_{form}", _DISCIPLINE, {f"form_{form}"}) for form in _FORMS),
    *_part("disciplined_population_policy", _DISCIPLINE, _CASE, _POPULATION),
    *_part("disciplined_prohibited_acts", _DISCIPLINE, _CASE, _PROHIBITED),
    _rule("disciplined_members", _DISCIPLINE, _CASE),
    _rule("members_struck_off", {"struck_off"}, _CASE),
    _rule("standing_committee_inspections", {"inspect"}, {"session"}, subject="sc"),
    _rule("standing_committee_supervisions", {"supervise"}, {"session"}, subject="sc"),
    _rule("inspection_commission_inspections", {"inspect"}, {"session"}, subject="ic"),
    _rule("standing_committee_inspected_org_visits", {"inspect"}, {"org_visit"}, subject="sc"),
    _rule("inspection_commission_inspected_org_visits", {"inspect"}, {"org_visit"}, subject="ic"),
    _rule("standing_committee_inspected_members", {"inspect"}, _MEMBER, subject="sc"),
    _rule("standing_committee_supervised_orgs", {"supervise"}, _ORG, subject="sc"),
    _rule("standing_committee_supervised_members", {"supervise"}, _MEMBER, subject="sc"),
    _rule("party_orgs_inspected_signs_of_violation", {"inspect_signs"}, _ORG),
    _rule("members_inspected_signs_of_violation", {"inspect_signs"}, _MEMBER),
    _rule("party_orgs_inspected", {"inspect"}, _ORG),
    _rule("members_inspected", {"inspect"}, _MEMBER),
    _rule("party_orgs_supervised", {"supervise"}, _ORG),
    _rule("members_supervised", {"supervise"}, _MEMBER),
    _rule("district_committee_members_assigned_areas", {"assign"}, {"district_committee_member"}),
    _rule("commune_committee_members_assigned_cells", {"assign"}, {"commune_committee_member"}),
    _rule("members_assigned_households", {"assign"}, _MEMBER),
    _rule("household_groups_assigned", {"assign"}, {"household_group"}),
    _rule("households_assigned", {"assign"}, {"household"}),
    _rule("cells_merged", {"merge"}, {"cell"}),
    _rule("grassroots_party_orgs_dissolved", {"dissolve"}, {"grassroots_org"}),
    _rule("grassroots_cells_established", {"establish"}, {"grassroots_cell"}),
    _rule("cells_established", {"establish"}, {"cell"}),
    _rule("party_members_change", {"change"}, _MEMBER),
    _rule("grassroots_party_orgs_change", {"change"}, {"grassroots_org"}),
    _rule("grassroots_party_orgs_change", {"change"}, {"party_org"}, context=r"tổ chức cơ sở đảng|tccsđ"),
    _rule("cells_under_grassroots_committees_change", {"change"}, {"cell"}),
    _rule("grassroots_cells_change", {"change"}, {"grassroots_cell"}),
    *_part("party_members_ethnic_minority", _STOCK, _MEMBER, _ETHNIC),
    *_part("party_members_female", _STOCK, _MEMBER, _FEMALE),
    _rule("party_members_female", _STOCK, {"female"}),
    *_part("party_members_religious", _STOCK, _MEMBER, _RELIGIOUS),
    _rule("cell_secretaries_also_village_heads", _STOCK, {"person"},
          tail=r"^[^,;\d]{0,20}?(?:đang )?(?:giữ chức |là |làm )?bí thư chi bộ", context=_HEADMAN),
    _rule("deputy_secretaries_also_village_heads", _STOCK, {"person", None}, label=rf"phó bí thư chi bộ {_POST_BEFORE}"),
    _rule("cell_secretaries_also_village_heads", _STOCK, {"person", None}, label=rf"bí thư chi bộ {_POST_BEFORE}"),
    _rule("cell_committee_members_also_village_heads", _STOCK, {"person", None},
          label=rf"chi ủy viên {_POST_BEFORE}"),
    _rule("village_heads_party_members", _STOCK, {"person", None}, label=rf"{_HEADMAN}[^;\d]{{0,20}}? là đảng viên"),
    _rule("members_assigned_households", _STOCK, _MEMBER,
          tail=r"^[^,;]{0,30}?(?:được )?(?:phân công )?(?:phụ trách|theo dõi)[^;]{0,30}?hộ"),
    _rule("party_members", _STOCK, {"member"}),
    _rule("party_members", {"stock"}, {"person"}),
    _rule("grassroots_party_orgs", _STOCK, {"grassroots_org"}),
    _rule("grassroots_party_committees", _STOCK, {"grassroots_committee"}),
    _rule("grassroots_cells", _STOCK, {"grassroots_cell"}),
    _rule("villages_with_cell_committee", _STOCK, {"cell"}, tail=rf"^\s*{_V}[^;]{{0,60}}?có chi ủy"),
    _rule("cells_with_cell_committee", _STOCK, {"cell"}, tail=r"^[^,;]{0,30}?có chi ủy"),
    _rule("cells_under_grassroots_committees", _STOCK, {"cell"}, tail=r"^\s*trực thuộc"),
    _rule("cells_under_grassroots_committees", _STOCK, {"cell"}, confidence=0.6),
    _rule("village_heads_party_members", _STOCK, {"village"},
          tail=rf"^[^;]{{0,60}}?{_HEADMAN}[^;]{{0,40}}?là đảng viên"),
    _rule("deputy_secretaries_also_village_heads", _STOCK, {"village"},
          tail=r"^[^;]{0,60}?phó bí thư chi bộ (?:đồng thời|kiêm|cũng)"),
    _rule("cell_secretaries_also_village_heads", _STOCK, {"village"},
          tail=r"^[^;]{0,60}?(?<!phó )bí thư chi bộ (?:đồng thời|kiêm|cũng)"),
    _rule("villages_with_cell_committee", _STOCK, {"village"}, tail=r"^[^;]{0,60}?có chi ủy"),
    _rule("villages_without_party_members", _STOCK, {"village"},
          tail=r"^[^;]{0,60}?(?:chưa có|không có|trắng) đảng viên"),
    _rule("villages_without_party_org", _STOCK, {"village"}, tail=r"^[^;]{0,60}?chưa có (?:tổ chức đảng|chi bộ)"),
    _rule("villages_with_party_org", _STOCK, {"village"}, tail=r"^[^;]{0,60}?có tổ chức (?:cơ sở )?đảng"),
    _rule("villages_with_party_cell", _STOCK, {"village"}, tail=r"^[^;]{0,60}?có chi bộ"),
    _rule("villages", _STOCK, {"village"},
          tail=rf"^(?:\s*,?\s*(?:và\s+)?{_V})*(?:\s+(?:trên địa bàn|của|thuộc)[^,;.()\d]{{0,30}})?"
               r"(?=\s*[,;.:)(]|\s*$|\s+(?:và|với|trong đó|thì|nhưng)(?!\w))", generic=True),
    _rule("village_heads_not_party_members", _STOCK, {"village_head"},
          tail=r"^[^;]{0,60}?(?:chưa|không)(?: phải)? là đảng viên"),
    _rule("cell_secretaries_also_village_heads", _STOCK, {"village_head"},
          tail=r"^[^;]{0,40}?(?:kiêm|đồng thời là|cũng là) bí thư chi bộ"),
    _rule("village_heads_party_members", _STOCK, {"village_head"}, tail=r"^[^;]{0,60}?là đảng viên"),
    _rule("deputy_secretaries_also_village_heads", _STOCK, {"deputy"}, tail=_CONCURRENT),
    _rule("cell_secretaries_also_village_heads", _STOCK, {"secretary"}, tail=_CONCURRENT),
    _rule("cell_committee_members_also_village_heads", _STOCK, {"committee_member"}, tail=_CONCURRENT),
    _rule("district_committee_members_assigned_areas", _STOCK, {"district_committee_member"},
          tail=r"^[^;]{0,30}?(?:được )?phân công"),
    _rule("commune_committee_members_assigned_cells", _STOCK, {"commune_committee_member"},
          tail=r"^[^;]{0,30}?(?:được )?phân công"),
    _rule("households", _STOCK, {"household"}, confidence=0.7),
    _rule("congress_delegates", _STOCK, {"delegate"}, confidence=0.7),
)

#: The last words of every breakdown label (``_part``) and of "Số ... là": a number with neither
#: these before it nor a head noun after it is no figure, and is dropped before the costlier checks.
_LABEL_ENDINGS = spellings((
    "khiển trách", "cảnh cáo", "cách chức", "khai trừ", "khỏi đảng", "nữ", "thiểu số", "dtts", "có đạo",
    "theo đạo", "tín ngưỡng", "tôn giáo", "nông thôn", "thôn", "làng", "dân số", "gia đình", "thứ", "được làm",
    "là", "có", "lên", "đạt"))

_RULE_INDEX: dict[tuple[str, str | None], tuple[Rule, ...]] = {}
for _r in RULES:
    for _f in _r.families:
        for _h in _r.heads:
            _RULE_INDEX[(_f, _h)] = _RULE_INDEX.get((_f, _h), ()) + (_r,)

#: Phrases that name a percentage printed right before them ("75,51% thôn trưởng là đảng viên").
PERCENT_AFTER = (
    ("village_heads_party_members_share", rf"{_HEADMAN}[^;\d]{{0,40}}?là đảng viên"),
    ("village_heads_party_members_share", rf"{_V}[^;\d]{{0,40}}?có {_HEADMAN}[^;\d]{{0,30}}?là đảng viên"),
    ("deputy_secretaries_also_village_heads_share", rf"(?:{_V}[^;\d]{{0,40}}?có )?phó bí thư chi bộ (?:đồng thời|kiêm|cũng)"),
    ("cell_secretaries_also_village_heads_share", rf"(?:{_V}[^;\d]{{0,40}}?có )?(?:đồng chí )?bí thư chi bộ (?:đồng thời|kiêm|cũng)"),
    ("cell_secretaries_also_village_heads_share", rf"{_HEADMAN} (?:kiêm|đồng thời là|cũng là) bí thư"),
    ("cell_committee_members_also_village_heads_share", r"chi ủy viên (?:kiêm|đồng thời|cũng)"),
    ("villages_with_cell_committee_share", rf"(?:chi bộ )?{_V}[^;\d]{{0,40}}?có chi ủy"),
    ("villages_with_party_org_share", rf"{_V}[^;\d]{{0,40}}?có tổ chức (?:cơ sở )?đảng"),
    ("villages_with_party_cell_share", rf"{_V}[^;\d]{{0,40}}?có chi bộ"),
    ("members_registered_at_residence_share", r"đảng viên[^;\d]{0,60}?sinh hoạt (?:tại |ở )?nơi cư trú"),
    ("members_assigned_households_share", r"đảng viên[^;\d]{0,30}?(?:được phân công|nhận phụ trách|phụ trách|theo dõi)"),
    ("households_assigned_share", r"(?:số )?hộ[^;\d]{0,40}?(?:phụ trách|theo dõi)"),
    ("party_members_ethnic_minority_share", rf"(?:tổng số )?đảng viên[^,;\d]{{0,15}}?{_ETHNIC}"),
    ("party_members_female_share", rf"đảng viên {_FEMALE}(?!\w)"),
    ("party_members_religious_share", rf"đảng viên[^,;\d]{{0,10}}?{_RELIGIOUS}"),
    ("admissions_target_achieved_share", r"(?:so với )?(?:chỉ tiêu|kế hoạch)"),
)
_PERCENT_AFTER_RE = _lower(
    r"\s*(?:số\s+)?(?:" + "|".join(f"(?P<a{i}>{p})" for i, (_, p) in enumerate(PERCENT_AFTER)) + r")"
)
#: Phrases that name a percentage printed after them ("tỷ lệ trưởng thôn là đảng viên đạt 82%").
PERCENT_BEFORE = (
    ("deputy_secretaries_also_village_heads_share", rf"phó bí thư chi bộ (?:đồng thời là|kiêm|cũng là) {_HEADMAN}"),
    ("cell_secretaries_also_village_heads_share", rf"bí thư chi bộ (?:đồng thời là|kiêm|cũng là) {_HEADMAN}"),
    ("cell_committee_members_also_village_heads_share", rf"chi ủy viên (?:đồng thời là|kiêm|cũng là) {_HEADMAN}"),
    ("village_heads_party_members_share", rf"{_HEADMAN}[^;\d]{{0,40}}?là đảng viên"),
    ("villages_with_cell_committee_share", rf"{_V}[^;\d]{{0,40}}?có chi ủy"),
    ("villages_with_party_org_share", rf"{_V}[^;\d]{{0,40}}?có tổ chức (?:cơ sở )?đảng"),
    ("villages_with_party_cell_share", rf"{_V}[^;\d]{{0,40}}?có chi bộ"),
    ("members_registered_at_residence_share", r"sinh hoạt (?:tại |ở )?nơi cư trú"),
    ("households_assigned_share", r"hộ[^;\d]{0,30}?(?:được )?(?:đảng viên )?(?:phụ trách|theo dõi)"),
    ("party_members_female_share", rf"đảng viên {_FEMALE}(?!\w)"),
    ("party_members_ethnic_minority_share", rf"đảng viên[^,;\d]{{0,15}}?{_ETHNIC}"),
    ("party_members_religious_share", rf"đảng viên[^,;\d]{{0,10}}?{_RELIGIOUS}"),
)
_PERCENT_BEFORE_RE = _lower(
    r"(?<!\w)(?:" + "|".join(f"(?P<b{i}>{p})" for i, (_, p) in enumerate(PERCENT_BEFORE)) + r")"
)
#: How far from a percentage the phrase naming it may reach (characters).
_PHRASE_REACH = 100
_ADMISSION_SHARES = {"admissions_target_achieved_share"}
_STOCK_SHARES = {"party_members_ethnic_minority_share", "party_members_female_share",
                 "party_members_religious_share"}

#: Sentences that state a zero without a digit.
ZERO_PHRASES = (
    ("villages_without_party_members", rf"không còn {_V}[^.;\d]{{0,30}}?(?:chưa có|trắng|không có) đảng viên"),
    ("villages_without_party_org", rf"không còn {_V}[^.;\d]{{0,30}}?chưa có (?:tổ chức đảng|chi bộ)"),
)
_ZERO_RE = _lower("|".join(f"(?P<z{i}>{p})" for i, (_, p) in enumerate(ZERO_PHRASES)))

# ---------------------------------------------------------------- places (matched on the original text: names are capitalised)

_UPPER = "".join(chr(i) for i in range(0x41, 0x1F00) if chr(i).isupper() and chr(i).isalpha())
_NAME = rf"[{_UPPER}][\w'’-]*(?:\s+[{_UPPER}][\w'’-]*){{0,3}}"
_PLACE_RE = re.compile(
    rf"(?<!\w)(?:(?P<district>(?i:huyện|thị xã|thành phố))\s+(?P<dname>{_NAME})"
    rf"|(?P<commune>(?i:xã|thị trấn|phường))\s+(?P<cname>{_NAME})"
    rf"|(?P<village>(?i:thôn|làng|buôn|bon|plei|bản|tổ dân phố|xóm|ấp))\s+(?P<vname>\d+|{_NAME}))"
)
_NAMED_AFTER_RE = re.compile(rf"\s+[{_UPPER}]")
_LEVELS = ("village", "commune", "district")


class Place(NamedTuple):
    """A district, commune or village named in a sentence (``names`` may list several)."""

    start: int
    end: int
    scope: str
    names: tuple[str, ...]


# ---------------------------------------------------------------- the codebook


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
    """

    kind: dict
    unit: dict
    parent: dict
    share: dict
    base: dict
    label: dict
    totals: frozenset

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
        raise InputError(f"file is {size / 2**20:.1f} MB; the limit for an article is {max_bytes / 2**20:g} MB",
                         file=path)
    data = path.read_bytes()
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InputError(f"binary file (NUL byte at byte offset {nul}); expected UTF-8 text", file=path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text: byte 0x{data[err.start]:02x} at byte offset {err.start}; "
                         "save the article as UTF-8", file=path) from None
    if not text.strip():
        raise InputError("empty file: no article text", file=path)
    return fix_text(text)


# ---------------------------------------------------------------- extraction


def extract_figures(text: str, *, unit: str, published: str | date | None, source_id: str,
                    codebook: pd.DataFrame | Vocabulary | None = None, language: str = "vi") -> pd.DataFrame:
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
    district, province = _split_unit(unit)
    article = _Article(fix_text(text), as_date(published), codebook, district, province)
    found = _deduplicate(_link_parts(article.read(), codebook))
    return _to_frame(found, article.text, source_id=source_id, province=province)


def _split_unit(unit: str) -> tuple[str, str]:
    name, _, province = unit.rpartition(",") if "," in unit else (unit, "", "")
    name = strip_prefix(name) if name.strip() else ""
    if not name:
        raise UsageError(f"expected 'District, Province', got {unit!r}", field="unit")
    return name, clean_name(province)


@dataclass
class _Found:
    """One candidate while the article is being read."""

    indicator: str
    value: Decimal
    unit: str
    qualifier: str
    span: tuple[int, int]
    para: int
    title: bool
    period: Period
    kind: str
    confidence: float
    gloss: str
    notes: list = field(default_factory=list)
    scope: str = "district"
    names: tuple[str, ...] = ()
    parent: int | None = None
    restated: bool = False  # a ratio's denominator: printed again with every ratio, dates do not tell it apart


@dataclass
class _Sentence:
    """What the patterns found in one sentence (positions are offsets in the article)."""

    start: int
    end: int
    figures: list
    periods: list
    lexicon: list  # (start, end, kind, name)
    places: list
    zeros: list
    clauses: list  # starts of the ";"-clauses
    commas: list  # starts of the ","-clauses
    opener: bool  # the sentence begins with "trong đó", "gồm" ...
    comparisons: list  # the period mentions "so với ..." (the start of a change)
    dated: list = field(default_factory=list)  # the other period mentions
    by_kind: dict = field(default_factory=dict)

    def __post_init__(self):
        self.by_kind = {kind: [] for kind in _LEXICON_KINDS}
        for a, b, kind, name in self.lexicon:
            self.by_kind[kind].append((a, b, name))
        self.dated = [m for m in self.periods if m not in self.comparisons]

    def words(self, kind: str) -> list[tuple[int, int, str]]:
        """The lexicon words of one kind (``trigger``, ``mood``, ``subject`` ...) in the sentence."""
        return self.by_kind[kind]


class _Scan:
    """Every pattern run once over a block of whole paragraphs; :meth:`sentence` slices the results.

    A block rather than the whole article keeps few objects alive at once, which
    keeps Python's cyclic garbage collector cheap on very long texts.
    """

    def __init__(self, text: str, low: str, published: date | None, district: str, a: int, b: int):
        lexicon = [(m.start(), m.end(), *_LEXICON_GROUPS[m.lastgroup]) for m in _LEXICON_RE.finditer(low, a, b)]
        lexicon = [w for w in lexicon if w[2] != "anaphor" or not _NAMED_AFTER_RE.match(text, w[1])]  # "xã Đăk Kôi"
        block = text[a:b]
        self.found = {
            "figures": [t._replace(start=t.start + a, end=t.end + a, lead=t.lead + a)
                        for t in number_tokens(block) if t.kind in FIGURE_KINDS],
            "periods": [PeriodMention(m.start + a, m.end + a, m.period) for m in find_periods(block, published)],
            "lexicon": lexicon,
            "places": _places(text, district, a, b),
            "zeros": [(m.start(), m.end(), ZERO_PHRASES[int(m.lastgroup[1:])][0])
                      for m in _ZERO_RE.finditer(low, a, b)],
            "clauses": [m.end() for m in _SEMICOLON_RE.finditer(text, a, b)],
            "commas": [m.end() for m in _COMMA_RE.finditer(text, a, b)],
        }
        self.starts = {name: items if name in ("clauses", "commas") else [item[0] for item in items]
                       for name, items in self.found.items()}

    def _within(self, name: str, s0: int, s1: int) -> list:
        starts = self.starts[name]
        return self.found[name][bisect.bisect_left(starts, s0):bisect.bisect_left(starts, s1)]

    def sentence(self, low: str, s0: int, s1: int) -> _Sentence:
        return _Sentence(
            s0, s1, *(self._within(name, s0, s1) for name in ("figures", "periods", "lexicon", "places", "zeros")),
            clauses=[s0] + self._within("clauses", s0, s1), commas=[s0] + self._within("commas", s0, s1),
            opener=bool(_OPENS_RE.match(low, s0)),
            comparisons=[m for m in self._within("periods", s0, s1) if low.startswith("so với", m.start)],
        )


@dataclass
class _Article:
    """One article being read, paragraph by paragraph."""

    text: str
    published: date | None
    vocab: Vocabulary
    district: str
    province: str
    found: list = field(default_factory=list)
    latest: dict = field(default_factory=dict)  # (indicator, place) -> the value proposed last

    def __post_init__(self):
        self.low = lowercase(self.text)

    def read(self) -> list[_Found]:
        text, low = self.text, self.low
        paragraphs = paragraph_spans(text)
        title = len(paragraphs) > 1 and _is_title(text, *paragraphs[0])
        periods_before: list[PeriodMention] = []
        block_end = -1
        for number, (p0, p1) in enumerate(paragraphs, start=0 if title else 1):
            if p1 > block_end:
                block_end = next((b for _, b in paragraphs if b >= p0 + _BLOCK), paragraphs[-1][1])
                scan = _Scan(text, low, self.published, self.district, p0, block_end)
            para = _Paragraph(self, number, title and number == 0)
            if _CONTINUATION_RE.match(low, p0) and periods_before:
                para.carried_period = periods_before[-1]
            for s0, s1 in sentence_spans(text, p0, p1):
                para.read_sentence(scan.sentence(low, s0, s1))
            periods_before.extend(para.periods)
        return self.found


#: Characters of whole paragraphs scanned at once.
_BLOCK = 64_000


def _is_title(text: str, start: int, end: int) -> bool:
    line = text[start:end].rstrip()
    return len(line) < 200 and not line.endswith((".", "!", "?", ":", ";", "…"))


@dataclass
class _Paragraph:
    """What carries from sentence to sentence within a paragraph, and the reading of one number."""

    article: _Article
    number: int
    title: bool
    carried_period: PeriodMention | None = None
    periods: list = field(default_factory=list)
    last_family: str | None = None
    last_subject: str | None = None
    last_place: Place | None = None
    sentence_first: int = 0  # index in article.found of the current sentence's first candidate

    def read_sentence(self, s: _Sentence) -> None:
        art = self.article
        anaphor = bool(s.words("anaphor"))
        self.sentence_first, previous_first = len(art.found), self.sentence_first
        for i, token in enumerate(s.figures):
            found = self._read_number(s, i, previous_first, anaphor)
            if found:
                where = self._scope(s, token.start, token.end, anaphor)
                for one in found:
                    self._add(one, where)
        if not any(name == "plan" for _, _, name in s.words("mood")):
            for start, end, indicator in s.zeros:
                found = self._make(indicator, Decimal(0), "exact", (start, end), s, start, 0.8,
                                   ["a zero stated in words"])
                if found:
                    self._add(found, self._scope(s, start, end, anaphor))
        families = s.words("trigger")
        if families:
            self.last_family = families[-1][2]
        subjects = s.words("subject")
        if subjects:
            self.last_subject = subjects[-1][2]
        named = [p for p in s.places if p.scope == "commune"]
        if named:
            self.last_place = named[-1]
        self.periods.extend(m for m in s.periods if self._mood(s, _last_before(s.commas, m.start), m.start) != "plan")

    def _add(self, found: _Found, where: tuple[str, tuple[str, ...]]) -> None:
        """Give a candidate its scope and keep it, once per place ("xã A và xã B có 100% ...")."""
        scope, names = where
        for name in names:
            copy = found if name == names[0] else replace(found, notes=list(found.notes))
            copy.scope, copy.names = scope, (name,)
            self.article.found.append(copy)
            self.article.latest[(copy.indicator, copy.names)] = copy.value

    # -------------------------------------------------------------- one number

    def _read_number(self, s: _Sentence, i: int, previous_first: int, anaphor: bool) -> list[_Found]:
        """The candidates of the ``i``-th number of a sentence (a ratio gives two)."""
        low = self.article.low
        token = s.figures[i]
        previous_end = s.figures[i - 1].end if i else s.start
        rest_end = s.figures[i + 1].start if i + 1 < len(s.figures) else s.end
        head = _HEAD_RE.match(low, token.end, rest_end) if token.kind != "percent" else None
        if head is None and token.kind != "percent" and not ending_word(
                low[max(s.start, token.start - 40):token.start].rstrip(" :"), _LABEL_ENDINGS):
            return []  # "5 năm", "30 tuổi", "3 tỷ đồng": no noun of ours after it, no label before it
        head_name = head.lastgroup if head else None
        qualifier, lead = token.qualifier, max(token.lead, s.start)
        if qualifier is None:
            return []  # "dưới 5%", "cao hơn 3": no qualifier codes it
        family, trigger_start = self._family(s, token.start)
        tail_start = head.end() if head else token.end
        after = low[tail_start:rest_end]
        passive = _PASSIVE_RE.match(low, tail_start, rest_end) if head and ("bị" in after or "được" in after) else None
        if passive:
            family = passive.lastgroup
        if head_name == "new_member" and family in ("none", "stock"):
            family = "admit"
        if family == "change" and _word_before(low, lead, "lên"):
            family = "stock"  # "tăng từ 1.200 lên 1.520": the new total
        clause_end = next((c for c in s.clauses if c > token.start), s.end)
        if family == "inspect" and _SIGNS_RE.search(low, token.end, clause_end):
            family = "inspect_signs"
        if family == "other":
            return []
        if (token.kind != "percent" and (family, head_name) not in _RULE_INDEX
                and "số" not in low[max(s.start, token.start - 80):token.start]):
            return []  # no pattern for this noun in this family, and no "Số ... là" before it
        anchor = trigger_start if trigger_start is not None else token.start
        if self._mood(s, _last_before(s.commas, anchor), anchor + 1) == "plan":
            if family != "admit" or token.kind == "percent":
                return []
            family = "plan_admit"
        if token.kind == "range" and family != "plan_admit":
            return []
        per_unit = s.words("per_unit")
        if per_unit and any(_last_before(s.commas, anchor) <= a < token.start for a, _, _ in per_unit):
            return []  # "mỗi chi bộ có 12": an average or a target per unit, not a total
        if family != "plan_admit" and _word_before(low, lead, "từ"):
            return []  # "từ 5 đảng viên trở lên": a threshold
        at_least = at_least_after(after) if "trở" in after else 0
        if qualifier == "exact" and at_least or token.kind == "range":
            qualifier = "at_least"
        if token.kind == "percent":
            return self._read_percent(s, token, qualifier, lead, previous_end, rest_end, family)

        gap_start = max(_last_before(s.clauses, token.start), previous_end)
        totals = _Lazy(lambda: self._totals_before(s, trigger_start, lead, self._scope(
            s, token.start, token.end, anaphor)[1], previous_first))
        rule, label, tail = self._match_rule(s, token.start, family, head_name, low[gap_start:lead], after, totals)
        window = max(gap_start, lead - 80)
        before = _HEAD_BEFORE_RE.search(low, window, lead) if "số" in low[window:lead] else None
        if before and (rule is None or _plain(rule)) and head_name in (None, before.lastgroup):
            # "Số thôn có trưởng thôn là đảng viên là 112/120 thôn": the words before name the figure
            said = self._match_rule(s, token.start, family, before.lastgroup, "",
                                    low[before.end(before.lastgroup):before.end()], totals)
            if said[0] is not None and (rule is None or not _plain(said[0])):
                rule, label, tail, lead = said[0], None, None, before.start()
        if rule is None:
            return []
        if label is not None:
            lead = gap_start + label.start()
        span_end = max(token.end, tail_start + (tail.end() if tail else 0), tail_start + at_least)
        found = self._make(rule.indicator, token.value, qualifier, (lead, span_end), s, token.start,
                           rule.confidence, whole_term=family == "plan_admit")
        if found is None:
            return []
        if family == "change" and low.startswith("giảm", trigger_start):
            found.value = -found.value
        if token.kind == "range":
            found.notes.append("lower end of a printed range")
        return [found] + (self._denominator(found, token) if token.kind == "ratio" else [])

    def _family(self, s: _Sentence, position: int) -> tuple[str, int | None]:
        """The nearest action word before a number in its clause (a "trong đó" clause continues the last)."""
        low = self.article.low
        triggers = s.words("trigger")
        lo = _last_before(s.clauses, position)
        while True:
            for start, _, family in reversed(triggers):
                if lo <= start < position:
                    return family, start
            if lo == s.start or not _OPENS_RE.match(low, lo):
                break
            lo = _last_before(s.clauses, lo - 1)
        if s.opener and self.last_family and lo == s.start:
            return self.last_family, None
        return "none", None

    def _mood(self, s: _Sentence, lo: int, hi: int) -> str | None:
        inside = [name for start, _, name in s.words("mood") if lo <= start < hi]
        return inside[-1] if inside else None

    def _subject(self, s: _Sentence, position: int) -> str | None:
        before = [name for start, _, name in s.words("subject") if start < position]
        return before[-1] if before else self.last_subject

    def _totals_before(self, s: _Sentence, trigger_start, lead: int, names, previous_first: int) -> set:
        """Totals already proposed for this place before a "trong đó" that precedes the number."""
        lo = trigger_start or s.start
        opener = next((a for a, _, _ in s.words("opener") if lo <= a < lead), None)
        if opener is None:
            return set()
        found = self.article.found
        pool = [f for f in found[self.sentence_first:] if f.span[1] <= opener]
        if not self.article.text[s.start:opener].strip(" ,:("):
            pool += found[previous_first:self.sentence_first]
        return {f.indicator for f in pool if f.names[:1] == names[:1]}

    def _match_rule(self, s, position, family, head, gap, tail, totals: _Lazy):
        """The first rule that fits, with the label and tail matches that made it fit.

        Inside a breakdown ("kết nạp 103 đảng viên; trong đó ...") a number is
        a part, never the same total again: plain rules for ``totals()`` are
        skipped.
        """
        vocab, low = self.article.vocab, self.article.low
        for rule in _RULE_INDEX.get((family, head), ()):
            if rule.indicator not in vocab.kind:
                continue
            if _plain(rule) and rule.indicator in vocab.totals and rule.indicator in totals():
                continue
            if rule.subject and self._subject(s, position) != rule.subject:
                continue
            if rule.context and not rule.context.search(low, s.start, s.end):
                continue
            label = rule.label.search(gap) if rule.label else None
            if rule.label and not label:
                continue
            matched = rule.tail.match(tail) if rule.tail else None
            if rule.tail and not matched:
                continue
            return rule, label, matched
        return None, None, None

    # -------------------------------------------------------------- percentages

    def _read_percent(self, s, token, qualifier, lead, previous_end, rest_end, family) -> list[_Found]:
        low, vocab = self.article.low, self.article.vocab
        if (family == "change" or _RATE_AFTER_RE.match(low, token.end)
                or ending_word(low[max(s.start, lead - 16):lead], _CHANGE_WORDS)):
            return []  # "tăng 1,2%", "8,7%/năm", "vượt 12%": not a share
        indicator, span = None, (lead, token.end)
        after = _PERCENT_AFTER_RE.match(low, token.end, min(rest_end, token.end + _PHRASE_REACH))
        if after:
            indicator, span = PERCENT_AFTER[int(after.lastgroup[1:])][0], (lead, after.end())
        if indicator is None:
            gap_start = max(_last_before(s.clauses, token.start), previous_end)
            named = list(_PERCENT_BEFORE_RE.finditer(low, max(gap_start, lead - _PHRASE_REACH), lead))
            if named and lead - named[-1].end() <= 40 and not re.search(r"\d", low[named[-1].end():lead]):
                indicator, span = PERCENT_BEFORE[int(named[-1].lastgroup[1:])][0], (named[-1].start(), token.end)
        if indicator in _ADMISSION_SHARES and family != "admit" or indicator in _STOCK_SHARES and family not in _STOCK:
            return []
        beside = self._beside_count(s, lead)
        named_by_count = indicator is None
        if named_by_count:
            indicator = vocab.share.get(beside.indicator) if beside is not None else None
            if indicator is None:
                return []
        found = self._make(indicator, token.value, qualifier, span, s, token.start, 0.75 if named_by_count else 0.9)
        if found is None:
            return []
        if beside is not None and vocab.share.get(beside.indicator) == indicator:
            if named_by_count:
                found.notes.append(f"share of the {value_text(beside.value)} printed beside it")
            if not self._check_base(found, beside, s):
                return []
        return [found]

    def _beside_count(self, s: _Sentence, lead: int) -> _Found | None:
        """The count printed just before a percentage ("69/84 thôn ..., đạt 82,14%")."""
        for found in reversed(self.article.found[self.sentence_first:]):
            if found.span[1] > lead:
                continue
            between = self.article.text[found.span[1]:lead]
            if found.unit == "count" and len(between) <= 60 and not re.search(r"[\d;%]", between):
                return found
            return None
        return None

    def _check_base(self, share: _Found, count: _Found, s: _Sentence) -> bool:
        """False when the printed percentage is of another number of the sentence (a different base)."""
        base = self.article.latest.get((self.article.vocab.base.get(share.indicator), count.names))
        if not base:
            return True
        tolerance = Decimal("0.06") if share.qualifier == "exact" else Decimal("1.5")
        if abs(count.value * 100 / base - share.value) <= tolerance:
            return True
        for token in s.figures:
            other = token.denominator or token.value
            if token.kind in ("count", "ratio") and other and other != base and (
                    abs(count.value * 100 / other - share.value) <= tolerance):
                return False
        share.notes.append(f"SUSPECT: {value_text(count.value)} of {value_text(base)} is "
                           f"{count.value * 100 / base:.2f}%, not the printed {value_text(share.value)}%")
        share.confidence = 0.5
        return True

    # -------------------------------------------------------------- candidates, periods, places

    def _make(self, indicator, value, qualifier, span, s, position, confidence, notes=(), *,
              whole_term=False) -> _Found | None:
        vocab = self.article.vocab
        kind = vocab.kind.get(indicator)
        if kind is None:
            return None
        notes = list(notes)
        mention = self._period(s, position, indicator)
        if mention is None:
            period = publication_period(self.article.published)
            if kind == "flow":
                confidence -= 0.1
                notes.append("no period in the text: ends at publication")
        else:
            period = mention.period
            if whole_term:  # a target covers the whole stated term, not the term so far
                whole = resolve_period(self.article.text[mention.start:mention.end], None)
                period = whole if whole is not None and whole.end is not None else period
        return _Found(indicator, value, vocab.unit[indicator], qualifier, span, self.number, self.title,
                      period, kind, round(confidence, 2), vocab.label.get(indicator, ""), notes)

    def _period(self, s: _Sentence, position: int, indicator: str) -> PeriodMention | None:
        """The nearest period phrase before the number in its sentence, else after it in its clause,
        else the last one of the paragraph; for a flow, else the last one before a paragraph that
        continues the previous one ("Qua kiểm tra, ...")."""
        if s.comparisons and indicator.endswith("_change"):
            return s.comparisons[0]
        before = [m for m in s.dated if m.end <= position]
        if before:
            return before[-1]
        clause_end = next((c for c in s.clauses if c > position), s.end)
        after = [m for m in s.dated if position < m.start < clause_end]
        if after:
            return after[0]
        if self.periods:
            return self.periods[-1]
        return self.carried_period if self.article.vocab.kind.get(indicator) == "flow" else None

    def _denominator(self, numerator: _Found, token: NumberToken) -> list[_Found]:
        """The base of a ratio ("69/84 trưởng thôn" -> 84 villages): the codebook parent."""
        vocab = self.article.vocab
        parent = vocab.parent.get(numerator.indicator)
        if parent is None or vocab.unit.get(parent) != "count":
            numerator.notes.append(f"of {value_text(token.denominator)}")
            return []
        return [_Found(parent, token.denominator, "count", "exact", numerator.span, numerator.para, numerator.title,
                       numerator.period, vocab.kind[parent], numerator.confidence, vocab.label.get(parent, ""),
                       ["denominator of a printed ratio"], restated=True)]

    def _scope(self, s: _Sentence, start: int, end: int, anaphor: bool) -> tuple[str, tuple[str, ...]]:
        """The place named nearest before the number (or after it in its clause), else the district."""
        art = self.article
        named = [(p.end, p.scope, p.names) for p in s.places if p.end <= start]
        named += [(a, level, (art.district if level == "district" else art.province,))
                  for a, _, level in s.words("level") if a < start]
        if named:
            _, scope, names = max(named, key=lambda n: n[0])
            return scope, names
        comma_end = next((c for c in s.commas if c > end), s.end)
        after = [p for p in s.places if end <= p.start < comma_end]
        if after:
            return after[0].scope, after[0].names
        if anaphor and self.last_place is not None:
            return self.last_place.scope, self.last_place.names
        return "district", (art.district,)


def _word_before(low: str, position: int, word: str) -> bool:
    """Whether ``word`` (lowercase) is the word just before a position."""
    before = low[max(0, position - len(word) - 4):position].rstrip()
    return before.endswith(word) and not before[-len(word) - 1:-len(word)].isalnum()


class _Lazy:
    """A value computed on first use, then remembered (the scope is costly and rarely needed)."""

    def __init__(self, compute):
        self.compute, self.done, self.value = compute, False, None

    def __call__(self):
        if not self.done:
            self.value, self.done = self.compute(), True
        return self.value


def _plain(rule: Rule) -> bool:
    return rule.generic or (rule.label is None and rule.tail is None)


def _last_before(starts: list[int], position: int) -> int:
    return starts[max(bisect.bisect_right(starts, position) - 1, 0)]


def _places(text: str, district: str, a: int, b: int) -> list[Place]:
    """Places named in ``text[a:b]``, grouped ("xã A và xã B"; "thôn 8 xã C" is the village)."""
    places: list[Place] = []
    for m in _PLACE_RE.finditer(text, a, b):
        scope = next(level for level in _LEVELS if m.group(level))
        name = clean_name({"district": m.group("dname"), "commune": m.group("cname")}.get(scope) or m.group(0))
        if scope == "district" and name_key(name) == name_key(district):
            name = district
        if places:
            last = places[-1]
            gap = text[last.end:m.start()].strip().lower()
            if gap in ("", ",", "(", "thuộc", "của") and _LEVELS.index(last.scope) < _LEVELS.index(scope):
                places[-1] = Place(last.start, m.end(), last.scope, last.names)
                continue
            if gap in (",", "và", ", và") and last.scope == scope:
                places[-1] = Place(last.start, m.end(), scope, last.names + (name,))
                continue
        places.append(Place(m.start(), m.end(), scope, (name,)))
    return places


# ---------------------------------------------------------------- after reading: links, duplicates, frame


def _link_parts(found: list[_Found], vocab: Vocabulary) -> list[_Found]:
    """Point each breakdown part at the nearest earlier total of the same place in its paragraph."""
    for i, part in enumerate(found):
        parent = vocab.parent.get(part.indicator)
        if parent is None or part.restated:
            continue
        for j in range(i - 1, -1, -1):
            other = found[j]
            if other.para != part.para:
                break
            if other.indicator == parent and other.names == part.names:
                part.parent = j
                break
    return found


def _deduplicate(found: list[_Found]) -> list[_Found]:
    """Keep the first of identical figures; the note of the kept one says where else it is printed.

    Identical means same indicator, value, unit, qualifier and place, and the
    same period, except for a ratio's base or a title figure, which match a
    figure printed elsewhere whatever its dates.
    """
    def key(f):
        return f.indicator, f.value, f.unit, f.qualifier, f.scope, f.names

    exact: dict[tuple, int] = {}
    loose: dict[tuple, int] = {}
    alias: dict[int, int] = {}
    for i, f in enumerate(found):
        if f.title:
            continue
        first = exact.get(key(f) + (f.period,))
        if first is None and f.restated:
            first = loose.get(key(f))
        if first is None:
            exact[key(f) + (f.period,)] = i
            loose.setdefault(key(f), i)
        else:
            alias[i] = first
            _note_also(found[first], f"para {f.para}")
    for i, f in enumerate(found):
        if f.title and key(f) in loose:
            alias[i] = loose[key(f)]
            _note_also(found[alias[i]], "title")
    kept = [i for i in range(len(found)) if i not in alias]
    numbers = {i: n for n, i in enumerate(kept, start=1)}
    for i in kept:
        f = found[i]
        f.parent = numbers.get(alias.get(f.parent, f.parent)) if f.parent is not None else None
    return [found[i] for i in kept]


def _note_also(found: _Found, where: str) -> None:
    note = f"also printed at {where}"
    if note not in found.notes:
        found.notes.append(note)


def _to_frame(found: list[_Found], text: str, *, source_id: str, province: str) -> pd.DataFrame:
    rows = []  # dicts turned into columns at the end: much faster than growing a frame
    for n, f in enumerate(found, start=1):
        a, b = f.span
        where = "title" if f.title else f"para {f.para}"
        stock = f.kind == "stock"
        rows.append({
            "obs_id": f"NEW-{n:03d}", "source_id": source_id, "locator": f"{where}, chars {a}-{b}",
            "unit_name": f.names[0], "province": province, "scope": f.scope, "indicator": f.indicator,
            "value": value_text(f.value), "unit": f.unit, "qualifier": f.qualifier,
            "as_of": (f.period.end or "") if stock else "",
            "period_start": "" if stock else (f.period.start or ""),
            "period_end": "" if stock else (f.period.end or ""),
            "period_end_basis": f.period.basis, "status": "published",
            "note": "; ".join([f"chars {a}-{b}: {f.gloss}"] + f.notes),
            "span_start": str(a), "span_end": str(b), "phrase": text[a:b], "confidence": f"{f.confidence:.2f}",
            "parent_candidate": f"NEW-{f.parent:03d}" if f.parent else "", "accept": "",
        })
    return pd.DataFrame({c: [r[c] for r in rows] for c in CANDIDATE_COLUMNS}, dtype="str")


# ---------------------------------------------------------------- reviewed candidates -> raw rows

#: What a reviewer may write in ``accept``.
ACCEPT_YES = frozenset({"y", "yes", "1", "true", "x"})
ACCEPT_NO = frozenset({"n", "no", "0", "false", ""})
#: Source details the extract command carries in every candidate row (for a source not yet in sources.csv).
SOURCE_FIELDS = ("publisher", "title", "published", "url", "language", "kind", "accessed")
#: What identifies a figure: the same source printing the same number for the same thing, place and date.
FIGURE_KEY = ("source_id", "indicator", "unit_name", "value", "as_of", "period_start", "period_end")


#: The start of a cell a spreadsheet runs as a formula: ``=``, ``+``, ``@``, a tab, a carriage return, or ``-``
#: before anything but a plain number (``-3`` and ``-0.5`` stay numbers).
_FORMULA_START = r"(?:[=+@\t\r]|-(?!\d*\.?\d+\Z))"


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A table to be opened in a spreadsheet, its formula-like text cells prefixed with ``'``.

    The candidates file is reviewed in a spreadsheet, and its cells hold
    text from the command line and from the article: a title such as
    ``=HYPERLINK(...)`` would run as a formula. A text cell that starts like
    a formula (see ``_FORMULA_START``), possibly after quotes, gets one more
    ``'`` in front, which spreadsheets show as text; numbers such as ``-3``
    are left alone. :func:`restore_formulas` undoes it exactly, so the text
    reaches ``data/raw`` as typed. Only the candidates file is written this
    way: processed tables are data for pandas and R and keep every cell as is.

    Args:
        frame: The table (text columns are changed; other columns kept).

    Returns:
        A copy with the formula-like cells prefixed.

    Examples:
        >>> cells = pd.DataFrame({"c": ["=SUM(A1:A9)", "@Báo", "-3", "-x", "'=1", "'quoted'", "a=b"]})
        >>> neutralise_formulas(cells)["c"].tolist()
        ["'=SUM(A1:A9)", "'@Báo", '-3', "'-x", "''=1", "'quoted'", 'a=b']
        >>> restore_formulas(neutralise_formulas(cells)).equals(cells)
        True
    """
    return _change_formula_cells(frame, f"'*{_FORMULA_START}", lambda column: "'" + column)


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The text of a table written by :func:`neutralise_formulas`, as it was before: one ``'`` removed.

    Only a cell that :func:`neutralise_formulas` would have written is
    changed (a ``'`` followed by formula-like text): a title that happens to
    start with a quote is kept, and a cell whose quote a spreadsheet dropped
    on saving is already as typed.

    Args:
        frame: A table read back from a file written with :func:`neutralise_formulas`.

    Returns:
        A copy with those cells restored.

    Examples:
        >>> restore_formulas(pd.DataFrame({"c": ["'=1", "''=1", "=1", "'quoted'", "'-3", ""]}))["c"].tolist()
        ['=1', "'=1", '=1', "'quoted'", "'-3", '']
    """
    return _change_formula_cells(frame, f"'+{_FORMULA_START}", lambda column: column.str.slice(1))


def _change_formula_cells(frame: pd.DataFrame, pattern: str, change) -> pd.DataFrame:
    """``change`` the cells of the text columns that match ``pattern`` at their start."""
    text = [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c])]
    return frame.assign(**{c: frame[c].mask(frame[c].str.match(pattern, na=False), change(frame[c])) for c in text})


def accepted_candidates(reviewed: pd.DataFrame, *, file: Path | str) -> pd.DataFrame:
    """The rows of a reviewed candidates table whose ``accept`` says yes.

    Cells the candidates file neutralised for the spreadsheet (a leading
    ``'``, :func:`neutralise_formulas`) are restored as typed.

    Args:
        reviewed: The candidates table as read back (text; the index is the
            line number in the file, as :func:`analysis.data.storage.read_csv_table`
            gives it).
        file: The file's name, for messages.

    Returns:
        The accepted rows, in file order, with their text as typed.

    Raises:
        InputError: A column is missing, or an ``accept`` cell is neither
            yes (``y``, ``yes``, ``1``, ``true``, ``x``) nor no (``n``,
            ``no``, ``0``, ``false``, empty); the message names the line.

    Examples:
        >>> table = pd.DataFrame({c: [""] * 3 for c in CANDIDATE_COLUMNS}, index=[2, 3, 4])
        >>> table["accept"] = ["y", " N", "X"]
        >>> accepted_candidates(table, file="c.csv").index.tolist()
        [2, 4]
        >>> table.loc[3, "accept"] = "maybe"
        >>> accepted_candidates(table, file="c.csv")
        Traceback (most recent call last):
        ...
        analysis.errors.InputError: c.csv:3: accept: 'maybe' is neither yes (y, yes, 1, true, x) nor no (n, no, 0, false, empty)
    """
    missing = [c for c in (*OBSERVATION_COLUMNS, "span_start", "span_end", "parent_candidate", "accept")
               if c not in reviewed.columns]
    if missing:
        raise InputError(f"not a candidates table: missing column(s) {', '.join(missing)}", file=file, row=1)
    answer = reviewed["accept"].fillna("").astype(str).str.strip().str.lower()
    unknown = ~answer.isin(ACCEPT_YES | ACCEPT_NO)
    if unknown.any():
        line = unknown.idxmax()
        raise InputError(f"{reviewed.loc[line, 'accept']!r} is neither yes (y, yes, 1, true, x) nor no "
                         "(n, no, 0, false, empty)", file=file, row=line, field="accept")
    return restore_formulas(reviewed.loc[answer.isin(ACCEPT_YES)])


def next_ids(existing: pd.Series, prefix: str, count: int, width: int) -> list[str]:
    """``count`` new ids continuing the sequence ``prefix`` + digits.

    Examples:
        >>> next_ids(pd.Series(["O0001", "O0032", "C0004"]), "O", 2, 4)
        ['O0033', 'O0034']
        >>> next_ids(pd.Series(["S000", "S103"]), "S", 1, 3), next_ids(pd.Series([], dtype=str), "O", 1, 4)
        (['S104'], ['O0001'])
    """
    digits = existing.astype(str).str.extract(rf"^{prefix}(\d+)$")[0].dropna()
    first = int(digits.astype(int).max()) + 1 if len(digits) else 1 if prefix == "O" else 0
    width = max([width, *digits.str.len()])
    return [f"{prefix}{n:0{width}d}" for n in range(first, first + count)]


def raw_rows(accepted: pd.DataFrame, *, observations: pd.DataFrame, sources: pd.DataFrame
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows to append to ``observations.csv`` and ``sources.csv`` for accepted candidates.

    Each candidate gets the next ``obs_id``; ``NEW`` (or a source id not yet
    in ``sources``) becomes a new source from the ``source_*`` details the
    extract command carried. The note keeps the reviewer's text and adds the
    provenance: ``proposed by extract vX from ARTICLE chars a-b; reviewed``
    (and ``part of O…`` when the total was accepted too). The phrase and
    every other review column are dropped: article text never enters
    ``data/raw``.

    Args:
        accepted: Rows of :func:`accepted_candidates`.
        observations: The existing ``observations.csv`` (for the next id).
        sources: The existing ``sources.csv``.

    Returns:
        ``(new_observations, new_sources)`` with the raw tables' columns
        (``new_sources`` may be empty).

    Raises:
        InputError: A new source without a publisher or title, or with the
            title or URL of a source already in ``sources.csv``.

    Examples:
        >>> cands = pd.DataFrame({c: [""] for c in CANDIDATE_COLUMNS})
        >>> cands = cands.assign(obs_id="NEW-001", source_id="S000", indicator="party_members", value="1639",
        ...                      note="chars 10-25: Party members", span_start="10", span_end="25",
        ...                      article="kon_ray.txt")
        >>> obs, new_sources = raw_rows(cands, observations=pd.DataFrame({"obs_id": ["O0007"]}),
        ...                             sources=pd.DataFrame({"source_id": ["S000"], "title": ["t"], "url": [""]}))
        >>> obs.loc[0, "obs_id"], obs.loc[0, "note"], len(new_sources)
        ('O0008', 'Party members; proposed by extract v1.0 from kon_ray.txt chars 10-25; reviewed', 0)
    """
    rows = accepted.reset_index(drop=True).fillna("").astype(str)
    obs_ids = next_ids(observations["obs_id"], "O", len(rows), 4)
    new_sources, source_of = _new_sources(rows, sources)
    ids = dict(zip(rows["obs_id"], obs_ids))
    article = rows["article"] if "article" in rows else pd.Series("the article", index=rows.index)
    note = rows["note"].str.replace(r"^chars \d+-\d+:\s*", "", regex=True)
    note = note.where(note == "", note + "; ")
    part_of = ("part of " + rows["parent_candidate"].map(ids) + "; ").fillna("")
    provenance = ("proposed by extract v" + EXTRACTOR_VERSION + " from " + article + " chars "
                  + rows["span_start"] + "-" + rows["span_end"] + "; reviewed")
    out = rows[list(OBSERVATION_COLUMNS)].assign(
        obs_id=obs_ids, source_id=rows["source_id"].replace(source_of), note=note + part_of + provenance)
    return out, new_sources


def _new_sources(rows: pd.DataFrame, sources: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """A sources row for each source id the raw table does not have yet, and the id it gets."""
    unknown = [s for s in dict.fromkeys(rows["source_id"]) if s not in set(sources["source_id"])]
    ids = next_ids(sources["source_id"], "S", sum(s == "NEW" for s in unknown), 3)
    source_of = {s: (ids.pop(0) if s == "NEW" else s) for s in unknown}
    new = []
    for given, source_id in source_of.items():
        first = rows[rows["source_id"] == given].iloc[0]
        details = {f: first.get(f"source_{f}", "") for f in SOURCE_FIELDS}
        if not details["publisher"] or not details["title"]:
            raise InputError(f"source {given} is not in sources.csv and the candidates carry no publisher and "
                             "title for it; rerun extract with --publisher and --title, or use an existing "
                             "--source", field="source_id")
        for column in ("title", "url"):
            clash = sources.loc[(sources.get(column, pd.Series(dtype=str)) == details[column])
                                & (details[column] != ""), "source_id"]
            if len(clash):
                raise InputError(f"this article's {column} is already in sources.csv as {clash.iloc[0]}; "
                                 f"extract it again with --source {clash.iloc[0]}", field="source_id")
        new.append({"source_id": source_id, **details, "published_note": "",
                    "language": details["language"] or "vi", "kind": details["kind"] or "press"})
    columns = ["source_id", "publisher", "title", "published", "published_note", "url", "language", "kind",
               "accessed"]
    return pd.DataFrame(new, columns=columns).fillna("").astype(str), source_of


def duplicate_figures(new: pd.DataFrame, existing: pd.DataFrame) -> pd.DataFrame:
    """New rows that repeat a figure already in the raw table, or repeat each other.

    A figure is the same when :data:`FIGURE_KEY` agrees, values compared as
    numbers (``10.2`` = ``10.20``).

    Returns:
        The offending new rows with a ``duplicate_of`` column (an existing
        ``obs_id``, or the earlier new one).

    Examples:
        >>> old = pd.DataFrame({"obs_id": ["O0002"], "source_id": ["S000"], "indicator": ["party_members"],
        ...                     "unit_name": ["Kon Rẫy"], "value": ["1639"], "as_of": ["2021-06-20"],
        ...                     "period_start": [""], "period_end": [""]})
        >>> new = old.assign(obs_id="O0040", value="1639.0")
        >>> duplicate_figures(new, old)[["obs_id", "duplicate_of"]].values.tolist()
        [['O0040', 'O0002']]
    """
    def keyed(frame):
        keys = frame[list(FIGURE_KEY)].fillna("").astype(str)
        number = pd.to_numeric(keys["value"], errors="coerce")
        keys["value"] = number.map(lambda v: f"{v:g}", na_action="ignore").fillna(keys["value"])
        return keys.assign(obs_id=frame["obs_id"].to_numpy())

    new_keys, old_keys = keyed(new), keyed(existing)
    against_old = new_keys.merge(old_keys, on=list(FIGURE_KEY), suffixes=("", "_old"))
    within = new_keys[new_keys.duplicated(list(FIGURE_KEY))].merge(
        new_keys.drop_duplicates(list(FIGURE_KEY)), on=list(FIGURE_KEY), suffixes=("", "_old"))
    found = pd.concat([against_old, within])[["obs_id", "obs_id_old"]].rename(columns={"obs_id_old": "duplicate_of"})
    return new.merge(found, on="obs_id")
