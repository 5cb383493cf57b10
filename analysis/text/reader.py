"""Reading an article sentence by sentence: numbers -> candidate figures.

:class:`Article` reads paragraph by paragraph; :class:`Paragraph` carries
what continues from sentence to sentence (the family of the last action, who
acts, the place, the periods) and reads each number (:meth:`Paragraph.read_number`)
with the tables of :mod:`analysis.text.patterns`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from analysis.text.patterns import (
    ADMISSION_SHARES,
    BARE_OPENING_RE,
    CHANGE_WORDS,
    COMMA_RE,
    CONTINUATION_RE,
    EVENT_BEFORE_RE,
    EXCEEDED_AFTER_RE,
    FOUNDING_RE,
    HEAD_BEFORE_RE,
    HEAD_RE,
    LABEL_ENDINGS,
    LEXICON_GROUPS,
    LEXICON_KINDS,
    LEXICON_RE,
    LIST_GAP_RE,
    OPENS_RE,
    PART_OF_TOTAL_RE,
    PASSIVE_RE,
    PERCENT_AFTER,
    PERCENT_AFTER_RE,
    PERCENT_BEFORE,
    PERCENT_BEFORE_RE,
    PHRASE_REACH,
    RATE_AFTER_RE,
    RESPECTIVE_RE,
    ROLE_RE,
    ROLE_SHARES,
    RULE_INDEX,
    SEMICOLON_RE,
    SIGNS_RE,
    STOCK_FAMILIES,
    STOCK_SHARES,
    ZERO_PHRASES,
    ZERO_RE,
    Rule,
)
from analysis.text.places import NAMED_AFTER_RE, Place, places_in
from analysis.text.vocabulary import Vocabulary
from analysis.text.vietnamese import (
    FIGURE_KINDS,
    NumberToken,
    Period,
    PeriodMention,
    at_least_after,
    ending_word,
    find_periods,
    lowercase,
    number_tokens,
    paragraph_spans,
    publication_period,
    resolve_period,
    sentence_spans,
    value_text,
)


@dataclass
class Found:
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
class Sentence:
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
        self.by_kind = {kind: [] for kind in LEXICON_KINDS}
        for a, b, kind, name in self.lexicon:
            self.by_kind[kind].append((a, b, name))
        self.dated = [m for m in self.periods if m not in self.comparisons]

    def words(self, kind: str) -> list[tuple[int, int, str]]:
        """The lexicon words of one kind (``trigger``, ``mood``, ``subject`` ...) in the sentence."""
        return self.by_kind[kind]


class Scan:
    """Every pattern run once over a block of whole paragraphs; :meth:`sentence` slices the results.

    A block rather than the whole article keeps few objects alive at once, which
    keeps Python's cyclic garbage collector cheap on very long texts.
    """

    def __init__(self, text: str, low: str, published: date | None, district: str, a: int, b: int):
        lexicon = [(m.start(), m.end(), *LEXICON_GROUPS[m.lastgroup]) for m in LEXICON_RE.finditer(low, a, b)]
        lexicon = [w for w in lexicon if w[2] != "anaphor" or not NAMED_AFTER_RE.match(text, w[1])]  # "xã Đăk Kôi"
        block = text[a:b]
        self.found = {
            "figures": [
                t._replace(start=t.start + a, end=t.end + a, lead=t.lead + a)
                for t in number_tokens(block)
                if t.kind in FIGURE_KINDS
            ],
            "periods": [m._replace(start=m.start + a, end=m.end + a) for m in find_periods(block, published)],
            "lexicon": lexicon,
            "places": places_in(text, district, a, b),
            "zeros": [(m.start(), m.end(), ZERO_PHRASES[int(m.lastgroup[1:])][0]) for m in ZERO_RE.finditer(low, a, b)],
            "clauses": [m.end() for m in SEMICOLON_RE.finditer(text, a, b)],
            "commas": [m.end() for m in COMMA_RE.finditer(text, a, b)],
        }
        self.starts = {
            name: items if name in ("clauses", "commas") else [item[0] for item in items]
            for name, items in self.found.items()
        }

    def _within(self, name: str, s0: int, s1: int) -> list:
        starts = self.starts[name]
        return self.found[name][bisect.bisect_left(starts, s0) : bisect.bisect_left(starts, s1)]

    def sentence(self, low: str, s0: int, s1: int) -> Sentence:
        return Sentence(
            s0,
            s1,
            *(self._within(name, s0, s1) for name in ("figures", "periods", "lexicon", "places", "zeros")),
            clauses=[s0] + self._within("clauses", s0, s1),
            commas=[s0] + self._within("commas", s0, s1),
            opener=bool(OPENS_RE.match(low, s0)),
            comparisons=[m for m in self._within("periods", s0, s1) if low.startswith("so với", m.start)],
        )


@dataclass
class Article:
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
        self._rules: dict = {}

    def rules(self, family: str, head: str | None) -> tuple[Rule, ...]:
        """The rules for a number's family and head noun whose indicator the codebook has."""
        key = (family, head)
        if key not in self._rules:
            self._rules[key] = tuple(r for r in RULE_INDEX.get(key, ()) if r.indicator in self.vocab.kind)
        return self._rules[key]

    def read(self) -> list[Found]:
        """The candidates of the article, paragraph by paragraph and sentence by sentence.

        The patterns run once per block of about :data:`BLOCK` characters
        that starts at a sentence: whole paragraphs, or a cut inside a very
        long one (a sentence that crosses the cut starts the next block), so
        that the work and the objects alive at once stay proportional to the
        text, whatever its paragraphs.
        """
        text, low = self.text, self.low
        paragraphs = paragraph_spans(text)
        ends = [b for _, b in paragraphs]
        title = len(paragraphs) > 1 and _is_title(text, *paragraphs[0])
        periods_before: list[PeriodMention] = []
        scan_end = -1
        for number, (p0, p1) in enumerate(paragraphs, start=0 if title else 1):
            para = Paragraph(self, number, title and number == 0)
            if CONTINUATION_RE.match(low, p0) and periods_before:
                para.carried_period = periods_before[-1]
            for s0, s1 in sentence_spans(text, p0, p1):
                if s1 > scan_end:
                    scan_end = max(s1, _block_end(ends, s0))
                    scan = Scan(text, low, self.published, self.district, s0, scan_end)
                para.read_sentence(scan.sentence(low, s0, s1))
            periods_before.extend(para.periods)
        return self.found


