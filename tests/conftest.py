"""Shared test fixtures: the local replica of the site, and real Scrapy crawls of it.

Crawls run in-process on the asyncio reactor (pytest-twisted, see pyproject's addopts),
through the same settings, spider and pipeline as `unpog crawl`.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy.crawler import AsyncCrawlerRunner
from twisted.internet.defer import Deferred

from unpog_crawler.archive import Archive
from unpog_crawler.cli.crawl import project_settings
from unpog_crawler.replica.server import ReplicaServer, serve

FIXTURES = Path(__file__).parent / "fixtures"

# A local site needs no politeness; retries stay on so that retry behaviour is real.
TEST_SETTINGS: dict[str, Any] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 8,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "RETRY_TIMES": 2,
    "DOWNLOAD_TIMEOUT": 10,
    "LOG_LEVEL": "WARNING",
    # Tests of other behaviour re-crawl seconds after a crawl and expect every edit to be
    # seen: they fetch every post, as `unpog crawl --full` does. The revisit policy's own
    # tests (test_revisit_crawl.py) crawl with the default, adaptive.
    "UNPOG_REVISIT": "all",
}


@pytest.fixture
def replica() -> Iterator[ReplicaServer]:
    with serve() as server:
        yield server


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "archive" / "unpog.db"


async def crawl(base_url: str, db_path: Path, spider: str = "quarterly", **overrides: Any) -> dict:
    """Run one real crawl and return its row from the `crawls` table."""
    settings = project_settings(
        {**TEST_SETTINGS, "UNPOG_BASE_URL": base_url, "UNPOG_ARCHIVE_DB": str(db_path), **overrides}
    )
    runner = AsyncCrawlerRunner(settings)
    crawler = runner.create_crawler(spider)
    await Deferred.fromFuture(runner.crawl(crawler))
    crawl_id = crawler.stats.get_value("unpog/crawl_id")
    assert crawl_id, "the crawl did not open the archive"
    archive = Archive(db_path, create=False)
    try:
        return archive.crawl(crawl_id)
    finally:
        archive.close()


def query(db_path: Path, sql: str, *params: object) -> list[tuple]:
    """Rows of `sql` on the archive file, read as any other process would."""
    connection = sqlite3.connect(db_path)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def wait_for_rows(db_path: Path, table: str, at_least: int, timeout: float = 60) -> None:
    """Poll the archive (from another process's point of view) until `table` has rows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db_path.exists():
            connection = sqlite3.connect(db_path)
            try:
                count = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            except sqlite3.OperationalError:
                count = 0  # schema not created yet
            finally:
                connection.close()
            if count >= at_least:
                return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {at_least} rows in {table} after {timeout}s")


@pytest.fixture
def make_read_only() -> Iterator[Callable[[Path], None]]:
    """Makes files and folders unwritable for this user, as a read-only mount does, and
    writable again afterwards. Root writes through any file mode, so for root: `chattr +i`."""
    locked: list[Path] = []

    def lock(path: Path) -> None:
        if os.geteuid() == 0:
            result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
            if result.returncode:
                pytest.skip(f"root cannot make a file read-only here: {result.stderr.strip()}")
        else:
            path.chmod(path.stat().st_mode & ~0o222)
        locked.append(path)

    yield lock
    for path in reversed(locked):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(path.stat().st_mode | 0o200)
