"""End to end: real Scrapy crawls over HTTP of the local replica into a real SQLite file.

Each rule of change detection is shown here by changing the replica between two crawls.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest_twisted
from conftest import crawl

from unpog_crawler.replica.server import ReplicaServer

FURNITURE = ("페이스북", "트위터", "UNPOG :", "Hit :", "About UNPOG", "Copyright", "List")


def rows(db_path: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    connection = sqlite3.connect(db_path)
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def expected_ids(replica: ReplicaServer) -> set[str]:
    site = replica.site
    return {str(a.sn) for a in site.articles()} | {p.slug for p in site.issue_pages}


def version_count(db_path: Path) -> int:
    return rows(db_path, "select count(*) from versions")[0][0]


def latest(db_path: Path, sn: int) -> sqlite3.Row:
    return rows(
        db_path,
        "select v.* from versions v join articles a on a.id = v.article_id "
        "and v.version = a.current_version where a.source_id = ?",
        str(sn),
    )[0]


@pytest_twisted.ensureDeferred
async def test_first_crawl_archives_every_article_of_the_replica(replica, db_path):
    row = await crawl(replica.base_url, db_path)

    archived = {r["source_id"] for r in rows(db_path, "select source_id from articles")}
    assert archived == expected_ids(replica)
    assert (row["status"], row["complete"], row["errors"]) == ("finished", 1, 0)
    assert row["new"] == len(archived) == version_count(db_path)


@pytest_twisted.ensureDeferred
async def test_first_crawl_stores_the_fields_the_replica_prints(replica, db_path):
    await crawl(replica.base_url, db_path)

    for article in replica.site.articles():
        version = latest(db_path, article.sn)
        assert version["title"] == article.title, article.sn
        assert version["kind"] == article.kind, article.sn
        assert tuple(json.loads(version["authors"])) == article.authors, article.sn
        assert tuple(json.loads(version["footnotes"])) == article.footnotes, article.sn
        assert version["issue"] == article.stated_issue, article.sn
        event = article.event
        assert (version["event_start"], version["event_end"], version["event_place"]) == (
            (event.start, event.end, event.place) if event else (None, None, None)
        ), article.sn


@pytest_twisted.ensureDeferred
async def test_article_text_carries_no_page_furniture(replica, db_path):
    await crawl(replica.base_url, db_path)

    for version in rows(db_path, "select source_id, title, body_text from versions"):
        for furniture in FURNITURE:
            assert furniture not in version["body_text"], (version["source_id"], furniture)
            assert furniture not in version["title"], (version["source_id"], furniture)
        assert version["body_text"].strip(), version["source_id"]


@pytest_twisted.ensureDeferred
async def test_hangul_of_the_euc_kr_page_is_decoded(replica, db_path):
    euc_kr = [a for a in replica.site.articles() if a.charset == "euc-kr"]
    assert euc_kr, "the replica must serve an EUC-KR page"
    await crawl(replica.base_url, db_path)

    version = latest(db_path, euc_kr[0].sn)
    assert version["encoding"] == "cp949"
    assert any("\uac00" <= ch <= "\ud7a3" for ch in version["body_text"])


@pytest_twisted.ensureDeferred
async def test_articles_get_their_quarterly_issue_stated_or_inferred(replica, db_path):
    await crawl(replica.base_url, db_path)

    issues = {
        r["source_id"]: (r["issue"], r["issue_basis"])
        for r in rows(db_path, "select source_id, issue, issue_basis from articles")
    }
    for article in replica.site.articles():
        basis = "stated" if article.stated_issue else "inferred"
        assert issues[str(article.sn)] == (article.issue, basis), article.sn


@pytest_twisted.ensureDeferred
async def test_unchanged_recrawl_writes_no_version_although_view_counters_move(replica, db_path):
    await crawl(replica.base_url, db_path)
    before = version_count(db_path)

    row = await crawl(replica.base_url, db_path)

    assert version_count(db_path) == before
    assert (row["new"], row["changed"], row["removed"]) == (0, 0, 0)
    assert row["unchanged"] == before
    assert rows(db_path, "select count(*) from changes where crawl_id = ?", row["id"])[0][0] == 0


@pytest_twisted.ensureDeferred
async def test_a_title_edit_gives_one_version_naming_the_title(replica, db_path):
    await crawl(replica.base_url, db_path)
    before = version_count(db_path)
    replica.site.edit(53, title="Policy Dialogue on Frontier Technologies (revised)")

    row = await crawl(replica.base_url, db_path)

    assert version_count(db_path) == before + 1
    version = latest(db_path, 53)
    assert version["version"] == 2
    assert json.loads(version["changed_fields"]) == ["title"]
    assert row["changed"] == 1
    change = rows(db_path, "select * from changes where crawl_id = ?", row["id"])
    assert [(c["kind"], c["from_version"], c["to_version"]) for c in change] == [("changed", 1, 2)]


@pytest_twisted.ensureDeferred
async def test_a_body_edit_gives_one_version_naming_the_body(replica, db_path):
    await crawl(replica.base_url, db_path)
    article = replica.site.article(72)
    replica.site.edit(72, body=(*article.body, "A paragraph added after publication."))

    await crawl(replica.base_url, db_path)

    version = latest(db_path, 72)
    assert json.loads(version["changed_fields"]) == ["body_text"]
    assert version["body_text"].endswith("A paragraph added after publication.")


@pytest_twisted.ensureDeferred
async def test_markup_only_changes_write_no_version(replica, db_path):
    await crawl(replica.base_url, db_path)
    before = version_count(db_path)
    replica.site.touch_markup(52)
    replica.site.set_layout(73, "table" if replica.site.article(73).layout != "table" else "div_br")

    row = await crawl(replica.base_url, db_path)

    assert version_count(db_path) == before
    assert row["changed"] == 0


@pytest_twisted.ensureDeferred
async def test_a_new_article_is_new(replica, db_path):
    await crawl(replica.base_url, db_path)
    template = replica.site.article(80)
    replica.site.add(
        type(template)(**{**template.__dict__, "sn": 90, "title": "A Newly Published Report"})
    )

    row = await crawl(replica.base_url, db_path)

    assert row["new"] == 1
    assert latest(db_path, 90)["title"] == "A Newly Published Report"


@pytest_twisted.ensureDeferred
async def test_an_unlisted_article_is_removed_only_by_a_complete_crawl(replica, db_path):
    """Without re-checking its page, only a complete listing may conclude it is gone."""
    await crawl(replica.base_url, db_path)
    replica.site.delete(57)
    replica.site.fail("/page/sub4_3_list.asp?page=3")

    incomplete = await crawl(replica.base_url, db_path, UNPOG_RECHECK_KNOWN=False)

    assert incomplete["complete"] == 0
    assert incomplete["removed"] == 0
    assert rows(db_path, "select status from articles where source_id = '57'")[0][0] == "live"

    replica.site.heal()
    complete = await crawl(replica.base_url, db_path, UNPOG_RECHECK_KNOWN=False)

    assert (complete["complete"], complete["removed"]) == (1, 1)
    removed = rows(db_path, "select source_id from articles where status = 'removed'")
    assert [r[0] for r in removed] == ["57"]
    change = rows(db_path, "select kind, reason from changes where crawl_id = ?", complete["id"])
    assert [c["kind"] for c in change] == ["removed"]
    assert "complete" in change[0]["reason"]


@pytest_twisted.ensureDeferred
async def test_a_deleted_article_whose_page_says_no_such_post_is_removed(replica, db_path):
    await crawl(replica.base_url, db_path)
    replica.site.delete(74)

    row = await crawl(replica.base_url, db_path)

    assert row["removed"] == 1
    assert row["parse_failures"] == 1
    assert rows(db_path, "select count(*) from versions where source_id = '74'")[0][0] == 1
    assert rows(db_path, "select status from articles where source_id = '74'")[0][0] == "removed"
    problem = rows(db_path, "select url, kind from crawl_problems where crawl_id = ?", row["id"])
    assert [(p["url"], p["kind"]) for p in problem] == [
        ("/page/sub4_3_view.asp?sn=74", "parse_failure")
    ]


@pytest_twisted.ensureDeferred
async def test_an_unlisted_article_that_still_exists_stays_live(replica, db_path):
    """A list page failing hides articles; re-checking their pages keeps them live."""
    await crawl(replica.base_url, db_path)
    replica.site.fail("/page/sub4_3_list.asp?page=3")

    row = await crawl(replica.base_url, db_path)

    assert row["removed"] == 0
    assert row["unchanged"] == len(expected_ids(replica))


@pytest_twisted.ensureDeferred
async def test_a_list_page_that_keeps_failing_removes_nothing(replica, db_path):
    await crawl(replica.base_url, db_path)
    live_before = rows(db_path, "select count(*) from articles where status = 'live'")[0][0]
    replica.site.fail("/page/sub4_3_list.asp", status=500)

    row = await crawl(replica.base_url, db_path)

    assert row["complete"] == 0
    assert row["removed"] == 0
    assert row["errors"] >= 1
    assert row["status"] in ("failed", "finished")
    live_after = rows(db_path, "select count(*) from articles where status = 'live'")[0][0]
    assert live_after == live_before
    problems = rows(db_path, "select url, reason from crawl_problems where crawl_id = ?", row["id"])
    assert any("sub4_3_list.asp" in p["url"] and "500" in p["reason"] for p in problems)


@pytest_twisted.ensureDeferred
async def test_articles_are_reached_through_previous_next_links(replica, db_path):
    """With list page 2 failing, its articles are still found from their neighbours."""
    replica.site.fail("/page/sub4_3_list.asp?page=2", status=500)

    row = await crawl(replica.base_url, db_path)

    archived = {r["source_id"] for r in rows(db_path, "select source_id from articles")}
    assert archived == expected_ids(replica)
    assert row["complete"] == 0


@pytest_twisted.ensureDeferred
async def test_a_page_answering_404_marks_its_article_removed(replica, db_path):
    await crawl(replica.base_url, db_path)
    replica.site.fail("/page/sub4_3_view.asp?sn=20", status=404)

    row = await crawl(replica.base_url, db_path)

    assert row["removed"] == 1
    article = rows(db_path, "select status from articles where source_id = '20'")[0]
    assert article["status"] == "removed"


@pytest_twisted.ensureDeferred
async def test_a_returning_article_is_restored(replica, db_path):
    await crawl(replica.base_url, db_path)
    replica.site.delete(18)
    await crawl(replica.base_url, db_path)
    replica.site.restore(18)

    row = await crawl(replica.base_url, db_path)

    assert row["restored"] == 1
    assert rows(db_path, "select status from articles where source_id = '18'")[0][0] == "live"
    kinds = [r[0] for r in rows(db_path, "select kind from changes where crawl_id = ?", row["id"])]
    assert kinds == ["restored"]


@pytest_twisted.ensureDeferred
async def test_crawl_obeys_robots_txt_and_stays_on_its_host(replica, db_path):
    await crawl(replica.base_url, db_path)

    targets = [target for _method, target, _status in replica.site.requests]
    assert targets[0] == "/robots.txt"
    # Pages, and the files articles link (UNPOG_DOWNLOAD_FILES, on by default).
    on_site = ("/page/", "/robots.txt", "/common/download.asp", "/upload/")
    assert all(t.startswith(on_site) for t in targets), targets
