"""Conditional re-crawls: an unchanged article page costs a 304 answer, not a download."""

from __future__ import annotations

import sqlite3

import pytest_twisted
from conftest import crawl


def view_answers(replica, status: int) -> int:
    return replica.site.requests.count("/page/sub4_3_view.asp", status=status)


def version_count(db_path) -> int:
    connection = sqlite3.connect(db_path)
    try:
        return connection.execute("select count(*) from versions").fetchone()[0]
    finally:
        connection.close()


@pytest_twisted.ensureDeferred
async def test_unchanged_recrawl_is_answered_304_and_counts_every_article_seen(replica, db_path):
    first = await crawl(replica.base_url, db_path)
    replica.site.requests.clear()

    second = await crawl(replica.base_url, db_path)

    articles = len(replica.site.articles())
    assert view_answers(replica, 304) == articles
    assert view_answers(replica, 200) == 0
    assert (second["unchanged"], second["removed"], second["new"]) == (first["new"], 0, 0)
    assert second["articles_seen"] == first["articles_seen"]
    assert (second["status"], second["complete"]) == ("finished", 1)


@pytest_twisted.ensureDeferred
async def test_an_edited_article_is_downloaded_and_versioned_the_others_are_not(replica, db_path):
    await crawl(replica.base_url, db_path)
    before = version_count(db_path)
    replica.site.edit(73, title="Learning Conference, revised")
    replica.site.requests.clear()

    row = await crawl(replica.base_url, db_path)

    assert replica.site.requests.count("/page/sub4_3_view.asp?sn=73", status=200) == 1
    assert view_answers(replica, 200) == 1
    assert row["changed"] == 1
    assert version_count(db_path) == before + 1


@pytest_twisted.ensureDeferred
async def test_conditional_requests_can_be_turned_off(replica, db_path):
    await crawl(replica.base_url, db_path)
    replica.site.requests.clear()

    await crawl(replica.base_url, db_path, UNPOG_CONDITIONAL_REQUESTS=False)

    assert view_answers(replica, 304) == 0
    assert view_answers(replica, 200) == len(replica.site.articles())
