"""The versioned SQLite archive: its schema, its migrations and every SQL statement.

Model (after simonw's git-history): ``articles`` holds each article in its latest state,
``versions`` one row per distinct content of an article (``version`` counts from 1, with the
crawl that captured it, a hash of its content and the names of the fields that changed),
``changes`` the log of what each crawl found (new, changed, removed, restored) and ``crawls``
one row per crawl with its counts. Nothing here reads the clock: callers pass UTC ISO 8601
times in (``utc_now()`` is there for them).

A version is written only when a field of ``CONTENT_FIELDS`` changes; links (images,
attachments) are compared by their identity on the site, so a mirror host or another scheme
is not a change, nor is markup (``body_html``) or the raw page bytes (``page_sha256``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlite_utils
from sqlite_utils import Migrations

from unpog_crawler.items import CONTENT_FIELDS, ArticleRecord, ListPageAnswer
from unpog_crawler.site import canonical_url, link_identity

__all__ = [
    "COLUMN_DOCS",
    "TABLE_DOCS",
    "Archive",
    "ArchiveBusy",
    "ArchiveError",
    "ArchiveLocked",
    "ArchiveUnavailable",
    "BadSearch",
    "CurrentParser",
    "MAX_PREFIX_TERMS",
    "MAX_SEARCH_CHARS",
    "NewerSchema",
    "NotAnArchive",
    "OutdatedSchema",
    "UnknownArticle",
    "VersionOutOfRange",
    "beyond_sqlite_integer",
    "fts_phrase_query",
    "content_hash",
    "utc_now",
]

MIGRATION_SET = "unpog_crawler"
# Seconds a statement waits for another process's write lock (a crawl passes its own,
# UNPOG_ARCHIVE_BUSY_TIMEOUT); past it the write fails with ArchiveBusy.
BUSY_TIMEOUT = 10.0
# Pause between tries of a write that failed at once (a stale WAL snapshot gets no wait).
BUSY_RETRY_PAUSE = 0.05
SQLITE_HEADER = b"SQLite format 3\x00"
# Articles per page when as-of streams the whole archive (each row holds a whole text).
AS_OF_PAGE_SIZE = 500

CRAWL_STATUSES = ("running", "finished", "failed", "interrupted", "degraded")
PROBLEM_KINDS = ("error", "parse_failure")
# Fields of ArticleRecord stored as JSON lists in a version row.
JSON_LIST_FIELDS = ("authors", "footnotes", "images", "attachments")
# Every ArticleRecord field a version row keeps (all but parser_notes), in table order.
VERSION_RECORD_FIELDS = (
    "url",
    "fetched_url",
    "source_id",
    "section",
    "kind",
    "title",
    "body_text",
    "body_html",
    "event_start",
    "event_end",
    "event_place",
    "authors",
    "footnotes",
    "images",
    "attachments",
    "issue",
    "page_sha256",
    "encoding",
    "published",
    "place",
    "board_id",
    "found_by",
)


# --- Errors ------------------------------------------------------------------------------------


class ArchiveError(Exception):
    """Base class: every archive error has a one-line message that says what to do."""


class ArchiveLocked(ArchiveError):
    """Another crawl holds the archive's write lock."""


class ArchiveBusy(ArchiveError):
    """Another process held SQLite's write lock longer than the busy timeout: not written."""


class NotAnArchive(ArchiveError):
    """The file is not SQLite, or holds tables but no unpog-crawler migrations record."""


class NewerSchema(ArchiveError):
    """The file has migrations this version of unpog-crawler does not know."""


class ArchiveUnavailable(ArchiveError):
    """The archive cannot be opened: missing directory or file, unwritable, or corrupt."""


class OutdatedSchema(ArchiveError):
    """A read-only open found migrations still to apply (the archive is from an older version)."""


class UnknownArticle(ArchiveError):
    """No article of the archive has that id or URL."""


class VersionOutOfRange(ArchiveError):
    """The article has no version with that number (or too few versions to compare)."""


class BadSearch(ArchiveError):
    """SQLite's full-text search refused the query."""


# Orders of Archive.search: best match first, or most recently archived first.
SEARCH_ORDERS = ("rank", "newest")
# FTS5 merges every term's postings inside one call that no time limit interrupts: a query of
# thousands of OR terms, or of many short prefixes (each expands to a slice of the vocabulary),
# runs for minutes. These bound that work (archive/metadata.yml applies the same limits).
MAX_SEARCH_CHARS = 500
MAX_PREFIX_TERMS = 4
# SQLite integers (ids, counts) are signed 64-bit.
SQLITE_MAX_INTEGER = 2**63 - 1


# --- Documentation of the schema (reused by the README and Datasette metadata) -----------------

TABLE_DOCS: dict[str, str] = {
    "crawls": "One row per crawl: when it ran, how it ended and what it found.",
    "articles": "Every article ever archived, in its latest state (one row per canonical URL).",
    "versions": (
        "Every distinct content of every article; a new version is written only when a content "
        "field changes. Each row is complete on its own."
    ),
    "changes": "What each crawl found: new, changed, removed and restored articles.",
    "crawl_problems": "Pages a crawl could not fetch (error) or could not read as an article.",
    "http_validators": (
        "HTTP validators of each article page, sent back as If-None-Match / If-Modified-Since "
        "so that an unchanged page costs a 304 answer instead of a download."
    ),
    "list_pages": (
        "Each list page's last full answer: its validators and the links it gave, replayed "
        "when the server answers 304 so that a conditional re-crawl still sees every listing."
    ),
    "issues": "One row per issue of the Quarterly, built from articles.issue.",
    "files": (
        "Every attachment and image linked from an article: one row per URL and content "
        "(a file whose bytes change at the same URL gets a new row); stored under "
        "archive/files/ by SHA-256 when downloaded."
    ),
    "version_files": "Which files (files.id) each version of an article links.",
    "latest_versions": "Each live article with the fields of its latest version.",
    "change_log": (
        "Each change with the crawl that found it, the article's title and URL and the "
        "fields that changed."
    ),
    "removed_articles": "Articles gone from the site, with when, by which crawl and why.",
    "captures": (
        "Index of every WARC record the crawls wrote (archive/warc/): one row per record, "
        "with where it lies in which file and the digests that `unpog verify` checks."
    ),
}

_RECORD_COLUMN_DOCS: dict[str, str] = {
    "url": "Canonical URL: path and canonical query, never host or scheme",
    "fetched_url": "Absolute URL that was fetched (host and scheme as crawled)",
    "source_id": "The site's id: the 'sn' value, or the file stem of a whole-issue page",
    "section": "Site section, e.g. 'quarterly'",
    "kind": "welcome_note, article or issue_page",
    "title": "Article heading",
    "body_text": "Body text, paragraphs separated by one blank line",
    "body_html": "Sanitised HTML of the article container (provenance, not content)",
    "event_start": "Event start date (ISO), event reports only",
    "event_end": "Event end date (ISO), event reports only",
    "event_place": "Event place, event reports only",
    "authors": "JSON list of signature / author block lines, in page order",
    "footnotes": "JSON list of footnote texts",
    "images": "JSON list of absolute image URLs",
    "attachments": "JSON list of attachments as {url, name}",
    "issue": "Issue the page itself states, e.g. '2019-Q1' (NULL when it states none)",
    "page_sha256": "SHA-256 of the raw response bytes (provenance)",
    "encoding": "Charset the page was decoded with",
    "published": "Publication date (ISO) printed with the title or in a dateline; NULL if none",
    "place": "Place of a press-release dateline, as printed (e.g. 'INCHEON'); NULL if none",
    "board_id": "Raw BoardID of a Theme or Publications board (e.g. '0004'); NULL elsewhere",
    "found_by": (
        "How the crawl reached the page: list (a list page of that crawl links it), link "
        "(prev/next, re-check) or sweep"
    ),
}

_CHANGE_REASON_DOC = (
    "Why an article was found removed; where a version was re-derived, the capture it came "
    "from (and the parser change, when a crawl did it); 'parser changed from X to Y; no "
    "capture to compare' on a change found while the parser changed; NULL otherwise (on a "
    "'changed' row: the site changed)"
)

