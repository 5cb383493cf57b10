"""The run index: index.json and a static index.html that links only existing files."""

from __future__ import annotations

import json
import re

from analysis.reports.index import build_index, render_index_html, write_index


def result(name, status="ok", **fields):
    return {
        "name": name,
        "notebook": name.split("__")[0],
        "parameters": {},
        "status": status,
        "reason": "",
        "error": "",
        "duration": 1.25,
        "outputs": {},
        **fields,
    }


def test_index_keeps_only_outputs_that_exist_and_counts_statuses(tmp_path):
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile" / "p.html").write_text("<html></html>")
    record = build_index(
        [
            result("p", outputs={"html": "profile/p.html", "notebook": "profile/p.ipynb"}),
            result("q", status="failed", reason="error", error="KeyError: 'x'", outputs={"notebook": "q.failed.ipynb"}),
        ],
        tmp_path,
        {"schedule": "s.yml"},
    )
    assert record["counts"] == {"ok": 1, "failed": 1}
    assert [job["outputs"] for job in record["jobs"]] == [{"html": "profile/p.html"}, {}]
    assert record["run"] == {"schedule": "s.yml"}


def test_every_text_from_schedule_notebook_or_error_is_escaped():
    record = {
        "run": {"schedule": "<b>s.yml</b>"},
        "counts": {"ok": 0, "failed": 1},
        "jobs": [
            result(
                "x__t",
                status="failed",
                reason="error",
                error="SyntaxError: <img src=x onerror=alert(1)>",
                parameters={"<k>": "Đắk Hà </td><script>alert(1)</script>"},
            )
        ],
    }
    page = render_index_html(record)
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert '<span class="key">&lt;k&gt;</span> = Đắk Hà &lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;' in page
    assert "error: SyntaxError: &lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;s.yml&lt;/b&gt;" in page


def test_parameters_use_the_page_font_with_keys_set_apart():
    # chromium's monospace font misplaces Vietnamese combining marks ("Rẫy"): values use the sans font
    record = {
        "run": {},
        "counts": {"ok": 1, "failed": 0},
        "jobs": [result("p", parameters={"lang": "vi", "district": "Kon Rẫy"})],
    }
    page = render_index_html(record)
    assert "monospace" not in page
    assert (
        '<td class="params"><span class="key">district</span> = Kon Rẫy<br><span class="key">lang</span> = vi</td>'
    ) in page
    assert re.search(r"\.params \.key \{[^}]*font-weight", page)


def test_links_are_relative_and_url_quoted():
    record = {
        "run": {},
        "counts": {"ok": 1, "failed": 0},
        "jobs": [result("a", outputs={"html": "dir name/a#1.html", "artifact": "dir name/a.json"})],
    }
    hrefs = re.findall(r'href="([^"]+)"', render_index_html(record))
    assert hrefs == ["dir%20name/a%231.html", "dir%20name/a.json", "index.json"]


def test_failed_jobs_are_listed_first_with_a_link_to_their_row():
    record = {
        "run": {},
        "counts": {"ok": 1, "failed": 1},
        "jobs": [result("good"), result("bad__x", status="failed", reason="kernel died", error="dead")],
    }
    page = render_index_html(record)
    assert '<h2>Failed jobs</h2><ul><li><a href="#bad__x">bad__x</a>: dead</li></ul>' in page
    assert '<tr id="bad__x"><td class="failed">failed</td>' in page
    assert "<strong>2 jobs: 1 ok, 1 failed</strong>" in page


def test_write_index_writes_both_files_and_no_temporary_file(tmp_path):
    record = build_index([result("a")], tmp_path, {"schedule": "s.yml", "duration": 3.14159})
    html_path, json_path = write_index(tmp_path, record)
    assert json.loads(json_path.read_text(encoding="utf-8")) == record
    assert "<tr><th>duration</th><td>3.1 s</td></tr>" in html_path.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "index.json"]


def test_reports_run_in_english_and_vietnamese_are_offered_side_by_side():
    jobs = [
        result(
            f"c__{family}_{lang}",
            notebook="district_comparison",
            parameters={"family": family, "lang": lang},
            status="failed" if (family, lang) == ("admissions", "vi") else "ok",
            outputs={"html": f"district_comparison/c__{family}_{lang}.html"},
        )
        for family in ("discipline", "admissions")
        for lang in ("en", "vi")
    ]
    jobs.append(result("data_quality", parameters={"lang": "en"}, outputs={"html": "data_quality/q.html"}))
    page = render_index_html({"run": {}, "counts": {"ok": 4, "failed": 1}, "jobs": jobs})
    table = page.split("<h2>Reports in each language</h2>")[1].split("</table>")[0]
    assert table.count("<tr>") == 3  # header, discipline, admissions; the English-only quality review is not there
    assert (
        '<span class="key">family</span> = discipline</td><td><a href="district_comparison/c__discipline_en.html">'
        'English</a></td><td><a href="district_comparison/c__discipline_vi.html">Tiếng Việt</a></td>'
    ) in table
    assert "<td>failed</td>" in table
