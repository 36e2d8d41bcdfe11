"""`unpog crawl` runs every spider, one crawl row and one summary line each; `--sweep`."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
UNPOG = [sys.executable, "-m", "unpog_crawler.cli"]
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-L", "WARNING"]


def run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=180)


def test_crawl_runs_every_spider_in_turn_with_one_line_each(replica, db_path):
    result = run([*UNPOG, "crawl", "--base-url", replica.base_url, "--db", str(db_path), *FAST])

    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["quarterly", "news", "youth", "publications"]
    assert all("finished, complete;" in line for line in lines)
    db = sqlite3.connect(db_path)
    spiders = [r[0] for r in db.execute("SELECT spider FROM crawls ORDER BY id")]
    sections = {r[0] for r in db.execute("SELECT DISTINCT section FROM articles")}
    db.close()
    assert spiders == ["quarterly", "news", "youth", "publications"]
    assert sections == {"quarterly", "news/activity", "news/events", "news/press", "youth",
                        "publications"}  # fmt: skip


def test_sweep_option_sweeps(replica, db_path):
    args = ["--spider", "news", "--sweep", "-s", "UNPOG_SWEEP_MAX_MISSES=2"]
    result = run(
        [*UNPOG, "crawl", "--base-url", replica.base_url, "--db", str(db_path), *FAST, *args]
    )

    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(db_path)
    found = db.execute("SELECT found_by FROM articles WHERE source_id = '314'").fetchall()
    db.close()
    assert found == [("sweep",)]
