"""The index of a report run: ``index.json`` for programs, ``index.html`` for people.

Both describe the same run: when it started and ended, how it ran, and per
job the notebook, parameters, status, duration, error and the files it left.
The page is static HTML without scripts, opens from disk (``file://``)
without a server, links every file relative to the index, and escapes every
text that comes from a schedule, a notebook or an error message. A file is
linked only if it exists when the index is written. Both files are written
atomically (:func:`analysis.data.storage.replace_files`).

Examples:
    >>> record = {"run": {"schedule": "s.yml"}, "counts": {"ok": 0, "failed": 1}, "jobs": [
    ...     {"name": "toy", "notebook": "toy", "parameters": {"title": "<script>x</script>"},
    ...      "status": "failed", "reason": "error", "error": "ValueError: <b>", "duration": 1.0,
    ...      "outputs": {}}]}
    >>> page = render_index_html(record)
    >>> "<script>" in page, "&lt;script&gt;x&lt;/script&gt;" in page, "ValueError: &lt;b&gt;" in page
    (False, True, True)
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

from analysis.data.storage import json_bytes, replace_files
from analysis.reports.provenance import distinct_data, provenance_lines

INDEX_VERSION = 1

#: Link labels, in the order they are shown.
OUTPUT_LABELS = {"html": "report", "notebook": "notebook", "artifact": "data (JSON)", "log": "kernel log"}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.ok { color: #176117; font-weight: bold; }
.failed { color: #a31515; font-weight: bold; }
.pending, .interrupted { color: #8a6d00; font-weight: bold; }
.params { font-size: .9em; }
.params .key { color: #555; font-weight: 600; }
.error { color: #a31515; white-space: pre-wrap; }
td.num { text-align: right; }
"""


def build_index(results, out_dir: Path | str, run: dict) -> dict:
    """The index record of a run: run facts, counts and one entry per job.

    Args:
        results: :class:`analysis.reports.runner.JobResult` objects or their dicts.
        out_dir: The output folder; output paths are relative to it.
        run: Facts about the run (``schedule``, ``started``, ``finished``,
            ``duration``, ``executor``, ``kernel``, time limits ...).

    Returns:
        A JSON-ready mapping; each job's ``outputs`` keeps only files that exist.

    Examples:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp())
        >>> _ = (out / "a.html").write_text("x")
        >>> record = build_index([{"name": "a", "status": "ok", "outputs": {"html": "a.html", "notebook": "a.ipynb"}}],
        ...                      out, {"schedule": "s.yml"})
        >>> record["counts"], record["jobs"][0]["outputs"]
        ({'ok': 1, 'failed': 0}, {'html': 'a.html'})
    """
    out_dir = Path(out_dir)
    jobs = []
    for result in results:
        entry = dict(result if isinstance(result, dict) else result.to_dict())
        entry["outputs"] = {
            kind: path for kind, path in (entry.get("outputs") or {}).items() if (out_dir / path).is_file()
        }
        jobs.append(entry)
    counts = {status: sum(job["status"] == status for job in jobs) for status in ("ok", "failed")}
    run = dict(run)
    if run.get("provenance"):  # the run's code and environment, and the data its jobs used
        run["provenance"] = {**run["provenance"], "data": distinct_data(jobs)}
    return {"version": INDEX_VERSION, "run": run, "counts": counts, "jobs": jobs}


def _text(value) -> str:
    return html.escape(str(value), quote=True)


def _link(path: str, label: str) -> str:
    return f'<a href="{_text(quote(path))}">{_text(label)}</a>'


def _parameters(parameters: dict) -> str:
    """Parameters as ``key = value`` lines, escaped, in the page's sans font.

    The keys are set apart by weight and colour rather than by a monospace
    font, in which chromium misplaces Vietnamese combining marks ("Rẫy").

    Examples:
        >>> _parameters({"district": "Kon Rẫy", "lang": "<en>"})
        '<span class="key">district</span> = Kon Rẫy<br><span class="key">lang</span> = &lt;en&gt;'
    """
    return "<br>".join(
        f'<span class="key">{_text(k)}</span> = {_text(v)}' for k, v in sorted((parameters or {}).items())
    )


