"""The researchers' read path: history, versions, search, changes, as-of, export, feed and
stats. Rows come back as dicts with their JSON list columns decoded."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from unpog_crawler.archive.content import _decode_lists
from unpog_crawler.archive.errors import ArchiveError, BadSearch, UnknownArticle, VersionOutOfRange
from unpog_crawler.archive.file import ArchiveFile
from unpog_crawler.archive.schema import _VERSION_VIEW_COLUMNS
from unpog_crawler.site import canonical_url

# Articles per page when as-of streams the whole archive (each row holds a whole text).
AS_OF_PAGE_SIZE = 500
# Orders of Archive.search: best match first, or most recently archived first.
SEARCH_ORDERS = ("rank", "newest")
# FTS5 merges every term's postings inside one call that no time limit interrupts: a query of
# thousands of OR terms, or of many short prefixes (each expands to a slice of the vocabulary),
# runs for minutes. These bound that work (archive/metadata.yml applies the same limits).
MAX_SEARCH_CHARS = 500
MAX_PREFIX_TERMS = 4
# SQLite integers (ids, counts) are signed 64-bit.
SQLITE_MAX_INTEGER = 2**63 - 1


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


def _article_ref_url(ref: str) -> str:
    """The canonical URL of an article reference given as a URL in any form."""
    head = ref.split("/", 1)[0]
    if "://" not in ref and not ref.startswith("/") and "/" in ref and "." in head:
        ref = f"https://{ref}"  # "unpog.org/page/..." typed without a scheme
    return canonical_url(ref)


class ResearchReads(ArchiveFile):
    """Reading, for researchers and reports (the research commands call these)."""

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

    def versions(self, article_id: int) -> list[dict[str, Any]]:
        """All versions of an article, oldest first (list fields as stored: JSON text)."""
        return list(
            self.db.query(
                "SELECT * FROM versions WHERE article_id = ? ORDER BY version", [article_id]
            )
        )

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
        """Counts of articles, versions, changes and crawls, when every live article was last
        verified (`verified_since`: the oldest last fetch), and the last crawl's row."""
        one = self.db.execute(
            "SELECT "
            "(SELECT COUNT(*) FROM articles), "
            "(SELECT COUNT(*) FROM articles WHERE status = 'live'), "
            "(SELECT COUNT(*) FROM articles WHERE status = 'removed'), "
            "(SELECT COUNT(*) FROM versions), "
            "(SELECT COUNT(*) FROM crawls), "
            "(SELECT MIN(captured_at) FROM versions), "
            "(SELECT MAX(captured_at) FROM versions), "
            "(SELECT MIN(last_seen) FROM articles WHERE status = 'live')"
        ).fetchone()
        names = ("articles", "live", "removed", "versions", "crawls", "first_capture")
        stats = dict(zip((*names, "last_capture", "verified_since"), one, strict=True))
        stats["changes"] = dict(
            self.db.execute(
                "SELECT kind, COUNT(*) FROM changes GROUP BY kind ORDER BY kind"
            ).fetchall()
        )
        last = list(self.db.query("SELECT * FROM crawls ORDER BY id DESC LIMIT 1"))
        stats["last_crawl"] = last[0] if last else None
        return stats