COLUMN_DOCS: dict[str, dict[str, str]] = {
    "crawls": {
        "id": "Crawl number",
        "spider": "Name of the spider that ran",
        "started_at": "UTC start time (ISO 8601)",
        "finished_at": "UTC end time (ISO 8601); NULL while running",
        "status": (
            "running, finished, failed, interrupted, or degraded (finished but broke a health "
            "rule: no removals written)"
        ),
        "complete": "1 when every list page was read (removals are only inferred then), else 0",
        "base_url": "Site root the crawl started from",
        "settings": "JSON of the settings that shaped the crawl",
        "pages": "Pages downloaded successfully",
        "articles_seen": "Article pages read as articles",
        "new": "Articles seen for the first time",
        "changed": "Articles whose content changed (a new version)",
        "unchanged": "Articles seen with the same content",
        "removed": "Articles found removed by this crawl",
        "restored": "Removed articles seen again",
        "parse_failures": "Pages fetched but not read as an article",
        "errors": "Pages that could not be fetched",
        "listed": "Distinct articles the list pages linked (NULL for crawls before 0003)",
        "health": (
            "JSON list of the health rules the crawl broke, each {rule, message}; [] when "
            "healthy, NULL for crawls before 0003"
        ),
    },
    "articles": {
        "id": "Article number",
        "url": "Canonical URL (unique): path and canonical query, never host or scheme",
        "source_id": _RECORD_COLUMN_DOCS["source_id"],
        "section": _RECORD_COLUMN_DOCS["section"],
        "kind": "Kind in the latest version: welcome_note, article or issue_page",
        "spider": "Spider whose complete crawls decide this article's removal",
        "title": "Title in the latest version",
        "first_seen": "UTC time the article was first captured",
        "last_seen": "UTC time the article was last captured",
        "current_version": "Number of the latest version",
        "status": "live, or removed (gone from the site)",
        "issue": "Quarterly issue it belongs to (derived), NULL when unknown",
        "issue_basis": "stated (the page says so) or inferred (from the Welcome Note before it)",
        "last_seen_crawl_id": "Last crawl that read the article page",
        "last_listed_crawl_id": "Last crawl that found the article on a list page",
        "board_id": _RECORD_COLUMN_DOCS["board_id"],
        "published": "Publication date (ISO) in the latest version; NULL if none",
        "place": "Dateline place in the latest version; NULL if none",
        "found_by": "How the last crawl that read it reached it: list, link or sweep",
    },
    "files": {
        "id": "Row number",
        "url": "The file's link identity: path and query on the site, else the absolute URL",
        "name": "Link text of the attachment, or the image's file name, when first seen",
        "role": "attachment or image",
        "content_type": "HTTP Content-Type of the download; NULL when not downloaded",
        "size": "Size in bytes; NULL when not downloaded",
        "sha256": "SHA-256 of the bytes; NULL when not downloaded (off, failed or too large)",
        "path": "Where the bytes are, relative to archive/files/; NULL when not downloaded",
        "first_seen": "UTC time this content was first seen at this URL",
        "first_crawl_id": "Crawl that first saw this content at this URL",
    },
    "version_files": {
        "version_id": "The version (versions.id)",
        "file_id": "A file it links (files.id)",
    },
    "versions": {
        "id": "Row number",
        "article_id": "The article",
        "version": "Version number of the article, from 1",
        "crawl_id": "Crawl that captured this version",
        "captured_at": "UTC time this version was captured",
        "content_hash": "SHA-256 of the content fields as sorted-key JSON (links by identity)",
        "changed_fields": "JSON list of the content fields that differ from the previous version",
        **_RECORD_COLUMN_DOCS,
        "capture_id": "WARC record (captures.id) this version was parsed from; NULL before 0004",
        "rederived": (
            "1 when it was re-derived from a stored capture (by `unpog reparse`, or by a "
            "crawl whose parser differs from the one that read the capture), else 0"
        ),
        "parser_version": (
            "Version of the parser that read the page into this version (parsing."
            "PARSER_VERSION); NULL before 0009 (unknown)"
        ),
    },
    "captures": {
        "id": "Row number (in write order)",
        "crawl_id": "Crawl that wrote the record",
        "record_type": "WARC-Type: warcinfo, request, response, revisit or metadata",
        "record_id": "WARC-Record-ID (unique)",
        "url": "WARC-Target-URI: the absolute URL fetched (NULL for warcinfo)",
        "canonical_url": "Canonical URL of `url` (NULL for warcinfo)",
        "page_type": "What the crawl fetched it as: list, article, robots (NULL: other)",
        "fetched_at": "WARC-Date: UTC time the request was sent (ISO 8601, microseconds)",
        "status": "HTTP status (response and revisit records)",
        "content_type": "HTTP Content-Type of the response, as sent",
        "payload_digest": "WARC-Payload-Digest (sha1, base32) of the body as received",
        "block_digest": "WARC-Block-Digest (sha1, base32) of the whole record block",
        "length": "Payload length in bytes as received (still content-encoded)",
        "warc_file": "WARC file, relative to the archive database's folder when inside it",
        "offset": "Byte offset of the record's gzip member in the WARC file",
        "record_length": "Length in bytes of the record's gzip member",
        "revisit_of": "For a revisit: the response record (captures.id) holding the payload",
        "concurrent_to": "Record (captures.id) written with it: a request's response, or an "
        "error's request",
    },
    "changes": {
        "id": "Row number",
        "crawl_id": "Crawl that found the change",
        "article_id": "The article",
        "kind": "new, changed, removed or restored",
        "from_version": "Version before the change (NULL for new)",
        "to_version": "Version after the change (NULL for removed)",
        "changed_fields": "JSON list of the content fields that changed",
        "at": "UTC time of the change",
        "reason": _CHANGE_REASON_DOC,
    },
    "http_validators": {
        "url": "Canonical URL of an article page",
        "etag": "ETag the server sent with the page's last full answer",
        "last_modified": "Last-Modified the server sent with it",
        "updated_at": "UTC time they were stored",
    },
    "list_pages": {
        "url": "Canonical URL of a list page",
        "spider": "Spider that read it",
        "etag": "ETag of the page's last full answer",
        "last_modified": "Last-Modified of that answer",
        "views": "JSON list of the canonical article URLs it listed",
        "issue_pages": "JSON list of the whole-issue pages it linked",
        "list_pages": "JSON list of the other list pages it linked (paging)",
        "crawl_id": "Crawl that stored this answer",
        "updated_at": "UTC time it was stored",
    },
    "crawl_problems": {
        "id": "Row number",
        "crawl_id": "The crawl",
        "url": "URL of the page",
        "kind": "error (not fetched) or parse_failure (fetched, not an article)",
        "reason": "What went wrong",
        "at": "UTC time",
    },
    "issues": {
        "label": "The issue as stated by its pages, e.g. '2019-Q1'",
        "basis": "stated when a page of the issue states it, else inferred",
        "welcome_note_id": "The issue's Welcome Note (articles.id)",
        "welcome_note_url": "The issue's Welcome Note URL",
        "first_source_id": "Lowest numeric source_id (sn) in the issue",
        "articles": "Number of articles in the issue",
        "stated_articles": "Articles that state the issue themselves",
        "inferred_articles": "Articles placed in the issue by their sn order",
        "live_articles": "Articles of the issue still live",
    },
    "latest_versions": {
        "article_id": "The article (articles.id)",
        "url": "Canonical URL of the article",
        "status": "live or removed",
        "version": "Version number of this version",
        "version_id": "The version row (versions.id; also its versions_fts and latest_fts rowid)",
        "crawl_id": "Crawl that captured this version",
        "captured_at": "UTC time this version was captured",
        "changed_fields": "JSON list of the content fields that differ from the previous version",
        "content_hash": "SHA-256 of the content fields",
        "source_id": _RECORD_COLUMN_DOCS["source_id"],
        "section": _RECORD_COLUMN_DOCS["section"],
        "kind": _RECORD_COLUMN_DOCS["kind"],
        "title": _RECORD_COLUMN_DOCS["title"],
        "issue": "Quarterly issue it belongs to (derived), NULL when unknown",
        "issue_basis": "stated (the page says so) or inferred (from the Welcome Note before it)",
        "stated_issue": "Issue the page itself states, NULL when it states none",
        "event_start": _RECORD_COLUMN_DOCS["event_start"],
        "event_end": _RECORD_COLUMN_DOCS["event_end"],
        "event_place": _RECORD_COLUMN_DOCS["event_place"],
        "authors": _RECORD_COLUMN_DOCS["authors"],
        "footnotes": _RECORD_COLUMN_DOCS["footnotes"],
        "images": _RECORD_COLUMN_DOCS["images"],
        "attachments": _RECORD_COLUMN_DOCS["attachments"],
        "body_text": _RECORD_COLUMN_DOCS["body_text"],
        "fetched_url": _RECORD_COLUMN_DOCS["fetched_url"],
        "page_sha256": _RECORD_COLUMN_DOCS["page_sha256"],
        "encoding": _RECORD_COLUMN_DOCS["encoding"],
        "first_seen": "UTC time the article was first captured",
        "last_seen": "UTC time the article was last captured",
    },
    "change_log": {
        "id": "The change (changes.id)",
        "crawl_id": "Crawl that found the change",
        "crawl_started_at": "UTC start time of that crawl",
        "at": "UTC time of the change",
        "kind": "new, changed, removed or restored",
        "article_id": "The article",
        "title": "Article title in the version the change produced (or the last one)",
        "url": "Canonical URL of the article",
        "section": _RECORD_COLUMN_DOCS["section"],
        "from_version": "Version before the change (NULL for new)",
        "to_version": "Version after the change (NULL for removed)",
        "changed_fields": "JSON list of the content fields that changed",
        "reason": _CHANGE_REASON_DOC,
    },
    "removed_articles": {
        "article_id": "The article",
        "url": "Canonical URL of the article",
        "source_id": _RECORD_COLUMN_DOCS["source_id"],
        "section": _RECORD_COLUMN_DOCS["section"],
        "kind": "Kind in the last version",
        "title": "Title in the last version",
        "issue": "Quarterly issue it belonged to (derived), NULL when unknown",
        "first_seen": "UTC time the article was first captured",
        "last_seen": "UTC time the article was last captured",
        "last_version": "Number of its last version",
        "removed_by_crawl_id": "Crawl that found it removed",
        "removed_at": "UTC time it was found removed",
        "reason": "Why it was found removed",
    },
}


# --- Migrations ----------------------------------------------------------------------------------

migrations = Migrations(MIGRATION_SET)

_RECORD_COLUMNS_SQL = """
    url TEXT NOT NULL,
    fetched_url TEXT NOT NULL,
    source_id TEXT NOT NULL,
    section TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    event_start TEXT,
    event_end TEXT,
    event_place TEXT,
    authors TEXT NOT NULL DEFAULT '[]',
    footnotes TEXT NOT NULL DEFAULT '[]',
    images TEXT NOT NULL DEFAULT '[]',
    attachments TEXT NOT NULL DEFAULT '[]',
    issue TEXT,
    page_sha256 TEXT NOT NULL,
    encoding TEXT NOT NULL"""


