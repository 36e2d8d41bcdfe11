"""A site that cannot be reached is said so at once: one line, no traceback, exit 1, no further
spider, nothing removed; `unpog doctor` does not blame the parser. Real `unpog` subprocesses
against a host name that does not resolve, a refused port and a server that never answers.
Once the site has answered, the same errors are retried as any page's."""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from conftest import crawl
from test_schedule import PROGRESS, run_in_terminal

from unpog_crawler.replica.faults import Fault

REPO = Path(__file__).resolve().parent.parent
UNPOG = [sys.executable, "-m", "unpog_crawler.cli"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*UNPOG, *args], cwd=REPO, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def crawls(db: Path) -> list[tuple]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute("SELECT spider, status, complete, removed FROM crawls").fetchall()
    finally:
        connection.close()


@contextlib.contextmanager
def unreachable_site(kind: str) -> Iterator[str]:
    """A base URL that gets no answer of the given kind."""
    if kind == "dns":
        yield "http://unpog.invalid"  # RFC 2606: never resolves
        return
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        if kind == "silent":
            server.listen(8)  # connections are accepted by the kernel, never answered
        yield f"http://127.0.0.1:{server.getsockname()[1]}"  # "refused": bound, not listening


REASONS = {
    "dns": "its host name unpog.invalid does not resolve (DNS lookup failed)",
    "refused": "was refused",
    "silent": "within 2 s (DOWNLOAD_TIMEOUT)",
}


@pytest.mark.parametrize("kind", ["dns", "refused", "silent"])
def test_a_site_that_cannot_be_reached_is_one_line_and_stops_the_run(kind, tmp_path):
    db, report = tmp_path / "archive" / "unpog.db", tmp_path / "run.json"
    with unreachable_site(kind) as base_url:
        result = run(
            "crawl", "--base-url", base_url, "--db", str(db), "-s", "DOWNLOAD_TIMEOUT=2",
            "--report", str(report),
        )  # fmt: skip

    assert result.returncode == 1
    [line] = result.stdout.splitlines()  # every spider's summary, said once
    assert line.startswith(f"cannot reach {base_url}: ") and REASONS[kind] in line
    assert "Nothing was crawled or removed" in line and "`unpog demo`" in line
    assert "Traceback" not in result.stdout + result.stderr
    assert [row[:2] for row in crawls(db)] == [("quarterly", "failed")]  # no other spider ran
    [log_file] = (tmp_path / "archive/unpog/logs").glob("*.log")
    assert str(log_file) in line
    assert "The site cannot be reached" in log_file.read_text()
    written = json.loads(report.read_text())
    assert REASONS[kind] in written["unreachable"] and written["exit_status"] == 1
    assert [c["status"] for c in written["crawls"]] == ["failed", "not run", "not run", "not run"]


def test_in_a_terminal_an_unreachable_site_shows_one_line_and_no_traceback(tmp_path):
    db = tmp_path / "archive" / "unpog.db"

    status, stdout, terminal = run_in_terminal(
        [*UNPOG, "crawl", "--base-url", "http://unpog.invalid", "--db", str(db)]
    )

    assert status == 1
    assert stdout.startswith("cannot reach http://unpog.invalid: ") and stdout.count("\n") == 1
    shown = [line for line in terminal.replace("\r", "\n").splitlines() if line.strip()]
    assert all(PROGRESS.search("\r" + line) or line == "\x1b[K" for line in shown), shown
    [log_file] = (tmp_path / "archive/unpog/logs").glob("*.log")
    assert "Traceback" in log_file.read_text()  # kept where it belongs


def test_the_doctor_says_it_could_not_check_rather_than_blame_the_parser():
    result = run("doctor", "--base-url", "http://unpog.invalid")

    assert result.returncode == 1
    verdict = result.stdout.strip().splitlines()[-1]
    assert verdict.startswith("Verdict: NOT CHECKED: cannot reach http://unpog.invalid")
    assert "parser expects" not in result.stdout


@pytest_twisted.ensureDeferred
async def test_once_the_site_has_answered_a_page_without_answer_is_retried(replica, db_path):
    replica.site.inject(
        "/page/sub4_3_view.asp?sn=72", Fault("slow", delay=3), times=1
    )  # the first answer comes after DOWNLOAD_TIMEOUT; the retry's at once

    row = await crawl(replica.base_url, db_path, DOWNLOAD_TIMEOUT=1)

    assert (row["status"], row["errors"], row["complete"]) == ("finished", 0, 1)
    assert replica.site.requests.count("sn=72") == 2


def test_progress_line_and_summary_count_the_same_errors(replica, db_path):
    """A list page that fails: the progress line's last figures are the summary's."""
    replica.site.fail("/page/sub4_3_list.asp?page=2")
    args = ["--base-url", replica.base_url, "--db", str(db_path), "--spider", "quarterly"]
    fast = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]

    status, stdout, terminal = run_in_terminal([*UNPOG, "crawl", *args, *fast])

    assert status == 1
    pages, articles, new, _changed, errors = map(int, PROGRESS.findall(terminal)[-1])
    summary = stdout.splitlines()[0]
    assert f"{articles} articles seen: {new} new" in summary
    assert f"{errors} errors; {pages} pages" in summary and errors > 0
