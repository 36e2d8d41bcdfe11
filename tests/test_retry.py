"""A server's Retry-After is honoured before a retry (politeness towards a struggling site)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
import pytest_twisted
from conftest import crawl

from unpog_crawler.middlewares import retry_after_seconds
from unpog_crawler.replica.faults import Fault

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("Fri, 27 Nov 2026 12:00:30 GMT", 30.0),  # an HTTP date
        ("Fri, 27 Nov 2026 11:59:00 GMT", 0.0),  # already past
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_values(value, seconds):
    assert retry_after_seconds(value, now=NOW) == seconds


@pytest_twisted.ensureDeferred
async def test_a_503_with_retry_after_is_retried_after_the_wait(replica, db_path):
    replica.site.inject(
        "/page/sub4_3_view.asp?sn=72", Fault("status", status=503, retry_after="2"), times=1
    )

    started = time.monotonic()
    row = await crawl(replica.base_url, db_path)
    elapsed = time.monotonic() - started

    assert (row["status"], row["errors"], row["complete"]) == ("finished", 0, 1)
    assert replica.site.requests.count("sn=72", status=503) == 1
    assert replica.site.requests.count("sn=72", status=200) == 1
    assert elapsed >= 1.9  # the retry waited for the server (a lower bound: never flaky)
