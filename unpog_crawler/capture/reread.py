"""Reading a stored capture again with the current parser, judged as a crawl judges a page.

Shared by `unpog reparse` and by the crawl's check that a parser change is not a site change
(`archive.CurrentParser`), so that a re-read page can never be judged otherwise than a
fetched one: the same parse (`parse.pool.read_article_page`, which runs
`health.record_problems`), the same verdicts, and the same size cap on decoding.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from unpog_crawler import settings as default_settings
from unpog_crawler.archive import Archive
from unpog_crawler.capture.read import (
    RecordProblem,
    StoredPage,
    StoredRecord,
    page_of,
    read_record,
)
from unpog_crawler.capture.write import resolve_stored
from unpog_crawler.items import ArticleRecord, NotAnArticle
from unpog_crawler.parse.pool import read_article_page

__all__ = [
    "CaptureRereader",
    "WarcReader",
    "crawl_max_size",
    "judge_page",
    "stored_page",
]


class WarcReader:
    """Open WARC files by their index names, one handle per file, kept while in use."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._handles: dict[str, Any] = {}

    def path(self, name: str) -> Path:
        return resolve_stored(name, self.db_path)

    def record(self, capture: Mapping[str, Any]) -> StoredRecord:
        name = capture["warc_file"]
        if name not in self._handles:
            try:
                self._handles[name] = self.path(name).open("rb")
            except OSError as error:
                raise RecordProblem(f"cannot open {name} ({error.strerror})") from None
        return read_record(self._handles[name], capture)

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()


def judge_page(page: StoredPage) -> ArticleRecord | str:
    """The crawl's verdict on one page: its record, or why it is not archived as one
    (the same words the crawl writes to crawl_problems)."""
    result, _links, problems = read_article_page(page.body, page.url, page.headers)
    if isinstance(result, NotAnArticle):
        return result.reason
    if problems:
        return "does not look like an article: " + "; ".join(problems)
    return result


def stored_page(
    reader: WarcReader, archive: Archive, capture: Mapping[str, Any], max_size: int
) -> StoredPage:
    """The page a response or revisit capture holds; RecordProblem when it cannot be read."""
    stored = reader.record(capture)
    payload = None
    if capture["record_type"] == "revisit":
        if not capture["revisit_of"]:
            raise RecordProblem("revisit without the capture that holds its payload")
        payload = reader.record(archive.capture(capture["revisit_of"]))
    return page_of(stored, payload, max_size=max_size)


def crawl_max_size(crawl: Mapping[str, Any]) -> int:
    """The DOWNLOAD_MAXSIZE the crawl ran with (recorded on its row), else the default:
    a stored body is decoded no further than its crawl would have decoded it."""
    try:
        recorded = json.loads(crawl.get("settings") or "{}").get("DOWNLOAD_MAXSIZE")
        size = int(recorded)
    except (TypeError, ValueError):
        size = 0
    return size if size > 0 else int(default_settings.DOWNLOAD_MAXSIZE)


class CaptureRereader:
    """Re-reads captures by id with the current parser (for archive.CurrentParser.reread)."""

    def __init__(self, archive: Archive, max_size: int) -> None:
        self.archive = archive
        self.max_size = max_size
        self.reader = WarcReader(archive.path)

    def __call__(self, capture_id: int) -> ArticleRecord | str:
        capture = self.archive.capture(capture_id)
        if capture["record_type"] not in ("response", "revisit") or capture["status"] != 200:
            return f"capture {capture_id} is not a page answered 200"
        try:
            page = stored_page(self.reader, self.archive, capture, self.max_size)
        except RecordProblem as problem:
            return f"capture {capture_id} cannot be read ({problem})"
        try:
            return judge_page(page)
        except Exception as error:  # the parser's bug must not cost the crawl its write
            return f"capture {capture_id} cannot be parsed ({type(error).__name__}: {error})"

    def close(self) -> None:
        self.reader.close()
