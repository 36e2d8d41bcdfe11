"""Versions re-derived from stored captures: by `unpog reparse`, and by a crawl whose parser
changed (so that a parser change is never taken for a change of the site)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from unpog_crawler.archive.captures import capture_time
from unpog_crawler.archive.content import (
    _changed_fields,
    _content,
    _hash_content,
    _record_fields,
    _version_values,
)
from unpog_crawler.archive.file import _waits_when_busy
from unpog_crawler.archive.versions import VersionRows
from unpog_crawler.items import ArticleRecord


@dataclasses.dataclass(frozen=True)
class CurrentParser:
    """What the archive knows of the parser that produced the records it is given.

    `version` is recorded on every version written (parse.PARSER_VERSION). `reread` reads
    a stored capture (captures.id) again with that parser and judges it as a crawl judges a
    page: the record, or a one-line reason why there is none. Passed in so that the archive
    needs neither the parser nor the WARC reader."""

    version: str
    reread: Callable[[int], ArticleRecord | str] | None = None


class Rederive(VersionRows):
    """Versions re-derived from stored captures, timed at them."""

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
