"""What the revisit policy (issue 16) reads from the archive and writes into it: each archived
post's history, the list row last recorded for it, and what a crawl's plan decided."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from unpog_crawler.archive.schema import REVISIT_COUNT_COLUMNS
from unpog_crawler.archive.versions import VersionRows
from unpog_crawler.parse.list_rows import ListRow
from unpog_crawler.revisit import KnownPost, as_utc

# The counts a plan gives, by their crawls column.
REVISIT_COUNTS = {column: column.removeprefix("revisit_") for column in REVISIT_COUNT_COLUMNS}

_ROW_COLUMNS = "url, title, dates, comments, attachments, views, crawl_id, recorded_at"
_ROW_VALUES = "?, ?, ?, ?, ?, ?, ?, ?"


def _published(value: str | None) -> str | None:
    """A publication date the policy can read, else None (it then starts at first_seen)."""
    try:
        return value if as_utc(value) is not None else None
    except (TypeError, ValueError):
        return None


def _known_post(row: tuple[Any, ...]) -> KnownPost:
    url, first_seen, last_seen, published, newest_at, versions = row[:6]
    title, dates, comments, attachments, views = row[6:]
    changes = max(int(versions or 0) - 1, 0)
    recorded = None
    if title is not None:
        recorded = ListRow(url, title, tuple(json.loads(dates)), comments, attachments, views)
    return KnownPost(
        url,
        first_seen=first_seen,
        last_fetched=last_seen,
        last_changed=newest_at if changes else None,
        changes=changes,
        published=_published(published),
        recorded_row=recorded,
    )


def _row_values(crawl_id: int, row: ListRow, at: str) -> list[Any]:
    dates = json.dumps(list(row.dates))
    return [row.url, row.title, dates, row.comments, row.attachments, row.views, crawl_id, at]


class RevisitRows(VersionRows):
    """The revisit policy's reads and writes; the writes join the unit of work of the page
    they belong to (a list page, an article's answer, the crawl's end)."""

    def known_posts(self, spider: str) -> dict[str, KnownPost]:
        """Each live post of a spider as the policy reads it, by URL: first archived, last
        fetched (articles.last_seen: every download and every 304), when it last changed and
        how often (versions the site made: re-derived ones are the parser's), published,
        and the list row last recorded."""
        rows = self.db.execute(
            "SELECT a.url, a.first_seen, a.last_seen, a.published, "
            "(SELECT MAX(v.captured_at) FROM versions v "
            " WHERE v.article_id = a.id AND v.rederived = 0), "
            "(SELECT COUNT(*) FROM versions v WHERE v.article_id = a.id AND v.rederived = 0), "
            "r.title, r.dates, r.comments, r.attachments, r.views "
            "FROM articles a LEFT JOIN list_rows r ON r.url = a.url "
            "WHERE a.spider = ? AND a.status = 'live' ORDER BY a.id",
            [spider],
        ).fetchall()
        return {row[0]: _known_post(row) for row in rows}

    def previous_crawl_start(self, spider: str, before_id: int) -> str | None:
        """When the spider's crawl before `before_id` started (whatever its end): the policy
        expects the next crawl as long after this one."""
        row = self.db.execute(
            "SELECT started_at FROM crawls WHERE spider = ? AND id < ? ORDER BY id DESC LIMIT 1",
            [spider, before_id],
        ).fetchone()
        return row[0] if row else None

    def _insert_missing_rows(self, crawl_id: int, rows: Iterable[ListRow], at: str) -> None:
        """At list time, the rows of posts that have none recorded (a post archived before
        rows were kept gets its baseline); a recorded row stays until its post is fetched,
        so that a hint whose fetch failed is still a hint next time."""
        self.db.conn.executemany(
            f"INSERT INTO list_rows ({_ROW_COLUMNS}) VALUES ({_ROW_VALUES}) "
            "ON CONFLICT(url) DO NOTHING",
            [_row_values(crawl_id, row, at) for row in rows],
        )

    def _record_row(self, crawl_id: int, row: ListRow, at: str) -> None:
        """The row a fetched post's list page showed this crawl: what the next crawl's row
        is compared with."""
        self.db.execute(
            f"INSERT INTO list_rows ({_ROW_COLUMNS}) VALUES ({_ROW_VALUES}) "
            "ON CONFLICT(url) DO UPDATE SET title = excluded.title, dates = excluded.dates, "
            "comments = excluded.comments, attachments = excluded.attachments, "
            "views = excluded.views, crawl_id = excluded.crawl_id, "
            "recorded_at = excluded.recorded_at",
            _row_values(crawl_id, row, at),
        )

    def _record_revisits(
        self, crawl_id: int, spider: str, counts: Mapping[str, int] | None
    ) -> None:
        """The plan's counts (None: no plan was made) and, after the crawl's removals, the
        oldest last fetch of the spider's live posts: every post was verified since then."""
        verified = self.db.execute(
            "SELECT MIN(last_seen) FROM articles WHERE spider = ? AND status = 'live'", [spider]
        ).fetchone()[0]
        values = [None if counts is None else counts.get(key) for key in REVISIT_COUNTS.values()]
        assignments = ", ".join(f"{column} = ?" for column in REVISIT_COUNTS)
        self.db.execute(
            f"UPDATE crawls SET {assignments}, verified_since = ? WHERE id = ?",
            [*values, verified, crawl_id],
        )
