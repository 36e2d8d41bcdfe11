"""A hostile server: it cannot hang a crawl, exhaust its memory or widen it (issue 18).

Each attack is served by the replica over real HTTP to a real crawl; crawls that could run
away before the fix are `unpog crawl` subprocesses, bounded by a subprocess timeout or an
address-space limit rather than by a timed assertion.
"""

from __future__ import annotations

import dataclasses
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_twisted
from conftest import crawl, query

from unpog_crawler.replica.faults import Fault
from unpog_crawler.replica.server import ReplicaServer, serve

REPO = Path(__file__).resolve().parent.parent
UNPOG = [sys.executable, "-m", "unpog_crawler.cli"]
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-L", "WARNING"]
# Far more than a healthy crawl of the replica needs (a few seconds), far less than the
# attacks took before their fixes (minutes to hours).
CRAWL_TIMEOUT = 120
VIEW_72 = "/page/sub4_3_view.asp?sn=72"


def unpog_crawl(
    replica: ReplicaServer, db_path: Path, *args: str, memory_limit: int | None = None
) -> subprocess.CompletedProcess:
    """`unpog crawl` of the replica's Quarterly, optionally under an address-space limit."""

    def limit_memory() -> None:
        if memory_limit:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    command = [*UNPOG, "crawl", "--spider", "quarterly", "--base-url", replica.base_url]
    return subprocess.run(
        [*command, "--db", str(db_path), *FAST, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=CRAWL_TIMEOUT,
        preexec_fn=limit_memory,
    )


def add_article(replica: ReplicaServer, sn: int, raw_html: str) -> None:
    template = replica.site.article(80)
    replica.site.add(dataclasses.replace(template, sn=sn, raw_html=raw_html))


# --- Item 4: link patterns on huge attributes ---------------------------------------------


@pytest.mark.parametrize("filler", ["a", "x.as", "view"])
def test_a_page_with_a_huge_onclick_is_read_and_the_crawl_ends(replica, db_path, filler):
    # 600 KB of one handler: the URL pattern used to retry from each of its characters
    # (a core busy for 15 minutes, deaf to SIGTERM). Parsed inline, as a polite crawl does.
    huge = filler * (600_000 // len(filler))
    add_article(replica, 95, f"<p onclick=\"goView('83');{huge}\">Read the report</p>")

    result = unpog_crawl(replica, db_path, "-s", "UNPOG_PARSE_WORKERS=0")

    assert result.returncode == 0, result.stdout + result.stderr
    assert query(db_path, "select status, errors, parse_failures from crawls") == [
        ("finished", 0, 0)
    ]
    assert query(db_path, "select count(*) from articles where source_id = '95'") == [(1,)]


# --- Item 5: absurd ids and the sweep -------------------------------------------------------

ABSURD = "99999999999"
HUGE_ID = "9" * 1500  # a number, but no id (links over 2,048 characters are ignored)
ODD_DIGIT = "\u00b2"  # '²': a digit to str.isdigit(), not to int()


def test_absurd_ids_are_reported_not_swept_towards(replica, db_path):
    # One link to sn=99999999999 made the sweep build a set of every id below it (24 GB).
    links = "".join(
        f'<p><a href="sub4_3_view.asp?sn={item_id}">post {n}</a></p>'
        for n, item_id in enumerate((ABSURD, HUGE_ID, ODD_DIGIT))
    )
    add_article(replica, 95, links)

    result = unpog_crawl(
        replica,
        db_path,
        "--sweep",
        *("-s", "UNPOG_SWEEP_MAX_MISSES=2", "-s", "UNPOG_SWEEP_MAX_REQUESTS=100"),
        memory_limit=3 * 1024**3,
    )

    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == 1, output  # refused links are errors: someone should look
    assert query(db_path, "select status, removed from crawls") == [("finished", 0)]
    # The page that carries them is archived like any other.
    assert query(db_path, "select count(*) from articles where source_id = '95'") == [(1,)]
    problems = query(db_path, "select url, kind, reason from crawl_problems order by id")
    refused = {url: reason for url, kind, reason in problems if "not requested" in reason}
    assert set(refused) == {
        f"/page/sub4_3_view.asp?sn={ABSURD}",
        f"/page/sub4_3_view.asp?sn={HUGE_ID}",
    }
    assert all(kind == "error" for _, kind, reason in problems if "not requested" in reason)
    # Nothing near them was asked for: the sweep stayed below the real posts' ids.
    asked = [t.split("sn=", 1)[1] for _, t, _ in replica.site.requests if "view.asp?sn=" in t]
    assert max(int(i) for i in asked if i.isdigit()) < 200, asked
    assert {"84", "85"} <= set(asked)  # the sweep ran above the highest real post, as before
    # A digit that is no number is asked for as text, and answered "no such post".
    assert "%C2%B2" in asked


# --- Item 6: response headers ---------------------------------------------------------------

HEADER_FLOOD = 64 * 1024**2  # what the server sends at most, unless the crawl hangs up


@pytest.mark.parametrize(
    ("line", "limit"),
    [(40, "more than 100 lines"), (4000, "more than 65,536 bytes")],
    ids=["many_short_lines", "long_lines"],
)
def test_endless_response_headers_are_a_fetch_error(replica, db_path, line, limit):
    # A server that sent header lines forever took the crawl to 16.5 GB.
    replica.site.inject(VIEW_72, Fault("endless_headers", size=HEADER_FLOOD, line=line))

    result = unpog_crawl(replica, db_path, "-s", "RETRY_TIMES=1", memory_limit=3 * 1024**3)

    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == 1, output  # an error: someone should look
    assert query(db_path, "select status, complete, errors, removed from crawls") == [
        ("finished", 1, 1, 0)
    ]
    ((url, kind, reason),) = query(db_path, "select url, kind, reason from crawl_problems")
    assert (url, kind) == (VIEW_72, "error")
    assert f"response headers: {limit}" in reason, reason
    # The crawl hung up long before the flood ended (socket buffers hold a few MB at most).
    sent = replica.site.header_bytes_sent
    assert len(sent) == 2 and max(sent) < HEADER_FLOOD / 4, sent


# --- Item 9: redirects and files stay on the base URL's scheme, host and port ---------------


@pytest.fixture
def other_port():
    """The same host on another port: another server, which must never be asked anything."""
    with serve() as server:
        yield server


@pytest.mark.parametrize("target", ["other_port", "other_scheme"])
@pytest_twisted.ensureDeferred
async def test_a_redirect_off_the_base_urls_origin_is_not_followed(
    replica, db_path, other_port, target
):
    port = other_port.server_address[1]
    location = {
        "other_port": f"{other_port.base_url}{VIEW_72}",
        "other_scheme": f"https://127.0.0.1:{port}{VIEW_72}",
    }[target]
    replica.site.inject(VIEW_72, Fault("redirect", location=location))

    row = await crawl(replica.base_url, db_path)

    assert other_port.site.requests.count() == 0
    assert (row["status"], row["errors"], row["removed"]) == ("finished", 1, 0)
    ((url, kind, reason),) = query(db_path, "select url, kind, reason from crawl_problems")
    assert (url, kind) == (VIEW_72, "error")
    assert reason == f"redirected off the site to {location} (not followed)"
    assert query(db_path, "select count(*) from articles where source_id = '72'") == [(0,)]


@pytest_twisted.ensureDeferred
async def test_a_file_on_a_site_host_is_fetched_from_the_base_url_only(replica, db_path):
    # Linked on www.unpog.org's port 1: fetched as the same path on the crawl's own server.
    linked = "http://www.unpog.org:1/common/download.asp?path=board&file=elsewhere.pdf"
    add_article(replica, 95, f'<p><a href="{linked}">elsewhere.pdf</a></p>')

    row = await crawl(replica.base_url, db_path)

    assert (row["status"], row["errors"]) == ("finished", 0)
    assert replica.site.requests.count("file=elsewhere.pdf") == 1
    stored = "select role, sha256 is not null from files where url like '%file=elsewhere.pdf%'"
    assert query(db_path, stored) == [("attachment", 1)]


# --- Item 10: a robots.txt that cannot be read ----------------------------------------------

ROBOTS = "/robots.txt"
LIST_1 = "/page/sub4_3_list.asp?page=1"
FEW_RETRIES = {"RETRY_TIMES": 1, "DOWNLOAD_TIMEOUT": 5}


def archive_state(db_path: Path) -> list[tuple]:
    return query(db_path, "select url, status, current_version from articles order by url")


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault("status", status=503), "robots.txt answered HTTP 503"),
        (Fault("reset"), "robots.txt could not be read"),
    ],
    ids=["http_503", "connection_reset"],
)
@pytest_twisted.ensureDeferred
async def test_an_unreachable_robots_txt_means_crawl_nothing_now(replica, db_path, fault, reason):
    await crawl(replica.base_url, db_path, **FEW_RETRIES)
    before = archive_state(db_path)
    replica.site.requests.clear()
    replica.site.inject(ROBOTS, fault)

    row = await crawl(replica.base_url, db_path, **FEW_RETRIES)

    # RFC 9309: a robots.txt that answers 5xx or not at all disallows everything, for now.
    assert {target for _, target, _ in replica.site.requests} == {ROBOTS}
    assert (row["status"], row["complete"], row["removed"]) == ("failed", 0, 0)
    assert archive_state(db_path) == before
    problems = dict(query(db_path, "select url, reason from crawl_problems where crawl_id = 2"))
    assert reason in problems[ROBOTS], problems
    assert problems[LIST_1].startswith(f"not fetched: {reason}"), problems
    assert "nothing is crawled until it can (RFC 9309)" in problems[LIST_1]


