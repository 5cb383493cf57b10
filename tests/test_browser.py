"""The index and the reports, opened in a real headless browser (Debian's chromium).

The run uses the toy notebooks; every link of the index must resolve to a
file and every figure must be embedded in its report as a PNG.
"""

from __future__ import annotations

import base64
import json
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

from test_runner import run_cli

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.notebook,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (.ci/run installs it)"),
]


class _Elements(HTMLParser):
    """The attributes of every <a>, <img> and element with an id in a page."""

    def __init__(self):
        super().__init__()
        self.hrefs, self.images, self.ids = [], [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if attrs.get("id"):
            self.ids.add(attrs["id"])


def browse(url: str, profile: Path) -> _Elements:
    """The DOM chromium builds for a page, parsed."""
    completed = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    assert "<body" in completed.stdout, completed.stderr[-2000:]
    elements = _Elements()
    elements.feed(completed.stdout)
    elements.dom = completed.stdout
    return elements


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    schedule = folder / "s.yml"
    schedule.write_text(
        "jobs:\n  - notebook: figure\n    parameters: {title: Số chi bộ thôn}\n"
        "  - notebook: greeting\n  - notebook: fails\n",
        encoding="utf-8",
    )
    out = folder / "reports"
    code, _, _ = run_cli("report", schedule, "--out", out, "--jobs", "2")
    assert code == 1  # 'fails' fails on purpose
    return out, folder / "chromium-profile"


def test_every_link_of_the_index_resolves_in_the_browser(run):
    out, profile = run
    index_url = (out / "index.html").as_uri()
    page = browse(index_url, profile)
    assert "3 jobs: 2 ok, 1 failed" in page.dom
    # figure: html, notebook; greeting: html, notebook, JSON; fails: html, notebook, its row; index.json
    assert len(page.hrefs) == 2 + 3 + 3 + 1
    for href in page.hrefs:
        target = urlparse(urljoin(index_url, href))
        if target.path == urlparse(index_url).path:
            assert target.fragment in page.ids, href
        else:
            assert Path(unquote(target.path)).is_file(), href


def test_each_report_opens_and_figures_are_embedded_as_png(run):
    out, profile = run
    jobs = {job["name"]: job for job in json.loads((out / "index.json").read_text(encoding="utf-8"))["jobs"]}
    figure = browse((out / jobs["figure__title-so-chi-bo-thon"]["outputs"]["html"]).as_uri(), profile)
    pngs = [src for src in figure.images if src.startswith("data:image/png;base64,")]
    assert len(pngs) == 1
    assert base64.b64decode(pngs[0].split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "Toy report with a figure" in figure.dom
    greeting = browse((out / jobs["greeting"]["outputs"]["html"]).as_uri(), profile)
    assert "xin chào, world!" in greeting.dom
    failed = browse((out / jobs["fails"]["outputs"]["html"]).as_uri(), profile)
    assert "ValueError" in failed.dom and "the data were not there" in failed.dom
