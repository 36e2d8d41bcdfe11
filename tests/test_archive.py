"""The archive: schema and migrations, versioning rules, removals, locking, issues, search."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from unpog_crawler.archive import (
    COLUMN_DOCS,
    KNOWN_MIGRATIONS,
    MIGRATION_SET,
    TABLE_DOCS,
    Archive,
    ArchiveBusy,
    ArchiveError,
    ArchiveLocked,
    ArchiveUnavailable,
    BadSearch,
    CurrentParser,
    NewerSchema,
    NotAnArchive,
    UnknownArticle,
    VersionOutOfRange,
    content_hash,
    utc_now,
)
from unpog_crawler.items import CONTENT_FIELDS, ArticleRecord, Attachment, ListPageAnswer

T0 = "2024-05-01T09:00:00+00:00"
T1 = "2024-05-02T09:00:00+00:00"
T2 = "2024-05-03T09:00:00+00:00"
T3 = "2024-05-04T09:00:00+00:00"
SPIDER = "quarterly"
LIST_URL = "/page/sub4_3_list.asp?page=1"


def make_record(sn: int | str = 72, **overrides) -> ArticleRecord:
    fields = {
        "url": f"/page/sub4_3_view.asp?sn={sn}",
        "fetched_url": f"https://unpog.org/page/sub4_3_view.asp?sn={sn}",
        "source_id": str(sn),
        "section": "quarterly",
        "kind": "article",
        "title": f"Capacity Development Workshop {sn}",
        "body_text": "UNPOG held a workshop on digital government.\n\nParticipants met.",
        "body_html": "<p>UNPOG held a workshop on digital government.</p><p>Participants met.</p>",
        "event_start": "2018-10-24",
        "event_end": "2018-10-26",
        "event_place": "Incheon, Republic of Korea",
        "authors": ("KIM Min-su", "Programme Officer"),
        "footnotes": ("[1] United Nations, E-Government Survey 2018.",),
        "images": (f"https://unpog.org/upload/quarterly/{sn}.jpg",),
        "attachments": (Attachment(f"https://unpog.org/page/download.asp?sn={sn}", "Report"),),
        "issue": None,
        "page_sha256": "a" * 64,
        "encoding": "utf-8",
        "parser_notes": ("title:share-box",),
    }
    fields.update(overrides)
    return ArticleRecord(**fields)


def open_crawl(archive: Archive, at: str = T0, spider: str = SPIDER) -> int:
    return archive.start_crawl(spider, "https://unpog.org", at, {"DOWNLOAD_DELAY": 0})


def finish(archive: Archive, crawl_id: int, at: str, status="finished", complete=True) -> dict:
    return archive.finish_crawl(crawl_id, status=status, complete=complete, finished_at=at)


def counts(archive: Archive, crawl_id: int) -> dict:
    row = archive.crawl(crawl_id)
    names = ("articles_seen", "new", "changed", "unchanged", "removed", "restored")
    return {name: row[name] for name in names if row[name]}


def table_count(archive: Archive, table: str) -> int:
    return archive.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def changes(archive: Archive) -> list[tuple]:
    return archive.db.execute(
        "SELECT crawl_id, article_id, kind, from_version, to_version, changed_fields, reason "
        "FROM changes ORDER BY id"
    ).fetchall()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "archive" / "unpog.db"


@pytest.fixture
def archive(db_path: Path):
    archive = Archive(db_path)
    with archive.lock():
        yield archive
    archive.close()


# --- Opening, schema and migrations ---------------------------------------------------------


def test_open_creates_directories_and_sets_wal_busy_timeout_foreign_keys(db_path):
    with Archive(db_path) as archive:
        assert archive.path == db_path
        assert db_path.is_file()
        assert archive.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert archive.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert archive.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_migrations_run_once_and_are_idempotent(db_path):
    with Archive(db_path) as archive:
        schema = archive.db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        applied = archive.db.execute(
            "SELECT migration_set, name FROM _sqlite_migrations ORDER BY id"
        ).fetchall()
    assert applied == [(MIGRATION_SET, name) for name in KNOWN_MIGRATIONS]
    for _ in range(2):
        with Archive(db_path, create=False) as archive:
            again = archive.db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
            assert again == schema
            assert table_count(archive, "_sqlite_migrations") == len(KNOWN_MIGRATIONS)


def test_schema_has_tables_view_indexes_and_fts(archive):
    db = archive.db
    assert {"crawls", "articles", "versions", "changes", "crawl_problems", "versions_fts"} <= set(
        db.table_names()
    )
    assert "issues" in db.view_names()
    indexed = {
        tuple(index.columns) for table in db.tables for index in table.indexes if table.indexes
    }
    for columns in [
        ("status", "section"),
        ("article_id", "version"),
        ("captured_at",),
        ("crawl_id",),
        ("article_id",),
        ("spider", "status"),
        ("url",),
    ]:
        assert columns in indexed, columns
    unique = {tuple(i.columns) for i in db["versions"].indexes if i.unique}
    assert ("article_id", "version") in unique
    fks = {(fk.table, fk.column, fk.other_table) for t in db.tables for fk in t.foreign_keys}
    assert {
        ("versions", "article_id", "articles"),
        ("versions", "crawl_id", "crawls"),
        ("changes", "article_id", "articles"),
        ("changes", "crawl_id", "crawls"),
        ("crawl_problems", "crawl_id", "crawls"),
    } <= fks


def test_foreign_keys_are_enforced(archive):
    crawl_id = open_crawl(archive)
    with pytest.raises(sqlite3.IntegrityError):
        archive.db.execute(
            "INSERT INTO changes (crawl_id, article_id, kind, at) VALUES (?, 999, 'new', ?)",
            [crawl_id, T0],
        )


def test_column_docs_describe_every_column_and_nothing_else(archive):
    db = archive.db
    documented = set(TABLE_DOCS)
    # Every table and view of the schema but SQLite's, the migrations record and the FTS indexes.
    actual = {
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_%' ESCAPE '\\' "
            "AND name NOT LIKE 'versions_fts%' AND name NOT LIKE 'latest_fts%'"
        )
    }
    assert {"crawls", "articles", "versions", "changes", "crawl_problems", "issues"} <= actual
    assert {"latest_versions", "change_log", "removed_articles"} <= actual
    assert documented == actual
    for name in actual:
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({name})")]
        assert set(COLUMN_DOCS[name]) == set(columns), name
        assert all(COLUMN_DOCS[name].values())


def test_versions_keep_every_record_field_but_parser_notes(archive):
    columns = {row[1] for row in archive.db.execute("PRAGMA table_info(versions)")}
    # downloads live in the files / version_files tables, etag and last_modified in
    # http_validators; missing_landmarks is a diagnostic for the health rules, as notes are.
    not_columns = {"parser_notes", "downloads", "etag", "last_modified", "missing_landmarks"}
    record_fields = {f.name for f in dataclasses.fields(ArticleRecord)} - not_columns
    assert record_fields <= columns
    assert "parser_notes" not in columns


def test_newer_schema_is_refused(db_path):
    with Archive(db_path) as archive:
        archive.db["_sqlite_migrations"].insert(
            {"migration_set": MIGRATION_SET, "name": "9999_from_the_future", "applied_at": T0}
        )
    with pytest.raises(NewerSchema, match="upgrade unpog-crawler"):
        Archive(db_path)


def test_non_archive_sqlite_file_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute("INSERT INTO notes (text) VALUES ('keep me')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(NotAnArchive, match="not an unpog-crawler archive"):
        Archive(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_text_file_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"Welcome Note\nnot a database at all\n" * 200)
    before = path.read_bytes()
    with pytest.raises(NotAnArchive, match="not a SQLite file"):
        Archive(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_corrupt_archive_is_unavailable(tmp_path):
    path = tmp_path / "broken.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    before = path.read_bytes()
    with pytest.raises(ArchiveUnavailable, match="corrupt"):
        Archive(path)
    assert path.read_bytes() == before


def test_missing_directory_or_file_without_create(tmp_path):
    with pytest.raises(ArchiveUnavailable, match="does not exist"):
        Archive(tmp_path / "missing" / "unpog.db", create=False)
    assert not (tmp_path / "missing").exists()
    with pytest.raises(ArchiveUnavailable, match="no archive at"):
        Archive(tmp_path / "unpog.db", create=False)
    assert not (tmp_path / "unpog.db").exists()


def test_directory_as_archive_path_is_unavailable(tmp_path):
    with pytest.raises(ArchiveUnavailable, match="not a file"):
        Archive(tmp_path)


def test_utc_now_is_utc_iso():
    assert utc_now().endswith("+00:00")
    assert utc_now()[10] == "T"


# --- Versioning rules ------------------------------------------------------------------------


def test_new_article_writes_article_version_and_change(archive):
    crawl_id = open_crawl(archive)
    record = make_record(72, issue="2019-Q1")
    assert archive.record_article(crawl_id, record, T0, SPIDER) == "new"
    article = archive.article(record.url)
    assert article["status"] == "live"
    assert article["current_version"] == 1
    assert article["first_seen"] == article["last_seen"] == T0
    assert article["last_seen_crawl_id"] == crawl_id
    assert article["spider"] == SPIDER
    (version,) = archive.versions(article["id"])
    assert version["version"] == 1
    assert version["crawl_id"] == crawl_id
    assert version["captured_at"] == T0
    assert version["content_hash"] == content_hash(record)
    assert json.loads(version["changed_fields"]) == []
    # A version row is readable on its own: every record field is there.
    assert version["body_html"] == record.body_html
    assert version["fetched_url"] == record.fetched_url
    assert version["issue"] == "2019-Q1"
    assert json.loads(version["authors"]) == list(record.authors)
    assert json.loads(version["attachments"]) == [
        {"url": "https://unpog.org/page/download.asp?sn=72", "name": "Report"}
    ]
    assert changes(archive) == [(crawl_id, article["id"], "new", None, 1, "[]", None)]
    assert counts(archive, crawl_id) == {"articles_seen": 1, "new": 1}


def test_same_content_is_unchanged(archive):
    first = open_crawl(archive, T0)
    archive.record_article(first, make_record(), T0, SPIDER)
    finish(archive, first, T0)
    second = open_crawl(archive, T1)
    assert archive.record_article(second, make_record(), T1, SPIDER) == "unchanged"
    article = archive.article(make_record().url)
    assert (article["current_version"], article["first_seen"], article["last_seen"]) == (1, T0, T1)
    assert article["last_seen_crawl_id"] == second
    assert table_count(archive, "versions") == 1
    assert len(changes(archive)) == 1
    assert counts(archive, second) == {"articles_seen": 1, "unchanged": 1}


CHANGED_VALUES = {
    "title": "Capacity Development Workshop (revised)",
    "kind": "welcome_note",
    "event_start": "2018-10-25",
    "event_end": "2018-10-27",
    "event_place": "Seoul, Republic of Korea",
    "authors": ("KIM Min-su", "Senior Programme Officer"),
    "body_text": "UNPOG held a workshop on digital government.\n\nParticipants met twice.",
    "footnotes": ("[1] United Nations, E-Government Survey 2020.",),
    "images": ("https://unpog.org/upload/quarterly/other.jpg",),
    "attachments": (Attachment("https://unpog.org/page/download.asp?sn=72", "Final report"),),
    "issue": "2018-Q4",
    "published": "2018-10-25",
    "place": "INCHEON",
}


def test_changed_values_cover_every_content_field():
    assert set(CHANGED_VALUES) == set(CONTENT_FIELDS)


@pytest.mark.parametrize("field", sorted(CHANGED_VALUES))
def test_changed_fields_name_exactly_the_changed_field(archive, field):
    first = open_crawl(archive, T0)
    archive.record_article(first, make_record(), T0, SPIDER)
    finish(archive, first, T0)
    second = open_crawl(archive, T1)
    changed = make_record(**{field: CHANGED_VALUES[field]})
    assert archive.record_article(second, changed, T1, SPIDER) == "changed"
    article = archive.article(changed.url)
    assert article["current_version"] == 2
    assert (article["title"], article["kind"]) == (changed.title, changed.kind)
    assert article["last_seen"] == T1
    v1, v2 = archive.versions(article["id"])
    assert v2["version"] == 2
    assert v2["crawl_id"] == second
    assert json.loads(v2["changed_fields"]) == [field]
    assert v2["content_hash"] == content_hash(changed) != v1["content_hash"]
    assert changes(archive)[-1] == (second, article["id"], "changed", 1, 2, f'["{field}"]', None)
    assert counts(archive, second) == {"articles_seen": 1, "changed": 1}


def test_several_changed_fields_in_content_field_order(archive):
    crawl_id = open_crawl(archive)
    archive.record_article(crawl_id, make_record(), T0, SPIDER)
    changed = make_record(body_text="New text.", title="New title")
    archive.record_article(crawl_id, changed, T1, SPIDER)
    (v2,) = [v for v in archive.versions(archive.article(changed.url)["id"]) if v["version"] == 2]
    assert json.loads(v2["changed_fields"]) == ["title", "body_text"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"body_html": "<div><p>UNPOG held a workshop on digital government.</p></div>"},
        {"page_sha256": "b" * 64},
        {"encoding": "cp949"},
        {"fetched_url": "http://unpog.gabia.io/page/sub4_3_view.asp?sn=72&page=2"},
        {"parser_notes": ("title:heading",)},
        {
            "fetched_url": "http://www.unpog.org:8080/page/sub4_3_view.asp?sn=72",
            "images": ("http://www.unpog.org:8080/upload/quarterly/72.jpg",),
            "attachments": (
                Attachment("http://www.unpog.org:8080/page/download.asp?sn=72", "Report"),
            ),
        },
        {
            "fetched_url": "http://unpog.gabia.io/page/sub4_3_view.asp?sn=72",
            "images": ("/upload/quarterly/72.jpg",),
            "attachments": (Attachment("download.asp?sn=72", "Report"),),
        },
    ],
    ids=["body_html", "page_sha256", "encoding", "mirror", "notes", "port", "relative"],
)
def test_markup_and_provenance_differences_are_unchanged(archive, overrides):
    crawl_id = open_crawl(archive)
    original = make_record()
    archive.record_article(crawl_id, original, T0, SPIDER)
    variant = make_record(**overrides)
    assert content_hash(variant) == content_hash(original)
    assert archive.record_article(crawl_id, variant, T1, SPIDER) == "unchanged"
    assert table_count(archive, "versions") == 1


def test_content_hash_depends_on_content_and_link_paths():
    record = make_record()
    assert content_hash(record) == content_hash(make_record())
    assert len(content_hash(record)) == 64
    assert content_hash(record) != content_hash(make_record(body_text="Other."))
    other_image = ("https://unpog.org/upload/quarterly/73.jpg",)
    assert content_hash(record) != content_hash(make_record(images=other_image))
    # An image on another site is not ours: its host is part of its identity.
    elsewhere = make_record(images=("https://cdn.example.org/upload/quarterly/72.jpg",))
    moved = make_record(images=("https://cdn.example.net/upload/quarterly/72.jpg",))
    assert content_hash(elsewhere) != content_hash(moved)
    reordered = make_record(authors=tuple(reversed(record.authors)))
    assert content_hash(record) != content_hash(reordered)


def test_changed_hash_rule_alone_does_not_create_a_version(archive):
    # Hashes stored under an older link-identity rule: the content itself decides.
    crawl_id = open_crawl(archive)
    archive.record_article(crawl_id, make_record(), T0, SPIDER)
    archive.db.execute("UPDATE versions SET content_hash = 'stale'")
    assert archive.record_article(crawl_id, make_record(), T1, SPIDER) == "unchanged"
    assert table_count(archive, "versions") == 1


def removed_then_seen(archive: Archive, record: ArticleRecord) -> tuple[int, int]:
    """Archive make_record(), let a complete crawl remove it, then open a third crawl."""
    first = open_crawl(archive, T0)
    archive.record_article(first, make_record(), T0, SPIDER)
    finish(archive, first, T0)
    second = open_crawl(archive, T1)
    finish(archive, second, T1)
    assert archive.article(record.url)["status"] == "removed"
    return second, open_crawl(archive, T2)


def test_removed_article_seen_again_with_same_content_is_restored(archive):
    record = make_record()
    _, third = removed_then_seen(archive, record)
    assert archive.record_article(third, record, T2, SPIDER) == "restored"
    article = archive.article(record.url)
    assert (article["status"], article["current_version"]) == ("live", 1)
    assert article["last_seen_crawl_id"] == third
    assert table_count(archive, "versions") == 1
    assert changes(archive)[-1] == (third, article["id"], "restored", 1, 1, "[]", None)
    assert counts(archive, third) == {"articles_seen": 1, "restored": 1}


def test_removed_article_seen_again_with_new_content_is_restored_with_diff(archive):
    record = make_record()
    _, third = removed_then_seen(archive, record)
    changed = make_record(body_text="Reposted text.")
    assert archive.record_article(third, changed, T2, SPIDER) == "restored"
    article = archive.article(record.url)
    assert (article["status"], article["current_version"]) == ("live", 2)
    assert changes(archive)[-1] == (third, article["id"], "restored", 1, 2, '["body_text"]', None)
    assert counts(archive, third) == {"articles_seen": 1, "restored": 1}


# --- Removals --------------------------------------------------------------------------------


def two_crawls(archive: Archive, status: str, complete: bool) -> tuple[int, dict]:
    first = open_crawl(archive, T0)
    archive.record_article(first, make_record(72), T0, SPIDER)
    archive.record_article(first, make_record(77), T0, SPIDER)
    finish(archive, first, T0)
    second = open_crawl(archive, T1)
    archive.record_article(second, make_record(77), T1, SPIDER)
    return second, finish(archive, second, T2, status=status, complete=complete)


def test_complete_finished_crawl_removes_unseen_articles(archive):
    second, row = two_crawls(archive, "finished", True)
    assert (row["status"], row["complete"], row["finished_at"]) == ("finished", 1, T2)
    assert row["removed"] == 1
    assert archive.article(make_record(72).url)["status"] == "removed"
    assert archive.article(make_record(77).url)["status"] == "live"
    article_id = archive.article(make_record(72).url)["id"]
    assert changes(archive)[-1] == (
        second,
        article_id,
        "removed",
        1,
        None,
        "[]",
        f"not listed by complete crawl {second}",
    )


@pytest.mark.parametrize(
    "status, complete",
    [("finished", False), ("failed", True), ("failed", False), ("interrupted", True)],
)
def test_no_removal_unless_finished_and_complete(archive, status, complete):
    _, row = two_crawls(archive, status, complete)
    assert row["status"] == status
    assert row["removed"] == 0
    assert archive.article(make_record(72).url)["status"] == "live"
    assert [c[2] for c in changes(archive)] == ["new", "new"]


def test_removal_is_scoped_to_the_crawls_spider(archive):
    first = open_crawl(archive, T0, spider="quarterly")
    archive.record_article(first, make_record(72), T0, "quarterly")
    finish(archive, first, T0)
    other = open_crawl(archive, T0, spider="theme")
    theme = make_record(5, url="/page/sub3_1_view.asp?BoardID=0004&sn=5", section="theme")
    archive.record_article(other, theme, T0, "theme")
    finish(archive, other, T0)
    second = open_crawl(archive, T1, spider="quarterly")
    row = finish(archive, second, T1)
    assert row["removed"] == 1
    assert archive.article(make_record(72).url)["status"] == "removed"
    assert archive.article(theme.url)["status"] == "live"


def test_listed_but_not_fetched_article_is_not_removed(archive):
    first = open_crawl(archive, T0)
    archive.record_article(first, make_record(72), T0, SPIDER)
    archive.record_article(first, make_record(77), T0, SPIDER)
    finish(archive, first, T0)
    second = open_crawl(archive, T1)
    listed = (make_record(72).url, "/page/sub4_3_view.asp?sn=999")  # 999: not archived, no-op
    archive.record_list_page(second, ListPageAnswer(LIST_URL, listed), SPIDER, T1)
    archive.record_problem(second, make_record(72).fetched_url, "error", "HTTP 503", T1)
    row = finish(archive, second, T1)
    assert archive.article(make_record(72).url)["last_listed_crawl_id"] == second
    assert archive.article(make_record(72).url)["status"] == "live"
    assert archive.article(make_record(77).url)["status"] == "removed"
    assert (row["removed"], row["errors"]) == (1, 1)
    assert archive.article("/page/sub4_3_view.asp?sn=999") is None


def test_gone_page_removes_the_article_at_once(archive):
    first = open_crawl(archive, T0)
    archive.record_article(first, make_record(72), T0, SPIDER)
    finish(archive, first, T0)
    second = open_crawl(archive, T1)
    url = make_record(72).url
    reason = "no such post (script alert page)"
    assert archive.record_problem(second, url, "parse_failure", reason, T1, gone=True) is True
    article = archive.article(url)
    assert article["status"] == "removed"
    assert changes(archive)[-1] == (
        second,
        article["id"],
        "removed",
        1,
        None,
        "[]",
        f"page answers: {reason}",
    )
    # Already removed, and a page that is not archived: nothing more to remove.
    assert archive.record_problem(second, url, "parse_failure", reason, T1, gone=True) is False
    assert archive.record_problem(second, "/nope", "error", "HTTP 404", T1, gone=True) is False
    # An incomplete crawl does not undo it, and the counts say what happened.
    row = finish(archive, second, T2, complete=False)
    assert (row["removed"], row["parse_failures"], row["errors"]) == (1, 2, 1)
    problems = archive.db.execute("SELECT crawl_id, url, kind FROM crawl_problems").fetchall()
    assert problems == [
        (second, url, "parse_failure"),
        (second, url, "parse_failure"),
        (second, "/nope", "error"),
    ]


def test_problem_without_gone_removes_nothing(archive):
    crawl_id = open_crawl(archive)
    archive.record_article(crawl_id, make_record(72), T0, SPIDER)
    url = make_record(72).url
    assert archive.record_problem(crawl_id, url, "error", "timeout", T0) is False
    assert archive.article(url)["status"] == "live"
    with pytest.raises(ValueError):
        archive.record_problem(crawl_id, url, "warning", "?", T0)


# --- Crawls ---------------------------------------------------------------------------------


def test_crawl_row_and_page_counts(archive):
    crawl_id = open_crawl(archive, T0)
    for _ in range(3):
        archive.record_page(crawl_id)
    row = archive.crawl(crawl_id)
    assert (row["spider"], row["status"], row["started_at"], row["finished_at"]) == (
        SPIDER,
        "running",
        T0,
        None,
    )
    assert row["pages"] == 3
    assert json.loads(row["settings"]) == {"DOWNLOAD_DELAY": 0}
    assert row["base_url"] == "https://unpog.org"


def test_stale_running_crawl_becomes_interrupted_on_next_start(archive):
    stale = open_crawl(archive, T0)
    fresh = open_crawl(archive, T1)
    assert (archive.crawl(stale)["status"], archive.crawl(stale)["finished_at"]) == (
        "interrupted",
        T1,
    )
    assert archive.crawl(fresh)["status"] == "running"
    with pytest.raises(ArchiveError, match="already interrupted"):
        finish(archive, stale, T2)


def test_start_crawl_needs_the_lock(db_path):
    with Archive(db_path) as archive, pytest.raises(ArchiveError, match=r"archive\.lock\(\)"):
        archive.start_crawl(SPIDER, "https://unpog.org", T0)


def test_unknown_crawl_is_an_error(archive):
    with pytest.raises(ArchiveError, match="no crawl 42"):
        archive.record_page(42)
    with pytest.raises(ArchiveError, match="no crawl 42"):
        archive.record_article(42, make_record(), T0, SPIDER)
    assert table_count(archive, "articles") == 0


HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from unpog_crawler.archive import Archive
    archive = Archive(sys.argv[1])
    with archive.lock():
        print("locked", flush=True)
        time.sleep(120)
    """
)