@migrations(name="0001_initial")
def _m0001_initial(db: sqlite_utils.Database) -> None:
    statements = [
        """CREATE TABLE crawls (
            id INTEGER PRIMARY KEY,
            spider TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
            complete INTEGER NOT NULL DEFAULT 0 CHECK (complete IN (0, 1)),
            base_url TEXT NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            pages INTEGER NOT NULL DEFAULT 0,
            articles_seen INTEGER NOT NULL DEFAULT 0,
            new INTEGER NOT NULL DEFAULT 0,
            changed INTEGER NOT NULL DEFAULT 0,
            unchanged INTEGER NOT NULL DEFAULT 0,
            removed INTEGER NOT NULL DEFAULT 0,
            restored INTEGER NOT NULL DEFAULT 0,
            parse_failures INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            source_id TEXT NOT NULL,
            section TEXT NOT NULL,
            kind TEXT NOT NULL,
            spider TEXT NOT NULL,
            title TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            current_version INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'live' CHECK (status IN ('live', 'removed')),
            issue TEXT,
            issue_basis TEXT CHECK (issue_basis IN ('stated', 'inferred')),
            last_seen_crawl_id INTEGER REFERENCES crawls(id),
            last_listed_crawl_id INTEGER REFERENCES crawls(id)
        )""",
        f"""CREATE TABLE versions (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            version INTEGER NOT NULL CHECK (version >= 1),
            crawl_id INTEGER NOT NULL REFERENCES crawls(id),
            captured_at TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            changed_fields TEXT NOT NULL DEFAULT '[]',{_RECORD_COLUMNS_SQL}
        )""",
        """CREATE TABLE changes (
            id INTEGER PRIMARY KEY,
            crawl_id INTEGER NOT NULL REFERENCES crawls(id),
            article_id INTEGER NOT NULL REFERENCES articles(id),
            kind TEXT NOT NULL CHECK (kind IN ('new', 'changed', 'removed', 'restored')),
            from_version INTEGER,
            to_version INTEGER,
            changed_fields TEXT NOT NULL DEFAULT '[]',
            at TEXT NOT NULL,
            reason TEXT
        )""",
        """CREATE TABLE crawl_problems (
            id INTEGER PRIMARY KEY,
            crawl_id INTEGER NOT NULL REFERENCES crawls(id),
            url TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('error', 'parse_failure')),
            reason TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
        "CREATE INDEX idx_articles_status_section ON articles(status, section)",
        "CREATE INDEX idx_articles_spider_status ON articles(spider, status)",
        "CREATE UNIQUE INDEX idx_versions_article_version ON versions(article_id, version)",
        "CREATE INDEX idx_versions_captured_at ON versions(captured_at)",
        "CREATE INDEX idx_versions_crawl_id ON versions(crawl_id)",
        "CREATE INDEX idx_changes_crawl_id ON changes(crawl_id)",
        "CREATE INDEX idx_changes_article_id ON changes(article_id)",
        "CREATE INDEX idx_crawl_problems_crawl_id ON crawl_problems(crawl_id)",
        """CREATE VIEW issues AS
        SELECT
            a.issue AS label,
            CASE WHEN SUM(a.issue_basis = 'stated') > 0 THEN 'stated' ELSE 'inferred' END
                AS basis,
            (SELECT w.id FROM articles w
              WHERE w.section = 'quarterly' AND w.kind = 'welcome_note' AND w.issue = a.issue
              ORDER BY CAST(w.source_id AS INTEGER) LIMIT 1) AS welcome_note_id,
            (SELECT w.url FROM articles w
              WHERE w.section = 'quarterly' AND w.kind = 'welcome_note' AND w.issue = a.issue
              ORDER BY CAST(w.source_id AS INTEGER) LIMIT 1) AS welcome_note_url,
            MIN(CASE WHEN a.source_id GLOB '[0-9]*' AND a.source_id NOT GLOB '*[^0-9]*'
                     THEN CAST(a.source_id AS INTEGER) END) AS first_source_id,
            COUNT(*) AS articles,
            SUM(a.issue_basis = 'stated') AS stated_articles,
            SUM(a.issue_basis = 'inferred') AS inferred_articles,
            SUM(a.status = 'live') AS live_articles
        FROM articles a
        WHERE a.section = 'quarterly' AND a.issue IS NOT NULL
        GROUP BY a.issue
        ORDER BY first_source_id, label""",
    ]
    for statement in statements:
        db.execute(statement)
    db.table("versions").enable_fts(["title", "body_text"], create_triggers=True)


# Columns of a version as researchers read it: the article's identity and status, then the
# version's fields. Shared by latest_versions, as-of and export so that they line up.
_VERSION_VIEW_COLUMNS = """
            v.version,
            v.id AS version_id,
            v.crawl_id,
            v.captured_at,
            v.changed_fields,
            v.content_hash,
            v.source_id,
            v.section,
            v.kind,
            v.title,
            a.issue,
            a.issue_basis,
            v.issue AS stated_issue,
            v.event_start,
            v.event_end,
            v.event_place,
            v.authors,
            v.footnotes,
            v.images,
            v.attachments,
            v.body_text,
            v.fetched_url,
            v.page_sha256,
            v.encoding"""


@migrations(name="0002_research_views")
def _m0002_research_views(db: sqlite_utils.Database) -> None:
    statements = [
        # As-of: the newest version of one article captured on or before a moment.
        "CREATE INDEX idx_versions_article_captured ON versions(article_id, captured_at)",
        # Changes since a date, and an article's status at a moment (its last change then).
        "CREATE INDEX idx_changes_at ON changes(at)",
        "CREATE INDEX idx_changes_article_at ON changes(article_id, at)",
        "CREATE INDEX idx_changes_kind_at ON changes(kind, at)",
        # Crawl health over time.
        "CREATE INDEX idx_crawls_started_at ON crawls(started_at)",
        "CREATE INDEX idx_articles_issue ON articles(issue)",
        f"""CREATE VIEW latest_versions AS
        SELECT a.id AS article_id, a.url, a.status, {_VERSION_VIEW_COLUMNS},
            a.first_seen,
            a.last_seen
        FROM articles a
        JOIN versions v ON v.article_id = a.id AND v.version = a.current_version
        WHERE a.status = 'live'""",
        """CREATE VIEW change_log AS
        SELECT
            c.id,
            c.crawl_id,
            cr.started_at AS crawl_started_at,
            c.at,
            c.kind,
            c.article_id,
            COALESCE(v.title, a.title) AS title,
            a.url,
            a.section,
            c.from_version,
            c.to_version,
            c.changed_fields,
            c.reason
        FROM changes c
        JOIN articles a ON a.id = c.article_id
        JOIN crawls cr ON cr.id = c.crawl_id
        LEFT JOIN versions v
            ON v.article_id = c.article_id AND v.version = COALESCE(c.to_version, c.from_version)
        """,
        """CREATE VIEW removed_articles AS
        SELECT
            a.id AS article_id,
            a.url,
            a.source_id,
            a.section,
            a.kind,
            a.title,
            a.issue,
            a.first_seen,
            a.last_seen,
            a.current_version AS last_version,
            c.crawl_id AS removed_by_crawl_id,
            c.at AS removed_at,
            c.reason
        FROM articles a
        JOIN changes c ON c.id = (
            SELECT MAX(r.id) FROM changes r WHERE r.article_id = a.id AND r.kind = 'removed'
        )
        WHERE a.status = 'removed'""",
    ]
    for statement in statements:
        db.execute(statement)


_STATUS_CHECK_0001 = "CHECK (status IN ('running', 'finished', 'failed', 'interrupted'))"
_STATUS_CHECK_0003 = (
    "CHECK (status IN ('running', 'finished', 'failed', 'interrupted', 'degraded'))"
)


@migrations(name="0003_crawl_health")
def _m0003_crawl_health(db: sqlite_utils.Database) -> None:
    """Allow status 'degraded'; add crawls.listed and crawls.health.

    SQLite cannot ALTER a CHECK, and the usual table rebuild (what sqlite-utils' transform()
    does) cannot work here: migrations run inside one transaction with foreign_keys ON, and
    dropping the old `crawls` trips the foreign keys of versions, changes and crawl_problems.
    A CHECK that only accepts one more value changes nothing on disk, so this uses SQLite's
    documented procedure for such changes (https://sqlite.org/lang_altertable.html#otheralter):
    rewrite the table's SQL in sqlite_master and bump schema_version, in the same transaction.
    """
    schema_version = db.execute("PRAGMA schema_version").fetchone()[0]
    db.execute("PRAGMA writable_schema = ON")
    try:
        cursor = db.execute(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) "
            "WHERE type = 'table' AND name = 'crawls' AND instr(sql, ?) > 0",
            [_STATUS_CHECK_0001, _STATUS_CHECK_0003, _STATUS_CHECK_0001],
        )
        if cursor.rowcount != 1:
            raise ArchiveError("crawls.status CHECK is not the one 0001 wrote: cannot migrate")
        db.execute(f"PRAGMA schema_version = {int(schema_version) + 1}")
    finally:
        db.execute("PRAGMA writable_schema = OFF")
    db.execute("ALTER TABLE crawls ADD COLUMN listed INTEGER")
    db.execute("ALTER TABLE crawls ADD COLUMN health TEXT")
    # The previous complete crawl of a spider, for the listed-drop rule.
    db.execute("CREATE INDEX idx_crawls_spider_status ON crawls(spider, status, complete)")


@migrations(name="0004_captures")
def _m0004_captures(db: sqlite_utils.Database) -> None:
    """The WARC capture index, and the link from each version to the capture it came from."""
    statements = [
        """CREATE TABLE captures (
            id INTEGER PRIMARY KEY,
            crawl_id INTEGER NOT NULL REFERENCES crawls(id),
            record_type TEXT NOT NULL
                CHECK (record_type IN ('warcinfo', 'request', 'response', 'revisit', 'metadata')),
            record_id TEXT NOT NULL UNIQUE,
            url TEXT,
            canonical_url TEXT,
            page_type TEXT,
            fetched_at TEXT NOT NULL,
            status INTEGER,
            content_type TEXT,
            payload_digest TEXT,
            block_digest TEXT,
            length INTEGER,
            warc_file TEXT NOT NULL,
            offset INTEGER NOT NULL CHECK (offset >= 0),
            record_length INTEGER NOT NULL CHECK (record_length > 0),
            revisit_of INTEGER REFERENCES captures(id),
            concurrent_to INTEGER REFERENCES captures(id)
        )""",
        # Revisit detection: an earlier response of the same URL with the same payload.
        "CREATE INDEX idx_captures_url_digest ON captures(url, payload_digest)",
        # Linking a version to its capture; reparse by crawl.
        "CREATE INDEX idx_captures_crawl_canonical ON captures(crawl_id, canonical_url)",
        "CREATE INDEX idx_captures_canonical ON captures(canonical_url)",
        "CREATE INDEX idx_captures_warc_file ON captures(warc_file, offset)",
        "ALTER TABLE versions ADD COLUMN capture_id INTEGER REFERENCES captures(id)",
        "ALTER TABLE versions ADD COLUMN rederived INTEGER NOT NULL DEFAULT 0 "
        "CHECK (rederived IN (0, 1))",
        "CREATE INDEX idx_versions_capture_id ON versions(capture_id)",
    ]
    for statement in statements:
        db.execute(statement)


@migrations(name="0005_boards")
def _m0005_boards(db: sqlite_utils.Database) -> None:
    """Theme, Youth and Publications boards: their fields, and the files articles link."""
    statements = [
        *(
            f"ALTER TABLE {table} ADD COLUMN {column} TEXT"
            for table in ("versions", "articles")
            for column in ("published", "place", "board_id", "found_by")
        ),
        """CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL,
            name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('attachment', 'image')),
            content_type TEXT,
            size INTEGER,
            sha256 TEXT,
            path TEXT,
            first_seen TEXT NOT NULL,
            first_crawl_id INTEGER REFERENCES crawls(id),
            UNIQUE (url, sha256)
        )""",
        """CREATE TABLE version_files (
            version_id INTEGER NOT NULL REFERENCES versions(id),
            file_id INTEGER NOT NULL REFERENCES files(id),
            PRIMARY KEY (version_id, file_id)
        )""",
        "CREATE INDEX idx_version_files_file ON version_files(file_id)",
        "CREATE INDEX idx_files_sha256 ON files(sha256)",
        "CREATE INDEX idx_articles_section ON articles(section, published)",
    ]
    for statement in statements:
        db.execute(statement)


@migrations(name="0006_http_validators")
def _m0006_http_validators(db: sqlite_utils.Database) -> None:
    """ETag / Last-Modified of each article page, for conditional re-crawls."""
    db.execute(
        """CREATE TABLE http_validators (
            url TEXT PRIMARY KEY,
            etag TEXT,
            last_modified TEXT,
            updated_at TEXT NOT NULL
        )"""
    )


@migrations(name="0007_list_pages")
def _m0007_list_pages(db: sqlite_utils.Database) -> None:
    """The links of each list page with its validators: a 304 replays them, so that a
    conditional re-crawl still knows every listed article (removal detection needs it)."""
    db.execute(
        """CREATE TABLE list_pages (
            url TEXT PRIMARY KEY,
            spider TEXT NOT NULL,
            etag TEXT,
            last_modified TEXT,
            views TEXT NOT NULL DEFAULT '[]',
            issue_pages TEXT NOT NULL DEFAULT '[]',
            list_pages TEXT NOT NULL DEFAULT '[]',
            crawl_id INTEGER NOT NULL REFERENCES crawls(id),
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX idx_list_pages_spider ON list_pages(spider)")


# The latest version of every article (live or removed) in a full-text index of its own:
# ranking a common word over versions_fts reads the postings of every version ever captured.
# External content (the text stays in versions). content='versions' is single-quoted on
# purpose: sqlite-utils' and Datasette's detect_fts look for content="versions" or
# content=[versions], and must keep finding versions_fts for the versions table.
_LATEST_FTS_SQL = [
    "CREATE VIRTUAL TABLE latest_fts USING fts5("
    "title, body_text, content='versions', content_rowid='id')",
    # A new article's row is written before its version 1, so that version indexes itself.
    """CREATE TRIGGER latest_fts_version_ai AFTER INSERT ON versions
    WHEN new.version = (SELECT current_version FROM articles WHERE id = new.article_id)
    BEGIN
        INSERT INTO latest_fts (rowid, title, body_text)
        VALUES (new.id, new.title, new.body_text);
    END""",
    """CREATE TRIGGER latest_fts_article_ai AFTER INSERT ON articles BEGIN
        INSERT INTO latest_fts (rowid, title, body_text)
        SELECT id, title, body_text FROM versions
        WHERE article_id = new.id AND version = new.current_version;
    END""",
    # Every path that moves current_version (a crawl, reparse, a file's new bytes) goes
    # through here. 'delete' needs the old row's exact values: versions are never updated.
    """CREATE TRIGGER latest_fts_article_au AFTER UPDATE OF current_version ON articles
    WHEN old.current_version IS NOT new.current_version
    BEGIN
        INSERT INTO latest_fts (latest_fts, rowid, title, body_text)
        SELECT 'delete', id, title, body_text FROM versions
        WHERE article_id = old.id AND version = old.current_version;
        INSERT INTO latest_fts (rowid, title, body_text)
        SELECT id, title, body_text FROM versions
        WHERE article_id = new.id AND version = new.current_version;
    END""",
]


@migrations(name="0008_latest_fts")
def _m0008_latest_fts(db: sqlite_utils.Database) -> None:
    """latest_fts: full-text search of the latest versions, kept by triggers on articles."""
    for statement in _LATEST_FTS_SQL:
        db.execute(statement)
    db.execute(
        "INSERT INTO latest_fts (rowid, title, body_text) "
        "SELECT v.id, v.title, v.body_text FROM articles a "
        "JOIN versions v ON v.article_id = a.id AND v.version = a.current_version ORDER BY v.id"
    )


@migrations(name="0009_parser_version")
def _m0009_parser_version(db: sqlite_utils.Database) -> None:
    """The parser that read each version: a parser change is then never taken for a change
    of the site. Versions written before: NULL (unknown)."""
    db.execute("ALTER TABLE versions ADD COLUMN parser_version TEXT")


KNOWN_MIGRATIONS = tuple(m.name for m in migrations._migrations)


# --- Content identity ------------------------------------------------------------------------


def utc_now() -> str:
    """The current UTC time as ISO 8601 to the second, e.g. '2024-05-01T09:30:00+00:00'."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _content(values: Mapping[str, Any], base: str) -> dict[str, Any]:
    """The CONTENT_FIELDS of a record or of a stored version, as comparable plain data.

    `values` holds either an ArticleRecord's fields or a version row (JSON lists decoded).
    """
    content: dict[str, Any] = {}
    for name in CONTENT_FIELDS:
        value = values.get(name)
        if name == "images":
            value = [link_identity(url, base) for url in value or ()]
        elif name == "attachments":
            value = [
                {"url": link_identity(a["url"], base), "name": a["name"]}
                for a in (_attachment_dict(a) for a in value or ())
            ]
        elif isinstance(value, (list, tuple)):
            value = list(value)
        content[name] = value
    return content


def _record_fields(record: ArticleRecord) -> dict[str, Any]:
    """The record's content fields, as they are (asdict would deep-copy every field)."""
    return {name: getattr(record, name) for name in CONTENT_FIELDS}


def _attachment_dict(attachment: Any) -> dict[str, str]:
    if isinstance(attachment, Mapping):
        return {"url": attachment["url"], "name": attachment["name"]}
    return {"url": attachment.url, "name": attachment.name}


def _hash_content(content: Mapping[str, Any]) -> str:
    payload = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def content_hash(record: ArticleRecord) -> str:
    """SHA-256 of the record's CONTENT_FIELDS as sorted-key JSON, links by site identity."""
    return _hash_content(_content(_record_fields(record), record.fetched_url))


def _version_values(record: ArticleRecord) -> dict[str, Any]:
    """The record's fields as version-row column values (lists as JSON)."""
    values = {}
    for name in VERSION_RECORD_FIELDS:
        value = getattr(record, name)
        if name == "attachments":
            value = [_attachment_dict(a) for a in value]
        if name in JSON_LIST_FIELDS:
            value = json.dumps(list(value), ensure_ascii=False)
        values[name] = value
    return values


def _changed_fields(
    content: Mapping[str, Any], hash_: str, version: Mapping[str, Any]
) -> list[str]:
    """The content fields in which `content` (hashed as `hash_`) differs from a version row."""
    if hash_ == version["content_hash"]:
        return []
    old_content = _row_content(version)
    return [name for name in CONTENT_FIELDS if content[name] != old_content[name]]


def _row_content(row: Mapping[str, Any]) -> dict[str, Any]:
    decoded = dict(row)
    for name in JSON_LIST_FIELDS:
        decoded[name] = json.loads(row[name])
    return _content(decoded, row["fetched_url"])


def _numeric_id(source_id: str) -> int | None:
    return int(source_id) if source_id.isascii() and source_id.isdigit() else None


def fts_phrase_query(text: str) -> str:
    """A search box query as FTS5 syntax: each word a quoted term, all of them required.

    Researchers type words like "e-government" or "2030:" that FTS5 would read as operators.
    """
    terms = [term.replace('"', '""') for term in text.split()]
    return " ".join(f'"{term}"' for term in terms if term)


def beyond_sqlite_integer(digits: str) -> bool:
    """Whether a string of digits is a number above SQLite's largest integer (lengths are
    compared first: int() refuses over 4,300 digits)."""
    significant = digits.lstrip("0")
    return len(significant) > 19 or int(significant or 0) > SQLITE_MAX_INTEGER


def search_query_problem(query: str, *, raw: bool) -> str | None:
    """Why a search query is refused (too much work for FTS5), or None when it is fine.
    Only raw FTS5 has prefixes; every * counts (one inside quotes is none: erring safe)."""
    if len(query) > MAX_SEARCH_CHARS:
        return f"the search query has {len(query)} characters: at most {MAX_SEARCH_CHARS}"
    if raw and query.count("*") > MAX_PREFIX_TERMS:
        return f"the search query has {query.count('*')} prefix* terms: at most {MAX_PREFIX_TERMS}"
    return None


def _decode_lists(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row with its JSON list columns (authors, footnotes, ..., changed_fields) decoded."""
    decoded = dict(row)
    for name in (*JSON_LIST_FIELDS, "changed_fields"):
        if isinstance(decoded.get(name), str):
            decoded[name] = json.loads(decoded[name])
    return decoded


def _article_ref_url(ref: str) -> str:
    """The canonical URL of an article reference given as a URL in any form."""
    head = ref.split("/", 1)[0]
    if "://" not in ref and not ref.startswith("/") and "/" in ref and "." in head:
        ref = f"https://{ref}"  # "unpog.org/page/..." typed without a scheme
    return canonical_url(ref)


# --- Captures (0004) ----------------------------------------------------------------------

# Columns of the captures table that a writer fills (all but id), in table order.
CAPTURE_COLUMNS = (
    "crawl_id",
    "record_type",
    "record_id",
    "url",
    "canonical_url",
    "page_type",
    "fetched_at",
    "status",
    "content_type",
    "payload_digest",
    "block_digest",
    "length",
    "warc_file",
    "offset",
    "record_length",
    "revisit_of",
    "concurrent_to",
)


def _writable(path: Path) -> bool:
    """Whether a file and its folder may be written (SQLite's WAL mode needs both)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def capture_time(warc_date: str) -> str:
    """A WARC-Date ('2024-05-01T09:30:00.123456Z') in the archive's time format, to the second
    ('2024-05-01T09:30:00+00:00'), so that re-derived versions sort with crawled ones."""
    moment = datetime.fromisoformat(warc_date.replace("Z", "+00:00"))
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


# --- Writing while another process holds the lock ------------------------------------------

SQLITE_BUSY = 5  # sqlite3.SQLITE_BUSY from Python 3.11 on


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """Another connection holds the write lock (SQLITE_BUSY and its extended codes)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == SQLITE_BUSY
    return "database is locked" in str(error)


def _waits_when_busy(method: Callable[..., Any]) -> Callable[..., Any]:
    """Try a write again while another process holds the write lock, up to the busy timeout;
    then raise ArchiveBusy, so that the caller knows the write was not made.

    SQLite itself waits inside a statement (busy_timeout). A batch whose read snapshot was
    made stale by another process's commit fails at once instead, with no wait: its
    snapshot is dropped and the write tried again. Only the outermost unit of work retries:
    a nested call is part of it and rolled back with it."""

    @functools.wraps(method)
    def write(self: Archive, *args: Any, **kwargs: Any) -> Any:
        if self._unit_depth:
            return method(self, *args, **kwargs)
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
                if time.monotonic() >= deadline:
                    raise ArchiveBusy(
                        f"{self.path} stayed locked by another process for more than "
                        f"{self.busy_timeout:g} s ({error}): not written"
                    ) from None
                self._drop_snapshot()
                time.sleep(BUSY_RETRY_PAUSE)

    return write


@dataclasses.dataclass(frozen=True)
class CurrentParser:
    """What the archive knows of the parser that produced the records it is given.

    `version` is recorded on every version written (parsing.PARSER_VERSION). `reread` reads
    a stored capture (captures.id) again with that parser and judges it as a crawl judges a
    page: the record, or a one-line reason why there is none. Passed in so that the archive
    needs neither the parser nor the WARC reader."""

    version: str
    reread: Callable[[int], ArticleRecord | str] | None = None


# --- The archive -----------------------------------------------------------------------------


class Archive:
    """An open archive file. Writes of one crawl must happen inside ``with archive.lock():``.

    `busy_timeout`: seconds a write waits while another process holds SQLite's write lock
    (a `sqlite3` session, a VACUUM) before it fails with ArchiveBusy.

    ``read_only`` opens an existing archive without ever writing to it (SQLite ``mode=ro``):
    a file or a folder the reader may not write is fine; an archive whose schema is older
    than this version raises OutdatedSchema (`open_read_only` upgrades it when it can).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        busy_timeout: float = BUSY_TIMEOUT,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout = float(busy_timeout)
        # The parser whose records this archive is given (set by the crawl and reparse).
        self.parser: CurrentParser | None = None
        self._lock_fd: int | None = None
        self._unit_depth = 0
        self._check_file(create and not read_only, read_only=read_only)
        if read_only:
            self._open_read_only()
            return
        try:
            self.db = sqlite_utils.Database(self.path)
        except sqlite3.Error as error:
            raise ArchiveUnavailable(f"{self.path}: cannot open ({error})") from None
        try:
            self._configure()
            self._migrate()
        except BaseException:
            self.db.close()
            raise

    # Opening ------------------------------------------------------------------------------

    @classmethod
    def open_read_only(cls, path: str | Path) -> Archive:
        """The archive for reading only. An archive from an older version is upgraded first
        when its file can be written (as any open did before), else refused in one line."""
        try:
            return cls(path, create=False, read_only=True)
        except OutdatedSchema as outdated:
            if not _writable(Path(path)):
                raise ArchiveUnavailable(
                    f"{outdated} and is read-only here: run `unpog stats` on a writable copy "
                    "(that upgrades the copy), or read it with the version that wrote it"
                ) from None
        cls(path, create=False).close()  # applies the pending migrations
        return cls(path, create=False, read_only=True)

    def _check_file(self, create: bool, *, read_only: bool = False) -> None:
        """Refuse, without writing anything, a path that is not (or cannot become) an archive."""
        path = self.path
        directory = path.parent
        if not directory.is_dir():
            if directory.exists():
                raise ArchiveUnavailable(f"{directory} is not a directory: choose another path")
            if not create:
                raise ArchiveUnavailable(
                    f"directory {directory} does not exist: check the archive path"
                )
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ArchiveUnavailable(
                    f"cannot create directory {directory} ({error.strerror}): choose another path"
                ) from None
        if not path.exists():
            if not create:
                raise ArchiveUnavailable(f"no archive at {path}: check the path or run a crawl")
            if not os.access(directory, os.W_OK):
                raise ArchiveUnavailable(f"directory {directory} is not writable: fix permissions")
            return
        if not path.is_file():
            raise ArchiveUnavailable(f"{path} is not a file: choose another path")
        try:
            with path.open("rb") as handle:
                header = handle.read(len(SQLITE_HEADER))
        except OSError as error:
            raise ArchiveUnavailable(f"cannot read {path} ({error.strerror})") from None
        if header and header != SQLITE_HEADER:
            raise NotAnArchive(f"{path} is not a SQLite file: choose another archive path")
        if not read_only and not _writable(self.path):
            raise ArchiveUnavailable(
                f"{path} or its directory is not writable: fix permissions (WAL needs both)"
            )
        if header:
            self._check_existing_schema()

    def _check_existing_schema(self) -> None:
        """Read-only look at an existing SQLite file: ours, and not from a newer version?"""
        conn = self._connect_read_only()
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            applied: list[str] = []
            if Migrations.migrations_table in names:
                applied = [
                    row[0]
                    for row in conn.execute(
                        f"SELECT name FROM {Migrations.migrations_table} "
                        "WHERE migration_set = ? ORDER BY rowid",
                        [MIGRATION_SET],
                    )
                ]
        except sqlite3.DatabaseError as error:
            raise ArchiveUnavailable(
                f"{self.path} is corrupt ({error}): restore it from a backup"
            ) from None
        finally:
            conn.close()
        if names and not applied:
            raise NotAnArchive(
                f"{self.path} is a SQLite database but not an unpog-crawler archive: "
                "choose another archive path"
            )
        unknown = [name for name in applied if name not in KNOWN_MIGRATIONS]
        if unknown:
            raise NewerSchema(
                f"{self.path} has schema migrations this version does not know "
                f"({', '.join(unknown)}): upgrade unpog-crawler"
            )

    def _connect_read_only(self) -> sqlite3.Connection:
        """A connection that cannot write (SQLite mode=ro).

        A WAL archive read so needs its -shm file, or a folder where SQLite may create one.
        Where the reader may not write, an archive without -wal and -shm files (no writer has
        it open) is opened immutable instead: SQLite would fail in a read-only folder, or leave
        -wal and -shm files as read-only as the archive, which would block its next writer.
        """
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        wal, shm = Path(f"{self.path}-wal"), Path(f"{self.path}-shm")
        if not _writable(self.path) and not (wal.exists() or shm.exists()):
            return self._checked(f"{uri}&immutable=1")
        try:
            return self._checked(uri)
        except sqlite3.OperationalError as error:
            if os.access(self.path.parent, os.W_OK):
                raise ArchiveUnavailable(f"{self.path}: cannot open ({error})") from None
        # A read-only folder with a -wal file but no -shm: SQLite cannot read that log.
        if wal.exists() and wal.stat().st_size:
            raise ArchiveUnavailable(
                f"{self.path}: its write-ahead log {wal.name} holds changes that cannot be read "
                "in a read-only folder without a -shm file: copy the archive and its -wal to a "
                "writable folder"
            )
        return self._checked(f"{uri}&immutable=1")

    def _checked(self, uri: str) -> sqlite3.Connection:
        """A connection to `uri` that has read the schema; OperationalError when SQLite cannot
        read the file that way, ArchiveUnavailable when it is not a database at all."""
        try:
            conn = sqlite3.connect(uri, uri=True)
        except sqlite3.Error as error:
            raise ArchiveUnavailable(f"{self.path}: cannot open ({error})") from None
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            conn.close()
            raise
        except sqlite3.DatabaseError as error:
            conn.close()
            raise ArchiveUnavailable(
                f"{self.path} is corrupt ({error}): restore it from a backup"
            ) from None
        return conn

    def _open_read_only(self) -> None:
        self.db = sqlite_utils.Database(self._connect_read_only())
        try:
            self.db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            pending = migrations.pending(self.db)
        except sqlite3.DatabaseError as error:
            self.db.close()
            raise ArchiveUnavailable(f"{self.path}: cannot read it ({error})") from None
        if len(pending) == len(KNOWN_MIGRATIONS):
            self.db.close()
            raise ArchiveUnavailable(f"{self.path} is empty: check the path or run a crawl")
        if pending:
            self.db.close()
            names = ", ".join(migration.name for migration in pending)
            raise OutdatedSchema(f"{self.path} lacks this version's schema migrations ({names})")

    def _configure(self) -> None:
        try:
            self.db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            # In WAL mode NORMAL never corrupts the file; a power cut may lose the last
            # commits (the next crawl fetches them again), and each commit skips an fsync.
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as error:
            raise ArchiveUnavailable(f"{self.path}: cannot use it ({error})") from None
        if str(mode).lower() != "wal":
            raise ArchiveUnavailable(
                f"{self.path}: SQLite refused WAL mode (journal_mode={mode}): "
                "put the archive on a local filesystem"
            )

    def _migrate(self) -> None:
        try:
            if not migrations.pending(self.db):
                return
            # One writer at a time: a second process opening the file waits, then finds
            # nothing pending. Each migration is a savepoint with its record inside.
            self.db.execute("BEGIN IMMEDIATE")
            try:
                migrations.apply(self.db)
            except BaseException:
                self.db.rollback()
                raise
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as error:
            raise ArchiveUnavailable(f"{self.path}: cannot update its schema ({error})") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def lock_path(self) -> Path:
        """`<archive>.lock` beside the file itself, found through its resolved path: a
        symlink, a relative path or another spelling of it finds the same lock file."""
        return Path(f"{os.path.realpath(self.path)}.lock")

    @contextlib.contextmanager
    def lock(self) -> Iterator[Archive]:
        """Hold the exclusive crawl-writer lock; raise ArchiveLocked at once if it is held.

        An advisory flock on ``<archive>.lock``: the kernel releases it when the holder exits,
        however it dies, so a stale lock file never blocks a crawl.
        """
        lock_path = self.lock_path
        fd = self._locked_file(lock_path)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
            self._lock_fd = fd
            try:
                yield self
            finally:
                self._lock_fd = None
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _locked_file(self, lock_path: Path) -> int:
        """The lock file, opened and flocked; ArchiveLocked when another process holds it.

        The lock is the file's device and inode, checked after taking it: a lock file
        deleted and created again meanwhile (a clean-up script) would be a second lock."""
        while True:
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise ArchiveUnavailable(
                    f"cannot open lock file {lock_path} ({error.strerror}): fix permissions"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                os.close(fd)
                by = f" by process {holder}" if holder.isdigit() else ""
                raise ArchiveLocked(
                    f"{lock_path} is held{by}: a crawl is running into {self.path}; "
                    "wait for it to finish"
                ) from None
            locked = os.fstat(fd)
            try:
                named = os.stat(lock_path)
            except FileNotFoundError:
                named = None
            if named and (named.st_dev, named.st_ino) == (locked.st_dev, locked.st_ino):
                return fd
            os.close(fd)  # replaced after we opened it: lock the file that is there now

    # Crawls -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One unit of work (an article's answer, a page's captures): all or nothing.

        Its own transaction, or a savepoint inside a batch (`batch_commits`). A block
        inside a unit joins it: a savepoint per nested call cost more than the writes of
        an article, and the unit commits or rolls back all of them anyway."""
        if self._unit_depth:
            self._unit_depth += 1
            try:
                yield
            finally:
                self._unit_depth -= 1
            return
        self._unit_depth = 1
        try:
            with self.db.atomic():
                yield
        finally:
            self._unit_depth = 0

    def _drop_snapshot(self) -> None:
        """End the batch's read transaction, so that the next try sees the current state.
        A batch that met a busy lock holds no write (the lock would be its own)."""
        if self._unit_depth or not self.db.conn.in_transaction:
            return
        with contextlib.suppress(sqlite3.OperationalError):  # busy: the next try says so
            self.db.execute("COMMIT")
            self.db.execute("BEGIN")

    def begin_batch(self) -> None:
        """Hold commits until `commit_batch`: each unit of work still lands whole (its own
        savepoint), but one COMMIT covers many. A crash loses the units since the last
        commit, never part of one (the next crawl fetches those pages again)."""
        if not self.db.conn.in_transaction:
            self.db.execute("BEGIN")

    @_waits_when_busy
    def commit_batch(self, *, reopen: bool = True) -> None:
        """Commit what the batch holds; `reopen` starts the next batch at once. A commit
        that fails (a full disk) loses the batch's units, all of them: they are rolled back
        and the error raised, for the crawl to count them as not archived."""
        if self.db.conn.in_transaction:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error as error:
                if isinstance(error, sqlite3.OperationalError) and _is_busy(error):
                    raise  # still ours to commit: tried again
                if self.db.conn.in_transaction:
                    self.db.execute("ROLLBACK")
                if reopen:
                    self.db.execute("BEGIN")
                raise
        if reopen:
            self.db.execute("BEGIN")

    @_waits_when_busy
    def start_crawl(
        self,
        spider: str,
        base_url: str,
        started_at: str,
        settings: dict[str, Any] | None = None,
    ) -> int:
        """Open a crawl row; crawls left 'running' by a dead process become 'interrupted'."""
        if self._lock_fd is None:
            raise ArchiveError("start_crawl needs the crawl lock: call it inside archive.lock()")
        settings_json = json.dumps(settings or {}, sort_keys=True, ensure_ascii=False)
        with self._transaction():
            self.db.execute(
                "UPDATE crawls SET status = 'interrupted', finished_at = ? "
                "WHERE status = 'running'",
                [started_at],
            )
            cursor = self.db.execute(
                "INSERT INTO crawls (spider, started_at, status, complete, base_url, settings) "
                "VALUES (?, ?, 'running', 0, ?, ?)",
                [spider, started_at, base_url, settings_json],
            )
        return int(cursor.lastrowid)

    def _count(self, crawl_id: int, *columns: str) -> None:
        """Add 1 to counters of a crawl (column names come from this module, never input)."""
        assignments = ", ".join(f'"{c}" = "{c}" + 1' for c in columns)
        cursor = self.db.execute(f"UPDATE crawls SET {assignments} WHERE id = ?", [crawl_id])
        if cursor.rowcount != 1:
            raise ArchiveError(f"no crawl {crawl_id} in {self.path}: call start_crawl first")

    @_waits_when_busy
    def record_page(self, crawl_id: int) -> None:
        """One page was downloaded."""
        with self._transaction():
            self._count(crawl_id, "pages")

    @_waits_when_busy
    def record_article(
        self, crawl_id: int, record: ArticleRecord, captured_at: str, spider: str
    ) -> str:
        """Archive one article page; returns 'new', 'changed', 'restored' or 'unchanged'.

        Each outcome is counted once on the crawl (new + changed + restored + unchanged ==
        articles_seen), all in one transaction with the rows it writes.
        """
        new_content = _content(_record_fields(record), record.fetched_url)
        new_hash = _hash_content(new_content)
        values = _version_values(record)
        with self._transaction():
            article = self._article_row(record.url)
            if article is None:
                outcome = "new"
                self._count(crawl_id, "articles_seen", outcome)
                article_id = self._insert_article(record, spider, captured_at, crawl_id)
                self._insert_version(article_id, 1, crawl_id, captured_at, new_hash, [], values)
                self._insert_change(crawl_id, article_id, "new", None, 1, [], captured_at)
                return outcome

            article_id = article["id"]
            was_removed = article["status"] == "removed"
            latest = self._version_row(article_id, article["current_version"])
            changed_fields = _changed_fields(new_content, new_hash, latest)
            reason = None
            if changed_fields and self._read_by_another_parser(latest):
                # Compare with the page this parser reads from the latest version's capture.
                latest, reason = self._as_this_parser_reads_it(latest)
                changed_fields = _changed_fields(new_content, new_hash, latest)
            current = latest["version"]
            if not changed_fields:
                outcome = "restored" if was_removed else "unchanged"
                self._count(crawl_id, "articles_seen", outcome)
                self.db.execute(
                    "UPDATE articles SET last_seen = ?, last_seen_crawl_id = ?, spider = ?, "
                    "status = 'live' WHERE id = ?",
                    [captured_at, crawl_id, spider, article_id],
                )
                if was_removed:
                    self._insert_change(
                        crawl_id, article_id, "restored", current, current, [], captured_at
                    )
                return outcome

            outcome = "restored" if was_removed else "changed"
            version = self._next_version(article_id)  # reparse may have written past current
            self._count(crawl_id, "articles_seen", outcome)
            self._insert_version(
                article_id, version, crawl_id, captured_at, new_hash, changed_fields, values
            )
            self.db.execute(
                "UPDATE articles SET title = ?, kind = ?, current_version = ?, last_seen = ?, "
                "last_seen_crawl_id = ?, spider = ?, status = 'live' WHERE id = ?",
                [record.title, record.kind, version, captured_at, crawl_id, spider, article_id],
            )
            at = captured_at
            self._insert_change(
                crawl_id, article_id, outcome, current, version, changed_fields, at, reason
            )
            return outcome

    def _read_by_another_parser(self, version: Mapping[str, Any]) -> bool:
        return self.parser is not None and version["parser_version"] != self.parser.version

    def _as_this_parser_reads_it(self, latest: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The latest version as the current parser reads its capture: (version, None), a
        re-derived version written first when the reading differs. When the capture cannot
        be read (WARC off, file gone, not an article to this parser), (latest, the reason
        a change found against it must carry: it may be the parser's, not the site's)."""
        assert self.parser is not None
        why = (
            f"parser changed from {latest['parser_version'] or 'an unrecorded version'} "
            f"to {self.parser.version}"
        )
        capture_id = latest["capture_id"]
        if capture_id is None or self.parser.reread is None:
            return latest, f"{why}; no capture to compare"
        reread = self.parser.reread(capture_id)
        if isinstance(reread, str):
            return latest, f"{why}; no capture to compare ({reread})"
        if reread.url != latest["url"]:
            return latest, f"{why}; no capture to compare (capture {capture_id} is another page)"
        content = _content(_record_fields(reread), reread.fetched_url)
        fields = _changed_fields(content, _hash_content(content), latest)
        if not fields:
            return latest, None  # this parser reads the old page alike: any change is the site's
        reread = dataclasses.replace(reread, found_by=latest["found_by"] or reread.found_by)
        version = self._insert_rederived(
            latest["article_id"],
            self.capture(capture_id),
            reread,
            latest,
            fields,
            f"re-derived from capture {capture_id}: {why}",
        )
        return self._version_row(latest["article_id"], version), None

    @_waits_when_busy
    def record_not_modified(self, crawl_id: int, url: str, captured_at: str) -> str:
        """The server answered 304 for an archived article: a page fetched, the article
        seen again, its content unchanged.

        Returns 'unchanged', or 'unknown' when the archive holds no live article at `url`
        (the crawl then treats the answer as a failure, never as evidence).
        """
        with self._transaction():
            self._count(crawl_id, "pages")
            cursor = self.db.execute(
                "UPDATE articles SET last_seen = ?, last_seen_crawl_id = ? "
                "WHERE url = ? AND status = 'live'",
                [captured_at, crawl_id, url],
            )
            if cursor.rowcount != 1:
                return "unknown"
            self._count(crawl_id, "articles_seen", "unchanged")
        return "unchanged"

    @_waits_when_busy
    def record_validators(self, url: str, etag: str, last_modified: str, at: str) -> None:
        """Remember an article page's ETag / Last-Modified (a cache: losing it costs a download)."""
        with self._transaction():
            if not etag and not last_modified:
                self.db.execute("DELETE FROM http_validators WHERE url = ?", [url])
                return
            self.db.execute(
                "INSERT INTO http_validators (url, etag, last_modified, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, "
                "last_modified = excluded.last_modified, updated_at = excluded.updated_at",
                [url, etag or None, last_modified or None, at],
            )

    def validators(self, spider: str) -> dict[str, tuple[str | None, str | None]]:
        """{url: (etag, last_modified)} for the live articles a spider owns."""
        rows = self.db.execute(
            "SELECT v.url, v.etag, v.last_modified FROM http_validators v "
            "JOIN articles a ON a.url = v.url WHERE a.spider = ? AND a.status = 'live'",
            [spider],
        ).fetchall()
        return {url: (etag, last_modified) for url, etag, last_modified in rows}

    @_waits_when_busy
    def record_list_page(self, crawl_id: int, page: ListPageAnswer, spider: str, at: str) -> None:
        """One list page read: a page downloaded (or answered 304), its articles listed by
        this crawl and, for a full answer, its links and validators stored in ONE
        transaction, so that a later 304 can only replay the links of that very answer."""
        with self._transaction():
            self._count(crawl_id, "pages")
            listed = [(crawl_id, url) for url in page.views]
            self.db.conn.executemany(
                "UPDATE articles SET last_listed_crawl_id = ? WHERE url = ?", listed
            )
            # Read before its list page (reached by a prev/next link first): still listed.
            # `+crawl_id`: look the article's few versions up, not every version of the crawl.
            self.db.conn.executemany(
                "UPDATE versions SET found_by = 'list' WHERE +crawl_id = ?1 AND found_by = 'link' "
                "AND article_id = (SELECT id FROM articles WHERE url = ?2)",
                listed,
            )
            self.db.conn.executemany(
                "UPDATE articles SET found_by = 'list' "
                "WHERE url = ?2 AND last_seen_crawl_id = ?1 AND found_by = 'link'",
                listed,
            )
            if page.not_modified:
                return
            if not page.etag and not page.last_modified:
                self.db.execute("DELETE FROM list_pages WHERE url = ?", [page.url])
                return
            self.db.execute(
                "INSERT INTO list_pages (url, spider, etag, last_modified, views, issue_pages, "
                "list_pages, crawl_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(url) DO UPDATE SET spider = excluded.spider, etag = excluded.etag, "
                "last_modified = excluded.last_modified, views = excluded.views, "
                "issue_pages = excluded.issue_pages, list_pages = excluded.list_pages, "
                "crawl_id = excluded.crawl_id, updated_at = excluded.updated_at",
                [
                    page.url,
                    spider,
                    page.etag or None,
                    page.last_modified or None,
                    json.dumps(list(page.views)),
                    json.dumps(list(page.issue_pages)),
                    json.dumps(list(page.list_pages)),
                    crawl_id,
                    at,
                ],
            )

    def list_page_validators(self, spider: str) -> dict[str, tuple[str | None, str | None]]:
        """{url: (etag, last_modified)} of the list pages a spider read with validators."""
        rows = self.db.execute(
            "SELECT url, etag, last_modified FROM list_pages WHERE spider = ?", [spider]
        ).fetchall()
        return {url: (etag, last_modified) for url, etag, last_modified in rows}

    def list_page_links(self, url: str) -> dict[str, list[str]] | None:
        """The views, issue pages and paging links a list page gave with its stored
        validators (None when none are stored)."""
        row = self.db.execute(
            "SELECT views, issue_pages, list_pages FROM list_pages WHERE url = ?", [url]
        ).fetchone()
        if row is None:
            return None
        return {
            "views": json.loads(row[0]),
            "issue_pages": json.loads(row[1]),
            "list_pages": json.loads(row[2]),
        }

    # --- Boards and files (issue 3) ---------------------------------------------------------

    @_waits_when_busy
    def record_answer(
        self, crawl_id: int, record: ArticleRecord, captured_at: str, spider: str
    ) -> str:
        """Everything one article page gives, in ONE transaction: the page count, its version
        (if any), board fields and files, and the HTTP validators of the answer. Stored
        apart, a crash could keep validators whose version was never written, and the next
        crawl's 304 would then hide the change for good. Returns the outcome, as
        record_article does."""
        with self._transaction():
            self._count(crawl_id, "pages")
            outcome = self.record_article(crawl_id, record, captured_at, spider)
            # Board fields and linked files (issue 3): may turn 'unchanged' into 'changed'.
            outcome = self.record_board_fields(crawl_id, record, captured_at, outcome)
            self.record_validators(record.url, record.etag, record.last_modified, captured_at)
        return outcome

    @_waits_when_busy
    def record_board_fields(
        self, crawl_id: int, record: ArticleRecord, captured_at: str, outcome: str
    ) -> str:
        """After record_article: the board fields on the article row and the files its page
        links. Returns the outcome, 'changed' when a linked file's bytes changed at the same
        URL: then a new version (same text, changed_fields ["files"]) links the new file.
        """
        with self._transaction():
            # Only the columns used: a whole version row carries the body twice.
            found = self.db.execute(
                "SELECT a.id, a.current_version, v.id, v.crawl_id, v.content_hash "
                "FROM articles a JOIN versions v ON v.article_id = a.id "
                "AND v.version = a.current_version WHERE a.url = ?",
                [record.url],
            ).fetchone()
            if found is None:
                return outcome
            article = {"id": found[0], "current_version": found[1]}
            version = {"id": found[2], "crawl_id": found[3], "content_hash": found[4]}
            self.db.execute(
                "UPDATE articles SET board_id = ?, published = ?, place = ?, found_by = ? "
                "WHERE id = ?",
                [record.board_id, record.published, record.place, record.found_by, article["id"]],
            )
            file_ids = self._file_rows(crawl_id, record, captured_at)
            earlier = version["crawl_id"] != crawl_id  # this crawl's version is new anyway
            if earlier and self._file_bytes_changed(version["id"], file_ids):
                version = self._file_version(crawl_id, article, version, record, captured_at)
                if outcome == "unchanged":
                    self.db.execute(
                        "UPDATE crawls SET unchanged = unchanged - 1, changed = changed + 1 "
                        "WHERE id = ?",
                        [crawl_id],
                    )
                    outcome = "changed"
            self._link_files(version["id"], file_ids)
        return outcome

    def _link_files(self, version_id: int, file_ids: list[int]) -> None:
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO version_files (version_id, file_id) VALUES (?, ?)",
            [(version_id, file_id) for file_id in file_ids],
        )

    def _file_rows(self, crawl_id: int, record: ArticleRecord, at: str) -> list[int]:
        """files.id of each attachment and image the record links (rows made as needed)."""
        downloads = {d.url: d for d in record.downloads}
        linked = [(a.url, "attachment", a.name) for a in record.attachments]
        linked += [(url, "image", url.rsplit("/", 1)[-1]) for url in record.images]
        ids: dict[int, None] = {}
        for url, role, name in linked:
            identity = link_identity(url, record.fetched_url)
            ids[self._file_row(crawl_id, identity, role, name, downloads.get(url), at)] = None
        return list(ids)

    def _file_row(
        self, crawl_id: int, identity: str, role: str, name: str, stored: Any, at: str
    ) -> int:
        if stored is None:
            # Not downloaded this time (off, failed, too large; a reparse downloads nothing):
            # the last content known at this URL by this crawl stands, so a failed download
            # never looks like a change.
            row = self.db.execute(
                "SELECT id FROM files WHERE url = ? AND first_crawl_id <= ? "
                "ORDER BY id DESC LIMIT 1",
                [identity, crawl_id],
            ).fetchone()
            if row:
                return row[0]
            cursor = self.db.execute(
                "INSERT INTO files (url, name, role, first_seen, first_crawl_id) "
                "VALUES (?, ?, ?, ?, ?)",
                [identity, name, role, at, crawl_id],
            )
            return int(cursor.lastrowid)
        self.db.execute(
            "INSERT OR IGNORE INTO files (url, name, role, content_type, size, sha256, path, "
            "first_seen, first_crawl_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [identity, name, role, stored.content_type, stored.size, stored.sha256,
             stored.path, at, crawl_id],
        )  # fmt: skip
        return self.db.execute(
            "SELECT id FROM files WHERE url = ? AND sha256 = ?", [identity, stored.sha256]
        ).fetchone()[0]

    def _file_bytes_changed(self, version_id: int, file_ids: list[int]) -> bool:
        """Does a file now linked hold other bytes than the version's file at the same URL?"""
        rows = self.db.execute(
            "SELECT f.url, f.sha256 FROM version_files vf JOIN files f ON f.id = vf.file_id "
            "WHERE vf.version_id = ? AND f.sha256 IS NOT NULL",
            [version_id],
        ).fetchall()
        before = dict(rows)
        if not before or not file_ids:
            return False
        marks = ", ".join("?" for _ in file_ids)
        now = self.db.execute(
            f"SELECT url, sha256 FROM files WHERE id IN ({marks}) AND sha256 IS NOT NULL",
            file_ids,
        ).fetchall()
        return any(url in before and before[url] != sha for url, sha in now)

    def _file_version(
        self,
        crawl_id: int,
        article: Mapping[str, Any],
        latest: Mapping[str, Any],
        record: ArticleRecord,
        at: str,
    ) -> dict[str, Any]:
        """A new version whose only change is the bytes of a linked file."""
        version = self._next_version(article["id"])
        values = _version_values(record)
        self._insert_version(
            article["id"], version, crawl_id, at, latest["content_hash"], ["files"], values
        )
        self.db.execute(
            "UPDATE articles SET current_version = ? WHERE id = ?", [version, article["id"]]
        )
        self._insert_change(
            crawl_id, article["id"], "changed", article["current_version"], version, ["files"], at
        )
        return self._version_row(article["id"], version)

    def files(self, url: str | None = None) -> list[dict[str, Any]]:
        """Rows of `files` (of one link identity when `url` is given), oldest first."""
        return list(
            self.db.query(
                "SELECT * FROM files WHERE (:url IS NULL OR url = :url) ORDER BY id", {"url": url}
            )
        )

    @_waits_when_busy
    def record_problem(
        self,
        crawl_id: int,
        url: str,
        kind: str,
        reason: str,
        at: str,
        *,
        gone: bool = False,
    ) -> bool:
        """Log a page that failed; with `gone`, a live article at `url` is marked removed now.

        Returns True when it removed an article.
        """
        if kind not in PROBLEM_KINDS:
            raise ValueError(f"problem kind must be one of {PROBLEM_KINDS}, not {kind!r}")
        with self._transaction():
            self._count(crawl_id, "errors" if kind == "error" else "parse_failures")
            self.db.execute(
                "INSERT INTO crawl_problems (crawl_id, url, kind, reason, at) "
                "VALUES (?, ?, ?, ?, ?)",
                [crawl_id, url, kind, reason, at],
            )
            if not gone:
                return False
            article = self._article_row(url)
            if article is None or article["status"] != "live":
                return False
            self._remove(crawl_id, article, f"page answers: {reason}", at)
            return True

    @_waits_when_busy
    def finish_crawl(
        self,
        crawl_id: int,
        *,
        status: str,
        complete: bool,
        finished_at: str,
        health: list[dict[str, str]] | None = None,
        listed: int | None = None,
        gone: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Close a crawl, with its health verdict and the number of articles it listed.

        Removals are written only by a 'finished' crawl, in this one transaction: articles
        whose own page answered "gone" during the crawl (`gone`: url -> reason), and, when
        the listing was complete, articles it neither saw nor listed. A 'degraded',
        'failed' or 'interrupted' crawl removes nothing.
        """
        if status not in CRAWL_STATUSES or status == "running":
            raise ValueError(f"status must be one of {CRAWL_STATUSES[1:]}, not {status!r}")
        with self._transaction():
            crawl = self.crawl(crawl_id)
            if crawl["status"] != "running":
                raise ArchiveError(
                    f"crawl {crawl_id} is already {crawl['status']}: start a new crawl"
                )
            complete = bool(complete)
            self.db.execute(
                "UPDATE crawls SET status = ?, complete = ?, finished_at = ?, listed = ?, "
                "health = ? WHERE id = ?",
                [
                    status,
                    int(complete),
                    finished_at,
                    listed,
                    None if health is None else json.dumps(health, ensure_ascii=False),
                    crawl_id,
                ],
            )
            if status == "finished":
                for url, why in sorted((gone or {}).items()):
                    article = self._article_row(url)
                    if article is not None and article["status"] == "live":
                        self._remove(crawl_id, article, f"page answers: {why}", finished_at)
            if status == "finished" and complete:
                unseen = self.db.execute(
                    "SELECT id, current_version FROM articles "
                    "WHERE spider = ? AND status = 'live' "
                    "AND last_seen_crawl_id IS NOT ? AND last_listed_crawl_id IS NOT ? "
                    "ORDER BY id",
                    [crawl["spider"], crawl_id, crawl_id],
                ).fetchall()
                reason = f"not listed by complete crawl {crawl_id}"
                for article_id, current_version in unseen:
                    article = {"id": article_id, "current_version": current_version}
                    self._remove(crawl_id, article, reason, finished_at)
            self._assign_issues()
            self._compact_latest_fts()
            return self.crawl(crawl_id)

    def previous_complete_crawl(self, spider: str, before_id: int) -> dict[str, Any] | None:
        """The spider's last finished, complete crawl before `before_id` (health baseline)."""
        rows = list(
            self.db.query(
                "SELECT * FROM crawls WHERE spider = ? AND id < ? AND status = 'finished' "
                "AND complete = 1 ORDER BY id DESC LIMIT 1",
                [spider, before_id],
            )
        )
        return rows[0] if rows else None

    def crawl(self, crawl_id: int) -> dict[str, Any]:
        rows = list(self.db.query("SELECT * FROM crawls WHERE id = ?", [crawl_id]))
        if not rows:
            raise ArchiveError(f"no crawl {crawl_id} in {self.path}: check the crawl id")
        return rows[0]

    def crawl_problem_rows(self, crawl_id: int) -> list[dict[str, Any]]:
        """Pages one crawl could not fetch or read, in the order met (for run reports)."""
        sql = "SELECT url, kind, reason, at FROM crawl_problems WHERE crawl_id = ? ORDER BY id"
        return list(self.db.query(sql, [crawl_id]))

    def article(self, url: str) -> dict[str, Any] | None:
        return self._article_row(url)

    def live_urls(self, spider: str) -> list[str]:
        """Canonical URLs of the live articles a spider owns (re-checked on each crawl)."""
        sql = "select url from articles where spider = ? and status = 'live' order by id"
        return [row[0] for row in self.db.execute(sql, [spider]).fetchall()]

    def titles(self, spider: str) -> list[str]:
        """Titles of every article a spider archived: a body holding one is a leak."""
        sql = "select distinct title from articles where spider = ? and title != ''"
        return [row[0] for row in self.db.execute(sql, [spider]).fetchall()]

    def versions(self, article_id: int) -> list[dict[str, Any]]:
        """All versions of an article, oldest first (list fields as stored: JSON text)."""
        return list(
            self.db.query(
                "SELECT * FROM versions WHERE article_id = ? ORDER BY version", [article_id]
            )
        )

    # Reading, for researchers ---------------------------------------------------------------
    # Rows come back as dicts with their JSON list columns decoded.

    def find_article(self, ref: str) -> dict[str, Any]:
        """The article named by its archive id, or by its URL in any host, scheme or list form."""
        ref = ref.strip()
        if ref.isascii() and ref.isdigit():
            rows = []
            if not beyond_sqlite_integer(ref):  # a larger number names no article
                rows = list(self.db.query("SELECT * FROM articles WHERE id = ?", [int(ref)]))
            article = rows[0] if rows else None
        else:
            article = self._article_row(_article_ref_url(ref)) if ref else None
        if article is None:
            raise UnknownArticle(
                f"no article {ref!r} in {self.path}: give its URL or archive id "
                "(find it with `unpog search`)"
            )
        return article

    def history(self, article_id: int) -> list[dict[str, Any]]:
        """Every change of an article, oldest first: new and changed versions, removals and
        restorations, each with its crawl, time, title and changed fields."""
        return [
            _decode_lists(row)
            for row in self.db.query(
                "SELECT id, crawl_id, crawl_started_at, at, kind, from_version, to_version, "
                "COALESCE(to_version, from_version) AS version, title, changed_fields, reason "
                "FROM change_log WHERE article_id = ? ORDER BY at, id",
                [article_id],
            )
        ]

    def version(self, article_id: int, number: int) -> dict[str, Any]:
        """One version of an article; VersionOutOfRange names the versions it has."""
        rows = list(
            self.db.query(
                "SELECT * FROM versions WHERE article_id = ? AND version = ?",
                [article_id, number],
            )
        )
        if not rows:
            last = self.db.execute(
                "SELECT MAX(version) FROM versions WHERE article_id = ?", [article_id]
            ).fetchone()[0]
            raise VersionOutOfRange(
                f"article {article_id} has no version {number}: it has versions 1 to {last}"
            )
        return _decode_lists(rows[0])

    def version_pair(
        self, article_id: int, old: int | None = None, new: int | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Two versions to compare: by default the last two; with `old` only, old vs latest."""
        current = self.db.execute(
            "SELECT current_version FROM articles WHERE id = ?", [article_id]
        ).fetchone()
        if current is None:
            raise UnknownArticle(f"no article {article_id} in {self.path}")
        latest = current[0]
        if old is None:
            if latest < 2:
                raise VersionOutOfRange(
                    f"article {article_id} has only one version: there is nothing to compare"
                )
            old, new = latest - 1, latest
        elif new is None:
            new = latest
        return self.version(article_id, old), self.version(article_id, new)

    def search(
        self,
        query: str,
        *,
        all_versions: bool = False,
        raw: bool = False,
        limit: int = 50,
        order: str | None = None,
    ) -> list[dict[str, Any]]:
        """Full-text search of titles and body texts, with a snippet.

        Latest versions only (live or removed articles), or every version ever captured.
        `order`: 'rank' (best match first, the default for latest versions) or 'newest'
        (most recently archived first, the default over all versions: a history search,
        like `git log -S`). Words are matched as given (`raw` passes FTS5 syntax through:
        OR, NEAR, prefix*). A query over MAX_SEARCH_CHARS characters, or raw with over
        MAX_PREFIX_TERMS prefixes, raises BadSearch: FTS5 could not be stopped once started.
        """
        order = order or ("newest" if all_versions else "rank")
        if order not in SEARCH_ORDERS:
            choices = ", ".join(SEARCH_ORDERS)
            raise BadSearch(f"search order must be one of {choices}, not {order!r}")
        problem = search_query_problem(query, raw=raw)
        if problem:
            raise BadSearch(problem)
        match = query if raw else fts_phrase_query(query)
        if not match.strip():
            raise BadSearch("the search query is empty: give at least one word")
        # Latest versions have an index of their own (latest_fts, 0008): ranking a common
        # word there reads their postings only, not those of every version ever captured.
        fts = "versions_fts" if all_versions else "latest_fts"
        # Rank inside the index and keep the best `limit` rows (ties by rowid, so the cut is
        # deterministic) before joining anything: a common word matches ~100k rows, and
        # joining each of them, or making its snippet, costs more than ranking it. Newest
        # first reads the index backwards and stops after `limit` rows: over all versions,
        # ranking a common word scores each of its ~170k matches (bench/RESULTS.md).
        if order == "rank":
            top = f"bm25({fts}) AS score FROM {fts} WHERE {fts} MATCH :q ORDER BY score, rowid"
            ordering = "top.score, v.article_id, v.version"
        else:
            top = f"NULL AS score FROM {fts} WHERE {fts} MATCH :q ORDER BY rowid DESC"
            ordering = "top.id DESC"
        sql = (
            f"WITH top AS (SELECT rowid AS id, {top} LIMIT :limit) "
            "SELECT a.id AS article_id, a.url, a.status, v.version, v.captured_at, "
            "v.crawl_id, v.kind, v.title, "
            f"(SELECT snippet({fts}, -1, '[', ']', '…', 12) FROM {fts} "
            f" WHERE {fts} MATCH :q AND rowid = top.id) AS snippet "
            f"FROM top JOIN versions v ON v.id = top.id JOIN articles a ON a.id = v.article_id "
            f"ORDER BY {ordering}"
        )
        try:
            return list(self.db.query(sql, {"q": match, "limit": limit}))
        except sqlite3.OperationalError as error:
            raise BadSearch(f"search query {query!r} is not valid FTS5 ({error})") from None

    def changes(
        self, *, since: str | None = None, crawl_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Changes at or after `since` (UTC ISO) and/or found by one crawl, oldest first."""
        if crawl_id is not None:
            self.crawl(crawl_id)  # ArchiveError for an unknown crawl
        rows = self.db.query(
            "SELECT * FROM change_log "
            "WHERE (:since IS NULL OR at >= :since) AND (:crawl IS NULL OR crawl_id = :crawl) "
            "ORDER BY at, id",
            {"since": since, "crawl": crawl_id},
        )
        return [_decode_lists(row) for row in rows]

    def as_of(
        self, moment: str, *, limit: int | None = None, after: int = 0
    ) -> list[dict[str, Any]]:
        """The archive as it was at `moment` (UTC ISO): the latest version of every article
        captured on or before it, with the article's status at that moment, by article id.

        With `limit`, one page: at most `limit` articles whose id is above `after` (pass the
        last article_id of a page to get the next one). Without, every article.
        """
        if limit is None:
            return list(self.iter_as_of(moment, after=after))
        # Keyset pagination on the articles' primary key: a page walks `limit` articles from
        # `after`, at the same cost at any depth, and never sorts the whole archive.
        rows = self.db.query(
            "SELECT a.id AS article_id, a.url, "
            "COALESCE((SELECT CASE c.kind WHEN 'removed' THEN 'removed' ELSE 'live' END "
            "          FROM changes c WHERE c.article_id = a.id AND c.at <= :at "
            "          ORDER BY c.at DESC, c.id DESC LIMIT 1), 'live') AS status, "
            f"{_VERSION_VIEW_COLUMNS} "
            "FROM articles a JOIN versions v ON v.id = ("
            "    SELECT w.id FROM versions w WHERE w.article_id = a.id AND w.captured_at <= :at "
            "    ORDER BY w.captured_at DESC, w.version DESC LIMIT 1) "
            "WHERE a.id > :after ORDER BY a.id LIMIT :limit",
            {"at": moment, "after": after, "limit": limit},
        )
        return [_decode_lists(row) for row in rows]

    def iter_as_of(
        self, moment: str, *, after: int = 0, page_size: int = AS_OF_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Every row of `as_of(moment)`, read page by page: memory holds one page at a time.

        The pages are read in one transaction, so they show one state of the archive even
        while a crawl writes to it (WAL readers keep the snapshot their first read took).
        """
        snapshot = not self.db.conn.in_transaction
        if snapshot:
            self.db.execute("BEGIN")
        try:
            while True:
                page = self.as_of(moment, limit=page_size, after=after)
                yield from page
                if len(page) < page_size:
                    return
                after = page[-1]["article_id"]
        finally:
            self._end_read(snapshot)

    def _end_read(self, began: bool) -> None:
        """End the read transaction a stream began (nothing was written in it), unless the
        stream outlived the connection (a reader that stopped early, closed first)."""
        try:
            if began and self.db.conn.in_transaction:
                self.db.execute("COMMIT")
        except sqlite3.ProgrammingError:  # closed: SQLite ended the read with it
            pass

    def export_rows(self, *, all_versions: bool = False) -> Iterator[dict[str, Any]]:
        """The latest version of every article (live or removed), or every version."""
        latest_only = "" if all_versions else "WHERE v.version = a.current_version"
        rows = self.db.query(
            f"SELECT a.id AS article_id, a.url, a.status, {_VERSION_VIEW_COLUMNS}, "
            "a.first_seen, a.last_seen "
            f"FROM versions v JOIN articles a ON a.id = v.article_id {latest_only} "
            "ORDER BY a.id, v.version"
        )
        for row in rows:
            yield _decode_lists(row)

    def feed_entries(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest changes, newest first, each with the versions before and after it
        (`old`, `new`: None when there is none) for a diff summary."""
        entries = []
        for row in self.db.query(
            "SELECT * FROM change_log ORDER BY at DESC, id DESC LIMIT ?", [limit]
        ):
            entry = _decode_lists(row)
            for key, number in (("old", row["from_version"]), ("new", row["to_version"])):
                entry[key] = None if number is None else self.version(row["article_id"], number)
            entries.append(entry)
        return entries

    def stats(self) -> dict[str, Any]:
        """Counts of articles, versions, changes and crawls, and the last crawl's row."""
        one = self.db.execute(
            "SELECT "
            "(SELECT COUNT(*) FROM articles), "
            "(SELECT COUNT(*) FROM articles WHERE status = 'live'), "
            "(SELECT COUNT(*) FROM articles WHERE status = 'removed'), "
            "(SELECT COUNT(*) FROM versions), "
            "(SELECT COUNT(*) FROM crawls), "
            "(SELECT MIN(captured_at) FROM versions), "
            "(SELECT MAX(captured_at) FROM versions)"
        ).fetchone()
        names = ("articles", "live", "removed", "versions", "crawls", "first_capture")
        stats = dict(zip((*names, "last_capture"), one, strict=True))
        stats["changes"] = dict(
            self.db.execute(
                "SELECT kind, COUNT(*) FROM changes GROUP BY kind ORDER BY kind"
            ).fetchall()
        )
        last = list(self.db.query("SELECT * FROM crawls ORDER BY id DESC LIMIT 1"))
        stats["last_crawl"] = last[0] if last else None
        return stats

    # Captures: the WARC record index (0004) -------------------------------------------------
    # Written by unpog_crawler.capture during a crawl, read by verify, reparse and cdx.

    @_waits_when_busy
    def add_captures(self, rows: list[Mapping[str, Any]]) -> list[int]:
        """Index WARC records written together (one transaction); returns their ids in order.

        A row may name its partner by position with `concurrent_to_index` (a request written
        with its response), since neither id is known before the insert.
        """
        ids: list[int] = []
        with self._transaction():
            for row in rows:
                values = {name: row.get(name) for name in CAPTURE_COLUMNS}
                partner = row.get("concurrent_to_index")
                if partner is not None:
                    values["concurrent_to"] = ids[partner]
                placeholders = ", ".join("?" for _ in CAPTURE_COLUMNS)
                cursor = self.db.execute(
                    f"INSERT INTO captures ({', '.join(CAPTURE_COLUMNS)}) VALUES ({placeholders})",
                    list(values.values()),
                )
                ids.append(int(cursor.lastrowid))
        return ids

    def revisit_target(self, url: str, payload_digest: str) -> dict[str, Any] | None:
        """The latest full response of `url` whose payload has this digest, if any."""
        rows = self.db.query(
            "SELECT * FROM captures WHERE url = ? AND payload_digest = ? "
            "AND record_type = 'response' ORDER BY id DESC LIMIT 1",
            [url, payload_digest],
        )
        return next(iter(rows), None)

    def latest_page_capture(self, crawl_id: int, url: str) -> int | None:
        """The last response (or revisit) of canonical `url` in a crawl: a version's source."""
        row = self.db.execute(
            "SELECT id FROM captures WHERE crawl_id = ? AND canonical_url = ? "
            "AND record_type IN ('response', 'revisit') ORDER BY id DESC LIMIT 1",
            [crawl_id, url],
        ).fetchone()
        return row[0] if row else None

    def capture(self, capture_id: int) -> dict[str, Any]:
        rows = list(self.db.query("SELECT * FROM captures WHERE id = ?", [capture_id]))
        if not rows:
            raise ArchiveError(f"no capture {capture_id} in {self.path}")
        return rows[0]

    def captures(
        self, *, crawl_id: int | None = None, page_type: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Indexed WARC records in write order, optionally of one crawl or page type."""
        return self.db.query(
            "SELECT * FROM captures WHERE (:crawl IS NULL OR crawl_id = :crawl) "
            "AND (:type IS NULL OR page_type = :type) ORDER BY id",
            {"crawl": crawl_id, "type": page_type},
        )

    def count_captures(self, *, crawl_id: int | None = None, page_type: str | None = None) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM captures WHERE (:crawl IS NULL OR crawl_id = :crawl) "
            "AND (:type IS NULL OR page_type = :type)",
            {"crawl": crawl_id, "type": page_type},
        ).fetchone()[0]

    @_waits_when_busy
    def rederive(self, capture: Mapping[str, Any], record: ArticleRecord, spider: str) -> str:
        """Re-apply the versioning rules to a stored capture parsed again: 'new', 'changed'
        or 'unchanged'. Writes nothing when the capture's content is already archived.

        The content to compare with is the article's state when the capture was taken: the
        version of the latest capture at or before it (versions without a capture, from before
        0004, count as older than every capture; re-derived versions win their capture's
        ties). A difference becomes a new version marked re-derived, timed at the capture,
        with a change row saying where it came from. Crawl counters are left alone: no crawl
        found it. The article's current version becomes its latest state again.
        """
        new_content = _content(_record_fields(record), record.fetched_url)
        new_hash = _hash_content(new_content)
        with self._transaction():
            article = self._article_row(record.url)
            if article is None:
                captured_at = capture_time(capture["fetched_at"])
                article_id = self._insert_article(record, spider, captured_at, capture["crawl_id"])
                state = None
            else:
                article_id = article["id"]
                state = self._state_at_capture(article_id, capture["id"])
            changed_fields: list[str] = []
            if state is not None:
                changed_fields = _changed_fields(new_content, new_hash, state)
                if not changed_fields:
                    return "unchanged"
            reason = f"re-derived from capture {capture['id']}"
            self._insert_rederived(article_id, capture, record, state, changed_fields, reason)
            return "new" if state is None else "changed"

    def _insert_rederived(
        self,
        article_id: int,
        capture: Mapping[str, Any],
        record: ArticleRecord,
        state: Mapping[str, Any] | None,
        changed_fields: list[str],
        reason: str,
    ) -> int:
        """A version re-derived from a capture, timed at it and credited to its crawl, with
        a change row saying where it came from and the files its page links as that crawl
        knew them (nothing is downloaded). Crawl counters are left alone: no crawl found
        it. The article's current version becomes its latest state again. Returns the
        version number."""
        captured_at = capture_time(capture["fetched_at"])
        crawl_id = capture["crawl_id"]
        content = _content(_record_fields(record), record.fetched_url)
        version = self._next_version(article_id)
        version_id = self._insert_version(
            article_id,
            version,
            crawl_id,
            captured_at,
            _hash_content(content),
            changed_fields,
            _version_values(record),
            capture_id=capture["id"],
            rederived=True,
        )
        self._link_files(version_id, self._file_rows(crawl_id, record, captured_at))
        kind = "new" if state is None else "changed"
        before = None if state is None else state["version"]
        at = captured_at
        self._insert_change(crawl_id, article_id, kind, before, version, changed_fields, at, reason)
        self._set_current_to_latest_state(article_id, captured_at)
        return version

    @_waits_when_busy
    def finish_reparse(self) -> None:
        """After `rederive` calls: derive issues again from the articles' latest states."""
        with self._transaction():
            self._assign_issues()
            self._compact_latest_fts()

    def _compact_latest_fts(self) -> None:
        """Merge latest_fts into one segment. Each new version deletes its predecessor from
        the index; FTS5 keeps those deletions as markers in new segments until a merge, and
        after a few crawls a search over latest versions reads mostly markers (5x slower on
        20,000 articles x 5 crawls). A no-op when nothing changed since the last merge."""
        self.db.execute("INSERT INTO latest_fts (latest_fts) VALUES ('optimize')")

    def _insert_article(
        self, record: ArticleRecord, spider: str, captured_at: str, crawl_id: int
    ) -> int:
        """A new article's row (live, version 1), before its version 1 is written."""
        cursor = self.db.execute(
            "INSERT INTO articles (url, source_id, section, kind, spider, title, first_seen, "
            "last_seen, current_version, status, last_seen_crawl_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 'live', ?)",
            [
                record.url,
                record.source_id,
                record.section,
                record.kind,
                spider,
                record.title,
                captured_at,
                captured_at,
                crawl_id,
            ],
        )
        return int(cursor.lastrowid)

    def _state_at_capture(self, article_id: int, capture_id: int) -> dict[str, Any] | None:
        rows = self.db.query(
            "SELECT * FROM versions WHERE article_id = ? "
            "AND (capture_id IS NULL OR capture_id <= ?) "
            "ORDER BY COALESCE(capture_id, 0) DESC, version DESC LIMIT 1",
            [article_id, capture_id],
        )
        return next(iter(rows), None)

    def _set_current_to_latest_state(self, article_id: int, captured_at: str) -> None:
        latest = next(
            self.db.query(
                "SELECT version, title, kind FROM versions WHERE article_id = ? "
                "ORDER BY COALESCE(capture_id, 0) DESC, version DESC LIMIT 1",
                [article_id],
            )
        )
        self.db.execute(
            "UPDATE articles SET current_version = ?, title = ?, kind = ?, "
            "first_seen = MIN(first_seen, ?) WHERE id = ?",
            [latest["version"], latest["title"], latest["kind"], captured_at, article_id],
        )

    def _next_version(self, article_id: int) -> int:
        row = self.db.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE article_id = ?",
            [article_id],
        ).fetchone()
        return int(row[0])

    # Internals ----------------------------------------------------------------------------

    def _article_row(self, url: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM articles WHERE url = ?", [url]))
        return rows[0] if rows else None

    def _version_row(self, article_id: int, version: int) -> dict[str, Any]:
        return next(
            self.db.query(
                "SELECT * FROM versions WHERE article_id = ? AND version = ?",
                [article_id, version],
            )
        )

    def _insert_version(
        self,
        article_id: int,
        version: int,
        crawl_id: int,
        captured_at: str,
        hash_: str,
        changed_fields: list[str],
        values: dict[str, Any],
        *,
        capture_id: int | None = None,
        rederived: bool = False,
    ) -> int:
        if capture_id is None:  # a crawl: the page this crawl just fetched (0004)
            capture_id = self.latest_page_capture(crawl_id, values["url"])
        columns = [
            "article_id",
            "version",
            "crawl_id",
            "captured_at",
            "content_hash",
            "changed_fields",
            *VERSION_RECORD_FIELDS,
            "capture_id",
            "rederived",
            "parser_version",
        ]
        params = [
            article_id,
            version,
            crawl_id,
            captured_at,
            hash_,
            json.dumps(changed_fields),
            *(values[name] for name in VERSION_RECORD_FIELDS),
            capture_id,
            int(rederived),
            self.parser.version if self.parser else None,
        ]
        placeholders = ", ".join("?" for _ in columns)
        cursor = self.db.execute(
            f"INSERT INTO versions ({', '.join(columns)}) VALUES ({placeholders})", params
        )
        return int(cursor.lastrowid)

    def _insert_change(
        self,
        crawl_id: int,
        article_id: int,
        kind: str,
        from_version: int | None,
        to_version: int | None,
        changed_fields: list[str],
        at: str,
        reason: str | None = None,
    ) -> None:
        self.db.execute(
            "INSERT INTO changes (crawl_id, article_id, kind, from_version, to_version, "
            "changed_fields, at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                crawl_id,
                article_id,
                kind,
                from_version,
                to_version,
                json.dumps(changed_fields),
                at,
                reason,
            ],
        )

    def _remove(self, crawl_id: int, article: Mapping[str, Any], reason: str, at: str) -> None:
        self._count(crawl_id, "removed")
        self.db.execute("UPDATE articles SET status = 'removed' WHERE id = ?", [article["id"]])
        self._insert_change(
            crawl_id, article["id"], "removed", article["current_version"], None, [], at, reason
        )

    def _assign_issues(self) -> None:
        """Derive articles.issue for the Quarterly from the latest versions.

        A page that states its issue: that issue ('stated'). Another item of kind 'article':
        the issue of the nearest Welcome Note before it in numeric sn order ('inferred');
        none before the first Welcome Note, nor for items without a numeric sn.
        """
        rows = self.db.execute(
            "SELECT a.id, a.kind, a.source_id, v.issue, a.issue, a.issue_basis "
            "FROM articles a JOIN versions v "
            "ON v.article_id = a.id AND v.version = a.current_version "
            "WHERE a.section = 'quarterly'"
        ).fetchall()
        wanted: dict[int, tuple[str | None, str | None]] = {}
        for article_id, _kind, _source_id, stated, _issue, _basis in rows:
            wanted[article_id] = (stated, "stated") if stated else (None, None)
        in_sn_order = sorted(
            (_numeric_id(source_id), article_id, kind, stated)
            for article_id, kind, source_id, stated, _issue, _basis in rows
            if _numeric_id(source_id) is not None
        )
        welcome_issue: str | None = None
        for _sn, article_id, kind, stated in in_sn_order:
            if kind == "welcome_note":
                welcome_issue = stated
            elif kind == "article" and not stated and welcome_issue:
                wanted[article_id] = (welcome_issue, "inferred")
        updates = [
            [*wanted[article_id], article_id]
            for article_id, _kind, _source_id, _stated, issue, basis in rows
            if wanted[article_id] != (issue, basis)
        ]
        if updates:
            self.db.conn.executemany(
                "UPDATE articles SET issue = ?, issue_basis = ? WHERE id = ?", updates
            )
