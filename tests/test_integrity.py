"""Archive integrity (issue 18, items 1 and 3), through real crawls.

Another process holding SQLite's write lock (a `sqlite3` session, a VACUUM, a second
program) must never make a crawl drop a write and then remove the article it did not record;
a second path to the same archive file must not let a second crawl in.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest_twisted
from conftest import crawl, query

from unpog_crawler.archive import Archive, utc_now
from unpog_crawler.cli.crawl import exit_status
from unpog_crawler.replica.faults import Fault

# A whole-issue page: linked by a list page but not one of its posts, so that only its own
# archived answer counts it as seen (the removal rule's case).
ISSUE_PAGE = "/page/sub4_3_2022_winter.asp"
UNPOG = [sys.executable, "-m", "unpog_crawler.cli"]


class NotArchivedLog(logging.Handler):
    """Set when the pipeline logs that the write of `url` was refused."""

    def __init__(self, url: str) -> None:
        super().__init__(logging.ERROR)
        self.prefix = f"Not archived: {url} "
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(self.prefix):
            self.seen.set()


class LockHolder(threading.Thread):
    """Another process's write lock (BEGIN EXCLUSIVE, as a `sqlite3` session takes it),
    taken once the crawl has archived every page but the slow one, and held `hold` seconds
    or until `release` is set."""

    def __init__(self, db_path: Path, others: int, hold: float, release: threading.Event):
        super().__init__(daemon=True)
        self.db_path, self.others, self.hold, self.release = db_path, others, hold, release
        self.held = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while self.archived_by_last_crawl() < self.others:
                time.sleep(0.01)
            connection = sqlite3.connect(self.db_path, timeout=60, isolation_level=None)
            try:
                connection.execute("BEGIN EXCLUSIVE")
                self.held.set()
                self.release.wait(self.hold)
                connection.execute("ROLLBACK")
            finally:
                connection.close()
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error

    def archived_by_last_crawl(self) -> int:
        connection = sqlite3.connect(self.db_path)
        try:
            return connection.execute(
                "select count(*) from articles a join crawls c on c.id = a.last_seen_crawl_id "
                "where c.id = (select max(id) from crawls) and c.status = 'running'"
            ).fetchone()[0]
        finally:
            connection.close()


async def crawl_while_locked(
    replica, db_path: Path, live: int, hold: float, release_on_failure: bool, **settings
) -> dict:
    """A re-crawl during which another connection holds the write lock when the issue
    page's answer comes (the replica answers it 4 s late, after every other page)."""
    replica.site.inject(ISSUE_PAGE, Fault("slow", delay=4.0), times=1)
    failures = NotArchivedLog(ISSUE_PAGE)
    release = failures.seen if release_on_failure else threading.Event()
    holder = LockHolder(db_path, live - 1, hold, release)
    logging.getLogger("unpog_crawler.pipelines").addHandler(failures)
    holder.start()
    try:
        row = await crawl(
            replica.base_url,
            db_path,
            UNPOG_COMMIT_INTERVAL=0,
            UNPOG_CONDITIONAL_REQUESTS=False,
            **settings,
        )
    finally:
        logging.getLogger("unpog_crawler.pipelines").removeHandler(failures)
    holder.join(timeout=60)
    assert holder.error is None, holder.error
    assert holder.held.is_set(), "the lock was never taken during the crawl"
    return row


@pytest_twisted.ensureDeferred
async def test_a_write_that_waits_out_a_long_lock_is_archived(replica, db_path):
    """Longer than SQLite's busy timeout used to be (10 s): the default waits a minute.
    (No WARC capture: its index write would wait first, and take most of the hold.)"""
    first = await crawl(replica.base_url, db_path)

    row = await crawl_while_locked(
        replica, db_path, first["new"], hold=16, release_on_failure=False,
        UNPOG_WARC_ENABLED=False,
    )  # fmt: skip

    assert (row["status"], row["complete"], row["errors"]) == ("finished", 1, 0)
    assert row["articles_seen"] == first["new"] and row["removed"] == 0
    seen_by = query(db_path, "select last_seen_crawl_id from articles where url = ?", ISSUE_PAGE)
    assert seen_by == [(row["id"],)]
    assert exit_status([row]) == 0


@pytest_twisted.ensureDeferred
async def test_a_write_that_fails_makes_the_crawl_incomplete_and_removes_nothing(replica, db_path):
    first = await crawl(replica.base_url, db_path)

    row = await crawl_while_locked(
        replica, db_path, first["new"], hold=20, release_on_failure=True,
        UNPOG_ARCHIVE_BUSY_TIMEOUT=1,
    )  # fmt: skip

    assert row["removed"] == 0
    assert query(db_path, "select count(*) from changes where kind = 'removed'") == [(0,)]
    assert query(db_path, "select count(*) from articles where status = 'live'") == [
        (first["new"],)
    ]
    assert (row["status"], row["complete"]) == ("finished", 0)
    failed = query(
        db_path,
        "select url, reason from crawl_problems where crawl_id = ? and kind = 'error'",
        row["id"],
    )
    assert ISSUE_PAGE in {url for url, _ in failed} and row["errors"] == len(failed)
    assert all("not archived" in reason and "locked" in reason for _, reason in failed)
    assert exit_status([row]) == 1  # what `unpog crawl` exits with

    # The next crawl archives what this one could not.
    healed = await crawl(replica.base_url, db_path)
    assert (healed["status"], healed["complete"], healed["errors"]) == ("finished", 1, 0)
    assert healed["removed"] == 0 and healed["articles_seen"] == first["new"]
    seen_by = query(db_path, "select last_seen_crawl_id from articles where url = ?", ISSUE_PAGE)
    assert seen_by == [(healed["id"],)]


# --- The crawl lock (item 3) ---------------------------------------------------------------


def test_a_crawl_through_a_symlink_waits_for_the_crawl_holding_the_file(replica, db_path):
    link = db_path.parent.parent / "same-archive.db"
    link.symlink_to(db_path)
    with Archive(db_path) as archive, archive.lock():
        running = archive.start_crawl("quarterly", replica.base_url, utc_now())
        result = subprocess.run(
            [*UNPOG, "crawl", "--spider", "quarterly", "--base-url", replica.base_url,
             "--db", str(link)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert archive.crawl(running)["status"] == "running"  # not marked interrupted

    assert result.returncode == 2, result.stderr
    assert "lock" in result.stderr.lower() and "Traceback" not in result.stderr
    assert replica.site.requests.count() == 0
