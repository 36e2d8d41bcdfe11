"""The versioned SQLite archive: its schema, its migrations and every SQL statement.

Model (after simonw's git-history): ``articles`` holds each article in its latest state,
``versions`` one row per distinct content of an article (``version`` counts from 1, with the
crawl that captured it, a hash of its content and the names of the fields that changed),
``changes`` the log of what each crawl found (new, changed, removed, restored) and ``crawls``
one row per crawl with its counts. Nothing here reads the clock: callers pass UTC ISO 8601
times in (``utc_now()`` is there for them).

A version is written only when a field of ``CONTENT_FIELDS`` changes (``content``). The
``Archive`` class is made of one part per room: the file and its lock (``file``), the crawl's
writes (``writes``, ``files``, ``versions``, and the revisit policy's ``revisits``), re-derived
versions (``rederive``), the capture index (``captures``) and the researchers' reads
(``reads``); the schema is ``schema``.
"""

from __future__ import annotations

from unpog_crawler.archive.captures import CaptureIndex, capture_time
from unpog_crawler.archive.column_docs import COLUMN_DOCS, TABLE_DOCS
from unpog_crawler.archive.content import content_hash, utc_now
from unpog_crawler.archive.errors import (
    ArchiveBusy,
    ArchiveError,
    ArchiveLocked,
    ArchiveUnavailable,
    BadSearch,
    NewerSchema,
    NotAnArchive,
    OutdatedSchema,
    UnknownArticle,
    VersionOutOfRange,
)
from unpog_crawler.archive.files import FileLinks
from unpog_crawler.archive.reads import (
    MAX_PREFIX_TERMS,
    MAX_SEARCH_CHARS,
    SEARCH_ORDERS,
    SQLITE_MAX_INTEGER,
    ResearchReads,
    beyond_sqlite_integer,
    fts_phrase_query,
    search_query_problem,
)
from unpog_crawler.archive.rederive import CurrentParser, Rederive
from unpog_crawler.archive.schema import KNOWN_MIGRATIONS, MIGRATION_SET, migrations
from unpog_crawler.archive.writes import CrawlWrites

__all__ = [
    "COLUMN_DOCS",
    "KNOWN_MIGRATIONS",
    "MIGRATION_SET",
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
    "SEARCH_ORDERS",
    "SQLITE_MAX_INTEGER",
    "UnknownArticle",
    "VersionOutOfRange",
    "beyond_sqlite_integer",
    "capture_time",
    "content_hash",
    "fts_phrase_query",
    "migrations",
    "search_query_problem",
    "utc_now",
]


class Archive(CrawlWrites, FileLinks, Rederive, CaptureIndex, ResearchReads):
    """An open archive file. Writes of one crawl must happen inside ``with archive.lock():``.

    `busy_timeout`: seconds a write waits while another process holds SQLite's write lock
    (a `sqlite3` session, a VACUUM) before it fails with ArchiveBusy.

    ``read_only`` opens an existing archive without ever writing to it (SQLite ``mode=ro``):
    a file or a folder the reader may not write is fine; an archive whose schema is older
    than this version raises OutdatedSchema (`open_read_only` upgrades it when it can).
    """
