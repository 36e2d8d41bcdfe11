"""A misbehaving server: each fault of the replica, crawled for real over HTTP.

For every fault the crawl must tell the truth (status, counts and one crawl_problems row
per failing URL with its reason), write no bogus version, remove nothing, and the next
crawl of the healed site must leave the archive exactly as a crawl that never met a fault.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import re
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from conftest import crawl, query

from unpog_crawler.replica.faults import Fault
from unpog_crawler.replica.server import ReplicaServer

VIEW_72 = "/page/sub4_3_view.asp?sn=72"
LIST_1 = "/page/sub4_3_list.asp?page=1"
# Few retries keep each faulty crawl to a second or two. The timeout is short only where a
# test waits for it (the slow fault): elsewhere a loaded machine must not time out.
FAST: dict[str, Any] = {"DOWNLOAD_TIMEOUT": 5, "RETRY_TIMES": 1}


def archive_state(db_path: Path) -> dict[str, Any]:
    """Articles and versions as content: what must not change when a fault is survived."""
    return {
        "articles": query(
            db_path,
            "select url, status, current_version, title from articles order by url",
        ),
        "versions": query(
            db_path,
            "select a.url, v.version, v.content_hash from versions v "
            "join articles a on a.id = v.article_id order by a.url, v.version",
        ),
        "removals": query(db_path, "select count(*) from changes where kind = 'removed'"),
    }


def problems(db_path: Path, crawl_id: int) -> list[tuple[str, str, str]]:
    return query(
        db_path, "select url, kind, reason from crawl_problems where crawl_id = ?", crawl_id
    )


async def survive(
    replica: ReplicaServer,
    db_path: Path,
    path: str,
    fault: Fault,
    times: int | None = None,
    **settings: Any,
) -> tuple[dict, dict[str, Any]]:
    """Crawl once healthy, once under `fault`; return the faulty crawl's row and the
    archive state after the healthy one (to compare against)."""
    first = await crawl(replica.base_url, db_path, **FAST)
    assert (first["status"], first["complete"], first["errors"]) == ("finished", 1, 0)
    before = archive_state(db_path)
    replica.site.inject(path, fault, times)
    row = await crawl(replica.base_url, db_path, **{**FAST, **settings})
    return row, before


async def healed(replica: ReplicaServer, db_path: Path, before: dict[str, Any]) -> None:
    """The next crawl of the healed site is complete and the archive is as before."""
    replica.site.heal()
    row = await crawl(replica.base_url, db_path, **FAST)
    assert (row["status"], row["complete"], row["errors"], row["parse_failures"]) == (
        "finished",
        1,
        0,
        0,
    )
    assert (row["new"], row["changed"], row["removed"]) == (0, 0, 0)
    assert archive_state(db_path) == before


# (fault, settings for the faulty crawl, problem kind, reason pattern)
ARTICLE_FAULTS = {
    "http_500": (Fault("status", status=500), {}, "error", r"HTTP 500"),
    "http_502": (Fault("status", status=502), {}, "error", r"HTTP 502"),
    "http_503_retry_after": (
        Fault("status", status=503, retry_after="1"),
        {},
        "error",
        r"HTTP 503",
    ),
    "slow": (
        Fault("slow", delay=2.5),
        {"DOWNLOAD_TIMEOUT": 1},
        "error",
        r"(?i)took longer|timeout|timed out",
    ),
    "connection_reset": (Fault("reset"), {}, "error", r"(?i)connection|lost|reset"),
    "truncated_body": (Fault("truncate"), {}, "error", r"(?i)data ?loss|ResponseFailed"),
    "empty_200": (Fault("empty"), {}, "parse_failure", r"empty response body"),
    "maintenance_200": (
        Fault("maintenance"),
        {},
        "parse_failure",
        r"error page \(under maintenance\)",
    ),
    "redirect_loop": (Fault("redirect_loop"), {}, "error", r"redirect loop"),
    "redirect_offsite": (Fault("redirect_offsite"), {}, "error", r"off the site"),
    "oversize": (
        Fault("oversize", size=300_000),
        {"DOWNLOAD_MAXSIZE": 100_000, "DOWNLOAD_WARNSIZE": 50_000},
        "error",
        r"(?i)size|cancel",
    ),
}


@pytest.mark.parametrize("name", list(ARTICLE_FAULTS))
@pytest_twisted.ensureDeferred
async def test_an_article_page_fault_is_recorded_and_loses_nothing(replica, db_path, name):
    fault, settings, kind, reason = ARTICLE_FAULTS[name]

    row, before = await survive(replica, db_path, VIEW_72, fault, **settings)

    # The truth on the crawl row: one page failed, every other article was read.
    assert row["status"] == "finished", row
    assert row["complete"] == 1
    counted = row["errors"] if kind == "error" else row["parse_failures"]
    assert counted == 1, row
    assert row["articles_seen"] == len(before["articles"]) - 1
    # The failing URL, logged once with its reason.
    logged = problems(db_path, row["id"])
    assert [(url, k) for url, k, _ in logged] == [(VIEW_72, kind)], logged
    assert re.search(reason, logged[0][2]), logged
    # No bogus version and nothing removed: one unreadable page is no evidence of removal.
    assert archive_state(db_path) == before
    assert row["removed"] == 0

    await healed(replica, db_path, before)


@pytest_twisted.ensureDeferred
async def test_a_503_burst_shorter_than_the_retries_is_survived_in_the_crawl(replica, db_path):
    row, before = await survive(
        replica, db_path, VIEW_72, Fault("status", status=503, retry_after="0"), times=1
    )

    assert (row["status"], row["complete"], row["errors"]) == ("finished", 1, 0)
    assert replica.site.requests.count("sn=72", status=503) == 1
    answered = replica.site.requests.count("sn=72", status=200)
    answered += replica.site.requests.count("sn=72", status=304)  # a conditional re-read
    assert answered >= 2  # both crawls read it
    assert archive_state(db_path) == before


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        (Fault("malformed"), {72: "read the same", 74: "read the same"}),
        # libxml2 stops at its nesting limit: the article is not found, and says so.
        (Fault("deep", depth=3000), {72: "refused", 74: "refused"}),
        # The HTTP header wins over <meta>: the EUC-KR page read as UTF-8 is full of U+FFFD,
        # which the record check refuses; the (mostly ASCII) UTF-8 page reads the same.
        (Fault("wrong_charset"), {72: "read the same", 74: "refused"}),
    ],
    ids=["malformed_html", "deeply_nested_html", "wrong_declared_charset"],
)
@pytest.mark.parametrize("sn", [72, 74], ids=["utf8_page", "euc_kr_page"])
@pytest_twisted.ensureDeferred
async def test_hard_to_read_pages_are_read_the_same_or_refused(
    replica, db_path, fault, outcome, sn
):
    """Tag soup, 3000 levels of nesting, a mislabelled charset: never a garbled version."""
    path = f"/page/sub4_3_view.asp?sn={sn}"
    row, before = await survive(replica, db_path, path, fault)

    assert (row["status"], row["complete"], row["errors"]) == ("finished", 1, 0)
    assert (row["new"], row["changed"]) == (0, 0)
    assert archive_state(db_path) == before
    if outcome[sn] == "read the same":
        assert (row["unchanged"], row["parse_failures"]) == (len(before["articles"]), 0)
    else:
        assert [(u, k) for u, k, _ in problems(db_path, row["id"])] == [(path, "parse_failure")]
    garbled = query(db_path, "select count(*) from versions where body_text like '%\ufffd%'")
    assert garbled == [(0,)]

    await healed(replica, db_path, before)


@pytest_twisted.ensureDeferred
async def test_a_page_robots_txt_disallows_is_an_error_not_a_removal(replica, db_path):
    first = await crawl(replica.base_url, db_path, **FAST)
    before = archive_state(db_path)
    replica.site.disallow(VIEW_72)
    replica.site.requests.clear()

    row = await crawl(replica.base_url, db_path, **FAST)

    assert replica.site.requests.count("sn=72") == 0  # asked for by the first crawl only
    assert (row["status"], row["errors"], row["removed"]) == ("finished", 1, 0)
    assert [(u, k) for u, k, _ in problems(db_path, row["id"])] == [(VIEW_72, "error")]
    assert "robots.txt" in problems(db_path, row["id"])[0][2]
    assert archive_state(db_path) == before
    assert first["id"] < row["id"]

    await healed(replica, db_path, before)


@pytest_twisted.ensureDeferred
async def test_a_list_page_that_suddenly_lists_nothing_removes_nothing(replica, db_path):
    row, before = await survive(replica, db_path, LIST_1, Fault("no_rows"))

    # No list page was read: the crawl failed, yet re-checked every archived article.
    assert (row["status"], row["complete"], row["removed"]) == ("failed", 0, 0)
    assert row["unchanged"] == len(before["articles"])
    assert [(u, k) for u, k, _ in problems(db_path, row["id"])] == [(LIST_1, "parse_failure")]
    assert "links no articles" in problems(db_path, row["id"])[0][2]
    assert archive_state(db_path) == before

    await healed(replica, db_path, before)


@pytest_twisted.ensureDeferred
async def test_a_list_page_fault_leaves_the_listing_incomplete(replica, db_path):
    """Page 2 of the list resets the connection: its articles are still reached through
    prev/next links and re-checks, but no removal may be inferred from the listing."""
    replica.site.delete(18)  # gone from the lists: only a complete listing could say so
    row, before = await survive(
        replica,
        db_path,
        "/page/sub4_3_list.asp?page=2",
        Fault("reset"),
        UNPOG_RECHECK_KNOWN=False,
    )

    assert (row["complete"], row["removed"]) == (0, 0)
    assert any("page=2" in url for url, _, _ in problems(db_path, row["id"]))
    assert archive_state(db_path) == before


# --- Crashes and concurrent readers ---------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def load_script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it is executed
    spec.loader.exec_module(module)
    return module


def test_sigkill_trials_short_form(tmp_path):
    """Three SIGKILLs at different moments of `unpog crawl` (the script runs 24)."""
    trials = load_script("sigkill_trials").run_trials(3, tmp_path)

    assert [t.number for t in trials] == [0, 1, 2]
    assert any(t.killed for t in trials)


SNAPSHOT_CHECKS = (
    # Each read sees whole articles: the current version of every article exists.
    "select count(*) from articles a where not exists (select 1 from versions v "
    "where v.article_id = a.id and v.version = a.current_version)",
    # and each crawl's counters match the rows it wrote (one transaction per article).
    "select count(*) from crawls r where r.new != (select count(*) from changes c "
    "where c.crawl_id = r.id and c.kind = 'new') "
    "or r.articles_seen != r.new + r.changed + r.unchanged + r.restored",
)


def read_snapshot(db_path: Path) -> tuple[int, str | None]:
    """One consistent read (a read transaction): (versions, status of the last crawl)."""
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        connection.execute("BEGIN")
        for sql in SNAPSHOT_CHECKS:
            assert connection.execute(sql).fetchone() == (0,), sql
        versions = connection.execute("select count(*) from versions").fetchone()[0]
        last = connection.execute("select status from crawls order by id desc limit 1")
        status = (last.fetchone() or (None,))[0]
        connection.execute("COMMIT")
        return versions, status
    finally:
        connection.close()


def datasette_rows(db_path: Path) -> int:
    """What Datasette serves for the versions table, through its own client."""
    from datasette.app import Datasette

    async def fetch() -> int:
        datasette = Datasette([str(db_path)], immutables=[])
        response = await datasette.client.get(f"/{db_path.stem}/versions.json?_shape=array")
        assert response.status_code == 200, response.text
        return len(response.json())

    # The test process's asyncio loop belongs to the Twisted reactor: use a thread's own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, fetch()).result()


def test_readers_during_a_crawl_see_no_errors_and_no_partial_rows(replica, db_path):
    sigkill = load_script("sigkill_trials")
    db_path.parent.mkdir(parents=True)
    process = sigkill.crawl(replica.base_url, db_path)
    seen: list[tuple[int, str | None]] = []
    served = []
    try:
        while process.poll() is None:
            if db_path.exists():
                try:
                    seen.append(read_snapshot(db_path))
                    served.append(datasette_rows(db_path))
                except sqlite3.OperationalError as error:
                    if "no such table" not in str(error):  # the schema is being created
                        raise
            time.sleep(0.05)
    finally:
        process.wait(timeout=60)

    assert process.returncode == 0
    assert any(status == "running" for _, status in seen), "no read landed during the crawl"
    counts = [versions for versions, _ in seen]
    assert counts == sorted(counts)  # readers never see rows disappear
    assert served and max(served) <= counts[-1] <= read_snapshot(db_path)[0]