def test_lock_held_by_another_process_until_it_is_killed(db_path):
    Archive(db_path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with Archive(db_path) as archive:
            with pytest.raises(ArchiveLocked) as raised, archive.lock():
                pass
            message = str(raised.value)
            assert f"{db_path}.lock" in message
            assert "crawl is running" in message
            assert str(holder.pid) in message
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=10)
            with archive.lock():
                crawl_id = open_crawl(archive)
            assert archive.crawl(crawl_id)["status"] == "running"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        holder.stdout.close()


def test_lock_is_released_on_exit(db_path):
    with Archive(db_path) as first, Archive(db_path) as second:
        with first.lock(), pytest.raises(ArchiveLocked), second.lock():
            pass
        with second.lock():
            pass


def test_the_lock_is_the_file_itself_whatever_path_reaches_it(tmp_path, db_path):
    """A symlink to the archive, or to its folder, or a path with '..', finds the same lock."""
    Archive(db_path).close()
    (tmp_path / "link.db").symlink_to(db_path)
    (tmp_path / "folder").symlink_to(db_path.parent, target_is_directory=True)
    others = [
        tmp_path / "link.db",
        tmp_path / "folder" / db_path.name,
        db_path.parent / ".." / db_path.parent.name / db_path.name,
    ]
    with Archive(db_path) as first, first.lock():
        for path in others:
            with Archive(path) as second, pytest.raises(ArchiveLocked) as raised, second.lock():
                pass
            assert f"{db_path}.lock" in str(raised.value)
    for path in others:  # and each takes it once it is free
        with Archive(path) as second, second.lock():
            pass


