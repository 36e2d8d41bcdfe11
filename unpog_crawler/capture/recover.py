"""Indexing the WARC records a killed crawl wrote but never indexed.

A crawl writes each exchange to its WARC file at once and indexes it in `captures` with the
batch it commits about once a second. Killed in between, the records are in the file (whole:
each is one write of complete gzip members) but not in the index: `verify` would warn about
them on every run, and replay and `reparse` would never see them. The next crawl indexes them
when its capture starts, and so does `unpog verify --repair`: the records after the last
indexed one of each file the index knows, and the files of this archive's crawls that the
index does not know at all (a crawl killed in the first second of a file).

A file belongs to an archive when its name says which crawl wrote it (`<prefix>-crawl<N>-
<UTC time>-…`) and that crawl of this archive was running at that time: two archives that
share a folder (archives made before each had its own) never take each other's files.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from unpog_crawler import site
from unpog_crawler.archive import Archive, ArchiveError
from unpog_crawler.capture.read import (
    RECORD_HEADERS_ALLOWANCE,
    RecordProblem,
    StoredRecord,
    http_headers,
    parse_record,
    read_member,
)
from unpog_crawler.capture.write import WARC_NAME, parse_warc_name, resolve_stored, stored_name
from unpog_crawler.folders import warc_prefix

logger = logging.getLogger(__name__)

# A record is read whole to index it; none the crawl writes is near this (DOWNLOAD_MAXSIZE,
# UNPOG_FILES_MAX_SIZE), and an altered file must not fill the memory.
MAX_RECORD_BYTES = 1024**3 + RECORD_HEADERS_ALLOWANCE
# The name's time is when the file was opened, to the second.
_NAME_TIME_SLACK = timedelta(seconds=1)


@dataclass(frozen=True)
class Leftover:
    """A WARC file with records the index lacks: from `start` to its end."""

    path: Path
    name: str  # as the index names it
    start: int
    crawl_id: int


def leftovers(archive: Archive, warc_dirs: Iterable[Path] = ()) -> list[Leftover]:
    """The files holding records this archive wrote and did not index."""
    found: list[Leftover] = []
    known: set[Path] = set()
    for extent in archive.warc_file_extents():
        path = resolve_stored(extent["warc_file"], archive.path)
        known.add(path.resolve())
        if path.is_file() and path.stat().st_size > extent["end"]:
            found.append(Leftover(path, extent["warc_file"], extent["end"], extent["crawl_id"]))
    folders = {path.parent for path in known} | {Path(d).resolve() for d in warc_dirs}
    for folder in sorted(folders):
        for path in sorted(folder.glob("*.warc.gz")):
            crawl_id = None if path.resolve() in known else crawl_of_file(archive, path)
            if crawl_id is not None:
                found.append(Leftover(path, stored_name(path, archive.path), 0, crawl_id))
    return found


def crawl_of_file(archive: Archive, path: Path) -> int | None:
    """The crawl of this archive that wrote the file, by its name; None when none did."""
    parsed = parse_warc_name(path.name)
    if parsed is None or not _prefix_may_be(path.name, warc_prefix(archive.path)):
        return None
    crawl_id, opened = parsed
    try:
        crawl = archive.crawl(crawl_id)
    except ArchiveError:  # no such crawl here: another archive's file
        return None
    started = _time(crawl["started_at"]) - _NAME_TIME_SLACK
    ended = _time(crawl["finished_at"]) if crawl.get("finished_at") else None
    if opened < started or (ended is not None and opened > ended + _NAME_TIME_SLACK):
        return None
    return crawl_id


def _prefix_may_be(name: str, prefix: str) -> bool:
    """A name with a token starts with its archive's prefix; one written before the archives
    had their own (no token) starts with "unpog" whatever the archive."""
    match = WARC_NAME.match(name)
    return bool(match) and (match["prefix"] == prefix or not match["token"])


def _time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def record_spans(path: Path, start: int) -> Iterator[tuple[int, int]]:
    """(offset, length) of each complete record from `start`; an incomplete last one (a
    crawl killed while writing it) ends the walk."""
    with path.open("rb") as handle:
        handle.seek(start)
        records = ArchiveIterator(handle)
        try:
            for _record in records:
                records.read_to_end()
                yield records.get_record_offset(), records.get_record_length()
        except (ArchiveLoadFailed, EOFError, OSError, ValueError) as error:
            logger.warning("%s: records end before the file does (%s)", path, error)


def index_leftovers(archive: Archive, warc_dirs: Iterable[Path] = ()) -> int:
    """Index every record this archive wrote and did not index; return how many."""
    indexed = 0
    for leftover in leftovers(archive, warc_dirs):
        indexed += _index_file(archive, leftover)
    if indexed:
        logger.warning("WARC: indexed %d records an earlier crawl wrote but did not", indexed)
    return indexed


def _index_file(archive: Archive, leftover: Leftover) -> int:
    indexed = 0
    with leftover.path.open("rb") as handle:
        for offset, length in list(record_spans(leftover.path, leftover.start)):
            try:
                record = parse_record(read_member(handle, offset, length, MAX_RECORD_BYTES))
            except RecordProblem as problem:
                logger.warning("%s@%d: not indexed (%s)", leftover.name, offset, problem)
                break
            if archive.capture_ids([record.headers.get("WARC-Record-ID", "")]):
                continue  # indexed after all (a file listed twice)
            row = capture_row(archive, record, leftover, offset, length)
            archive.add_captures([row])
            indexed += 1
    return indexed


def capture_row(
    archive: Archive, record: StoredRecord, leftover: Leftover, offset: int, length: int
) -> dict[str, Any]:
    """The `captures` row of a record read back, as the crawl would have written it."""
    headers = record.headers
    record_type = headers.get("WARC-Type")
    url = headers.get("WARC-Target-URI")
    related = archive.capture_ids(
        [v for v in (headers.get("WARC-Refers-To"), headers.get("WARC-Concurrent-To")) if v]
    )
    row: dict[str, Any] = {
        "crawl_id": leftover.crawl_id,
        "record_type": record_type,
        "record_id": headers.get("WARC-Record-ID"),
        "url": url,
        "canonical_url": site.canonical_url(url) if url else None,
        "page_type": page_type_of(url),
        "fetched_at": headers.get("WARC-Date"),
        "payload_digest": headers.get("WARC-Payload-Digest"),
        "block_digest": headers.get("WARC-Block-Digest"),
        "warc_file": leftover.name,
        "offset": offset,
        "record_length": length,
        "revisit_of": related.get(headers.get("WARC-Refers-To", "")),
        "concurrent_to": related.get(headers.get("WARC-Concurrent-To", "")),
        **_payload_fields(archive, record, record_type),
    }
    return row


def _payload_fields(
    archive: Archive, record: StoredRecord, record_type: str | None
) -> Mapping[str, Any]:
    if record_type in ("warcinfo", "metadata"):
        return {"length": len(record.block)}
    if record_type not in ("response", "revisit"):
        return {}
    head, payload = record.http_split
    status, headers = http_headers(head)
    fields = {"status": status, "content_type": headers.get("content-type"), "length": None}
    if record_type == "response":
        fields["length"] = len(payload)
    else:  # a revisit holds no payload: its length is that of the capture it refers to
        target = archive.capture_ids([record.headers.get("WARC-Refers-To", "")])
        if target:
            fields["length"] = archive.capture(next(iter(target.values())))["length"]
    return fields


def page_type_of(url: str | None) -> str | None:
    """What the crawl fetched a URL as (the WARC does not say): robots, list, article, or
    None (a downloaded file)."""
    if not url:
        return None
    path = urlsplit(url).path.lower()
    if path == "/robots.txt":
        return "robots"
    if path.endswith("_list.asp"):
        return "list"
    if path.endswith("_view.asp") or site.ISSUE_PAGE_RE.search(path):
        return "article"
    return None
