"""The command line as a user runs it: real subprocesses of `unpog` and `scrapy crawl`."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import wait_for_rows

from unpog_crawler.archive import Archive
from unpog_crawler.cli.demo import NEW_POST
from unpog_crawler.replica.boards import SPECS
from unpog_crawler.replica.server import ReplicaSite

REPO = Path(__file__).resolve().parent.parent
UNPOG = [sys.executable, "-m", "unpog_crawler.cli"]
# The Quarterly alone: these tests are about the command, not the boards (test_boards_cli).
FAST = ["--spider", "quarterly", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]
FAST += ["-L", "WARNING"]


def run(args: list[str], cwd: Path = REPO, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def titles(db_path: Path) -> list[tuple[str, str, str]]:
    connection = sqlite3.connect(db_path)
    try:
        sql = "select source_id, kind, title from articles order by id"
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_help_lists_the_commands():
    result = run([*UNPOG, "--help"])

    assert result.returncode == 0
    assert "crawl" in result.stdout and "demo" in result.stdout


def test_crawl_prints_a_summary_and_exits_zero_when_healthy(replica, db_path):
    result = run([*UNPOG, "crawl", "--base-url", replica.base_url, "--db", str(db_path), *FAST])

    assert result.returncode == 0, result.stderr
    assert "quarterly: crawl 1 finished, complete;" in result.stdout
    assert f"{len(replica.site.articles()) + 1} new" in result.stdout
    assert len(titles(db_path)) == len(replica.site.articles()) + 1


def test_crawl_exits_one_when_the_listing_is_incomplete(replica, db_path):
    replica.site.fail("/page/sub4_3_list.asp?page=2")

    result = run([*UNPOG, "crawl", "--base-url", replica.base_url, "--db", str(db_path), *FAST])

    assert result.returncode == 1
    assert "INCOMPLETE listing" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-s", "NO_EQUALS_SIGN"], "expected NAME=value"),
        (["--spider", "nope"], "unknown spider 'nope'"),
        (["--base-url", "unpog.org"], "must start with http"),
    ],
)
def test_crawl_usage_errors_exit_two_with_one_line(args, message, db_path):
    result = run([*UNPOG, "crawl", "--db", str(db_path), *args])

    assert result.returncode == 2
    assert message in result.stderr
    assert not db_path.exists()


def test_crawl_refuses_a_file_that_is_not_an_archive(tmp_path):
    not_archive = tmp_path / "notes.db"
    not_archive.write_text("these are my notes, not a database\n")

    result = run([*UNPOG, "crawl", "--db", str(not_archive), "--base-url", "http://127.0.0.1:9"])

    assert result.returncode == 2
    assert "Error:" in result.stderr and "Traceback" not in result.stderr
    assert not_archive.read_text() == "these are my notes, not a database\n"


def test_second_crawl_on_a_locked_archive_exits_at_once(replica, db_path):
    archive = Archive(db_path)
    try:
        with archive.lock():
            started = time.monotonic()
            result = run([*UNPOG, "crawl", "--base-url", replica.base_url, "--db", str(db_path)])
            elapsed = time.monotonic() - started
    finally:
        archive.close()

    assert result.returncode == 2
    assert "crawl" in result.stderr.lower() and "lock" in result.stderr.lower()
    assert elapsed < 30  # "at once": no waiting for the lock (generous for slow machines)
    assert replica.site.requests.count() == 0


def test_scrapy_crawl_works_with_settings_on_the_command_line(replica, db_path):
    result = run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "quarterly",
            "-s",
            f"UNPOG_BASE_URL={replica.base_url}",
            "-s",
            f"UNPOG_ARCHIVE_DB={db_path}",
            *FAST[2:],  # without --spider, which `scrapy crawl` does not take
        ]
    )

    assert result.returncode == 0, result.stderr
    assert len(titles(db_path)) == len(replica.site.articles()) + 1


def test_demo_serves_the_replica_and_archives_every_article(tmp_path):
    demo_db = tmp_path / "demo.db"

    result = run([*UNPOG, "demo", "--db", str(demo_db)])

    assert result.returncode == 0, result.stderr
    assert "serving at http://127.0.0.1:" in result.stdout
    assert f'sqlite3 {demo_db} "select source_id, kind, title from articles"' in result.stdout
    archived = titles(demo_db)
    assert ("72", "welcome_note", "Welcome Note") in archived
    site = ReplicaSite()
    expected = {str(a.sn) for a in site.articles()} | {p.slug for p in site.issue_pages}
    for key in SPECS:  # every board's listed posts (the sweep-only post needs --sweep)
        expected |= {str(post.sn) for post in site.boards.posts(key, listed_only=True)}
    expected.add(str(NEW_POST.sn))  # the post the demo adds before its second crawl
    assert {source_id for source_id, _kind, _title in archived} == expected
    for spider in ("quarterly", "news", "youth", "publications"):
        assert f"{spider}: crawl" in result.stdout


def test_killed_crawl_is_marked_interrupted_and_the_next_crawl_completes(replica, db_path):
    slow = ["-s", "DOWNLOAD_DELAY=0.3", "-s", "AUTOTHROTTLE_ENABLED=False", "-L", "WARNING"]
    args = [*UNPOG, "crawl", "--base-url", replica.base_url, "--db", str(db_path), *slow]
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_rows(db_path, "versions", at_least=2)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)

    result = run([*UNPOG, "crawl", "--base-url", replica.base_url, "--db", str(db_path), *FAST])

    assert result.returncode == 0, result.stderr
    connection = sqlite3.connect(db_path)
    try:
        statuses = connection.execute("select status from crawls order by id").fetchall()
        assert statuses == [("interrupted",), ("finished",)]
        assert connection.execute("pragma integrity_check").fetchone() == ("ok",)
        removed = connection.execute("select count(*) from articles where status != 'live'")
        assert removed.fetchone() == (0,)
    finally:
        connection.close()
    assert len(titles(db_path)) == len(replica.site.articles()) + 1


def test_ctrl_c_ends_the_crawl_as_interrupted_and_removes_nothing(replica, db_path):
    run([*UNPOG, "crawl", "--base-url", replica.base_url, "--db", str(db_path), *FAST])
    replica.site.delete(83)  # a complete crawl would remove it; an interrupted one must not
    slow = ["-s", "DOWNLOAD_DELAY=0.3", "-s", "AUTOTHROTTLE_ENABLED=False", "-L", "WARNING"]
    args = [*UNPOG, "crawl", "--base-url", replica.base_url, "--db", str(db_path), *slow]
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for_pages(db_path, crawl_id=2, at_least=2)
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=60)

    assert process.returncode == 1
    assert b"interrupted" in stdout
    connection = sqlite3.connect(db_path)
    try:
        assert connection.execute("select status from crawls where id = 2").fetchone() == (
            "interrupted",
        )
        # Only a finished, complete crawl may infer removals from the listing.
        removed_by_listing = connection.execute(
            "select count(*) from changes where kind = 'removed' and reason like '%complete%'"
        )
        assert removed_by_listing.fetchone() == (0,)
    finally:
        connection.close()


def wait_for_pages(db_path: Path, crawl_id: int, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = sqlite3.connect(db_path)
        try:
            row = connection.execute("select pages from crawls where id = ?", [crawl_id]).fetchone()
        finally:
            connection.close()
        if row and row[0] >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError(f"crawl {crawl_id} read fewer than {at_least} pages in {timeout}s")
