"""The scrapyd path, as docs/running-on-a-schedule.md describes it, run for real on loopback:
deploy/scrapyd_check.py starts scrapyd on a free 127.0.0.1 port in a temporary directory,
deploys this checkout with scrapyd-deploy, schedules `quarterly` against the replica through
schedule.json, waits for the job and checks the archive; this test then checks it again."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHECK = REPO / "deploy" / "scrapyd_check.py"


def test_scrapyd_deploys_schedules_and_archives_a_crawl(replica, tmp_path):
    workdir = tmp_path / "scrapyd"

    result = subprocess.run(
        [sys.executable, str(CHECK), "--base-url", replica.base_url, "--workdir", str(workdir)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=150,
        stdin=subprocess.DEVNULL,
    )

    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "scrapyd check passed" in result.stdout
    # The archive the job wrote, at the path given to schedule.json as a setting.
    connection = sqlite3.connect(workdir / "archive" / "unpog.db")
    try:
        crawls = connection.execute("select spider, status, complete, errors from crawls")
        assert crawls.fetchall() == [("quarterly", "finished", 1, 0)]
        articles = connection.execute("select count(*) from articles").fetchone()[0]
        settings = json.loads(connection.execute("select settings from crawls").fetchone()[0])
    finally:
        connection.close()
    assert articles == len(replica.site.articles()) + 1
    assert settings["UNPOG_BASE_URL"] == replica.base_url
    assert replica.site.requests.count("/page/sub4_3_list.asp") >= 1
    # scrapyd kept the job's log in its own logs_dir.
    job_logs = list((workdir / "logs" / "unpog_crawler" / "quarterly").glob("*.log"))
    assert len(job_logs) == 1
    assert "Spider closed (finished)" in job_logs[0].read_text()
