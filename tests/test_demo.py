"""`unpog demo` tells the story of change detection, the docs' example sessions are ones a
reader can reproduce from it, and `unpog browse` shows it in Datasette, checked in a real
headless Chromium (skipped where none is installed).

One demo runs, as a user runs it (a subprocess in a new folder, default paths). Every console
block of README.md and docs/*.md marked `<!-- demo-session -->` is then replayed against it,
command by command, and its output compared with the one printed in the docs, the volatile
parts masked: times, the replica's port and archive ids (the order in which one crawl's
concurrent pages reach the archive). A date-time in a command stands for the moment the demo
prints as lying between its two crawls.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from chromium import Chromium, find_chromium

from unpog_crawler.archive import Archive
from unpog_crawler.cli.demo import (
    DELETED_SN,
    EDITED_SN,
    MARKUP_SN,
    NEW_POST,
    NEW_TITLE,
)

REPO = Path(__file__).resolve().parent.parent
UNPOG = [sys.executable, "-m", "unpog_crawler.cli"]
MARKER = "<!-- demo-session -->"
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
MASKS = (
    (ISO_TIME, "<time>"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"), "<time> UTC"),  # summary lines
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
    (re.compile(r"\[\d+\]"), "[<id>]"),
    (re.compile(r"\bArticle \d+:"), "Article <id>:"),
    (re.compile(r'"article_id": \d+'), '"article_id": <id>'),
)


@dataclass(frozen=True)
class Demo:
    folder: Path
    output: str
    moment: str  # between the two crawls, as the demo printed it

    @property
    def db(self) -> Path:
        return self.folder / "archive" / "demo.db"


def shell_env() -> dict[str, str]:
    """The user's shell with the project's virtual environment active."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    folder = tmp_path_factory.mktemp("demo")
    result = subprocess.run(
        [*UNPOG, "demo"],
        cwd=folder,
        env=shell_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout
    moment = re.search(r"unpog changes --since (\S+)", result.stdout)
    assert moment, result.stdout
    return Demo(folder, result.stdout, moment.group(1))


# --- the story ---------------------------------------------------------------------------------


def test_the_second_crawl_finds_each_change_made_to_the_replica(demo):
    with Archive.open_read_only(demo.db) as archive:
        found = {
            (change["kind"], change["url"], tuple(change["changed_fields"]))
            for change in archive.changes(since=demo.moment)
        }
        markup_only = archive.find_article(f"/page/sub4_3_view.asp?sn={MARKUP_SN}")
        edited = archive.find_article(f"/page/sub4_3_view.asp?sn={EDITED_SN}")
        second_quarterly = archive.crawl(5)
    assert found == {
        ("changed", f"/page/sub4_3_view.asp?sn={EDITED_SN}", ("title", "body_text")),
        ("removed", f"/page/sub4_3_view.asp?sn={DELETED_SN}", ()),
        ("new", f"/page/sub3_1_view.asp?BoardID=0010&sn={NEW_POST.sn}", ()),
        ("changed", "/page/sub5_1_view.asp?BoardID=0007&sn=40", ("files",)),
    }
    assert edited["title"] == NEW_TITLE
    # Markup alone changed: read again by the second crawl, and no new version.
    assert second_quarterly["spider"] == "quarterly"
    assert markup_only["last_seen_crawl_id"] == second_quarterly["id"]
    assert markup_only["current_version"] == 1


def test_the_demo_prints_what_changed_and_how_to_explore_it(demo):
    out = demo.output
    assert "Changed on the replica:" in out and "What the second crawl found:" in out
    found = out.split("What the second crawl found:")[1]
    assert f"changed  /page/sub4_3_view.asp?sn={EDITED_SN}  title, body_text" in found
    assert f"removed  /page/sub4_3_view.asp?sn={DELETED_SN}  page answers: no such post" in found
    assert (
        f"new      /page/sub3_1_view.asp?BoardID=0010&sn={NEW_POST.sn}  {NEW_POST.title}" in found
    )
    assert "changed  /page/sub5_1_view.asp?BoardID=0007&sn=40  files" in found
    assert f"same     /page/sub4_3_view.asp?sn={MARKUP_SN}  markup only: still version 1" in found
    for command in ("unpog changes --since", "unpog diff", "unpog browse --db archive/demo.db"):
        assert command in out
    assert "pip install -e '.[browse]'" in out
    # Every spider crawled twice, healthy.
    for crawl_id in range(1, 9):
        assert f": crawl {crawl_id} finished, complete;" in out


def test_diff_names_a_change_of_files_alone(demo):
    # The publication's only change is its PDF, replaced at the same link.
    out = replay(demo, "unpog diff '/page/sub5_1_view.asp?BoardID=0007&sn=40' --db archive/demo.db")
    assert "files: a linked file's bytes changed" in out
    assert "body_text: unchanged" in out


def test_the_demo_refuses_an_archive_that_holds_crawls(demo):
    result = subprocess.run(
        [*UNPOG, "demo"], cwd=demo.folder, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: archive/demo.db already holds 8 crawls: the demo needs a new archive "
        "(give another --db, or delete that one)"
    ]
    with Archive.open_read_only(demo.db) as archive:
        assert archive.stats()["crawls"] == 8


# --- the docs' sessions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    command: str
    output: str


@dataclass(frozen=True)
class Session:
    where: str  # file:line, for the test id
    steps: tuple[Step, ...]


def parse_session(lines: list[str]) -> tuple[Step, ...]:
    """`$ command` lines (a quoted argument may run over several lines), each followed by its
    output up to the next command; blank lines between commands are the docs' spacing."""
    steps: list[Step] = []
    index = 0
    while index < len(lines):
        if not lines[index].startswith("$ "):
            raise ValueError(f"expected a `$ ` command line, got {lines[index]!r}")
        command = lines[index][2:]
        index += 1
        while not complete_command(command):
            command += "\n" + lines[index]
            index += 1
        output = []
        while index < len(lines) and not lines[index].startswith("$ "):
            output.append(lines[index])
            index += 1
        steps.append(Step(command, "\n".join(output).rstrip("\n")))
    return tuple(steps)


def complete_command(command: str) -> bool:
    try:
        shlex.split(command)
    except ValueError:  # a quote still open: the command goes on on the next line
        return False
    return True


def marked_sessions() -> list[Session]:
    sessions = []
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if line.strip() != MARKER:
                continue
            assert lines[number + 1].startswith("```console"), f"{path.name}:{number + 1}"
            end = lines.index("```", number + 2)
            where = f"{path.relative_to(REPO)}:{number + 1}"
            sessions.append(Session(where, parse_session(lines[number + 2 : end])))
    return sessions


SESSIONS = marked_sessions()


def test_the_docs_show_sessions_of_the_demo():
    """The README shows the demo itself, and the research guide its commands."""
    commands = [step.command for session in SESSIONS for step in session.steps]
    assert any(command == "unpog demo" for command in commands)
    for name in ("stats", "changes", "history", "diff", "search", "as-of"):
        assert any(command.startswith(f"unpog {name} ") for command in commands), name


def mask(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    masked = "\n".join(lines).strip("\n")
    for pattern, replacement in MASKS:
        masked = pattern.sub(replacement, masked)
    return masked


def replay(demo: Demo, command: str) -> str:
    if command == "unpog demo":
        return demo.output  # the run this whole module reads
    command = ISO_TIME.sub(demo.moment, command)
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=demo.folder,
        env=shell_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    return result.stdout


@pytest.mark.parametrize("session", SESSIONS, ids=[session.where for session in SESSIONS])
def test_a_docs_session_reproduces_on_the_demo(demo, session):
    missing = {
        program
        for step in session.steps
        for program in [shlex.split(step.command)[0]]
        if shutil.which(program, path=shell_env()["PATH"]) is None
    }
    if missing:
        pytest.skip(f"{', '.join(sorted(missing))} not installed (the session needs it)")
    for step in session.steps:
        assert mask(replay(demo, step.command)) == mask(step.output), (
            f"{session.where}: $ {step.command}"
        )


# --- Datasette on the demo, in a real browser ----------------------------------------------

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed: apt-get install -y chromium fonts-noto-cjk",
)
# Waits until the page's charts (fetched and drawn after the load event) are on the page.
CHARTS_DRAWN = """(async () => {
  const drawn = () => ['live-articles', 'versions', 'last-crawls', 'articles-per-year',
      'changes-per-crawl', 'crawl-health'].every(slug => {
    const chart = document.querySelector('#chart-' + slug);
    return chart && chart.querySelector('svg g.role-axis text, table td, p');
  });
  for (let i = 0; i < 600 && !drawn(); i++) await new Promise(r => setTimeout(r, 50));
  return drawn();
})()"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def browse(demo) -> Iterator[str]:
    """`unpog browse` on the demo archive, as a user starts it; its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [*UNPOG, "browse", "--db", "archive/demo.db", "--port", str(port)],
        cwd=demo.folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base, process)
        yield base
    finally:
        process.terminate()  # SIGTERM: Datasette's server stops cleanly
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert f"Datasette on archive/demo.db at {base}/" in output.splitlines()[0]