def test_a_lock_file_replaced_before_it_is_locked_is_not_a_second_lock(db_path, monkeypatch):
    """The race the device-and-inode check closes: a crawl opens the lock file; meanwhile a
    clean-up deletes it and another crawl locks a new one; the first then locks the
    deleted file, which nobody else can see."""
    import unpog_crawler.archive.file as archive_module

    real_flock = fcntl.flock
    replaced = []
    with Archive(db_path) as first, Archive(db_path) as second, contextlib.ExitStack() as held:

        def flock_after_a_replacement(fd: int, operation: int) -> None:
            if not replaced:
                replaced.append(True)
                first.lock_path.unlink()
                held.enter_context(second.lock())  # creates and locks a new lock file
            real_flock(fd, operation)

        monkeypatch.setattr(archive_module.fcntl, "flock", flock_after_a_replacement)
        with pytest.raises(ArchiveLocked), first.lock():
            pass
        assert replaced


def hold_write_lock(db_path: Path) -> sqlite3.Connection:
    """Another process's write lock, as a `sqlite3` session or a VACUUM takes it."""
    connection = sqlite3.connect(db_path, isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    return connection


def test_a_write_blocked_past_the_busy_timeout_fails_whole_and_says_so(db_path):
    with Archive(db_path, busy_timeout=0.2) as archive, archive.lock():
        crawl_id = open_crawl(archive)
        other = hold_write_lock(db_path)
        try:
            with pytest.raises(ArchiveBusy, match=r"locked by another process .* 0\.2 s"):
                archive.record_answer(crawl_id, make_record(), T0, SPIDER)
        finally:
            other.close()
        assert table_count(archive, "articles") == 0
        assert archive.crawl(crawl_id)["pages"] == 0
        assert archive.record_answer(crawl_id, make_record(), T0, SPIDER) == "new"


def test_a_batch_tries_again_when_another_writer_made_its_snapshot_stale(db_path):
    """In a batch, a write after a read fails at once (no busy wait) when another process
    committed in between: the batch drops its snapshot and writes."""
    with Archive(db_path) as archive, Archive(db_path) as other, archive.lock():
        crawl_id = open_crawl(archive)
        archive.begin_batch()
        assert archive.article("/page/sub4_3_view.asp?sn=1") is None  # the batch reads
        other.record_validators("/page/sub4_3_view.asp?sn=2", '"e"', "", T0)  # and commits

        assert archive.record_answer(crawl_id, make_record(), T0, SPIDER) == "new"
        archive.commit_batch(reopen=False)

    with Archive(db_path) as archive:
        assert table_count(archive, "articles") == 1
        assert table_count(archive, "http_validators") == 1  # the other writer's


# --- Atomicity --------------------------------------------------------------------------------


def snapshot(archive: Archive, crawl_id: int) -> tuple:
    return (
        archive.db.execute("SELECT * FROM articles ORDER BY id").fetchall(),
        archive.db.execute("SELECT id, article_id, version FROM versions ORDER BY id").fetchall(),
        changes(archive),
        archive.crawl(crawl_id),
    )


def fail_change_inserts(archive: Archive) -> None:
    """Make the last write of record_article fail (a temporary trigger, this connection only)."""
    archive.db.execute(
        "CREATE TEMP TRIGGER fail_changes BEFORE INSERT ON changes "
        "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )


def test_failed_new_article_leaves_no_trace(archive):
    crawl_id = open_crawl(archive)
    archive.record_page(crawl_id)
    before = snapshot(archive, crawl_id)
    fail_change_inserts(archive)
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        archive.record_article(crawl_id, make_record(), T0, SPIDER)
    assert snapshot(archive, crawl_id) == before
    assert archive.article(make_record().url) is None
    assert not archive.db.conn.in_transaction


def test_failed_changed_article_leaves_no_trace(archive):
    crawl_id = open_crawl(archive)
    archive.record_article(crawl_id, make_record(), T0, SPIDER)
    before = snapshot(archive, crawl_id)
    fail_change_inserts(archive)
    with pytest.raises(sqlite3.IntegrityError):
        archive.record_article(crawl_id, make_record(title="Edited"), T1, SPIDER)
    assert snapshot(archive, crawl_id) == before
    assert archive.article(make_record().url)["current_version"] == 1


def test_failed_version_write_leaves_no_trace(archive):
    crawl_id = open_crawl(archive)
    before = snapshot(archive, crawl_id)
    # The FTS trigger on versions fails once its target is gone: mid-transaction, after the
    # crawl counters and the article row were written.
    archive.db.execute("DROP TABLE versions_fts")
    with pytest.raises(sqlite3.OperationalError, match="versions_fts"):
        archive.record_article(crawl_id, make_record(), T0, SPIDER)
    assert snapshot(archive, crawl_id) == before


def test_failed_removal_rolls_back_the_whole_finish(archive):
    first = open_crawl(archive, T0)
    archive.record_article(first, make_record(72), T0, SPIDER)
    finish(archive, first, T0)
    second = open_crawl(archive, T1)
    before = snapshot(archive, second)
    fail_change_inserts(archive)
    with pytest.raises(sqlite3.IntegrityError):
        finish(archive, second, T1)
    assert snapshot(archive, second) == before
    assert archive.crawl(second)["status"] == "running"


# --- Issues ---------------------------------------------------------------------------------


def issues_of(archive: Archive) -> dict[str, tuple]:
    return {
        row["source_id"]: (row["issue"], row["issue_basis"])
        for row in archive.db.query("SELECT source_id, issue, issue_basis FROM articles")
    }


def test_issue_assignment_stated_inferred_in_numeric_sn_order(archive):
    crawl_id = open_crawl(archive)
    records = [
        make_record(5),  # before the first Welcome Note: unknown
        make_record(9, kind="welcome_note", title="Welcome Note", issue="2018-Q4"),
        make_record(10, issue="No. 2"),  # states its own issue
        make_record(11),  # after sn 9 and 10, before sn 100 (lexicographically after "100")
        make_record(100, kind="welcome_note", title="Welcome Note", issue="2019-Q1"),
        make_record(101),
        make_record(102, kind="issue_page"),  # only articles are inferred
        make_record(
            "sub4_3_2022_winter",
            url="/page/sub4_3_2022_winter.asp",
            kind="issue_page",
            issue="2022 Winter",
        ),
        make_record(7, url="/page/sub3_1_view.asp?BoardID=0004&sn=7", section="theme"),
    ]
    for record in records:
        archive.record_article(crawl_id, record, T0, SPIDER)
    assert all(row[0] is None for row in issues_of(archive).values())  # derived at finish
    finish(archive, crawl_id, T1, complete=False)
    assert issues_of(archive) == {
        "5": (None, None),
        "9": ("2018-Q4", "stated"),
        "10": ("No. 2", "stated"),
        "11": ("2018-Q4", "inferred"),
        "100": ("2019-Q1", "stated"),
        "101": ("2019-Q1", "inferred"),
        "102": (None, None),
        "sub4_3_2022_winter": ("2022 Winter", "stated"),
        "7": (None, None),
    }
    assert table_count(archive, "versions") == len(records)
    issues = list(archive.db.query("SELECT * FROM issues"))
    by_label = {row["label"]: row for row in issues}
    assert [row["label"] for row in issues] == ["2022 Winter", "2018-Q4", "No. 2", "2019-Q1"]
    q4 = by_label["2018-Q4"]
    assert q4["welcome_note_url"] == "/page/sub4_3_view.asp?sn=9"
    assert q4["welcome_note_id"] == archive.article("/page/sub4_3_view.asp?sn=9")["id"]
    assert (q4["basis"], q4["articles"], q4["stated_articles"], q4["inferred_articles"]) == (
        "stated",
        2,
        1,
        1,
    )
    assert by_label["2022 Winter"]["welcome_note_id"] is None


def test_issue_assignment_follows_new_versions_without_creating_versions(archive):
    first = open_crawl(archive, T0)
    archive.record_article(first, make_record(1, kind="welcome_note", issue="2018-Q3"), T0, SPIDER)
    archive.record_article(first, make_record(2), T0, SPIDER)
    finish(archive, first, T0)
    assert issues_of(archive)["2"] == ("2018-Q3", "inferred")
    second = open_crawl(archive, T1)
    archive.record_article(second, make_record(1, kind="welcome_note", issue="2018-Q4"), T1, SPIDER)
    archive.record_article(second, make_record(2), T1, SPIDER)
    finish(archive, second, T1)
    assert issues_of(archive) == {"1": ("2018-Q4", "stated"), "2": ("2018-Q4", "inferred")}
    assert table_count(archive, "versions") == 3  # the Welcome Note's v2 only


# --- Search ---------------------------------------------------------------------------------


def test_full_text_search_finds_a_word_of_the_body(archive):
    crawl_id = open_crawl(archive)
    archive.record_article(crawl_id, make_record(72), T0, SPIDER)
    archive.record_article(
        crawl_id, make_record(77, body_text="A symposium on anticorruption."), T0, SPIDER
    )
    hits = archive.db.execute(
        "SELECT versions.url FROM versions_fts "
        "JOIN versions ON versions.rowid = versions_fts.rowid WHERE versions_fts MATCH ?",
        ["anticorruption"],
    ).fetchall()
    assert hits == [("/page/sub4_3_view.asp?sn=77",)]
    assert [r["url"] for r in archive.db["versions"].search("digital")] == [
        "/page/sub4_3_view.asp?sn=72"
    ]


# --- Reading, for researchers ---------------------------------------------------------------


def test_as_of_gives_each_articles_latest_version_then_and_its_status_then(archive):
    first = open_crawl(archive, T0)
    archive.record_article(first, make_record(72), T0, SPIDER)
    archive.record_article(first, make_record(77), T0, SPIDER)
    finish(archive, first, T0)
    second = open_crawl(archive, T1)
    archive.record_article(second, make_record(72, title="Renamed"), T1, SPIDER)
    finish(archive, second, T1)  # 77 not listed: removed at T1
    third = open_crawl(archive, T3)
    archive.record_article(third, make_record(72, title="Renamed"), T3, SPIDER)  # unchanged
    archive.record_article(third, make_record(77), T3, SPIDER)  # restored at T3
    finish(archive, third, T3)

    def state(moment):
        return {r["source_id"]: (r["version"], r["status"]) for r in archive.as_of(moment)}

    assert state("2024-04-30T00:00:00+00:00") == {}
    assert state(T0) == {"72": (1, "live"), "77": (1, "live")}
    assert state(T2) == {"72": (2, "live"), "77": (1, "removed")}
    assert state(T3) == {"72": (2, "live"), "77": (1, "live")}
    kinds = [(c["kind"], c["article_id"]) for c in archive.changes(since=T1)]
    assert kinds == [("changed", 1), ("removed", 2), ("restored", 2)]
    assert [c["kind"] for c in archive.changes(crawl_id=first)] == ["new", "new"]
    assert [e["kind"] for e in archive.history(2)] == ["new", "removed", "restored"]


def test_find_article_and_version_pair_errors(archive):
    crawl_id = open_crawl(archive)
    archive.record_article(crawl_id, make_record(72), T0, SPIDER)
    found = archive.find_article("https://www.unpog.org/page/sub4_3_view.asp?page=3&sn=072")
    assert found["url"] == "/page/sub4_3_view.asp?sn=72"
    assert archive.find_article(str(found["id"]))["id"] == found["id"]
    with pytest.raises(UnknownArticle, match="no article"):
        archive.find_article("/page/sub4_3_view.asp?sn=1")
    with pytest.raises(VersionOutOfRange, match="only one version"):
        archive.version_pair(found["id"])
    with pytest.raises(VersionOutOfRange, match="no version 3: it has versions 1 to 1"):
        archive.version_pair(found["id"], 1, 3)


def test_validators_are_stored_only_with_the_version_they_describe(archive):
    """A crash between the two must never leave validators of an unarchived answer: the next
    crawl's 304 would hide the change for good."""
    crawl_id = open_crawl(archive)
    archive.record_answer(crawl_id, make_record(etag='"v1"'), T0, SPIDER)
    # Version 2 is written, then linking its files fails: all of it must roll back.
    broken = make_record(title="Edited", etag='"v2"', downloads=("not a StoredFile",))
    with pytest.raises(AttributeError):
        archive.record_answer(crawl_id, broken, T1, SPIDER)

    assert archive.validators(SPIDER) == {"/page/sub4_3_view.asp?sn=72": ('"v1"', None)}
    assert [v["version"] for v in archive.versions(archive.article(make_record().url)["id"])] == [1]


# --- As-of in pages, and the full-text index of latest versions (0008) ----------------------


def three_crawls(archive: Archive) -> None:
    """72 edited, 77 removed then restored with new text, 80 first seen by the last crawl."""
    first = open_crawl(archive, T0)
    for sn in (72, 77, 78, 79):
        archive.record_article(first, make_record(sn), T0, SPIDER)
    finish(archive, first, T0)
    second = open_crawl(archive, T1)
    archive.record_article(second, make_record(72, title="Renamed workshop"), T1, SPIDER)
    for sn in (78, 79):
        archive.record_article(second, make_record(sn), T1, SPIDER)
    finish(archive, second, T1)  # 77 not listed: removed
    third = open_crawl(archive, T3)
    archive.record_article(third, make_record(72, title="Renamed workshop"), T3, SPIDER)
    archive.record_article(third, make_record(77, body_text="Back with a symposium."), T3, SPIDER)
    archive.record_article(third, make_record(80), T3, SPIDER)
    finish(archive, third, T3, complete=False)


@pytest.mark.parametrize("size", [1, 2, 3, 100])
def test_as_of_pages_add_up_to_the_whole_archive(archive, size):
    three_crawls(archive)
    for moment in ("2024-04-30T00:00:00+00:00", T0, T1, T2, T3):
        whole = archive.as_of(moment)
        assert [row["article_id"] for row in whole] == sorted(r["article_id"] for r in whole)
        pages, after = [], 0
        while page := archive.as_of(moment, limit=size, after=after):
            assert len(page) <= size
            pages += page
            after = page[-1]["article_id"]
        assert pages == whole
        assert list(archive.iter_as_of(moment, page_size=size)) == whole
    assert {r["source_id"]: (r["version"], r["status"]) for r in archive.as_of(T2)} == {
        "72": (2, "live"),
        "77": (1, "removed"),
        "78": (1, "live"),
        "79": (1, "live"),
    }
    assert [r["source_id"] for r in archive.as_of(T3, limit=2, after=2)] == ["78", "79"]


def test_a_streamed_as_of_shows_one_state_while_a_crawl_writes(archive, db_path):
    three_crawls(archive)
    later = "2024-12-31T00:00:00+00:00"
    with Archive(db_path) as reader:
        rows = reader.iter_as_of(later, page_size=1)
        first = next(rows)
        crawl_id = open_crawl(archive, "2024-05-10T09:00:00+00:00")
        edited = make_record(80, body_text="Edited while the export was half read.")
        archive.record_article(crawl_id, edited, "2024-05-10T09:00:00+00:00", SPIDER)
        finish(archive, crawl_id, "2024-05-10T09:00:00+00:00", complete=False)
        streamed = [first, *rows]
        assert {r["source_id"]: r["version"] for r in streamed}["80"] == 1
        assert {r["source_id"]: r["version"] for r in reader.as_of(later)}["80"] == 2
        assert not reader.db.conn.in_transaction  # the read ended with the stream


def test_a_stream_left_open_past_its_archive_closes_quietly(archive, db_path):
    three_crawls(archive)
    reader = Archive(db_path)
    rows = reader.iter_as_of(T3, page_size=1)
    next(rows)
    reader.close()  # as `unpog as-of | head` does: the reader stops, the archive closes
    rows.close()  # no "Cannot operate on a closed database" from the generator


def test_an_as_of_page_walks_the_articles_primary_key_without_sorting(archive):
    three_crawls(archive)
    statements: list[str] = []
    archive.db.conn.set_trace_callback(statements.append)
    archive.as_of(T3, limit=2, after=1)
    archive.db.conn.set_trace_callback(None)
    (sql,) = [s for s in statements if "WHERE a.id >" in s]
    plan = [row[3] for row in archive.db.execute(f"EXPLAIN QUERY PLAN {sql}")]
    assert plan[0] == "SEARCH a USING INTEGER PRIMARY KEY (rowid>?)", plan
    # The only sort is of one article's versions (ties of captured_at), inside the subquery.
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan


def assert_latest_fts_in_sync(archive: Archive) -> None:
    """latest_fts indexes exactly the current version of every article, token by token:
    compared with a fresh FTS5 index of those versions through fts5vocab."""
    db = archive.db
    current = db.execute(
        "SELECT v.id, v.title, v.body_text FROM articles a "
        "JOIN versions v ON v.article_id = a.id AND v.version = a.current_version ORDER BY v.id"
    ).fetchall()
    indexed = [row[0] for row in db.execute("SELECT id FROM latest_fts_docsize ORDER BY id")]
    assert indexed == [row[0] for row in current]
    db.execute("CREATE VIRTUAL TABLE temp.expected_fts USING fts5(title, body_text)")
    try:
        db.conn.executemany(
            "INSERT INTO temp.expected_fts (rowid, title, body_text) VALUES (?, ?, ?)", current
        )
        db.execute(
            "CREATE VIRTUAL TABLE temp.expected_vocab USING fts5vocab(expected_fts, instance)"
        )
        db.execute(
            "CREATE VIRTUAL TABLE temp.latest_vocab USING fts5vocab(main, latest_fts, instance)"
        )
        select = "SELECT term, doc, col, offset FROM temp.{} ORDER BY 1, 2, 3, 4"
        expected = db.execute(select.format("expected_vocab")).fetchall()
        assert db.execute(select.format("latest_vocab")).fetchall() == expected
        assert expected
    finally:
        for name in ("latest_vocab", "expected_vocab", "expected_fts"):
            db.execute(f"DROP TABLE IF EXISTS temp.{name}")


def titles_found(archive: Archive, query: str, **options) -> list[tuple[str, int]]:
    return [(hit["title"], hit["version"]) for hit in archive.search(query, **options)]


def test_latest_fts_follows_changes_removals_and_restorations(archive):
    three_crawls(archive)
    assert_latest_fts_in_sync(archive)
    assert titles_found(archive, "renamed") == [("Renamed workshop", 2)]
    assert titles_found(archive, "symposium") == [("Capacity Development Workshop 77", 2)]
    # The old texts are gone from the latest index, never from the index of every version.
    assert sorted(titles_found(archive, "participants")) == [
        *((f"Capacity Development Workshop {sn}", 1) for sn in (78, 79, 80)),
        ("Renamed workshop", 2),
    ]
    assert len(archive.search("participants", all_versions=True)) == 6
    fourth = open_crawl(archive, "2024-05-05T09:00:00+00:00")
    archive.record_article(fourth, make_record(72, title="Third title"), T3, SPIDER)
    finish(archive, fourth, "2024-05-05T09:00:00+00:00")  # removes 77 to 80
    assert_latest_fts_in_sync(archive)
    assert titles_found(archive, "renamed") == []
    assert titles_found(archive, "renamed", all_versions=True) == [("Renamed workshop", 2)]
    found = {hit["title"]: hit["status"] for hit in archive.search("participants")}
    assert found.pop("Third title") == "live"
    assert set(found.values()) == {"removed"} and len(found) == 3


def test_latest_fts_follows_reparse(archive):
    three_crawls(archive)
    crawl_id = archive.crawl(1)["id"]
    (capture_id,) = archive.add_captures(
        [
            {
                "crawl_id": crawl_id,
                "record_type": "response",
                "record_id": "<urn:uuid:reparse-test>",
                "url": "https://unpog.org/page/sub4_3_view.asp?sn=78",
                "canonical_url": "/page/sub4_3_view.asp?sn=78",
                "page_type": "article",
                "fetched_at": "2024-05-03T10:00:00.000000Z",
                "warc_file": "x.warc.gz",
                "offset": 0,
                "record_length": 10,
            }
        ]
    )
    reparsed = make_record(78, body_text="A better parser reads a roundtable.")
    assert archive.rederive(archive.capture(capture_id), reparsed, SPIDER) == "changed"
    new = make_record(90, body_text="A page only the capture holds: a colloquium.")
    assert archive.rederive(archive.capture(capture_id), new, SPIDER) == "new"
    assert_latest_fts_in_sync(archive)
    assert titles_found(archive, "roundtable") == [("Capacity Development Workshop 78", 2)]
    assert titles_found(archive, "colloquium") == [("Capacity Development Workshop 90", 1)]


def test_search_orders_ties_by_article_and_version(archive):
    crawl_id = open_crawl(archive)
    for sn in (5, 3, 4):
        archive.record_article(crawl_id, make_record(sn, title="Same title"), T0, SPIDER)
    hits = archive.search("same title", all_versions=True, order="rank")
    assert [hit["article_id"] for hit in hits] == [1, 2, 3]
    assert [hit["article_id"] for hit in archive.search("same title", limit=2)] == [1, 2]


def test_search_over_all_versions_lists_the_newest_first_unless_asked_to_rank(archive):
    crawl_id = open_crawl(archive)
    dense = "Grants grants grants for grants"
    archive.record_article(crawl_id, make_record(5, body_text=dense), T0, SPIDER)
    archive.record_article(crawl_id, make_record(6, body_text="One grant: grants."), T0, SPIDER)
    finish(archive, crawl_id, T0)
    second = open_crawl(archive, T1)
    archive.record_article(second, make_record(5, body_text="Grants, reworded."), T1, SPIDER)
    newest = archive.search("grants", all_versions=True)
    assert [(hit["article_id"], hit["version"]) for hit in newest] == [(1, 2), (2, 1), (1, 1)]
    assert [hit["captured_at"] for hit in newest] == [T1, T0, T0]
    ranked = archive.search("grants", all_versions=True, order="rank")
    assert (ranked[0]["article_id"], ranked[0]["version"]) == (1, 1)  # the densest text
    assert archive.search("grants", all_versions=True, order="rank", limit=1) == ranked[:1]
    assert [hit["version"] for hit in archive.search("grants", order="newest")] == [2, 1]
    with pytest.raises(BadSearch, match="search order must be one of rank, newest"):
        archive.search("grants", order="oldest")


def test_migration_0008_indexes_the_latest_versions_of_an_existing_archive(db_path):
    with Archive(db_path) as archive, archive.lock():
        three_crawls(archive)
    # An archive built before 0008: the same schema without latest_fts and its triggers.
    with Archive(db_path) as archive:
        for trigger in ("latest_fts_version_ai", "latest_fts_article_ai", "latest_fts_article_au"):
            archive.db.execute(f"DROP TRIGGER {trigger}")
        archive.db.execute("DROP TABLE latest_fts")
        archive.db.execute("DELETE FROM _sqlite_migrations WHERE name = '0008_latest_fts'")
        archive.db.conn.commit()
    with Archive(db_path) as archive, archive.lock():
        assert_latest_fts_in_sync(archive)
        assert titles_found(archive, "renamed") == [("Renamed workshop", 2)]
        crawl_id = open_crawl(archive, "2024-05-05T09:00:00+00:00")
        archive.record_article(crawl_id, make_record(72, title="Migrated"), T3, SPIDER)
        assert_latest_fts_in_sync(archive)
        assert archive.db["versions"].detect_fts() == "versions_fts"


def test_migration_0009_leaves_the_parser_of_earlier_versions_unknown(db_path):
    with Archive(db_path) as archive, archive.lock():
        three_crawls(archive)
    # An archive built before 0009: no versions.parser_version.
    with Archive(db_path) as archive:
        archive.db.execute("ALTER TABLE versions DROP COLUMN parser_version")
        archive.db.execute("DELETE FROM _sqlite_migrations WHERE name = '0009_parser_version'")
        archive.db.conn.commit()
    with Archive(db_path) as archive, archive.lock():
        before = table_count(archive, "versions")
        assert archive.db.execute(
            "SELECT COUNT(*) FROM versions WHERE parser_version IS NULL"
        ).fetchone() == (before,)
        archive.parser = CurrentParser("7")  # no capture reader: nothing to compare with
        crawl_id = open_crawl(archive, "2024-05-05T09:00:00+00:00")
        archive.record_article(crawl_id, make_record(72, title="Read anew"), T3, SPIDER)
        latest = archive.db.execute(
            "SELECT v.parser_version, c.reason FROM versions v JOIN changes c "
            "ON c.article_id = v.article_id AND c.to_version = v.version ORDER BY v.id DESC"
        ).fetchone()
    assert latest == (
        "7",
        "parser changed from an unrecorded version to 7; no capture to compare",
    )


def test_an_article_read_before_its_list_page_is_still_found_by_list(archive):
    crawl_id = archive.start_crawl(SPIDER, "https://unpog.org", T0)
    linked = make_record(72, found_by="link")
    archive.record_answer(crawl_id, linked, T0, SPIDER)
    archive.record_answer(crawl_id, make_record(73, found_by="link"), T0, SPIDER)

    archive.record_list_page(crawl_id, ListPageAnswer(LIST_URL, (linked.url,)), SPIDER, T0)

    found = dict(archive.db.execute("select source_id, found_by from versions").fetchall())
    assert found == {"72": "list", "73": "link"}  # 73 is listed nowhere: reached by a link
    articles = dict(archive.db.execute("select source_id, found_by from articles").fetchall())
    assert articles == {"72": "list", "73": "link"}


def test_a_batch_commits_whole_units_and_drops_a_failed_one(archive, db_path):
    """Group commits (UNPOG_COMMIT_INTERVAL): nothing is visible before the commit, and a unit
    that fails half-way leaves nothing of itself in what is committed."""
    crawl_id = open_crawl(archive)
    archive.begin_batch()
    archive.record_answer(crawl_id, make_record(72, etag='"a"'), T0, SPIDER)
    broken = make_record(73, etag='"b"', downloads=("not a StoredFile",))
    with pytest.raises(AttributeError):
        archive.record_answer(crawl_id, broken, T0, SPIDER)
    archive.record_answer(crawl_id, make_record(77, etag='"c"'), T0, SPIDER)

    reader = sqlite3.connect(db_path)
    try:
        assert reader.execute("select count(*) from versions").fetchone()[0] == 0
        archive.commit_batch(reopen=False)
        urls = [row[0] for row in reader.execute("select url from articles order by url")]
        validators = reader.execute("select count(*) from http_validators").fetchone()[0]
        pages = reader.execute("select pages from crawls where id = ?", [crawl_id]).fetchone()
    finally:
        reader.close()
    assert urls == [make_record(72).url, make_record(77).url]
    assert (validators, pages[0]) == (2, 2)
