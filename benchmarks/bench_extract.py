"""Extraction throughput: MB of Vietnamese article text per second.

The corpus is the project's own test articles (``tests/articles/*.txt``),
repeated with varied numbers (every two- and three-digit count shifted by a
random amount, so that deduplication does not make later copies free) until
it reaches about 5 MB (1 MB with ``--quick``). Two figures, each the median
of 3 fresh processes (1 with ``--quick``), the import and the reading of the
codebook excluded:

* the whole corpus in one :func:`analysis.text.extraction.extract_figures` call (the
  cost of reading text);
* the same corpus one article per call, as the command line runs it (adds
  the per-article set-up: codebook vocabulary, frame building), for
  information;
* the corpus as ONE paragraph of 17 MB (every line joined with a space;
  4 MB with ``--quick``): the time must stay linear in the length of a
  paragraph (issue 17: a 2 MB paragraph took 20 s, 17.7 MB over 300 s), and
  the facts found (indicator, value, qualifier) must be those of the same
  text split into paragraphs, which is run too and compared.

Run: ``python benchmarks/bench_extract.py [--quick] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

from measure import REPO, add_common_arguments, judge, median, python_worker, row, write_rows

TARGET_MB_S = 1.0
ARTICLES = REPO / "tests" / "articles"
UNIT, PUBLISHED = "Kon Rẫy, Kon Tum", "2021-08-23"
_COUNT_RE = re.compile(r"(?<![\d/.,-])(\d{2,3})(?![\d/.,-])")


def corpus(megabytes: float, seed: int = 1) -> list[str]:
    """Test articles, repeated with shifted counts, until the corpus reaches ``megabytes``."""
    texts = [p.read_text(encoding="utf-8") for p in sorted(ARTICLES.glob("*.txt"))]
    rng = random.Random(seed)
    out, size, k = [], 0, 0
    while size < megabytes * 1e6:
        text = _COUNT_RE.sub(lambda m: str(int(m.group(1)) + rng.randint(1, 9)), texts[k % len(texts)])
        out.append(text)
        size += len(text.encode("utf-8"))
        k += 1
    return out


def extract_worker(corpus_file: str, per_article: bool, layout: str = "articles") -> dict:
    """Time the extraction of the corpus in this (fresh) process.

    ``layout``: ``articles`` (the articles one after another), ``paragraph`` (every line joined into one
    paragraph) or ``lines`` (the same lines, one paragraph each).
    """
    sys.path.insert(0, str(REPO))
    from analysis.text.extraction import extract_figures
    from analysis.text.vocabulary import read_codebook

    articles = json.loads(Path(corpus_file).read_text(encoding="utf-8"))
    codebook = read_codebook()
    if layout != "articles":
        lines = [line.strip() for text in articles for line in text.splitlines() if line.strip()]
        text = (" " if layout == "paragraph" else "\n").join(lines)
        start, cpu = time.perf_counter(), time.process_time()
        found = extract_figures(text, unit=UNIT, published=PUBLISHED, source_id="NEW", codebook=codebook)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        facts = sorted(set(map(tuple, found[["indicator", "value", "qualifier"]].to_numpy().tolist())))
        return {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "megabytes": len(text.encode("utf-8")) / 1e6,
            "candidates": len(found),
            "articles": len(articles),
            "facts": facts,
        }
    start = time.perf_counter()
    if per_article:
        found = sum(
            len(extract_figures(text, unit=UNIT, published=PUBLISHED, source_id="NEW", codebook=codebook))
            for text in articles
        )
    else:
        found = len(
            extract_figures("\n\n".join(articles), unit=UNIT, published=PUBLISHED, source_id="NEW", codebook=codebook)
        )
    seconds = time.perf_counter() - start
    megabytes = sum(len(t.encode("utf-8")) for t in articles) / 1e6
    return {"seconds": seconds, "megabytes": megabytes, "candidates": found, "articles": len(articles)}


def long_paragraph_rows(script: Path, tmp: Path, megabytes: float) -> list[dict]:
    """One paragraph of ``megabytes``: its throughput, and whether it finds the facts of the same lines split."""
    corpus_file = tmp / "long.json"
    corpus_file.write_text(json.dumps(corpus(megabytes, seed=2), ensure_ascii=False), encoding="utf-8")
    one, measured = python_worker(
        script, "--worker", "extract", "--corpus", str(corpus_file), "--layout", "paragraph", timeout=900
    )
    split, _ = python_worker(
        script, "--worker", "extract", "--corpus", str(corpus_file), "--layout", "lines", timeout=900
    )
    rate = one["megabytes"] / one["seconds"]
    a, b = set(map(tuple, one["facts"])), set(map(tuple, split["facts"]))
    same = len(a & b) / len(a | b) if a | b else 1.0
    return [
        row(
            f"extraction: one paragraph of {one['megabytes']:.0f} MB",
            rate,
            "MB/s",
            1,
            measured.peak_rss_mb,
            f"≥ {TARGET_MB_S:g} MB/s",
            judge(rate, TARGET_MB_S, "higher"),
            f"{one['seconds']:.1f} s wall, {one['cpu_seconds']:.1f} s CPU "
            f"({one['megabytes'] / one['cpu_seconds']:.2f} MB/s of CPU); {one['candidates']:,} candidates",
        ),
        row(
            "extraction: same facts as the lines split into paragraphs",
            same,
            "share",
            1,
            None,
            "1.00",
            "met" if same == 1 else "info",
            f"{len(a & b):,} facts in both, {len(a - b)} only in the paragraph, {len(b - a)} only in the split "
            f"text (sentences that take the period or place of an earlier sentence: a paragraph carries them, "
            f"a new paragraph does not)",
        ),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--corpus", help="internal: the corpus file a worker reads")
    parser.add_argument("--per-article", action="store_true", help="internal: one call per article")
    parser.add_argument("--layout", default="articles", help="internal: articles, paragraph or lines")
    args = parser.parse_args(argv)
    if args.worker:
        result = extract_worker(args.corpus, args.per_article, args.layout)
        Path(args.result).write_text(json.dumps(result))
        return 0

    runs, megabytes = (1, 1.0) if args.quick else (3, 5.0)
    script = Path(__file__).resolve()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp:
        corpus_file = Path(tmp) / "corpus.json"
        corpus_file.write_text(json.dumps(corpus(megabytes), ensure_ascii=False), encoding="utf-8")
        for label, extra, target in (
            ("extraction: whole corpus in one call", [], TARGET_MB_S),
            ("extraction: one call per article (info)", ["--per-article"], None),
        ):
            timed = [
                python_worker(script, "--worker", "extract", "--corpus", str(corpus_file), *extra) for _ in range(runs)
            ]
            results = [r for r, _ in timed]
            rate = median(r["megabytes"] / r["seconds"] for r in results)
            first = results[0]
            note = (
                f"{first['megabytes']:.1f} MB, {first['articles']} articles, {first['candidates']:,} candidates; "
                f"{median(r['seconds'] for r in results):.2f} s"
            )
            rows.append(
                row(
                    label,
                    rate,
                    "MB/s",
                    runs,
                    max(m.peak_rss_mb for _, m in timed),
                    f"≥ {target:g} MB/s" if target else "–",
                    judge(rate, target, "higher") if target else "info",
                    note,
                )
            )
        rows += long_paragraph_rows(script, Path(tmp), 4.0 if args.quick else 17.0)
    write_rows(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
