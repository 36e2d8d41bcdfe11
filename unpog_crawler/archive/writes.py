"""The crawl's write path: a crawl's row, each page it read, and how it ended."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from unpog_crawler.archive.content import (
    _changed_fields,
    _content,
    _hash_content,
    _record_fields,
    _version_values,
)
from unpog_crawler.archive.errors import ArchiveError
from unpog_crawler.archive.file import _waits_when_busy
from unpog_crawler.archive.revisits import RevisitRows
from unpog_crawler.items import ArticleRecord, ListPageAnswer
from unpog_crawler.parse.list_rows import ListRow

CRAWL_STATUSES = ("running", "finished", "failed", "interrupted", "degraded")
PROBLEM_KINDS = ("error", "parse_failure")


class CrawlWrites(RevisitRows):
    """What a crawl writes: its row, its pages, its articles, its problems and its end, each
    page one unit of work; and what the crawl reads back to plan its requests."""

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

    @_waits_when_busy
    def record_not_modified(
        self, crawl_id: int, url: str, captured_at: str, row: ListRow | None = None
    ) -> str:
        """The server answered 304 for an archived article: a page fetched, the article
        seen again, its content unchanged (and `row`, its list row this crawl, recorded).

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
            if row is not None:
                self._record_row(crawl_id, row, captured_at)
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
        this crawl, the rows of posts that have none recorded and, for a full answer, its
        links and validators stored in ONE transaction, so that a later 304 can only replay
        the links of that very answer."""
        with self._transaction():
            self._count(crawl_id, "pages")
            self._insert_missing_rows(crawl_id, page.rows, at)
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

    @_waits_when_busy
    def record_answer(
        self,
        crawl_id: int,
        record: ArticleRecord,
        captured_at: str,
        spider: str,
        row: ListRow | None = None,
    ) -> str:
        """Everything one article page gives, in ONE transaction: the page count, its version
        (if any), board fields and files, the HTTP validators of the answer and `row`, its
        list row this crawl. Stored apart, a crash could keep validators (or a row) whose
        version was never written, and the next crawl's 304 (or its plan) would then hide
        the change for good. Returns the outcome, as record_article does."""
        with self._transaction():
            self._count(crawl_id, "pages")
            outcome = self.record_article(crawl_id, record, captured_at, spider)
            # Board fields and linked files (issue 3): may turn 'unchanged' into 'changed'.
            outcome = self.record_board_fields(crawl_id, record, captured_at, outcome)
            self.record_validators(record.url, record.etag, record.last_modified, captured_at)
            if row is not None:
                self._record_row(crawl_id, row, captured_at)
        return outcome

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
        revisit: Mapping[str, int] | None = None,
    ) -> dict[str, Any]:
        """Close a crawl, with its health verdict, the number of articles it listed and what
        its revisit plan decided (`revisit`: due, fetched, skipped, deferred; None: no plan).

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
            self._record_revisits(crawl_id, crawl["spider"], revisit)
            self._assign_issues()
            self._compact_latest_fts()
            return self.crawl(crawl_id)

    def _remove(self, crawl_id: int, article: Mapping[str, Any], reason: str, at: str) -> None:
        self._count(crawl_id, "removed")
        self.db.execute("UPDATE articles SET status = 'removed' WHERE id = ?", [article["id"]])
        self._insert_change(
            crawl_id, article["id"], "removed", article["current_version"], None, [], at, reason
        )

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

    def live_urls(self, spider: str) -> list[str]:
        """Canonical URLs of the live articles a spider owns (re-checked on each crawl)."""
        sql = "select url from articles where spider = ? and status = 'live' order by id"
        return [row[0] for row in self.db.execute(sql, [spider]).fetchall()]

    def titles(self, spider: str) -> list[str]:
        """Titles of every article a spider archived: a body holding one is a leak."""
        sql = "select distinct title from articles where spider = ? and title != ''"
        return [row[0] for row in self.db.execute(sql, [spider]).fetchall()]
