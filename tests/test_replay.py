"""Replay of what a crawl captured, through pywb itself (`wayback`, a real server on
loopback): a URL re-crawled with a 304 answer replays the content, at any time and "latest";
the 304 exchange stays in the WARC files as provenance. And WARC-Date is the time a request
was sent, after the download delay."""

from __future__ import annotations

import contextlib
import html
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest_twisted
from conftest import crawl, query

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
UNPOG = [sys.executable, "-m", "unpog_crawler.cli"]
ARTICLE = "/page/sub4_3_view.asp?sn=72"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def wayback(root: Path) -> Iterator[str]:
    """pywb's `wayback` serving the collections under root; yields its address."""
    port = free_port()
    with (root / "wayback.log").open("wb") as log:
        process = subprocess.Popen(
            [str(BIN / "wayback"), "--bind", "127.0.0.1", "-p", str(port)],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        address = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert process.poll() is None, (root / "wayback.log").read_text()
            time.sleep(0.2)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)


def replay(address: str, collection: str, moment: str, url: str) -> tuple[int, str]:
    """Status and text pywb serves for url at moment ('' for the latest), unrewritten."""
    try:
        with urllib.request.urlopen(f"{address}/{collection}/{moment}id_/{url}", timeout=30) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


@pytest_twisted.ensureDeferred
async def test_a_url_answered_304_replays_its_content_in_pywb(replica, db_path, tmp_path):
    await crawl(replica.base_url, db_path)
    await crawl(replica.base_url, db_path)  # conditional: the article answers 304 now
    url = replica.base_url + ARTICLE
    [(checked_at,)] = query(
        db_path,
        "SELECT fetched_at FROM captures WHERE crawl_id = 2 AND url = ? AND status = 304",
        url,
    )  # the 304 exchange is kept: provenance of when the page was checked
    root = tmp_path / "pywb"
    root.mkdir()
    subprocess.run([str(BIN / "wb-manager"), "init", "unpog"], cwd=root, check=True)

    result = subprocess.run(
        [*UNPOG, "cdx", "--db", str(db_path), "--collection", str(root / "collections/unpog")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    index = (root / "collections/unpog/indexes/unpog.cdxj").read_text()
    assert '"status": "304"' not in index and '"status": "200"' in index
    [article] = [a for a in replica.site.articles() if a.sn == 72]
    with wayback(root) as address:
        at_the_check = "".join(ch for ch in checked_at if ch.isdigit())[:14]
        for moment in ("", at_the_check):  # the latest, and the time of the 304
            status, text = replay(address, "unpog", moment, url)
            assert status == 200, (moment, status, text[:300])
            assert f"UNPOG : {article.title}" in html.unescape(text)


@pytest_twisted.ensureDeferred
async def test_warc_date_is_when_the_request_is_sent_after_the_download_delay(replica, db_path):
    """With one request at a time and a delay between them, no two exchanges can have been
    sent closer together than the delay. (Stamped when Scrapy queued them, the requests it
    queues together carried nearly the same time.)"""
    delay = 0.6
    await crawl(
        replica.base_url,
        db_path,
        "youth",
        DOWNLOAD_DELAY=delay,
        DOWNLOAD_DELAY_JITTER=0,
        CONCURRENT_REQUESTS=2,
        CONCURRENT_REQUESTS_PER_DOMAIN=1,
        UNPOG_DOWNLOAD_FILES=False,
    )
    sent = [
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        for (value,) in query(
            db_path, "SELECT fetched_at FROM captures WHERE record_type = 'request' ORDER BY id"
        )
    ]
    assert len(sent) >= 5
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(sent)]
    assert min(gaps) >= delay / 2, gaps  # a lower bound: never flaky on a slow machine