#: How far before a number its label may start (characters).
LABEL_REACH = 120

#: Characters scanned at once.
BLOCK = 64_000


def _block_end(ends: list[int], start: int) -> int:
    """Where a block that starts at ``start`` ends: the first paragraph end after ``BLOCK`` characters,
    or ``BLOCK`` characters on inside a paragraph longer than that."""
    i = bisect.bisect_left(ends, start + BLOCK)
    end = ends[min(i, len(ends) - 1)]
    return start + BLOCK if end > start + 2 * BLOCK else end


def _is_title(text: str, start: int, end: int) -> bool:
    line = text[start:end].rstrip()
    return len(line) < 200 and not line.endswith((".", "!", "?", ":", ";", "…"))


@dataclass
class Paragraph:
    """What carries from sentence to sentence within a paragraph, and the reading of one number."""

    article: Article
    number: int
    title: bool
    carried_period: PeriodMention | None = None
    periods: list = field(default_factory=list)
    last_point: PeriodMention | None = None  # the last as-of of the paragraph (what a later stock may take)
    last_family: str | None = None
    last_subject: str | None = None
    last_place: Place | None = None
    sentence_first: int = 0  # index in article.found of the current sentence's first candidate

    def read_sentence(self, s: Sentence) -> None:
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
                found = self._make(
                    indicator,
                    Decimal(0),
                    "exact",
                    (start, end),
                    s,
                    start,
                    0.4,
                    ["a zero stated in words, no digit printed: check it"],
                )
                if found:
                    self._add(found, self._scope(s, start, end, anaphor))
        # a list in the next sentence continues the last action, never a change ("giảm 4 đảng viên")
        families = [name for _, _, name in s.words("trigger") if name != "change"]
        if families:
            self.last_family = families[-1]
        subjects = s.words("subject")
        if subjects:
            self.last_subject = subjects[-1][2]
        named = [p for p in s.places if p.scope == "commune"]
        if named:
            self.last_place = named[-1]
        kept = [m for m in s.dated if self._mood(s, _last_before(s.commas, m.start), m.start) != "plan"]
        self.periods.extend(kept)
        self.last_point = next((m for m in reversed(kept) if m.period.point), self.last_point)

    def _add(self, found: Found, where: tuple[str, tuple[str, ...]]) -> None:
        """Give a candidate its scope and keep it, once per place ("xã A và xã B có 100% ...")."""
        scope, names = where
        for name in names:
            copy = found if name == names[0] else replace(found, notes=list(found.notes))
            copy.scope, copy.names = scope, (name,)
            self.article.found.append(copy)
            self.article.latest[(copy.indicator, copy.names)] = copy.value

    # -------------------------------------------------------------- one number

    def _read_number(self, s: Sentence, i: int, previous_first: int, anaphor: bool) -> list[Found]:
        """The candidates of the ``i``-th number of a sentence (a ratio gives two)."""
        low = self.article.low
        token = s.figures[i]
        previous_end = s.figures[i - 1].end if i else s.start
        rest_end = s.figures[i + 1].start if i + 1 < len(s.figures) else s.end
        head = HEAD_RE.match(low, token.end, rest_end) if token.kind != "percent" else None
        if (
            head is None
            and token.kind != "percent"
            and not ending_word(low[max(s.start, token.start - 40) : token.start].rstrip(" :"), LABEL_ENDINGS)
        ):
            return []  # "5 năm", "30 tuổi", "3 tỷ đồng": no noun of ours after it, no label before it
        head_name = head.lastgroup if head else None
        qualifier, lead = token.qualifier, max(token.lead, s.start)
        if qualifier is None:
            return []  # "dưới 5%", "cao hơn 3": no qualifier codes it
        family, trigger_start = self._family(s, token.start)
        tail_start = head.end() if head else token.end
        after = low[tail_start:rest_end]
        passive = PASSIVE_RE.match(low, tail_start, rest_end) if head and ("bị" in after or "được" in after) else None
        if passive:
            family = passive.lastgroup
        if head_name == "new_member" and family in ("none", "stock"):
            family = "admit"
        if family == "change" and _word_before(low, lead, "lên"):
            family = "stock"  # "tăng từ 1.200 lên 1.520": the new total
        clause_end = next((c for c in s.clauses if c > token.start), s.end)
        if family == "inspect" and (
            SIGNS_RE.search(low, token.end, clause_end) or SIGNS_RE.search(low, s.start, token.start)
        ):
            family = "inspect_signs"
        if family == "other":
            return []
        listed = family == "none" and self.last_family == "discipline"  # a list after a discipline sentence
        if (
            token.kind != "percent"
            and (family, head_name) not in RULE_INDEX
            and not (listed and ("discipline", head_name) in RULE_INDEX)
            and "số" not in low[max(s.start, token.start - 80) : token.start]
        ):
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
        if family != "plan_admit" and _word_before(low, lead, "từ") and not FOUNDING_RE.match(after):
            return []  # "từ 5 đảng viên trở lên": a threshold
        at_least = at_least_after(after) if "trở" in after else 0
        if qualifier == "exact" and at_least or token.kind == "range":
            qualifier = "at_least"
        if token.kind == "percent":
            return self._read_percent(s, token, qualifier, lead, previous_end, rest_end, family)

        gap_start = max(_last_before(s.clauses, token.start), previous_end)
        totals = Lazy(
            lambda: self._totals_before(
                s, trigger_start, lead, self._scope(s, token.start, token.end, anaphor)[1], previous_first
            )
        )
        gap_start = max(gap_start, lead - LABEL_REACH)  # a label is a few words: the search stays short
        rule, label, tail = self._match_rule(s, token.start, family, head_name, low[gap_start:lead], after, totals)
        if listed and (rule is None or _plain(rule)):
            # "Về nội dung vi phạm: tham nhũng 5 trường hợp": a list of reasons or forms after a discipline sentence
            part = self._match_rule(s, token.start, "discipline", head_name, low[gap_start:lead], after, totals)
            if part[0] is not None and not _plain(part[0]):
                rule, label, tail = part
        window = max(gap_start, lead - 80)
        before = HEAD_BEFORE_RE.search(low, window, lead) if "số" in low[window:lead] else None
        if before and (rule is None or _plain(rule)) and head_name in (None, before.lastgroup):
            # "Số thôn có trưởng thôn là đảng viên là 112/120 thôn": the words before name the figure
            said = self._match_rule(
                s, token.start, family, before.lastgroup, "", low[before.end(before.lastgroup) : before.end()], totals
            )
            if said[0] is not None and (rule is None or not _plain(said[0])):
                rule, label, tail, lead = said[0], None, None, before.start()
        if rule is None or head_name == "village" and _plain(rule) and self._split_by_kind(s, i, head.end()):
            return []
        if (
            family == "none"
            and rule.indicator == "party_members"
            and gap_start == s.start
            and BARE_OPENING_RE.fullmatch(low, gap_start, lead)
        ):
            return []  # a count that opens its clause with no verb of having: the subject of what follows
        if label is not None:
            lead = gap_start + label.start()
        span_end = max(token.end, tail_start + (tail.end() if tail else 0), tail_start + at_least)
        found = self._make(
            rule.indicator,
            token.value,
            qualifier,
            (lead, span_end),
            s,
            token.start,
            rule.confidence,
            whole_term=family == "plan_admit",
        )
        if found is None:
            return []
        if family in ("change", "discipline_change") and low.startswith("giảm", trigger_start):
            found.value = -found.value
        if token.kind == "range":
            found.notes.append("lower end of a printed range")
        return [found] + (self._denominator(found, token) if token.kind == "ratio" else [])

    def _split_by_kind(self, s: Sentence, i: int, head_end: int) -> bool:
        """Whether the ``i``-th number is one of villages counted by kind ("03 thôn, 01 làng"): no total."""
        low, figures = self.article.low, s.figures
        if i + 1 < len(figures) and LIST_GAP_RE.fullmatch(low, head_end, figures[i + 1].start):
            after = HEAD_RE.match(low, figures[i + 1].end, s.end)
            if after is not None and after.lastgroup == "village":
                return True
        if i:
            before = HEAD_RE.match(low, figures[i - 1].end, s.end)
            return (
                before is not None
                and before.lastgroup == "village"
                and LIST_GAP_RE.fullmatch(low, before.end(), figures[i].start) is not None
            )
        return False

    def _family(self, s: Sentence, position: int) -> tuple[str, int | None]:
        """The nearest action word before a number in its clause (a "trong đó" clause continues the last)."""
        low = self.article.low
        triggers = s.words("trigger")
        lo = _last_before(s.clauses, position)
        while True:
            for start, _, family in reversed(triggers):
                if lo <= start < position and low.count(")", start, position) <= low.count("(", start, position):
                    # an action word inside brackets closed before the number is not its; a change
                    # ("tăng 682") reaches the number right after it, not a breakdown or a list after a comma
                    if family == "change" and ("," in low[start:position] or OPENS_RE.search(low, start, position)):
                        continue
                    if family == "change" and any(f == "discipline" and a < start for a, _, f in triggers):
                        return "discipline_change", start  # "kỷ luật 20 đảng viên, giảm 4 đảng viên": fewer disciplined
                    return family, start
            if lo == s.start or not OPENS_RE.match(low, lo):
                break
            lo = _last_before(s.clauses, lo - 1)
        if s.opener and self.last_family and lo == s.start:  # a breakdown in the next sentence: of the total
            return ("stock" if self.last_family == "change" else self.last_family), None
        return "none", None

    def _mood(self, s: Sentence, lo: int, hi: int) -> str | None:
        inside = [name for start, _, name in s.words("mood") if lo <= start < hi]
        return inside[-1] if inside else None

    def _subject(self, s: Sentence, position: int, sentence_only: bool = False) -> str | None:
        """Who acts: the last body named before the number in its sentence, else (unless ``sentence_only``)
        the last one named earlier in the paragraph."""
        before = [name for start, _, name in s.words("subject") if start < position]
        return before[-1] if before else None if sentence_only else self.last_subject

    def _totals_before(self, s: Sentence, trigger_start, lead: int, names, previous_first: int) -> set:
        """Totals already proposed for this place before a "trong đó" that precedes the number."""
        lo = trigger_start or s.start
        opener = next((a for a, _, _ in s.words("opener") if lo <= a < lead), None)
        if opener is None:
            return set()
        found = self.article.found
        pool = [f for f in found[self.sentence_first :] if f.span[1] <= opener]
        if not self.article.text[s.start : opener].strip(" ,:("):
            pool += found[previous_first : self.sentence_first]
        return {f.indicator for f in pool if f.names[:1] == names[:1]}

    def _match_rule(self, s, position, family, head, gap, tail, totals: Lazy):
        """The first rule that fits, with the label and tail matches that made it fit.

        Inside a breakdown ("kết nạp 103 đảng viên; trong đó ...") a number is
        a part, never the same total again: plain rules for ``totals()`` are
        skipped.
        """
        vocab, low = self.article.vocab, self.article.low
        for rule in self.article.rules(family, head):
            if _plain(rule) and rule.indicator in vocab.totals and rule.indicator in totals():
                continue
            if rule.subject and self._subject(s, position, rule.sentence_subject) != rule.subject:
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

    def _read_percent(self, s, token, qualifier, lead, previous_end, rest_end, family) -> list[Found]:
        low, vocab = self.article.low, self.article.vocab
        admitting = (
            family == "admit"
            or family == "none"
            and any(name == "admit" and a < token.start for a, _, name in s.words("trigger"))
        )
        exceeded = EXCEEDED_AFTER_RE.match(low, token.end) if _word_before(low, lead, "vượt") else None
        if exceeded and (admitting or self.title):  # "kết nạp 67, vượt 11% kế hoạch": the margin over the target
            found = self._make(
                "admissions_target_exceeded_share", token.value, qualifier, (lead, exceeded.end()), s, token.start, 0.9
            )
            return [found] if found else []
        if (
            family == "change"
            or RATE_AFTER_RE.match(low, token.end)
            or ending_word(low[max(s.start, lead - 16) : lead], CHANGE_WORDS)
        ):
            return []  # "tăng 1,2%", "8,7%/năm", "vượt 12%": not a share
        indicator, span = self._respective(s, token), (lead, token.end)
        after = None if indicator else PERCENT_AFTER_RE.match(low, token.end, min(rest_end, token.end + PHRASE_REACH))
        if after:
            indicator, span = PERCENT_AFTER[int(after.lastgroup[1:])][0], (lead, after.end())
        if indicator is None:
            gap_start = max(_last_before(s.clauses, token.start), previous_end)
            named = list(PERCENT_BEFORE_RE.finditer(low, max(gap_start, lead - PHRASE_REACH), lead))
            if named and lead - named[-1].end() <= 40 and not re.search(r"\d", low[named[-1].end() : lead]):
                indicator, span = PERCENT_BEFORE[int(named[-1].lastgroup[1:])][0], (named[-1].start(), token.end)
        if indicator in STOCK_SHARES and admitting:
            # "trong số đảng viên mới kết nạp, nữ chiếm 50%": a share of the admissions
            indicator = indicator.replace("party_members_", "admissions_")
        if (
            indicator in ADMISSION_SHARES
            and not admitting
            or indicator in STOCK_SHARES
            and family not in STOCK_FAMILIES
        ):
            return []
        beside = self._beside_count(s, lead)
        named_by_count = indicator is None
        if named_by_count:
            beside = self._part_of_total(beside) or beside  # "400 ... trong tổng số 4.809, chiếm 8,3%": the 400's
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

    def _respective(self, s: Sentence, token: NumberToken) -> str | None:
        """The share a percentage of a list names in turn ("14,29%, 10,20% và 10,20% bí thư chi bộ, phó bí thư
        chi bộ và chi ủy viên là thôn trưởng": the second is the deputies'), or None outside such a list."""
        low, figures = self.article.low, s.figures
        i = first = last = figures.index(token)
        while (
            first
            and figures[first - 1].kind == "percent"
            and LIST_GAP_RE.fullmatch(low, figures[first - 1].end, figures[first].lead)
        ):
            first -= 1
        while (
            last + 1 < len(figures)
            and figures[last + 1].kind == "percent"
            and LIST_GAP_RE.fullmatch(low, figures[last].end, figures[last + 1].lead)
        ):
            last += 1
        if first == last or not (listed := RESPECTIVE_RE.match(low, figures[last].end, s.end)):
            return None
        roles = [m.lastgroup for m in ROLE_RE.finditer(listed.group("roles"))]
        return ROLE_SHARES[roles[i - first]] if len(roles) == last - first + 1 else None

    def _part_of_total(self, total: Found | None) -> Found | None:
        """The count printed before "trong tổng số" a total ("400 ... trong tổng số 4.809 đảng viên, chiếm 8,3%")."""
        found = self.article.found
        if total is None or total not in found[self.sentence_first :]:
            return None
        i = found.index(total, self.sentence_first)
        if i == self.sentence_first:
            return None
        part = found[i - 1]
        between = self.article.low[part.span[1] : total.span[0]]
        return part if len(between) <= 60 and PART_OF_TOTAL_RE.search(between) else None

    def _beside_count(self, s: Sentence, lead: int) -> Found | None:
        """The count printed just before a percentage ("69/84 thôn ..., đạt 82,14%")."""
        for found in reversed(self.article.found[self.sentence_first :]):
            if found.span[1] > lead:
                continue
            between = self.article.text[found.span[1] : lead]
            if found.unit == "count" and len(between) <= 60 and not re.search(r"[\d;%]", between):
                return found
            return None
        return None

    def _check_base(self, share: Found, count: Found, s: Sentence) -> bool:
        """False when the printed percentage is of another number of the sentence (a different base)."""
        base = self.article.latest.get((self.article.vocab.base.get(share.indicator), count.names))
        if not base:
            return True
        tolerance = Decimal("0.06") if share.qualifier == "exact" else Decimal("1.5")
        if abs(count.value * 100 / base - share.value) <= tolerance:
            return True
        for token in s.figures:
            other = token.denominator or token.value
            if (
                token.kind in ("count", "ratio")
                and other
                and other != base
                and (abs(count.value * 100 / other - share.value) <= tolerance)
            ):
                return False
        share.notes.append(
            f"SUSPECT: {value_text(count.value)} of {value_text(base)} is "
            f"{count.value * 100 / base:.2f}%, not the printed {value_text(share.value)}%"
        )
        share.confidence = 0.5
        return True

    # -------------------------------------------------------------- candidates, periods, places

    def _make(
        self, indicator, value, qualifier, span, s, position, confidence, notes=(), *, whole_term=False
    ) -> Found | None:
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
            period = _as_kind(mention, kind, self.article.published)
            if whole_term:  # a target covers the whole stated term, not the term so far
                whole = resolve_period(self.article.text[mention.start : mention.end], None)
                period = whole if whole is not None and whole.end is not None else period
        return Found(
            indicator,
            value,
            vocab.unit[indicator],
            qualifier,
            span,
            self.number,
            self.title,
            period,
            kind,
            round(confidence, 2),
            vocab.label.get(indicator, ""),
            notes,
        )

    def _period(self, s: Sentence, position: int, indicator: str) -> PeriodMention | None:
        """The nearest period phrase before the number in its sentence, else after it in its clause,
        else the last one of the paragraph; for a flow, else the last one before a paragraph that
        continues the previous one ("Qua kiểm tra, ...")."""
        if s.comparisons and indicator.endswith("_change"):
            return s.comparisons[0]
        stock = self.article.vocab.kind.get(indicator) == "stock"
        low = self.article.low
        dated = (
            [
                m
                for m in s.dated
                if m.kind in STOCK_DATES and not EVENT_BEFORE_RE.search(low, max(0, m.start - 16), m.start)
            ]
            if stock
            else s.dated
        )
        before = [m for m in dated if m.end <= position]
        if before:
            return before[-1]
        clause_end = next((c for c in s.clauses if c > position), s.end)
        after = [m for m in dated if position < m.start < clause_end]
        if after:
            return after[0]
        if stock:
            return self.last_point
        return self.periods[-1] if self.periods else self.carried_period

    def _denominator(self, numerator: Found, token: NumberToken) -> list[Found]:
        """The base of a ratio ("69/84 trưởng thôn" -> 84 villages): the codebook parent, or the base of the share."""
        vocab = self.article.vocab
        parent = vocab.over.get(numerator.indicator)
        if parent is None or vocab.unit.get(parent) != "count":
            numerator.notes.append(f"of {value_text(token.denominator)}")
            return []
        return [
            Found(
                parent,
                token.denominator,
                "count",
                "exact",
                numerator.span,
                numerator.para,
                numerator.title,
                numerator.period,
                vocab.kind[parent],
                numerator.confidence,
                vocab.label.get(parent, ""),
                ["denominator of a printed ratio"],
                restated=True,
            )
        ]

    def _scope(self, s: Sentence, start: int, end: int, anaphor: bool) -> tuple[str, tuple[str, ...]]:
        """The place named nearest before the number (or after it in its clause), else the district."""
        art = self.article
        named = [(p.end, p.scope, p.names) for p in s.places if p.end <= start]
        named += [
            (a, level, (art.district if level == "district" else art.province,))
            for a, _, level in s.words("level")
            if a < start
        ]
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


