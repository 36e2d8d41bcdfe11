"""Bad input from people: one line naming the problem, a non-zero exit, the archive untouched.

Real subprocesses of `unpog`, as a user types them, against real archive files whose bytes
are compared before and after.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from unpog_crawler.archive import MIGRATION_SET, Archive

REPO = Path(__file__).resolve().parent.parent
UNPOG = [sys.executable, "-m", "unpog_crawler.cli"]
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-L", "WARNING"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*UNPOG, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_one_clear_line(result: subprocess.CompletedProcess, *words: str) -> None:
    """A non-zero exit, the words in one line of output, and no traceback."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    assert any(all(w in line for w in words) for line in output.splitlines()), output


@pytest.fixture
def archive_file(tmp_path: Path) -> Path:
    """A real archive with one (empty) crawl row: something to leave untouched."""
    path = tmp_path / "archive" / "unpog.db"
    with Archive(path) as archive, archive.lock():
        crawl_id = archive.start_crawl("quarterly", "http://x", "2024-01-01T00:00:00+00:00")
        archive.finish_crawl(
            crawl_id, status="failed", complete=False, finished_at="2024-01-01T00:00:01+00:00"
        )
    return path


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ("UNPOG_MAX_LIST_PAGES=abc", ("UNPOG_MAX_LIST_PAGES", "whole number")),
        ("DOWNLOAD_DELAY=-1", ("DOWNLOAD_DELAY", "at least 0")),
        ("UNPOG_HEALTH_MAX_PARSE_FAILURE_SHARE=2", ("PARSE_FAILURE_SHARE", "at most 1")),
        ("UNPOG_RECHECK_KNOWN=perhaps", ("UNPOG_RECHECK_KNOWN", "True or False")),
        ("UNPOG_BASE_URL=ftp://unpog.org", ("UNPOG_BASE_URL", "http")),
        ("UNPOG_REVISIT=sometimes", ("UNPOG_REVISIT", "adaptive")),
        ("UNPOG_REVISIT_MAX_AGE=0", ("UNPOG_REVISIT_MAX_AGE", "1 to 366 days")),
        ("UNPOG_REVISIT_BUDGET=ten", ("UNPOG_REVISIT_BUDGET", "a share (e.g. 10%)")),
    ],
)
def test_bad_setting_values_are_one_line_and_touch_nothing(replica, archive_file, setting, words):
    before = digest(archive_file)

    site = f"UNPOG_BASE_URL={replica.base_url}"  # a later -s of the same name wins
    result = run("crawl", "--db", str(archive_file), *FAST, "-s", site, "-s", setting)

    assert_one_clear_line(result, "bad setting", *words)
    assert digest(archive_file) == before
    assert replica.site.requests.count() == 0  # not even robots.txt


@pytest.mark.parametrize(
    ("setting", "closest"),
    [
        ("UNPOG_DOWNLOAD_FILE=0", "UNPOG_DOWNLOAD_FILES"),
        ("UNPOG_MAX_LIST_PAGE=3", "UNPOG_MAX_LIST_PAGES"),
        ("UNPOG_HEALTH_MAX_ERROR=0", "UNPOG_HEALTH_MAX_ERRORS"),
    ],
)
def test_a_misspelt_setting_is_refused_with_the_closest_name(
    replica, archive_file, setting, closest
):
    before = digest(archive_file)

    site = ["--base-url", replica.base_url]
    result = run("crawl", *site, "--db", str(archive_file), *FAST, "-s", setting)

    assert result.returncode == 2
    misspelt = setting.split("=")[0]
    assert_one_clear_line(result, f"unknown setting {misspelt}", f"did you mean {closest}?")
    assert digest(archive_file) == before
    assert replica.site.requests.count() == 0


def test_a_misspelt_setting_is_refused_by_scrapy_crawl_and_the_doctor(replica, archive_file):
    """The same check wherever settings come in: `scrapy crawl -s` and `unpog doctor -s`."""
    before = digest(archive_file)
    db = f"UNPOG_ARCHIVE_DB={archive_file}"
    scrapy = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "quarterly", "-s", db, "-s", "UNPOG_TYPO=1"]
        + ["-s", f"UNPOG_BASE_URL={replica.base_url}", "-s", "DOWNLOAD_DELAY=0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    doctor = run("doctor", "--base-url", replica.base_url, "-s", "UNPOG_BASE_ULR=x")

    assert "Not crawling: unknown setting UNPOG_TYPO" in scrapy.stderr
    assert doctor.returncode == 2
    assert_one_clear_line(doctor, "unknown setting UNPOG_BASE_ULR", "did you mean UNPOG_BASE_URL?")
    assert digest(archive_file) == before
    assert replica.site.requests.count() == 0


def test_unknown_spider_is_refused(replica, archive_file):
    before = digest(archive_file)

    result = run(
        "crawl", "--base-url", replica.base_url, "--db", str(archive_file), "--spider", "quartely"
    )

    assert result.returncode == 2
    assert_one_clear_line(result, "unknown spider", "quartely")
    assert digest(archive_file) == before


def test_a_db_path_that_cannot_be_created(replica):
    result = run("crawl", "--base-url", replica.base_url, "--db", "/proc/unpog/archive.db")

    assert result.returncode == 2
    assert_one_clear_line(result, "/proc/unpog", "choose another path")


def test_a_db_path_below_a_file(replica, tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a directory\n")

    result = run("crawl", "--base-url", replica.base_url, "--db", str(blocker / "unpog.db"))

    assert result.returncode == 2
    assert_one_clear_line(result, "is not a directory")
    assert blocker.read_text() == "not a directory\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_an_unwritable_archive(replica, archive_file):
    archive_file.chmod(0o444)
    before = digest(archive_file)

    result = run("crawl", "--base-url", replica.base_url, "--db", str(archive_file))

    assert_one_clear_line(result, "not writable")
    assert digest(archive_file) == before


def test_a_sqlite_file_that_is_not_an_archive(replica, tmp_path):
    other = tmp_path / "other.db"
    connection = sqlite3.connect(other)
    connection.execute("create table notes (text)")
    connection.commit()
    connection.close()
    before = digest(other)

    result = run("crawl", "--base-url", replica.base_url, "--db", str(other))

    assert result.returncode == 2
    assert_one_clear_line(result, "not an unpog-crawler archive")
    assert digest(other) == before


def test_an_archive_from_a_newer_version(replica, archive_file):
    connection = sqlite3.connect(archive_file)
    connection.execute(
        "insert into _sqlite_migrations (migration_set, name, applied_at) values (?, ?, ?)",
        [MIGRATION_SET, "9999_from_the_future", "2030-01-01"],
    )
    connection.commit()
    connection.close()
    before = digest(archive_file)

    for args in (["crawl", "--base-url", replica.base_url], ["stats"]):
        result = run(*args, "--db", str(archive_file))
        assert_one_clear_line(result, "9999_from_the_future", "upgrade")
    assert digest(archive_file) == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["changes", "--since", "last tuesday"], ("last tuesday",)),
        (["as-of", "2024-13-45"], ("2024-13-45",)),
        (["changes", "--crawl", "x1"], ("x1",)),
        (["history", "12345"], ("12345",)),
        (["diff", "1", "0"], ("0",)),
        (["history", "https://unpog.org/page/sub4_3_view.asp?sn=abc"], ("sn=abc",)),
    ],
)
def test_malformed_dates_and_ids_on_the_command_line(archive_file, args, words):
    before = digest(archive_file)

    result = run(*args, "--db", str(archive_file))

    assert_one_clear_line(result, *words)
    assert digest(archive_file) == before
