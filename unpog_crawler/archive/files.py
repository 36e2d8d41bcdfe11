"""The files an article links (attachments, images): their rows, and a new version when a
linked file's bytes change at the same URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from unpog_crawler.archive.content import _version_values
from unpog_crawler.archive.file import _waits_when_busy
from unpog_crawler.archive.versions import VersionRows
from unpog_crawler.items import ArticleRecord
from unpog_crawler.site import link_identity


class FileLinks(VersionRows):
    """Files linked by an article's versions (issue 3)."""

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

    def stored_file_paths(self) -> list[str]:
        """Where every downloaded file lies, relative to the archive's files folder."""
        rows = self.db.execute("SELECT DISTINCT path FROM files WHERE path IS NOT NULL")
        return [row[0] for row in rows.fetchall()]

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
