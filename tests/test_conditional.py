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


# ---- list pages: a 304 replays the links stored with the validators it answered ----------


def list_answers(replica, status: int) -> int:
    return replica.site.requests.count("/page/sub4_3_list.asp", status=status)


def stored_list_pages(db_path) -> dict[str, str]:
    connection = sqlite3.connect(db_path)
    try:
        return dict(connection.execute("select url, views from list_pages").fetchall())
    finally:
        connection.close()


@pytest_twisted.ensureDeferred
async def test_unchanged_list_pages_are_answered_304_and_the_listing_stays_complete(
    replica, db_path
):
    first = await crawl(replica.base_url, db_path)
    pages = replica.site.page_count()
    assert len(stored_list_pages(db_path)) == pages
    replica.site.requests.clear()

    second = await crawl(replica.base_url, db_path)

    assert list_answers(replica, 304) == pages
    assert list_answers(replica, 200) == 0
    assert second["listed"] == first["listed"] == len(replica.site.articles())
    assert (second["status"], second["complete"], second["removed"]) == ("finished", 1, 0)


@pytest_twisted.ensureDeferred
async def test_a_deleted_article_changes_its_list_page_and_is_found_removed(replica, db_path):
    await crawl(replica.base_url, db_path)
    listed_before = len(replica.site.articles())
    replica.site.delete(73)
    replica.site.requests.clear()

    row = await crawl(replica.base_url, db_path)

    assert list_answers(replica, 200) >= 1  # the page that listed it is new content
    assert row["listed"] == listed_before - 1
    assert (row["complete"], row["removed"]) == (1, 1)
    assert not any("sn=73" in views for views in stored_list_pages(db_path).values())


@pytest_twisted.ensureDeferred
async def test_list_pages_are_fetched_in_full_when_conditional_requests_are_off(replica, db_path):
    await crawl(replica.base_url, db_path)
    replica.site.requests.clear()

    row = await crawl(replica.base_url, db_path, UNPOG_CONDITIONAL_REQUESTS=False)

    assert list_answers(replica, 304) == 0
    assert list_answers(replica, 200) == replica.site.page_count()
    assert row["complete"] == 1
