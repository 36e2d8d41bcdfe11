"""`unpog doctor` as an archivist runs it: a real subprocess against the replica."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from unpog_crawler.parse import PARSER_VERSION
from unpog_crawler.replica.faults import Fault
from unpog_crawler.replica.server import serve

REPO = Path(__file__).resolve().parent.parent
LIST_1 = "/page/sub4_3_list.asp?page=1"
FIRST_ARTICLE = "/page/sub4_3_view.asp?sn=83"  # the newest post: first on the list
DOCTOR = [sys.executable, "-m", "unpog_crawler.cli", "doctor", "--delay", "0"]


def doctor(base_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*DOCTOR, "--base-url", base_url, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_doctor_reports_healthy_fields_and_their_rules_on_the_replica(replica):
    result = doctor(replica.base_url)

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "article links   5" in out
    assert out.count("\nArticle ") == 3
    assert "title           'Welcome Note'" in out
    rules = f"rules           parser {PARSER_VERSION}; start: the heading the share line names"
    assert rules + "; end: share line" in out
    assert "authors         CHUNG Chae Gun; Head of UNPOG/DPIDG/UN DESA" in out
    assert "PROBLEM" not in out
    assert out.rstrip().endswith("Verdict: HEALTHY: 3 articles parsed cleanly (4 pages checked)")
    # Politeness: robots.txt first, then one list page and three articles, nothing else.
    targets = [target for _method, target, _status in replica.site.requests]
    assert targets[0] == "/robots.txt" and len(targets) == 5


def test_doctor_names_the_fields_that_no_longer_parse_after_a_redesign(replica):
    replica.site.set_template("redesign")

    result = doctor(replica.base_url, "--articles", "2")

    assert result.returncode == 1
    assert "PROBLEM  reading order: no article found: no share line naming a" in result.stdout
    assert "UNHEALTHY: reading order (2 pages)" in result.stdout


def test_doctor_reports_pages_it_cannot_fetch(replica):
    replica.site.fail("/page/sub4_3_list.asp", status=503)

    result = doctor(replica.base_url)

    assert result.returncode == 1
    assert "PROBLEM  list page: HTTP 503" in result.stdout
    assert "Verdict: UNHEALTHY" in result.stdout


def test_doctor_refuses_a_bad_base_url():
    result = doctor("unpog.org")

    assert result.returncode == 2
    assert "must start with http" in result.stderr


# --- The crawl's limits (issue 18, item 8): the doctor fetches through the crawl's settings --


@pytest.fixture
def other_port():
    with serve() as server:
        yield server


def test_doctor_does_not_follow_a_redirect_off_the_site(replica, other_port):
    elsewhere = f"{other_port.base_url}{LIST_1}"
    replica.site.inject(LIST_1, Fault("redirect", location=elsewhere))

    result = doctor(replica.base_url)

    assert result.returncode == 1
    assert f"PROBLEM  list page: redirected off the site to {elsewhere} (not followed)" in (
        result.stdout
    )
    assert other_port.site.requests.count() == 0


def test_doctor_refuses_a_page_over_the_crawls_size_cap(replica):
    replica.site.inject(FIRST_ARTICLE, Fault("oversize", size=11 * 1024**2))

    result = doctor(replica.base_url, "--articles", "1")

    assert result.returncode == 1
    assert "PROBLEM  page: cannot fetch (" in result.stdout
    assert "larger than download max size (10485760)" in result.stdout


def test_doctor_gives_up_on_a_page_that_never_finishes(replica):
    # A byte now and then: each read answers in time, the page never ends.
    replica.site.inject(LIST_1, Fault("drip", delay=0.2))

    result = doctor(replica.base_url, "-s", "DOWNLOAD_TIMEOUT=2")

    assert result.returncode == 1
    assert "PROBLEM  list page: cannot fetch (" in result.stdout
    assert "took longer than 2.0 seconds" in result.stdout


def test_doctor_refuses_a_bad_setting():
    result = doctor("http://127.0.0.1:9", "-s", "DOWNLOAD_TIMEOUT=soon")

    assert result.returncode == 2
    assert "DOWNLOAD_TIMEOUT" in result.stderr
