"""The `news`, `youth` and `publications` spiders end to end: real Scrapy, real HTTP, the
replica's boards (unpog_crawler/replica/boards.py), a real archive."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_SETTINGS
from scrapy.crawler import AsyncCrawlerRunner
from twisted.internet.defer import Deferred

from unpog_crawler.archive import Archive
from unpog_crawler.cli.crawl import project_settings
from unpog_crawler.replica.boards import SECTIONS, Post

# spider -> the replica boards it crawls
SPIDERS = {"news": ("0004", "0002", "0010"), "youth": ("youth",), "publications": ("0007",)}
VIEW = {
    "0004": "/page/sub3_1_view.asp?BoardID=0004&sn={}",
    "0002": "/page/sub3_1_view.asp?BoardID=0002&sn={}",
    "0010": "/page/sub3_1_view.asp?BoardID=0010&sn={}",
    "0007": "/page/sub5_1_view.asp?BoardID=0007&sn={}",
    "youth": "/page/sub4_1_view.asp?tb_engagement_sn={}",
}


async def crawl(
    base_url: str, db_path: Path, spider: str, args: dict[str, str] | None = None, **overrides: Any
) -> dict:
    """conftest.crawl with spider arguments (`-a sweep=1`)."""
    settings = project_settings(
        {**TEST_SETTINGS, "UNPOG_BASE_URL": base_url, "UNPOG_ARCHIVE_DB": str(db_path), **overrides}
    )
    runner = AsyncCrawlerRunner(settings)
    crawler = runner.create_crawler(spider)
    await Deferred.fromFuture(runner.crawl(crawler, **(args or {})))
    crawl_id = crawler.stats.get_value("unpog/crawl_id")
    assert crawl_id, "the crawl did not open the archive"
    with Archive(db_path, create=False) as archive:
        return archive.crawl(crawl_id)


def rows(db_path: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    db = sqlite3.connect(db_path)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def listed_posts(replica, spider: str) -> list[Post]:
    return [p for key in SPIDERS[spider] for p in replica.site.boards.posts(key, listed_only=True)]


def latest(db_path: Path, url: str) -> sqlite3.Row:
    return rows(
        db_path,
        "SELECT v.*, a.status, a.found_by AS article_found_by FROM articles a "
        "JOIN versions v ON v.article_id = a.id AND v.version = a.current_version WHERE a.url = ?",
        (url,),
    )[0]


@pytest.mark.parametrize("spider", sorted(SPIDERS))
async def test_every_listed_item_is_archived_with_its_fields(replica, db_path, spider):
    row = await crawl(replica.base_url, db_path, spider)

    posts = listed_posts(replica, spider)
    assert (row["status"], row["complete"], row["new"]) == ("finished", 1, len(posts))
    assert (row["errors"], row["parse_failures"], json.loads(row["health"])) == (0, 0, [])
    for post in posts:
        version = latest(db_path, VIEW[post.board].format(post.sn))
        assert version["title"] == post.title
        assert version["published"] == post.published
        assert version["place"] == post.place
        assert version["section"] == SECTIONS[post.board]
        assert version["board_id"] == (None if post.board == "youth" else post.board)
        assert version["found_by"] == "list"
        names = [a["name"] for a in json.loads(version["attachments"])]
        assert names == [f.name for f in post.files]
        for paragraph in post.body:
            assert paragraph in version["body_text"]


async def test_news_sections_and_press_datelines(replica, db_path):
    await crawl(replica.base_url, db_path, "news")

    sections = rows(db_path, "SELECT section, board_id, COUNT(*) n FROM articles GROUP BY 1, 2")
    assert {(r["section"], r["board_id"], r["n"]) for r in sections} == {
        ("news/activity", "0004", 9),
        ("news/events", "0002", 9),
        ("news/press", "0010", 9),
    }
    press = latest(db_path, VIEW["0010"].format(701))
    assert (press["published"], press["place"]) == ("2022-11-22", "INCHEON")


async def test_youth_labels_are_attachments_and_korean_is_decoded(replica, db_path):
    await crawl(replica.base_url, db_path, "youth")

    version = latest(db_path, VIEW["youth"].format(11))
    names = [a["name"] for a in json.loads(version["attachments"])]
    assert names == ["Event Information", "Registration Materials"]
    assert "Event Information" not in version["body_text"]
    assert "유엔 청소년 스피치 대회" in version["body_text"]


@pytest.mark.parametrize("spider", sorted(SPIDERS))
async def test_unchanged_recrawl_writes_nothing(replica, db_path, spider):
    await crawl(replica.base_url, db_path, spider)
    before = [
        rows(db_path, f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("versions", "changes", "files")
    ]

    row = await crawl(replica.base_url, db_path, spider)

    after = [
        rows(db_path, f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("versions", "changes", "files")
    ]
    assert after == before
    assert (row["new"], row["changed"], row["removed"], row["unchanged"]) == (
        0, 0, 0, len(listed_posts(replica, spider)),
    )  # fmt: skip


@pytest.mark.parametrize("spider", sorted(SPIDERS))
async def test_edit_deletion_and_new_item_are_detected(replica, db_path, spider):
    await crawl(replica.base_url, db_path, spider)
    boards = replica.site.boards
    key = SPIDERS[spider][0]
    edited, deleted = boards.posts(key, listed_only=True)[1:3]
    boards.edit(key, edited.sn, body=(*edited.body, "A paragraph added later."))
    boards.delete(key, deleted.sn)
    newest = boards.posts(key)[0]
    boards.add(
        Post(key, newest.sn + 1, "A New Item", "2024-05-30", ("Fresh words for a new item.",))
    )

    row = await crawl(replica.base_url, db_path, spider)

    assert (row["status"], row["complete"]) == ("finished", 1)
    assert (row["new"], row["changed"], row["removed"]) == (1, 1, 1)
    changes = rows(
        db_path,
        "SELECT a.url, c.kind FROM changes c JOIN articles a ON a.id = c.article_id "
        "WHERE c.crawl_id = ?",
        (row["id"],),
    )
    assert {(c["url"], c["kind"]) for c in changes} == {
        (VIEW[key].format(edited.sn), "changed"),
        (VIEW[key].format(deleted.sn), "removed"),
        (VIEW[key].format(newest.sn + 1), "new"),
    }
    new = latest(db_path, VIEW[key].format(newest.sn + 1))
    assert (new["title"], new["section"]) == ("A New Item", SECTIONS[key])


async def test_a_changed_attachment_is_a_new_file_and_a_new_version(replica, db_path):
    await crawl(replica.base_url, db_path, "publications")
    url = VIEW["0007"].format(40)
    file_url = "/common/download.asp?file=publication_40.pdf&path=board"  # link identity
    first = rows(db_path, "SELECT * FROM files WHERE url = ?", (file_url,))
    replica.site.boards.revise_file("publication_40.pdf")

    row = await crawl(replica.base_url, db_path, "publications")

    files = rows(db_path, "SELECT * FROM files WHERE url = ? ORDER BY id", (file_url,))
    assert len(first) == 1 and len(files) == 2
    assert files[0]["sha256"] != files[1]["sha256"]
    assert files[1]["content_type"] == "application/pdf" and files[1]["size"] > 0
    stored = db_path.parent / "unpog" / "files" / files[1]["path"]
    assert stored.read_bytes().startswith(b"%PDF") and files[1]["sha256"] in stored.name
    change = rows(
        db_path,
        "SELECT c.kind, c.changed_fields FROM changes c JOIN articles a ON a.id = c.article_id "
        "WHERE a.url = ? AND c.crawl_id = ?",
        (url, row["id"]),
    )
    assert [(c["kind"], json.loads(c["changed_fields"])) for c in change] == [
        ("changed", ["files"])
    ]
    assert (row["changed"], row["unchanged"]) == (1, len(listed_posts(replica, "publications")) - 1)
    linked = rows(
        db_path,
        "SELECT f.sha256 FROM version_files vf JOIN files f ON f.id = vf.file_id "
        "JOIN versions v ON v.id = vf.version_id JOIN articles a ON a.id = v.article_id "
        "WHERE a.url = ? AND v.version = 2",
        (url,),
    )
    assert [r["sha256"] for r in linked] == [files[1]["sha256"]]


async def test_without_downloads_files_are_recorded_not_stored(replica, db_path):
    await crawl(replica.base_url, db_path, "publications", UNPOG_DOWNLOAD_FILES=False)

    files = rows(db_path, "SELECT * FROM files")
    assert len(files) == len(listed_posts(replica, "publications"))
    assert {f["sha256"] for f in files} == {None}
    assert replica.site.requests.count("download.asp") == 0


async def test_files_over_the_size_cap_are_recorded_not_stored(replica, db_path):
    row = await crawl(replica.base_url, db_path, "publications", UNPOG_FILES_MAX_SIZE=100)

    assert row["status"] == "finished"
    assert {f["sha256"] for f in rows(db_path, "SELECT * FROM files")} == {None}


async def test_sweep_finds_an_unlisted_item_and_stops_after_the_misses(replica, db_path):
    row = await crawl(
        replica.base_url, db_path, "news", {"sweep": "1"},
        UNPOG_NEWS_BOARDS="0004", UNPOG_SWEEP_MAX_MISSES=3,
    )  # fmt: skip

    found = latest(db_path, VIEW["0004"].format(314))
    assert (found["title"], found["found_by"]) == ("Unlisted Note on Regional Cooperation", "sweep")
    asked = {
        int(target.rsplit("sn=", 1)[1])
        for _, target, _ in replica.site.requests
        if "sub3_1_view.asp" in target and target.endswith(tuple("0123456789"))
    }
    # Gaps below the highest listed id (312), then 313 (miss), 314 (hit), 315-317 (misses).
    assert {304, 308, 309, 313, 314, 315, 316, 317} <= asked
    assert max(asked) == 317
    assert (row["status"], row["complete"], row["new"]) == ("finished", 1, 10)
    assert rows(db_path, "SELECT COUNT(*) FROM crawl_problems")[0][0] == 0


async def test_without_sweep_the_unlisted_item_stays_unknown_and_a_sweep_find_is_kept(
    replica, db_path
):
    await crawl(replica.base_url, db_path, "news", UNPOG_NEWS_BOARDS="0004")
    assert not rows(db_path, "SELECT * FROM articles WHERE source_id = '314'")
    await crawl(
        replica.base_url, db_path, "news", {"sweep": "1"}, UNPOG_NEWS_BOARDS="0004",
        UNPOG_SWEEP_MAX_MISSES=2,
    )  # fmt: skip

    row = await crawl(replica.base_url, db_path, "news", UNPOG_NEWS_BOARDS="0004")

    # A complete crawl without sweep re-checks the unlisted item instead of removing it.
    assert (row["complete"], row["removed"]) == (1, 0)
    assert latest(db_path, VIEW["0004"].format(314))["status"] == "live"


async def test_a_sweep_never_makes_a_broken_listing_complete(replica, db_path):
    replica.site.fail("/page/sub3_1_list.asp?BoardID=0004&page=2", 500)

    row = await crawl(
        replica.base_url, db_path, "news", {"sweep": "1"}, UNPOG_NEWS_BOARDS="0004",
        UNPOG_SWEEP_MAX_MISSES=2,
    )  # fmt: skip

    assert row["complete"] == 0
    assert rows(db_path, "SELECT COUNT(*) FROM articles")[0][0] >= 1


async def test_a_bad_news_boards_setting_crawls_nothing(replica, db_path):
    with pytest.raises(AssertionError, match="did not open the archive"):
        await crawl(replica.base_url, db_path, "news", UNPOG_NEWS_BOARDS="news; drop")
    assert replica.site.requests.count("sub3_1") == 0
