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
  information.

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


def extract_worker(corpus_file: str, per_article: bool) -> dict:
    """Time the extraction of the corpus in this (fresh) process."""
    sys.path.insert(0, str(REPO))
    from analysis.text.extraction import extract_figures
    from analysis.text.vocabulary import read_codebook

    articles = json.loads(Path(corpus_file).read_text(encoding="utf-8"))
    codebook = read_codebook()
    start = time.perf_counter()
    if per_article:
        found = sum(len(extract_figures(text, unit=UNIT, published=PUBLISHED, source_id="NEW", codebook=codebook))
                    for text in articles)
    else:
        found = len(extract_figures("\n\n".join(articles), unit=UNIT, published=PUBLISHED, source_id="NEW",
                                    codebook=codebook))
    seconds = time.perf_counter() - start
    megabytes = sum(len(t.encode("utf-8")) for t in articles) / 1e6
    return {"seconds": seconds, "megabytes": megabytes, "candidates": found, "articles": len(articles)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--corpus", help="internal: the corpus file a worker reads")
    parser.add_argument("--per-article", action="store_true", help="internal: one call per article")
    args = parser.parse_args(argv)
    if args.worker:
        result = extract_worker(args.corpus, args.per_article)
        Path(args.result).write_text(json.dumps(result))
        return 0

    runs, megabytes = (1, 1.0) if args.quick else (3, 5.0)
    script = Path(__file__).resolve()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp:
        corpus_file = Path(tmp) / "corpus.json"
        corpus_file.write_text(json.dumps(corpus(megabytes), ensure_ascii=False), encoding="utf-8")
        for label, extra, target in (("extraction: whole corpus in one call", [], TARGET_MB_S),
                                     ("extraction: one call per article (info)", ["--per-article"], None)):
            timed = [python_worker(script, "--worker", "extract", "--corpus", str(corpus_file), *extra)
                     for _ in range(runs)]
            results = [r for r, _ in timed]
            rate = median(r["megabytes"] / r["seconds"] for r in results)
            first = results[0]
            note = (f"{first['megabytes']:.1f} MB, {first['articles']} articles, {first['candidates']:,} candidates; "
                    f"{median(r['seconds'] for r in results):.2f} s")
            rows.append(row(label, rate, "MB/s", runs, max(m.peak_rss_mb for _, m in timed),
                            f"≥ {target:g} MB/s" if target else "–",
                            judge(rate, target, "higher") if target else "info", note))
    write_rows(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
