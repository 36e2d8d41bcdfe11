"""The rows every write path shares: an article, its versions and its changes,
and what is derived from the latest versions (issues, the latest_fts index)."""

from __future__ import annotations

import json
from typing import Any

from unpog_crawler.archive.content import VERSION_RECORD_FIELDS
from unpog_crawler.archive.file import ArchiveFile
from unpog_crawler.items import ArticleRecord


def _numeric_id(source_id: str) -> int | None:
    return int(source_id) if source_id.isascii() and source_id.isdigit() else None


class VersionRows(ArchiveFile):
    """Rows of articles, versions and changes, written inside a unit of work, and what is
    derived from the latest versions."""

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

    def _next_version(self, article_id: int) -> int:
        row = self.db.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE article_id = ?",
            [article_id],
        ).fetchone()
        return int(row[0])

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

    def _compact_latest_fts(self) -> None:
        """Merge latest_fts into one segment. Each new version deletes its predecessor from
        the index; FTS5 keeps those deletions as markers in new segments until a merge, and
        after a few crawls a search over latest versions reads mostly markers (5x slower on
        20,000 articles x 5 crawls). A no-op when nothing changed since the last merge."""
        self.db.execute("INSERT INTO latest_fts (latest_fts) VALUES ('optimize')")