@pytest_twisted.ensureDeferred
async def test_a_robots_txt_answering_404_sets_no_rules(replica, db_path):
    replica.site.inject(ROBOTS, Fault("status", status=404))

    row = await crawl(replica.base_url, db_path, **FEW_RETRIES)

    assert (row["status"], row["complete"], row["errors"]) == ("finished", 1, 0)
    assert row["articles_seen"] == len(replica.site.articles()) + len(replica.site.issue_pages)


@pytest_twisted.ensureDeferred
async def test_a_huge_robots_txt_is_read_up_to_the_limit_and_says_so(replica, db_path):
    replica.site.disallow(VIEW_72)  # a rule near the top: still obeyed
    replica.site.inject(ROBOTS, Fault("oversize", size=3 * 1024**2))

    row = await crawl(replica.base_url, db_path, **FEW_RETRIES)

    assert replica.site.requests.count("sn=72") == 0
    assert (row["status"], row["complete"], row["removed"]) == ("finished", 1, 0)
    problems = dict(query(db_path, "select url, reason from crawl_problems"))
    assert set(problems) == {ROBOTS, VIEW_72}, problems
    assert "robots.txt is larger than UNPOG_ROBOTS_MAX_SIZE" in problems[ROBOTS]
    assert "robots.txt" in problems[VIEW_72]  # refused by its rule


# --- The hostile-server run (scripts/hostile_run.py) ----------------------------------------


def test_hostile_run_short_form_keeps_every_rule():
    script = REPO / "scripts" / "hostile_run.py"
    result = subprocess.run(
        [sys.executable, str(script), "--only", "another port", "answers 503", "3 MB"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=CRAWL_TIMEOUT * 4,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    rows = {line.split("|")[1].strip(): line for line in lines if line.startswith("| ")}
    assert set(rows) == {
        "attack",
        "redirect to another port",
        "robots.txt answers 503",
        "robots.txt of 3 MB",
    }, result.stdout
    assert "- no false removal: yes" in lines
    assert "- nothing fetched from another server: yes" in lines