#: The period phrases that can date a stock: an as-of ("tính đến ngày", "cuối năm", "hiện nay") or a year;
#: a term, a range or a from-to dates what happened in it, not a count at a moment.
STOCK_DATES = frozenset({"asof", "yearend", "year", "now", "month"})


def _as_kind(mention: PeriodMention, kind: str, published: date | None) -> Period:
    """A mention's period as a stock's as-of or a flow's period.

    A stock is never dated after publication; a stock dated by a year alone
    ("năm 2022 dân số là ...") gets the year as printed (``2022``) unless it
    is the year of publication. A flow dated "cuối năm 2016" covers that year.
    """
    period = mention.period
    if kind == "stock":
        if mention.kind == "year" and period.basis == "stated":
            return Period(None, period.start[:4], "stated", True)
        if published is not None and period.end is not None and period.end > published.isoformat():
            return publication_period(published)
        return period
    if mention.kind == "yearend":
        return Period(f"{period.end[:4]}-01-01", period.end, "stated", False)
    return period


def _word_before(low: str, position: int, word: str) -> bool:
    """Whether ``word`` (lowercase) is the word just before a position."""
    before = low[max(0, position - len(word) - 4) : position].rstrip()
    return before.endswith(word) and not before[-len(word) - 1 : -len(word)].isalnum()


class Lazy:
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