def render_index_html(record: dict) -> str:
    """The index page of a run (static HTML, no script).

    Args:
        record: As returned by :func:`build_index`.

    Returns:
        A complete HTML document.
    """
    run, counts, jobs = record.get("run", {}), record.get("counts", {}), record.get("jobs", [])
    facts = [
        ("schedule", run.get("schedule")),
        ("started", run.get("started")),
        ("finished", run.get("finished")),
        ("duration", _seconds(run.get("duration"))),
        ("executor", run.get("executor")),
        ("kernel", run.get("kernel")),
        ("time limits", run.get("limits")),
    ]
    facts += provenance_lines(run.get("provenance"))
    rows = []
    for job in jobs:
        status = job.get("status", "")
        outputs = job.get("outputs", {})
        links = " · ".join(
            _link(outputs[kind], ("failed " if status == "failed" else "") + label)
            for kind, label in OUTPUT_LABELS.items()
            if kind in outputs
        )
        error = job.get("error", "")
        reason = job.get("reason", "")
        rows.append(
            f'<tr id="{_text(job.get("name", ""))}"><td class="{_text(status)}">{_text(status)}</td>'
            f'<td>{_text(job.get("notebook", ""))}</td><td class="params">{_parameters(job.get("parameters"))}</td>'
            f'<td class="num">{_text(_seconds(job.get("duration")))}</td>'
            f'<td class="error">{_text(f"{reason}: {error}" if reason else error)}</td><td>{links}</td></tr>'
        )
    failed = [job for job in jobs if job.get("status") == "failed"]
    failed_list = ""
    if failed:
        items = "".join(
            f'<li><a href="#{_text(job.get("name", ""))}">{_text(job.get("name", ""))}</a>: '
            f"{_text(job.get('error', ''))}</li>"
            for job in failed
        )
        failed_list = f"<h2>Failed jobs</h2><ul>{items}</ul>"
    summary = f"{len(jobs)} jobs: " + ", ".join(
        f"{counts[status]} {status}" for status in counts if counts[status] or status in ("ok", "failed")
    )
    facts_html = "".join(f"<tr><th>{_text(k)}</th><td>{_text(v)}</td></tr>" for k, v in facts if v not in (None, ""))
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Reports: {_text(summary)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>Reports</h1>\n<p><strong>{_text(summary)}</strong></p>\n"
        f'<table class="run">{facts_html}</table>\n{failed_list}\n{_languages_table(jobs)}<h2>Jobs</h2>\n'
        '<table class="jobs"><thead><tr><th>status</th><th>notebook</th><th>parameters</th>'
        "<th>duration</th><th>error</th><th>files</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + '\n</tbody></table>\n<p>Also as <a href="index.json">index.json</a>.</p>\n</body>\n</html>\n'
    )


#: Languages of the reports, in the order of the columns of the side-by-side table.
LANGUAGE_NAMES = {"en": "English", "vi": "Tiếng Việt"}


def _languages_table(jobs: list) -> str:
    """Reports run in several languages, one row per report with a column per language ('' if none).

    Jobs whose notebook and parameters are the same but for ``lang`` are one
    report; each language's cell links its HTML (or says that it failed).

    Examples:
        >>> jobs = [{"name": f"c_{lang}", "notebook": "c", "parameters": {"family": "discipline", "lang": lang},
        ...          "status": "ok", "outputs": {"html": f"c_{lang}.html"}} for lang in ("vi", "en")]
        >>> table = _languages_table(jobs)
        >>> table.count("<tr>"), '<a href="c_en.html">English</a>' in table, "Tiếng Việt</a>" in table
        (2, True, True)
        >>> _languages_table(jobs[:1])
        ''
    """
    reports: dict = {}
    for job in jobs:
        parameters = dict(job.get("parameters") or {})
        lang = parameters.pop("lang", None)
        if lang in LANGUAGE_NAMES:
            key = (job.get("notebook", ""), tuple(sorted((k, str(v)) for k, v in parameters.items())))
            reports.setdefault(key, {"parameters": parameters})[lang] = job
    shared = [(key, report) for key, report in reports.items() if len(report) > 2]
    if not shared:
        return ""
    rows = []
    for (notebook, _), report in shared:
        cells = []
        for lang, name in LANGUAGE_NAMES.items():
            job = report.get(lang)
            html_path = (job or {}).get("outputs", {}).get("html")
            cells.append(
                f"<td>{_link(html_path, name) if html_path and job.get('status') == 'ok' else ''}"
                f"{_text(job.get('status', '')) if job and job.get('status') != 'ok' else ''}</td>"
            )
        rows.append(
            f'<tr><td>{_text(notebook)}</td><td class="params">{_parameters(report["parameters"])}</td>'
            + "".join(cells)
            + "</tr>"
        )
    header = "".join(f"<th>{_text(name)}</th>" for name in LANGUAGE_NAMES.values())
    return (
        '<h2>Reports in each language</h2>\n<table class="languages"><thead><tr><th>notebook</th>'
        f"<th>parameters</th>{header}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
    )


def _seconds(value) -> str:
    return "" if value is None else f"{float(value):.1f} s"


def write_index(out_dir: Path | str, record: dict) -> tuple[Path, Path]:
    """Write ``index.json`` and ``index.html`` atomically into the output folder.

    Args:
        out_dir: The output folder.
        record: As returned by :func:`build_index`.

    Returns:
        The paths of the HTML and JSON files.
    """
    out_dir = Path(out_dir)
    replace_files({"index.json": json_bytes(record), "index.html": render_index_html(record).encode("utf-8")}, out_dir)
    return out_dir / "index.html", out_dir / "index.json"
