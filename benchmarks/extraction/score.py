"""Score the extractor on the real-article development set, at fact level.

The set is ``articles.csv`` (one row per article: id, URL, source, SHA-256
and length of the text, the query that found it, family, split ``dev`` or
``holdout``, the district given to the extractor and the publication date)
and ``gold.csv`` (the figures a careful coder took from each article,
labelled by hand, with the character offset of the printed number). The
texts are not in the repository: give the folder they were re-created in
with ``--texts`` (each ``<article_id>.txt``); every file's SHA-256 is checked
first, and a missing or different text stops the run (exit 3).

A *fact* is an article's (indicator, value, qualifier): the extractor is
right when it proposes that fact at all, wherever and however often. Reported
for dev and holdout apart (the holdout is frozen: never tune on it), for all
figures and for the mission's indicators (:data:`MISSION`), per family:

* precision = facts proposed that are gold / facts proposed;
* recall = gold facts proposed / gold facts;
* negatives proposed = numbers that are dates, document numbers, ordinals,
  ages or money (found by :func:`negatives`, written independently of the
  extractor) that a candidate proposes, over all such numbers;
* dates agree = matched facts whose as-of or period equals the gold one;
* the review log a reviewer would have written, simulated with the gold
  labels (:func:`review_log`), per split and for the 50 articles of dev and
  holdout together.

Run: ``python benchmarks/extraction/score.py --texts DIR [--out DIR] [--label NAME]``
(``make bench`` runs it through ``benchmarks/run_all.py`` when the folder in
``EXTRACTION_TEXTS``, default ``/work/devset/texts``, exists). Results go to
``benchmarks/results/extraction[-LABEL].md`` and ``.json`` (not committed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import time
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RESULTS = HERE.parent / "results"
DEFAULT_TEXTS = Path(os.environ.get("EXTRACTION_TEXTS", "/work/devset/texts"))
sys.path.insert(0, str(REPO))

#: The mission's indicators (issue 17): members, organisations, cells, villages, village heads,
#: households, admissions and their breakdowns, discipline totals and forms. Targets and changes
#: are not counts of these things and are left out.
MISSION_PREFIXES = (
    "party_members",
    "grassroots_party_orgs",
    "grassroots_party_committees",
    "grassroots_cells",
    "cells_under_grassroots_committees",
    "villages",
    "village_heads",
    "cell_secretaries_also_village_heads",
    "deputy_secretaries_also_village_heads",
    "cell_committee_members_also_village_heads",
    "households",
    "members_assigned_households",
    "admissions",
    "disciplined_members",
    "disciplined_reprimand",
    "disciplined_warning",
    "disciplined_dismissal",
    "disciplined_expulsion",
)
MISSION_EXCLUDED = re.compile(r"_target|_change|_congress")


def is_mission(indicator: str) -> bool:
    """Whether an indicator is one of the mission's (see :data:`MISSION_PREFIXES`)."""
    return indicator.startswith(MISSION_PREFIXES) and not MISSION_EXCLUDED.search(indicator)


def number(value: str) -> str:
    """A value as a canonical number string ("10.20" and "10.2" agree)."""
    try:
        return format(Decimal(value).normalize(), "f")
    except (InvalidOperation, ValueError):
        return value


def fact(indicator: str, value: str, qualifier: str) -> tuple[str, str, str]:
    return indicator, number(value), qualifier or "exact"


# ---------------------------------------------------------------- the set


