"""The word lists and pattern tables the extractor reads Vietnamese party press with.

Head nouns (what a number counts), the lexicon of action words, moods,
levels and openers (found in one pass over the lowercased article), the
table of indicator rules for counts, the phrases that name a percentage, and
the phrases that state a zero without a digit. :mod:`analysis.text.reader`
applies them; nothing here reads an article.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from analysis.text.vietnamese import spellings, tone_variants


def _lower(pattern: str) -> re.Pattern:
    """A pattern for the lowercased article (both tone-mark placements, no IGNORECASE)."""
    return tone_variants(pattern, 0)


# ---------------------------------------------------------------- head nouns

_V = r"(?:thôn|làng|buôn|bon|plei|bản|tổ dân phố|khu dân cư|ấp|xóm|khu phố)"
#: A village head, whatever the village is called ("trưởng thôn", "trưởng buôn", "thôn trưởng" ...).
_HEADMAN = r"(?:trưởng (?:thôn|làng|buôn|bon|plei|bản|ấp|xóm|khu dân cư)|thôn trưởng|tổ trưởng tổ dân phố)"

#: The disciplinary forms, mildest first.
_FORMS = {
    "reprimand": r"khiển trách",
    "warning": r"cảnh cáo",
    "dismissal": r"cách chức",
    "expulsion": r"khai trừ(?: ra khỏi đảng)?",
}

#: Nouns that say what a number counts, tried in this order right after it.
HEADS = (
    (
        "district_committee_member",
        r"(?:đồng chí )?(?:huyện|thị|thành) ủy viên"
        r"|đồng chí ủy viên ban chấp hành đảng bộ (?:huyện|thị xã|thành phố)",
    ),
    ("commune_committee_member", r"(?:đồng chí )?(?:cấp ủy viên cấp xã|cấp ủy viên xã|đảng ủy viên)"),
    ("committee_member", r"(?:đồng chí )?(?:chi ủy viên|cấp ủy viên chi bộ)"),
    ("any_committee_member", r"(?:đồng chí )?cấp ủy viên(?: các cấp)?"),
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
    ("grassroots_org", r"tổ chức cơ sở đảng|tổ chức đảng cơ sở|tccsđ|tccs"),
    ("grassroots_committee", r"đảng bộ(?: cơ sở| trực thuộc| xã, thị trấn)?"),
    ("grassroots_cell", r"chi bộ cơ sở"),
    ("party_org", r"tổ chức đảng|tập thể(?: ban thường vụ| chi ủy| cấp ủy| đảng ủy)?"),
    ("org", r"tổ chức"),
    ("cell", r"chi bộ"),
    ("village", _V),
    ("household_group", r"nhóm hộ"),
    ("household", r"hộ(?: gia đình| dân| đồng bào)?"),
    ("session", r"cuộc(?: kiểm tra| giám sát)?"),
    ("delegate", r"đại biểu"),
    ("commune", r"đơn vị hành chính(?: cấp xã)?|xã, (?:phường, )?thị trấn"),
    ("km2", r"km2|km²|ki-lô-mét vuông"),
    *((f"form_{form}", words) for form, words in _FORMS.items()),  # "gồm 1 khai trừ, 2 cảnh cáo"
)
_HEAD_ALTERNATIVES = "|".join(f"(?P<{n}>{p})" for n, p in HEADS)
HEAD_RE = _lower(rf"\s*(?:{_HEAD_ALTERNATIVES})(?!\w)")
#: "Số thôn có trưởng thôn là đảng viên là 112": the noun before the number.
HEAD_BEFORE_RE = _lower(rf"(?<!\w)(?:tổng\s+)?số\s+(?:{_HEAD_ALTERNATIVES})(?!\w)[^;\d]{{0,60}}?(?:là|:|lên|đạt)\s*$")

# ---------------------------------------------------------------- the lexicon: one pass for every word list

#: Action words: the nearest one before a number sets its family.
TRIGGERS = (
    ("admit", r"kết nạp|nạp mới|phát triển(?: mới)?"),
    (
        "official",
        r"chuyển(?: đảng)? chính thức|công nhận(?: đảng viên)? chính thức"
        r"|chuyển(?=\s+[\d.]+\s+đảng viên dự bị)",
    ),
    ("removed", r"cho ra khỏi đảng|đưa ra khỏi đảng"),
    ("transfer_in", r"tiếp nhận"),
    ("propose_expel", r"đề nghị(?:\s+\S+){0,6}?\s+khai trừ"),
    ("rate", r"xếp loại|phân loại|đánh giá"),
    ("introduce", r"giới thiệu|cảm tình đảng"),
    ("awareness", r"(?:lớp )?bồi dưỡng nhận thức|lớp nhận thức|học lớp cảm tình"),
    ("source", r"tạo nguồn"),
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
    (
        "other",
        r"khen thưởng|tặng|trao|huy hiệu|tập huấn|bồi dưỡng|học tập|quán triệt|"
        r"biểu dương|điều động|luân chuyển|chuyển sinh hoạt|miễn sinh hoạt|tham dự|tham gia|"
        r"phát hiện",
    ),
)

#: Every word list, as (kind, name, pattern); earlier entries win where phrases overlap.
LEXICON = (
    # who inspects: the standing committee, the inspection commission, or "all levels"
    ("subject", "gic", r"(?:ủy ban kiểm tra|ubkt) (?:các )?đảng ủy cơ sở"),
    ("subject", "ic", r"(?:ủy ban kiểm tra|ubkt)(?: các cấp)?"),
    ("subject", "sc", r"ban thường vụ|btv"),
    ("subject", "gc", r"(?:các )?đảng ủy cơ sở"),
    ("subject", "committee", r"cấp ủy(?! viên)(?: các cấp)?"),
    ("subject", "cell", r"(?:các )?chi bộ(?= (?:đã )?(?:xử lý|thi hành|kỷ luật))"),
    ("subject", "generic", r"các cấp"),
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
#: The letters a lexicon word can start with (a test checks them against LEXICON): the regex engine skips the
#: other positions of the article at once instead of trying every alternative there.
LEXICON_FIRST_LETTERS = "bcdghklmnpqrstuxđủ"
LEXICON_RE = re.compile(
    rf"(?=[{LEXICON_FIRST_LETTERS}])"
    + _lower(r"(?<!\w)(?:" + "|".join(f"(?P<{kind}__{name}>{p})" for kind, name, p in LEXICON) + r")(?!\w)").pattern
)
LEXICON_GROUPS = {f"{kind}__{name}": (kind, name) for kind, name, _ in LEXICON}
LEXICON_KINDS = tuple(dict.fromkeys(kind for kind, _, _ in LEXICON))
PASSIVE_RE = _lower(
    r"[^,;()\d]{0,45}?(?<!\w)(?:bị|được|đã được)\s+(?:xử lý\s+|thi hành\s+)?"
    r"(?:(?P<discipline>kỷ luật|khiển trách|cảnh cáo|cách chức|khai trừ)|(?P<admit>kết nạp)|"
    r"(?P<struck_off>xóa tên)|(?P<assign>phân công|giao phụ trách))"
)
OPENS_RE = _lower(r"[\s,:(]*(?:trong đó|trong số|gồm|bao gồm|cụ thể|riêng)(?!\w)")
CONTINUATION_RE = _lower(
    r"\s*(?:qua (?:đó|kiểm tra|giám sát)|trong đó|cũng trong|bên cạnh đó|ngoài ra|cùng với đó|đồng thời|cũng theo"
    r"|(?:cùng|trong) (?:thời gian|giai đoạn|thời kỳ) (?:này|đó|trên)"
    r"|trong số (?:những |các )?[^.;\d]{0,40}?(?:nói trên|trên đây|này))(?!\w)"
)
SIGNS_RE = _lower(r"dấu hiệu vi phạm")
RATE_AFTER_RE = re.compile(r"\s?/\s?(?:năm|tháng)")
SEMICOLON_RE = re.compile(";")
COMMA_RE = re.compile(r"[,;:(]")
CHANGE_WORDS = spellings(("tăng", "giảm", "vượt", "hơn so với"))

# ---------------------------------------------------------------- the table of indicator patterns

#: Ethnic-minority groups of the Central Highlands and the north named in party press.
_GROUPS = (
    r"jrai|gia rai|ba na|bahnar|xơ đăng|ê đê|m'nông|mnông|cơ ho|mạ|giẻ triêng|brâu|rơ măm|hrê|chu ru|"
    r"tày|nùng|thái|mường|h'mông|mông|dao|khmer|chăm|sán chay|sán dìu|cơ tu|tà ôi|vân kiều"
)
_ETHNIC = rf"(?:là )?(?:người )?(?:đồng bào )?(?:dân tộc thiểu số|dtts|(?:dân tộc )?(?:{_GROUPS})(?!\w))"
_FEMALE = r"(?:là )?(?:phụ )?nữ"
_RELIGIOUS = r"(?:là )?(?:người )?(?:có đạo|theo đạo|có tín ngưỡng|theo tôn giáo|tôn giáo)"
_RURAL = r"(?:ở|tại|thuộc|trong) (?:các )?chi bộ (?:nông thôn|thôn|làng|ở thôn)"
_POPULATION = r"(?:vi phạm )?(?:chính sách dân số|sinh con thứ|kế hoạch hóa gia đình)"
_PROHIBITED = r"(?:vi phạm )?(?:những |các )?(?:điều|quy định về những điều) đảng viên không được làm"
_COMMUNE = r"(?:xã|thị trấn|phường)"
_DISTRICT = r"(?:huyện|thị xã|thành phố)"
_DISTRICT_BODY = r"(?:huyện ủy|thị ủy|thành ủy|đảng bộ (?:huyện|thị xã|thành phố))"
#: How a party organisation was rated at the year's review, most specific first.
_RATINGS = (
    ("grassroots_orgs_rated_clean_strong_exemplary", r"(?:tsvm|trong sạch,? vững mạnh) tiêu biểu"),
    ("grassroots_orgs_rated_clean_strong", r"tsvm|trong sạch,? vững mạnh|hoàn thành xuất sắc nhiệm vụ"),
    ("grassroots_orgs_rated_good", r"hoàn thành tốt nhiệm vụ"),
    ("grassroots_orgs_rated_completed", r"hoàn thành nhiệm vụ"),
    ("grassroots_orgs_rated_weak", r"yếu kém|không hoàn thành nhiệm vụ"),
)
#: Why members were disciplined, beside the population policy and the prohibited acts.
_REASONS = (
    ("disciplined_corruption", r"(?:vi phạm )?(?:về )?tham nhũng(?:, lãng phí)?(?:, tiêu cực)?"),
    ("disciplined_gambling", r"(?:vi phạm )?(?:về )?(?:đánh bạc|cờ bạc)"),
    ("disciplined_ethics_lifestyle", r"(?:vi phạm )?(?:về )?(?:phẩm chất )?đạo đức,? lối sống"),
    ("disciplined_democratic_centralism", r"(?:vi phạm )?(?:về )?nguyên tắc tập trung dân chủ"),
    ("disciplined_land_management", r"(?:vi phạm )?(?:về )?(?:quản lý )?(?:đất đai|tài nguyên|rừng)"),
)
#: Cells by where they are.
_CELL_TYPES = (
    ("school_cells", r"(?:các )?trường(?: học)?"),
    ("health_cells", r"trạm y tế|y tế"),
    ("military_cells", r"quân sự"),
    ("police_cells", r"công an"),
    ("village_cells", rf"{_V}(?:,? (?:làng|buôn|tổ dân phố|khu phố|bản|bon))*"),
)
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
    sentence_subject: bool = False


def _rule(
    indicator,
    families,
    heads,
    *,
    label=None,
    tail=None,
    context=None,
    subject=None,
    confidence=0.9,
    generic=False,
    sentence_subject=False,
):
    return Rule(
        indicator,
        frozenset(families),
        frozenset(heads),
        label and _lower(rf"(?<!\w)(?:đảng viên\s+)?(?:{label})\s*(?:là|:|có|\()?\s*$"),
        tail and _lower(tail),
        context and _lower(context),
        subject,
        confidence,
        generic,
        sentence_subject,
    )


def _part(indicator, families, heads, words):
    """A breakdown part named before its number ("nữ 37") or after its noun ("37 đảng viên nữ")."""
    return (
        _rule(indicator, families, heads | {None}, label=words),
        _rule(
            indicator,
            families,
            heads,
            tail=rf"^(?:(?!trong đó|gồm)[^,;:()\d]){{0,25}}?(?<!\w)"
            rf"(?:bị |với hình thức |bằng hình thức |hình thức |ở |tại )?"
            rf"(?:{words})(?!\w)(?!\s*\()",
        ),
    )  # "... khiển trách (6 trường hợp)": a list follows


_MEMBER = {"member", "person"}
_CASE = _MEMBER | {"case"}
_ADMIT = {"admit"}
_DISCIPLINE = {"discipline"}
STOCK_FAMILIES = {"stock", "none"}
_ORG = {"grassroots_org", "party_org", "org"}
_BODY_ORG = _ORG | {"cell", "grassroots_committee"}  # what an inspection or supervision covers
#: Every family a number can have (rules that any action word allows).
ANY_FAMILY = frozenset({name for name, _ in TRIGGERS} | {"none", "plan_admit", "inspect_signs", "discipline_change"})
_NEW = _MEMBER | {"new_member"}

#: The table of indicator patterns for counts; the first matching row wins.
RULES = (
    _rule("admissions_target", {"plan_admit"}, _NEW),
    _rule("admission_candidates_introduced", {"introduce"}, _MEMBER | {"candidate"}),
    _rule("admission_awareness_course_trainees", {"awareness"}, _MEMBER | {"candidate"}),
    _rule("admission_candidates_sourced", {"source"}, _MEMBER | {"candidate"}),
    *_part("admissions_rural_cells", _ADMIT, _NEW, _RURAL),
    *_part("admissions_ethnic_minority", _ADMIT, _NEW | {"candidate"}, _ETHNIC),
    *_part("admissions_female", _ADMIT, _NEW, _FEMALE),
    _rule("admissions_female", _ADMIT, {"female"}),
    *_part("admissions_religious", _ADMIT, _NEW, _RELIGIOUS),
    *_part("admissions_youth_age", _ADMIT, _NEW, r"(?:trong )?độ tuổi đoàn"),
    *_part("admissions_youth_union", _ADMIT, _NEW, r"(?:là )?đoàn viên(?: thanh niên)?"),
    *_part("admissions_mobile_militia", _ADMIT, _NEW, r"(?:là )?(?:lldbđv|lực lượng dự bị động viên|dân quân cơ động)"),
    *_part("admissions_militia", _ADMIT, _NEW, r"(?:là )?(?:lldq|(?:lực lượng )?dân quân(?: tự vệ)?)"),
    _rule(
        "admissions_above_target",
        _ADMIT,
        _NEW,
        label=r"vượt (?:so với )?(?:chỉ tiêu|kế hoạch)(?: đặt ra| đề ra| được giao)?(?: là)?",
    ),
    *_part("admissions_commune_level", _ADMIT, _NEW, r"(?:ở |tại |thuộc )?(?:khối |cấp )xã(?:, thị trấn)?"),
    _rule(
        "admissions_commune_level",
        _ADMIT,
        _NEW,
        label=r"(?:khối|cấp) xã(?:, thị trấn)?[^;\d]{0,20}?(?:phát triển|kết nạp)(?: mới)?(?: được)?",
    ),
    _rule("admissions", _ADMIT, _NEW | {"candidate"}),
    _rule("members_made_official", {"official"}, _MEMBER),
    _rule("members_made_official", ANY_FAMILY, _MEMBER, tail=r"^\s*dự bị (?:thành|sang|lên) (?:đảng viên )?chính thức"),
    _rule("members_removed_from_party", {"removed"}, _CASE),
    _rule("members_transferred_in", {"transfer_in"}, _MEMBER),
    _rule("expulsions_proposed", {"propose_expel"}, _CASE),
    _rule(
        "members_found_warranting_discipline",
        ANY_FAMILY,
        _MEMBER,
        tail=r"^[^;]{0,20}?vi phạm đến mức (?:phải )?(?:xem xét )?(?:thi hành |xử lý )?kỷ luật",
    ),
    _rule(
        "disciplined_party_orgs_by_inspection_commissions",
        _DISCIPLINE,
        {"party_org"},
        subject="ic",
        sentence_subject=True,
    ),
    _rule("disciplined_party_orgs", _DISCIPLINE, {"party_org"}),
    *(r for form, words in _FORMS.items() for r in _part(f"disciplined_{form}", _DISCIPLINE, _CASE, words)),
    *(_rule(f"disciplined_{form}", _DISCIPLINE, {f"form_{form}"}) for form in _FORMS),
    *_part("disciplined_population_policy", _DISCIPLINE, _CASE, _POPULATION),
    *_part("disciplined_prohibited_acts", _DISCIPLINE, _CASE, _PROHIBITED),
    *(r for indicator, words in _REASONS for r in _part(indicator, _DISCIPLINE, _CASE, words)),
    _rule("disciplined_district_committee_members", _DISCIPLINE, {"district_committee_member"}),
    _rule(
        "disciplined_committee_members",
        _DISCIPLINE,
        {"commune_committee_member", "committee_member", "any_committee_member"},
    ),
    _rule("disciplined_members_change", {"discipline_change"}, _CASE),
    _rule(
        "disciplined_members_by_inspection_commissions",
        _DISCIPLINE,
        _CASE,
        subject="ic",
        sentence_subject=True,
        confidence=0.7,
    ),
    _rule(
        "disciplined_members_by_party_committees",
        _DISCIPLINE,
        _CASE,
        subject="committee",
        sentence_subject=True,
        confidence=0.7,
    ),
    _rule(
        "disciplined_members_by_party_committees",
        _DISCIPLINE,
        _CASE,
        subject="sc",
        sentence_subject=True,
        confidence=0.7,
    ),
    _rule("disciplined_members_by_cells", _DISCIPLINE, _CASE, subject="cell", sentence_subject=True, confidence=0.7),
    _rule("disciplined_members", _DISCIPLINE, _CASE),
    _rule("members_struck_off", {"struck_off"}, _CASE),
    _rule("standing_committee_inspections", {"inspect"}, {"session"}, subject="sc"),
    _rule("standing_committee_supervisions", {"supervise"}, {"session"}, subject="sc"),
    _rule("inspection_commission_inspections", {"inspect"}, {"session"}, subject="ic"),
    _rule("standing_committee_inspected_org_visits", {"inspect"}, {"org_visit"} | _ORG, subject="sc"),
    _rule("inspection_commission_inspected_org_visits", {"inspect"}, {"org_visit"}, subject="ic"),
    _rule("standing_committee_inspected_members", {"inspect"}, _MEMBER, subject="sc"),
    _rule("standing_committee_supervised_orgs", {"supervise"}, _BODY_ORG, subject="sc"),
    _rule(
        "grassroots_inspection_commissions_inspected_members_signs_of_violation",
        {"inspect_signs", "inspect"},
        _MEMBER,
        subject="gic",
    ),
    _rule("grassroots_committees_inspected_orgs", {"inspect"}, _BODY_ORG, subject="gc"),
    _rule("grassroots_committees_inspected_members", {"inspect"}, _MEMBER, subject="gc"),
    _rule("grassroots_committees_supervised_orgs", {"supervise"}, _BODY_ORG, subject="gc"),
    _rule("grassroots_committees_supervised_members", {"supervise"}, _MEMBER, subject="gc"),
    _rule("standing_committee_supervised_members", {"supervise"}, _MEMBER, subject="sc"),
    _rule("party_orgs_inspected_signs_of_violation", {"inspect_signs"}, _BODY_ORG),
    _rule("members_inspected_signs_of_violation", {"inspect_signs"}, _MEMBER),
    _rule("party_orgs_inspected", {"inspect"}, _BODY_ORG),
    _rule("members_inspected", {"inspect"}, _MEMBER),
    _rule("party_orgs_supervised", {"supervise"}, _BODY_ORG),
    _rule("members_supervised", {"supervise"}, _MEMBER),
    _rule("district_committee_members_assigned_areas", {"assign"}, {"district_committee_member"}),
    _rule("commune_committee_members_assigned_cells", {"assign"}, {"commune_committee_member"}),
    _rule("members_assigned_households", {"assign"}, _MEMBER),
    _rule("household_groups_assigned", {"assign"}, {"household_group"}),
    _rule("households_assigned", {"assign"}, {"household"}),
    _rule("cells_merged", {"merge"}, {"cell"}),
    _rule(
        "grassroots_party_orgs_dissolved", {"dissolve"}, {"grassroots_org", "grassroots_cell", "grassroots_committee"}
    ),
    _rule("grassroots_cells_established", {"establish"}, {"grassroots_cell"}),
    _rule("cells_established", {"establish"}, {"cell"}),
    _rule("party_members_change", {"change"}, _MEMBER),
    _rule("grassroots_party_orgs_change", {"change"}, {"grassroots_org"}),
    _rule("grassroots_party_orgs_change", {"change"}, {"party_org", "org"}, context=r"tổ chức cơ sở đảng|tccsđ"),
    _rule("cells_under_grassroots_committees_change", {"change"}, {"cell"}),
    _rule("grassroots_cells_change", {"change"}, {"grassroots_cell"}),
    _rule(
        "grassroots_party_orgs_congress_held",
        ANY_FAMILY,
        {"grassroots_org", "party_org"},
        tail=r"^[^;\d]{0,40}?(?:đã )?(?:tổ chức|tiến hành) (?:xong |thành công )?đại hội",
    ),
    _rule(
        "cells_congress_held",
        ANY_FAMILY,
        {"cell"},
        tail=r"^[^;\d]{0,40}?(?:đã )?(?:tổ chức|tiến hành) (?:xong |thành công )?đại hội",
    ),
    *_part("party_members_ethnic_minority", STOCK_FAMILIES, _MEMBER, _ETHNIC),
    *_part("party_members_female", STOCK_FAMILIES, _MEMBER, _FEMALE),
    _rule("party_members_female", STOCK_FAMILIES, {"female"}),
    *_part("party_members_religious", STOCK_FAMILIES, _MEMBER, _RELIGIOUS),
    *_part("party_members_probationary", STOCK_FAMILIES, _MEMBER, r"(?:là )?(?:đảng viên )?dự bị"),
    *_part("party_members_full", STOCK_FAMILIES, _MEMBER, r"(?:là )?(?:đảng viên )?chính thức"),
    *_part(
        "party_members_youth", STOCK_FAMILIES, _MEMBER, r"(?:là )?đoàn viên(?: thanh niên)?|(?:trong )?độ tuổi đoàn"
    ),
    _rule(
        "commune_committee_members",
        ANY_FAMILY,
        {"person", None},
        label=rf"ban chấp hành đảng bộ {_COMMUNE}[^;]{{0,60}}?(?:gồm|có|là)",
    ),
    _rule(
        "commune_committee_members",
        ANY_FAMILY,
        {"person"},
        tail=rf"^\s*(?:vào|tham gia) ban chấp hành đảng bộ {_COMMUNE}",
    ),
    _rule(
        "commune_standing_committee_members",
        ANY_FAMILY,
        {"person", None},
        label=rf"ban thường vụ đảng ủy {_COMMUNE}[^;]{{0,60}}?(?:gồm|có|là)",
    ),
    _rule(
        "district_committee_members",
        ANY_FAMILY,
        {"person", None},
        label=rf"ban chấp hành đảng bộ {_DISTRICT}[^;]{{0,60}}?(?:gồm|có|là)",
    ),
    _rule(
        "district_committee_members",
        ANY_FAMILY,
        {"person"},
        tail=rf"^\s*(?:vào|tham gia) ban chấp hành đảng bộ {_DISTRICT}",
    ),
    *(
        _rule(
            indicator,
            STOCK_FAMILIES | {"rate"},
            _BODY_ORG,
            tail=rf"^[^,;\d]{{0,12}}?(?:được )?(?:đánh giá |xếp loại |xếp )?(?:đạt |là )?(?:{words})",
        )
        for indicator, words in _RATINGS
    ),
    _rule(
        "cell_secretaries_also_village_heads",
        STOCK_FAMILIES,
        {"person"},
        tail=r"^[^,;\d]{0,20}?(?:đang )?(?:giữ chức |là |làm )?bí thư chi bộ",
        context=_HEADMAN,
    ),
    _rule(
        "deputy_secretaries_also_village_heads",
        STOCK_FAMILIES,
        {"person", None},
        label=rf"phó bí thư chi bộ {_POST_BEFORE}",
    ),
    _rule(
        "cell_secretaries_also_village_heads", STOCK_FAMILIES, {"person", None}, label=rf"bí thư chi bộ {_POST_BEFORE}"
    ),
    _rule(
        "cell_committee_members_also_village_heads",
        STOCK_FAMILIES,
        {"person", None},
        label=rf"chi ủy viên {_POST_BEFORE}",
    ),
    _rule(
        "village_heads_party_members",
        STOCK_FAMILIES,
        {"person", None},
        label=rf"{_HEADMAN}[^;\d]{{0,20}}? là đảng viên",
    ),
    _rule(
        "members_assigned_households",
        STOCK_FAMILIES,
        _MEMBER,
        tail=r"^[^,;]{0,30}?(?:được )?(?:phân công )?(?:phụ trách|theo dõi)[^;]{0,30}?hộ",
    ),
    _rule("party_members", STOCK_FAMILIES, {"member"}),
    _rule("party_members", {"stock"}, {"person"}, context=r"đảng viên"),
    _rule("grassroots_party_orgs", STOCK_FAMILIES, {"grassroots_org"}),
    # a bracketed or listed structure, the kind named before its count: "(đảng bộ cơ sở 20; chi bộ cơ sở 31)"
    _rule("grassroots_party_committees", STOCK_FAMILIES, {None}, label=r"đảng bộ cơ sở"),
    _rule("grassroots_cells", STOCK_FAMILIES, {None}, label=r"chi bộ cơ sở"),
    _rule(
        "cells_under_grassroots_committees",
        STOCK_FAMILIES,
        {None},
        label=r"chi bộ trực thuộc(?: đảng ủy cơ sở| đảng bộ cơ sở)?",
    ),
    _rule("grassroots_party_orgs", STOCK_FAMILIES, {None}, label=r"tổ chức cơ sở đảng|tccsđ|tccs"),
    _rule("grassroots_party_committees", STOCK_FAMILIES, {"grassroots_committee"}),
    _rule("grassroots_cells", STOCK_FAMILIES, {"grassroots_cell"}),
    _rule("grassroots_cells", STOCK_FAMILIES, {"cell"}, tail=rf"^\s*(?:cơ sở )?trực thuộc {_DISTRICT_BODY}"),
    _rule("grassroots_cells", STOCK_FAMILIES, {"cell"}, label=r"đảng bộ(?: cơ sở)?\s*(?:,|và)"),
    _rule("party_orgs_total", STOCK_FAMILIES, {"party_org"}, tail=r"^(?=\s*(?:với|và|,|;|\.|$))"),
    _rule("villages_with_cell_committee", STOCK_FAMILIES, {"cell"}, tail=rf"^\s*{_V}[^;]{{0,60}}?có chi ủy"),
    _rule("cells_with_cell_committee", STOCK_FAMILIES, {"cell"}, tail=r"^[^,;]{0,30}?có chi ủy"),
    *(_rule(indicator, STOCK_FAMILIES, {"cell"}, tail=rf"^\s*(?:{words})(?!\w)") for indicator, words in _CELL_TYPES),
    _rule("cells_under_grassroots_committees", STOCK_FAMILIES, {"cell"}, tail=r"^\s*trực thuộc"),
    _rule("cells_under_grassroots_committees", STOCK_FAMILIES, {"cell"}, confidence=0.6),
    _rule(
        "village_heads_party_members",
        STOCK_FAMILIES,
        {"village"},
        tail=rf"^[^;]{{0,60}}?{_HEADMAN}[^;]{{0,40}}?là đảng viên",
    ),
    _rule(
        "deputy_secretaries_also_village_heads",
        STOCK_FAMILIES,
        {"village"},
        tail=r"^[^;]{0,60}?phó bí thư chi bộ (?:đồng thời|kiêm|cũng)",
    ),
    _rule(
        "cell_secretaries_also_village_heads",
        STOCK_FAMILIES,
        {"village"},
        tail=r"^[^;]{0,60}?(?<!phó )bí thư chi bộ (?:đồng thời|kiêm|cũng)",
    ),
    _rule("villages_with_cell_committee", STOCK_FAMILIES, {"village"}, tail=r"^[^;]{0,60}?có chi ủy"),
    _rule(
        "villages_without_party_members",
        STOCK_FAMILIES,
        {"village"},
        tail=r"^[^;]{0,60}?(?:chưa có|không có|trắng) đảng viên",
    ),
    _rule(
        "villages_without_party_org", STOCK_FAMILIES, {"village"}, tail=r"^[^;]{0,60}?chưa có (?:tổ chức đảng|chi bộ)"
    ),
    _rule("villages_with_party_org", STOCK_FAMILIES, {"village"}, tail=r"^[^;]{0,60}?có tổ chức (?:cơ sở )?đảng"),
    _rule("villages_with_party_cell", STOCK_FAMILIES, {"village"}, tail=r"^[^;]{0,60}?có chi bộ"),
    _rule(
        "villages",
        STOCK_FAMILIES,
        {"village"},
        tail=rf"^(?:\s*,?\s*(?:và\s+)?{_V})*+(?!\s*,?\s*(?:và\s+)?\d)"
        rf"(?:\s+(?:trên địa bàn|của|thuộc)[^,;.()\d]{{0,30}})?"
        r"(?=\s*[,;.:)(]|\s*$|\s+(?:và|với|trong đó|thì|nhưng|đều)(?!\w))",
        generic=True,
    ),
    _rule(
        "village_heads_not_party_members",
        STOCK_FAMILIES,
        {"village_head"},
        tail=r"^[^;]{0,60}?(?:chưa|không)(?: phải)? là đảng viên",
    ),
    _rule(
        "cell_secretaries_also_village_heads",
        STOCK_FAMILIES,
        {"village_head"},
        tail=r"^[^;]{0,40}?(?:kiêm|đồng thời là|cũng là) bí thư chi bộ",
    ),
    _rule("village_heads_party_members", STOCK_FAMILIES, {"village_head"}, tail=r"^[^;]{0,60}?là đảng viên"),
    _rule("deputy_secretaries_also_village_heads", STOCK_FAMILIES, {"deputy"}, tail=_CONCURRENT),
    _rule("cell_secretaries_also_village_heads", STOCK_FAMILIES, {"secretary"}, tail=_CONCURRENT),
    _rule("cell_committee_members_also_village_heads", STOCK_FAMILIES, {"committee_member"}, tail=_CONCURRENT),
    _rule(
        "district_committee_members_assigned_areas",
        STOCK_FAMILIES,
        {"district_committee_member"},
        tail=r"^[^;]{0,30}?(?:được )?phân công",
    ),
    _rule(
        "commune_committee_members_assigned_cells",
        STOCK_FAMILIES,
        {"commune_committee_member"},
        tail=r"^[^;]{0,30}?(?:được )?phân công",
    ),
    _rule("religious_households", STOCK_FAMILIES, {"household"}, tail=rf"^\s*{_RELIGIOUS}"),
    _rule(
        "households",
        STOCK_FAMILIES,
        {"household"},
        confidence=0.7,
        generic=True,
        tail=r"^(?=\s*(?:[,;.:)(/]|$|với|và|trong đó|đồng bào|dân tộc|người)(?!\w))",
    ),
    _rule(
        "congress_delegates",
        STOCK_FAMILIES,
        {"delegate"},
        confidence=0.7,
        generic=True,
        tail=r"^(?!\s*(?:đi )?dự đại hội (?:đảng bộ )?cấp trên|\s*đi dự)",
    ),
    _rule("communes", STOCK_FAMILIES, {"commune"}, confidence=0.7),
    _rule("area_km2", ANY_FAMILY, {"km2"}),
    _rule(
        "population",
        ANY_FAMILY,
        {"person", None},
        label=r"dân số(?: toàn| của| cả)?(?: huyện| tỉnh| xã| thị xã| thành phố)?[^;]{0,25}?(?:là|có|khoảng|:)?",
    ),
    _rule(
        "members_assessed",
        ANY_FAMILY,
        _MEMBER,
        tail=r"^[^;\d]{0,20}?(?:được )?(?:kiểm điểm,? )?(?:đánh giá,? )?(?:phân loại|xếp loại)",
    ),
)

#: The last words of every breakdown label (``_part``) and of "Số ... là": a number with neither
#: these before it nor a head noun after it is no figure, and is dropped before the costlier checks.
LABEL_ENDINGS = spellings(
    (
        "khiển trách",
        "cảnh cáo",
        "cách chức",
        "khai trừ",
        "khỏi đảng",
        "nữ",
        "thiểu số",
        "dtts",
        "có đạo",
        "theo đạo",
        "tín ngưỡng",
        "tôn giáo",
        "nông thôn",
        "thôn",
        "làng",
        "dân số",
        "gia đình",
        "thứ",
        "được làm",
        "là",
        "có",
        "lên",
        "đạt",
        "dự bị",
        "chính thức",
        "gồm",
        "lldq",
        "lldbđv",
        "huyện",
        "tỉnh",
        "khoảng",
        "đặt ra",
        "đề ra",
        "được giao",
        "kế hoạch",
        "chỉ tiêu",
        "cơ sở",
        "trực thuộc",
        "tccsđ",
        "tccs",
    )
)

RULE_INDEX: dict[tuple[str, str | None], tuple[Rule, ...]] = {}
for _r in RULES:
    for _f in _r.families:
        for _h in _r.heads:
            RULE_INDEX[(_f, _h)] = RULE_INDEX.get((_f, _h), ()) + (_r,)

#: Phrases that name a percentage printed right before them ("75,51% thôn trưởng là đảng viên").
PERCENT_AFTER = (
    ("village_heads_party_members_share", rf"{_HEADMAN}[^;\d]{{0,40}}?là đảng viên"),
    ("village_heads_party_members_share", rf"{_V}[^;\d]{{0,40}}?có {_HEADMAN}[^;\d]{{0,30}}?là đảng viên"),
    (
        "deputy_secretaries_also_village_heads_share",
        rf"(?:{_V}[^;\d]{{0,40}}?có )?phó bí thư chi bộ (?:đồng thời|kiêm|cũng)",
    ),
    (
        "cell_secretaries_also_village_heads_share",
        rf"(?:{_V}[^;\d]{{0,40}}?có )?(?:đồng chí )?bí thư chi bộ (?:đồng thời|kiêm|cũng)",
    ),
    ("cell_secretaries_also_village_heads_share", rf"{_HEADMAN} (?:kiêm|đồng thời là|cũng là) bí thư"),
    ("cell_committee_members_also_village_heads_share", r"chi ủy viên (?:kiêm|đồng thời|cũng)"),
    ("villages_with_cell_committee_share", rf"(?:chi bộ )?{_V}[^;\d]{{0,40}}?có chi ủy"),
    ("villages_with_party_org_share", rf"{_V}[^;\d]{{0,40}}?có tổ chức (?:cơ sở )?đảng"),
    ("villages_with_party_cell_share", rf"{_V}[^;\d]{{0,40}}?có chi bộ"),
    ("members_registered_at_residence_share", r"đảng viên[^;\d]{0,60}?sinh hoạt (?:tại |ở )?nơi cư trú"),
    (
        "members_assigned_households_share",
        r"đảng viên[^;\d]{0,30}?(?:được phân công|nhận phụ trách|phụ trách|theo dõi)",
    ),
    ("households_assigned_share", r"(?:số )?hộ[^;\d]{0,40}?(?:phụ trách|theo dõi)"),
    ("party_members_ethnic_minority_share", rf"(?:tổng số )?đảng viên[^,;\d]{{0,15}}?{_ETHNIC}"),
    ("party_members_female_share", rf"đảng viên {_FEMALE}(?!\w)"),
    ("party_members_religious_share", rf"đảng viên[^,;\d]{{0,10}}?{_RELIGIOUS}"),
    ("admissions_target_achieved_share", r"(?:so với |theo )?(?:chỉ tiêu|kế hoạch|nghị quyết)"),
    (
        "members_rated_good_or_excellent_share",
        r"(?:đảng viên )?(?:được xếp loại )?hoàn thành (?:xuất sắc nhiệm vụ và hoàn thành tốt|"
        r"xuất sắc và (?:hoàn thành )?tốt|tốt nhiệm vụ trở lên)",
    ),
)
PERCENT_AFTER_RE = _lower(
    r"\s*(?:số\s+)?(?:" + "|".join(f"(?P<a{i}>{p})" for i, (_, p) in enumerate(PERCENT_AFTER)) + r")"
)
#: Phrases that name a percentage printed after them ("tỷ lệ trưởng thôn là đảng viên đạt 82%").
PERCENT_BEFORE = (
    ("admissions_university_share", r"(?:tốt nghiệp |trình độ )?đại học(?: trở lên)?"),
    ("admissions_college_share", r"(?:tốt nghiệp |trình độ )?cao đẳng"),
    ("admissions_vocational_share", r"(?:tốt nghiệp |trình độ )?(?:trung học chuyên nghiệp|trung cấp)"),
    ("admissions_youth_union_share", r"đoàn viên(?: đoàn)?(?: thanh niên)?(?: cộng sản)?(?: hồ chí minh)?"),
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
PERCENT_BEFORE_RE = _lower(r"(?<!\w)(?:" + "|".join(f"(?P<b{i}>{p})" for i, (_, p) in enumerate(PERCENT_BEFORE)) + r")")
#: How far from a percentage the phrase naming it may reach (characters).
PHRASE_REACH = 100
ADMISSION_SHARES = {
    "admissions_target_achieved_share",
    "admissions_university_share",
    "admissions_college_share",
    "admissions_vocational_share",
    "admissions_youth_union_share",
}
#: "được thành lập năm 2010": the year of an event, not the date of a count printed after it.
EVENT_BEFORE_RE = _lower(r"(?:thành lập|tái lập|chia tách|sáp nhập|từ)\s*(?:vào\s+)?$")
#: Words that open a clause without saying what its number is: "Kết quả, 44 đảng viên ..." is no member total.
BARE_OPENING_RE = _lower(r"[\s,:]*(?:kết quả|qua đó|theo đó|trong đó|cụ thể|riêng)?[\s,:]*")
#: The posts a list of percentages may name in turn ("14,29%, 10,20% và 10,20% bí thư chi bộ, phó bí thư
#: chi bộ và chi ủy viên là thôn trưởng"), with the share each gives.
ROLE_SHARES = {
    "deputy": "deputy_secretaries_also_village_heads_share",
    "secretary": "cell_secretaries_also_village_heads_share",
    "committee": "cell_committee_members_also_village_heads_share",
}
_ROLE = r"(?:đồng chí )?(?:phó bí thư chi bộ|bí thư chi bộ|chi ủy viên)"
ROLE_RE = _lower(r"(?P<deputy>phó bí thư chi bộ)|(?P<secretary>bí thư chi bộ)|(?P<committee>chi ủy viên)")
RESPECTIVE_RE = _lower(
    rf"\s*(?P<roles>{_ROLE}(?:\s*(?:,|và|;)\s*{_ROLE})+)\s*"
    rf"(?:đồng thời |cũng |đều )?(?:là|kiêm) {_HEADMAN}"
)
#: What separates the items of a list of counts ("03 thôn, 01 làng và 2 buôn").
LIST_GAP_RE = _lower(r"\s*,?\s*(?:và\s+)?")
#: "Từ 67 đảng viên ban đầu, đến nay có ...": a count at the founding, not a threshold.
FOUNDING_RE = _lower(r"^[^,;\d]{0,10}?(?:ban đầu|lúc đầu|khi (?:mới )?thành lập|ngày đầu)")
#: "X ... trong tổng số Y, chiếm Z%": Z is the share of X.
PART_OF_TOTAL_RE = _lower(r"trong (?:tổng )?số\s*$")
#: The margin by which admissions beat their target: "vượt 11% (so với) kế hoạch".
EXCEEDED_AFTER_RE = _lower(r"\s*(?:so với )?(?:kế hoạch|chỉ tiêu)")
STOCK_SHARES = {"party_members_ethnic_minority_share", "party_members_female_share", "party_members_religious_share"}

#: Sentences that state a zero without a digit.
ZERO_PHRASES = (
    ("villages_without_party_members", rf"không còn {_V}[^.;\d]{{0,30}}?(?:chưa có|trắng|không có) đảng viên"),
    ("villages_without_party_org", rf"không còn {_V}[^.;\d]{{0,30}}?chưa có (?:tổ chức đảng|chi bộ)"),
)
ZERO_RE = _lower("|".join(f"(?P<z{i}>{p})" for i, (_, p) in enumerate(ZERO_PHRASES)))
