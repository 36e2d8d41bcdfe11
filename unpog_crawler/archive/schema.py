"""The archive's schema: its migrations, applied in order by sqlite-utils (`Migrations`);
what each table and column means is in `column_docs`."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

from unpog_crawler.archive.errors import ArchiveError

MIGRATION_SET = "unpog_crawler"
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


REVISIT_COUNT_COLUMNS = ("revisit_due", "revisit_fetched", "revisit_skipped", "revisit_deferred")


@migrations(name="0010_revisits")
def _m0010_revisits(db: sqlite_utils.Database) -> None:
    """The revisit policy (issue 16): what each crawl's plan decided and when every post was
    last verified after it; and each post's list row as last recorded, whose changes are
    hints. Crawls before: NULL."""
    for column in REVISIT_COUNT_COLUMNS:
        db.execute(f"ALTER TABLE crawls ADD COLUMN {column} INTEGER")
    db.execute("ALTER TABLE crawls ADD COLUMN verified_since TEXT")
    db.execute(
        """CREATE TABLE list_rows (
            url TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            dates TEXT NOT NULL DEFAULT '[]',
            comments INTEGER,
            attachments INTEGER,
            views INTEGER,
            crawl_id INTEGER NOT NULL REFERENCES crawls(id),
            recorded_at TEXT NOT NULL
        )"""
    )


KNOWN_MIGRATIONS = tuple(m.name for m in migrations._migrations)