def load_set(texts: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The articles, the gold rows and each article's text, after checking every SHA-256."""
    from analysis.errors import InputError

    articles = pd.read_csv(HERE / "articles.csv", dtype=str, keep_default_na=False)
    gold = pd.read_csv(HERE / "gold.csv", dtype=str, keep_default_na=False)
    content, problems = {}, []
    for row in articles.itertuples():
        path = texts / f"{row.article_id}.txt"
        if not path.exists():
            problems.append(f"{path.name}: missing")
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != row.sha256:
            problems.append(f"{path.name}: SHA-256 differs from articles.csv")
            continue
        content[row.article_id] = data.decode("utf-8")
    if problems:
        raise InputError(f"{len(problems)} text(s) not as recorded: {'; '.join(problems[:5])}", file=texts)
    return articles, gold, content


# ---------------------------------------------------------------- negatives

_NEGATIVE_RE = re.compile(
    r"(?P<date>\d{1,2}/\d{1,2}/\d{4}|\d{1,2}/\d{4}|(?<!\d)(?:19[3-9]\d|20[0-4]\d)(?![\d.,%]))"
    r"|(?P<document>\d+[-/](?:NQ|QĐ|CT|KL|HD|KH|TB|QC|BC|TU|HU|ĐU|TW)\b[\w/-]*"
    r"|(?:" + "|".join(f"(?<={w} số )" for w in ("quyết", "hoạch", "thị", "định", "luận", "báo", "bản")) + r")\d+)"
    r"|(?P<ordinal>(?<=thứ )\d+|(?<=khóa )\d+|(?<=khoá )\d+|(?<=lần )\d+)"
    r"|(?P<age>\d+(?= tuổi)|\d+(?= năm tuổi))"
    r"|(?P<money>\d[\d.,]*(?= (?:tỷ |triệu |nghìn |ngàn )?đồng(?!\s*chí)(?!\w)))",
    re.IGNORECASE,
)


def negatives(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, kind)`` of the numbers that are never figures: dates, document numbers,
    ordinals, ages, money (written apart from the extractor, so that it cannot grade itself)."""
    return [(m.start(), m.end(), m.lastgroup) for m in _NEGATIVE_RE.finditer(text)]


# ---------------------------------------------------------------- scoring


def extract(articles: pd.DataFrame, content: dict) -> dict[str, pd.DataFrame]:
    """The extractor's candidates for every article, as the command line would propose them."""
    from analysis.text.extraction import extract_figures
    from analysis.text.vocabulary import Vocabulary, read_codebook

    vocab = Vocabulary.from_codebook(read_codebook())
    return {
        row.article_id: extract_figures(
            content[row.article_id],
            unit=row.unit,
            published=row.published or None,
            source_id=row.source_id,
            codebook=vocab,
        )
        for row in articles.itertuples()
    }


def _dates(frame) -> pd.Series:
    return frame["as_of"].str.cat([frame["period_start"], frame["period_end"]], sep="|")


def score_article(found: pd.DataFrame, gold: pd.DataFrame, text: str) -> dict:
    """Facts proposed, gold facts, their overlap and the negatives proposed, for one article."""
    proposed = {fact(*r) for r in found[["indicator", "value", "qualifier"]].itertuples(index=False)}
    wanted = {fact(*r) for r in gold[["indicator", "value", "qualifier"]].itertuples(index=False)}
    gold_dates = {
        fact(*r[:3]): r[3]
        for r in gold.assign(d=_dates(gold))[["indicator", "value", "qualifier", "d"]].itertuples(index=False)
    }
    found_dates = {}
    for r in found.assign(d=_dates(found))[["indicator", "value", "qualifier", "d"]].itertuples(index=False):
        found_dates.setdefault(fact(*r[:3]), set()).add(r[3])
    spans = [
        (int(a), int(b), number(v)) for a, b, v in found[["span_start", "span_end", "value"]].itertuples(index=False)
    ]
    negs = negatives(text)
    hit = sum(any(a <= s < b and number(_digits(text[s:e])) == v for a, b, v in spans) for s, e, _ in negs)
    return {
        "proposed": proposed,
        "gold": wanted,
        "dates_ok": {f for f in proposed & wanted if gold_dates[f] in found_dates.get(f, ())},
        "negatives": len(negs),
        "negatives_proposed": hit,
        "candidates": len(found),
    }


def _digits(printed: str) -> str:
    return re.sub(r"[^\d]", "", printed.split(",")[0]) or "0"


def summarise(scores: list[dict], keep=lambda f: True) -> dict:
    """Precision, recall and counts over articles, for the facts ``keep`` selects."""
    tp = fp = fn = dates = 0
    for s in scores:
        proposed = {f for f in s["proposed"] if keep(f[0])}
        wanted = {f for f in s["gold"] if keep(f[0])}
        tp += len(proposed & wanted)
        fp += len(proposed - wanted)
        fn += len(wanted - proposed)
        dates += len({f for f in s["dates_ok"] if keep(f[0])})
    return {
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "dates_agree": dates / tp if tp else None,
        "negatives": sum(s["negatives"] for s in scores),
        "negatives_proposed": sum(s["negatives_proposed"] for s in scores),
    }


def review_log(found: pd.DataFrame, gold: pd.DataFrame) -> Counter:
    """The review log a reviewer would have written for one article, simulated with the gold labels.

    A candidate whose span holds a gold figure is *accepted unchanged* when
    indicator, value, qualifier, place and dates all agree, else *corrected*;
    a candidate of a gold fact printed elsewhere (the title) is accepted the
    same way once, then *rejected, not wanted* (a repeat); any other candidate
    is *rejected, wrong*; a gold fact no candidate gave is *added by hand*.
    """
    log = Counter(proposed=len(found))
    gold = gold.assign(
        f=[fact(*r) for r in gold[["indicator", "value", "qualifier"]].itertuples(index=False)],
        d=_dates(gold),
        offset=gold["char_offset"].astype(int),
    )
    claimed: set = set()
    for c in found.assign(d=_dates(found)).itertuples(index=False):
        f = fact(c.indicator, c.value, c.qualifier)
        here = gold[
            (gold["offset"] >= int(c.span_start)) & (gold["offset"] < int(c.span_end)) & ~gold["f"].isin(claimed)
        ]
        same = gold[(gold["f"] == f) & ~gold["f"].isin(claimed)]
        target = here[here["f"] == f] if (here["f"] == f).any() else here if len(here) else same
        if target.empty:
            log["rejected_not_wanted" if f in set(gold["f"]) else "rejected_wrong"] += 1
            continue
        g = target.iloc[0]
        exact = g["f"] == f and g["d"] == c.d and g["unit_name"] == c.unit_name
        log["accepted_unchanged" if exact else "corrected"] += 1
        claimed.add(g["f"])
    log["added_by_hand"] += len(set(gold["f"]) - claimed)
    return log


LOG_COLUMNS = ("proposed", "accepted_unchanged", "corrected", "added_by_hand", "rejected_wrong", "rejected_not_wanted")


# ---------------------------------------------------------------- report


def run(texts: Path, label: str | None = None) -> dict:
    """Score every article; return the results (see the module docstring)."""
    articles, gold, content = load_set(texts)
    start = time.perf_counter()
    found = extract(articles, content)
    seconds = time.perf_counter() - start
    results: dict = {
        "label": label,
        "articles": len(articles),
        "seconds": round(seconds, 2),
        "splits": {},
        "misses": {},
    }
    logs = {}
    for split, rows in articles.groupby("split"):
        per = {
            r.article_id: score_article(
                found[r.article_id], gold[gold["article_id"] == r.article_id], content[r.article_id]
            )
            for r in rows.itertuples()
        }
        family = dict(zip(rows["article_id"], rows["family"]))
        block = {
            "articles": len(rows),
            "all": summarise(per.values()),
            "mission": summarise(per.values(), is_mission),
            "families": {
                fam: summarise([per[a] for a in per if family[a] == fam]) for fam in sorted(set(family.values()))
            },
            "families_mission": {
                fam: summarise([per[a] for a in per if family[a] == fam], is_mission)
                for fam in sorted(set(family.values()))
            },
        }
        results["splits"][split] = block
        if split == "dev":  # the holdout's errors are never looked at while tuning
            results["misses"] = {
                a: {
                    "missed": sorted(map(list, s["gold"] - s["proposed"])),
                    "false": sorted(map(list, s["proposed"] - s["gold"])),
                }
                for a, s in per.items()
            }
        log = sum((review_log(found[a], gold[gold["article_id"] == a]) for a in per), Counter())
        logs[split] = {k: log[k] for k in LOG_COLUMNS}
    if {"dev", "holdout"} <= set(logs):  # the 50 articles of the set collected before tuning
        logs["dev + holdout"] = {k: logs["dev"][k] + logs["holdout"][k] for k in LOG_COLUMNS}
    results["review_log"] = logs
    return results


def _pct(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def markdown(results: dict) -> str:
    """The results as a markdown report."""
    lines = [
        f"# Extraction on the real-article set{' (' + results['label'] + ')' if results['label'] else ''}",
        "",
        f"Extraction of all {results['articles']} articles took {results['seconds']} s.",
        "",
    ]
    for split, block in results["splits"].items():
        lines += [
            f"## {split} ({block['articles']} articles)",
            "",
            "| facts | precision | recall | tp | fp | fn | dates agree | negatives proposed |",
            "|---|---|---|---|---|---|---|---|",
        ]
        entries = [("all figures", block["all"]), ("mission's indicators", block["mission"])]
        entries += [(f"family {f}: all", s) for f, s in block["families"].items()]
        entries += [(f"family {f}: mission", s) for f, s in block["families_mission"].items()]
        for name, s in entries:
            lines.append(
                f"| {name} | {_pct(s['precision'])} | {_pct(s['recall'])} | {s['tp']} | {s['fp']} | {s['fn']} "
                f"| {_pct(s['dates_agree'])} | {s['negatives_proposed']}/{s['negatives']} |"
            )
        lines.append("")
    lines += [
        "## Review log the articles would have produced (simulated with the gold labels)",
        "",
        "| articles | " + " | ".join(LOG_COLUMNS) + " |",
        "|---|" + "---|" * len(LOG_COLUMNS),
    ]
    lines += [
        "| " + split + " | " + " | ".join(str(log[k]) for k in LOG_COLUMNS) + " |"
        for split, log in results["review_log"].items()
    ]
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=Path, default=DEFAULT_TEXTS, help="folder of <article_id>.txt")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for extraction[-LABEL].md/.json")
    parser.add_argument("--label", help="a name for this run (baseline, final ...)")
    parser.add_argument("--json", type=Path, help="also write benchmark rows here (for run_all.py)")
    parser.add_argument("--quick", action="store_true", help="accepted for run_all.py; the set is small")
    args = parser.parse_args(argv)
    if args.json and not args.texts.is_dir():  # make bench on a machine without the texts
        from measure import row

        args.json.write_text(
            json.dumps(
                [
                    row(
                        "extraction: real-article set",
                        None,
                        "",
                        0,
                        None,
                        "P ≥ 0.90, R ≥ 0.80",
                        "not run",
                        f"no texts in {args.texts} (set EXTRACTION_TEXTS)",
                    )
                ]
            )
        )
        return 0
    results = run(args.texts, args.label)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "extraction" + (f"-{args.label}" if args.label else "")
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    report = markdown(results)
    (args.out / f"{stem}.md").write_text(report, encoding="utf-8")
    print(report)
    if args.json:
        from measure import row

        rows = []
        for split, block in results["splits"].items():
            for name, key in (("all figures", "all"), ("mission's indicators", "mission")):
                s = block[key]
                met = (s["precision"] or 0) >= 0.9 and (s["recall"] or 0) >= 0.8
                rows.append(
                    row(
                        f"extraction {split}: {name}",
                        s["precision"],
                        "P",
                        1,
                        None,
                        "P ≥ 0.90, R ≥ 0.80",
                        ("met" if met else "missed") if split == "dev" else "info",
                        f"recall {_pct(s['recall'])}; negatives {s['negatives_proposed']}/{s['negatives']}",
                    )
                )
        args.json.write_text(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main())