def wait_until_answering(base: str, process: subprocess.Popen) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise AssertionError(f"unpog browse ended: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(base + "/-/versions.json", timeout=5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("unpog browse never answered")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    assert CHROMIUM is not None
    chromium = Chromium(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


def page_text(browser: Chromium) -> str:
    return browser.evaluate("document.body.innerText")


@needs_chromium
def test_datasette_index_and_a_table_show_their_data_first(browse, browser):
    browser.open(f"{browse}/")
    assert "UNPOG news archive" in page_text(browser)
    browser.open(f"{browse}/demo")
    assert "Article history" in page_text(browser)  # the canned queries are listed
    browser.open(f"{browse}/demo/versions")
    shown = browser.evaluate(
        """({rowTop: document.querySelector('table.rows-and-columns tbody tr')
                .getBoundingClientRect().top,
            screen: window.innerHeight,
            folded: document.querySelector('details') && !document.querySelector('details').open,
            title: document.querySelector('h1').innerText})"""
    )
    assert shown["title"] == "Versions"
    assert shown["folded"], "the column descriptions are folded away"
    assert shown["rowTop"] < shown["screen"], "the first row is on the first screen"
    assert "What its 32 columns mean" in page_text(browser)
    assert browser.evaluate("document.querySelector('.message-error')") is None
    assert browser.page_errors() == []


@needs_chromium
@pytest.mark.parametrize("name", ["search_latest", "search_all_versions_ranked"])
def test_a_canned_search_opens_without_an_error_and_finds_with_a_query(browse, browser, name):
    browser.open(f"{browse}/demo/{name}")
    opened = page_text(browser)
    assert "error" not in opened.lower() and "0 results" in opened
    assert browser.evaluate("document.querySelector('.message-error')") is None
    browser.open(f"{browse}/demo/{name}?{urlencode({'q': 'Colombo'})}")
    assert "Regional Workshop on Open Government Data and Trust" in page_text(browser)
    half_typed = urlencode({"q": '"open gover'})
    browser.open(f"{browse}/demo/{name}?{half_typed}")
    message = browser.evaluate("document.querySelector('.message-error').innerText")
    assert "search query incomplete: a quote opens a phrase that is not closed" in message


@needs_chromium
def test_article_history_takes_a_url_copied_from_a_list_page(browse, browser):
    copied = f"https://www.unpog.org/page/sub4_3_view.asp?sn={EDITED_SN}&page=2"
    browser.open(f"{browse}/demo/article_history?{urlencode({'article': copied})}")
    rows = browser.evaluate(
        "[...document.querySelectorAll('table.rows-and-columns tbody tr')].map(r => r.innerText)"
    )
    assert len(rows) == 2 and NEW_TITLE in rows[1], rows
    # Its long SQL sits behind a "show" link: the form and the rows come first.
    first_row_top = browser.evaluate(
        "document.querySelector('table.rows-and-columns tbody tr').getBoundingClientRect().top"
    )
    assert first_row_top < browser.evaluate("window.innerHeight")


@needs_chromium
def test_dashboard_draws_every_chart_with_dates_and_whole_tables(browse, browser):
    browser.open(f"{browse}/-/dashboards/unpog-archive")
    assert browser.evaluate(CHARTS_DRAWN), page_text(browser)
    drawn = browser.evaluate(
        """(() => {
          const card = document.querySelector('#chart-last-crawls').closest('.dashboard-card');
          const cells = [...card.querySelectorAll('th, td')];
          return {
            cardRight: card.getBoundingClientRect().right,
            cellsRight: Math.max(...cells.map(c => c.getBoundingClientRect().right)),
            headers: [...card.querySelectorAll('th')].map(th => th.innerText),
            rows: card.querySelectorAll('tbody tr').length,
            metrics: ['live-articles', 'versions'].map(
              slug => document.querySelector('#chart-' + slug).innerText.trim()),
            timeLabels: [...document.querySelectorAll(
              '#chart-crawl-health g.role-axis[aria-label^="X-axis"] g.role-axis-label text'
            )].map(t => t.textContent),
          };
        })()"""
    )
    assert drawn["cellsRight"] <= drawn["cardRight"], "the table's last column is cut off"
    assert drawn["timeLabels"], "the crawl-health chart has a time axis"
    for label in drawn["timeLabels"]:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d( \d\d:\d\d)?", label), drawn["timeLabels"]
    assert browser.page_errors() == []
    assert drawn["metrics"] == ["60", "63"]
    assert drawn["headers"][0] == "crawl" and drawn["headers"][-1] == "failures"
    assert drawn["rows"] == 4  # the last crawl of each spider
