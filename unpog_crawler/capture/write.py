"""Writing a crawl's exchanges as gzipped WARC 1.1 records, indexed in the archive.

`WarcFiles` writes the records, one gzip member each, rolling over to a new file past
UNPOG_WARC_MAX_SIZE; `CaptureSession` turns each exchange into records and indexes every
record in the archive's `captures` table, through the pipeline's own connection. The
Scrapy side is `middlewares.WarcCaptureMiddleware`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import os
import re
import secrets
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from importlib.metadata import version as _version
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Request, Response
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import BufferWARCWriter, WARCWriter

from unpog_crawler import __version__, folders
from unpog_crawler.archive import Archive
from unpog_crawler.site import canonical_url

logger = logging.getLogger(__name__)

WARC_VERSION = "1.1"


SOFTWARE = f"unpog-crawler/{__version__} (Scrapy/{scrapy.__version__}; warcio/{_version('warcio')})"


# Settings written into each warcinfo record, besides the crawl's own recorded settings.
WARCINFO_SETTINGS = (
    "UNPOG_BASE_URL",
    "UNPOG_QUARTERLY_LIST_PATH",
    "USER_AGENT",
    "ROBOTSTXT_OBEY",
    "DOWNLOAD_DELAY",
    "CONCURRENT_REQUESTS",
    "CONCURRENT_REQUESTS_PER_DOMAIN",
    "AUTOTHROTTLE_ENABLED",
    "RETRY_TIMES",
    "DOWNLOAD_MAXSIZE",
    "UNPOG_WARC_MAX_SIZE",
)


GZIP_LEVEL = 1


def sha1_digest(data: bytes) -> str:
    """A WARC digest value: 'sha1:' and the base32 SHA-1, as warcio and pywb write them."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def warc_date(moment: datetime) -> str:
    return datetime_to_iso_date(moment.astimezone(timezone.utc).replace(tzinfo=None), True)


def warc_dir_for(db_path: str | Path, setting: str | None) -> Path:
    """UNPOG_WARC_DIR, or the archive's own WARC folder (archive/unpog/warc/) when it is
    empty."""
    return folders.companion_dir(db_path, folders.WARC, setting)


# `<prefix>-crawl<id>-<UTC time>-<token>-<serial>.warc.gz`: the prefix is the database's
# name, the token random, so that neither two archives nor one archive whose crawl ids
# started again (a new database of the same name) can write the same name. Names written
# before had neither: `unpog-crawl<id>-<UTC time>-<serial>.warc.gz`.
WARC_NAME = re.compile(
    r"^(?P<prefix>.+?)-crawl(?P<crawl>\d+)-(?P<opened>\d{14})"
    r"(?:-(?P<token>[0-9a-f]{8}))?-(?P<serial>\d{5})\.warc\.gz$"
)


def warc_file_name(prefix: str, crawl_id: int, opened: datetime, token: str, serial: int) -> str:
    return f"{prefix}-crawl{crawl_id}-{opened:%Y%m%d%H%M%S}-{token}-{serial:05d}.warc.gz"


def parse_warc_name(name: str) -> tuple[int, datetime] | None:
    """(crawl id, UTC time the file was opened) of a name this project writes; else None."""
    match = WARC_NAME.match(name)
    if match is None:
        return None
    opened = datetime.strptime(match["opened"], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    return int(match["crawl"]), opened


@functools.lru_cache(maxsize=64)  # asked for every record; resolving paths is not free
def stored_name(path: Path, db_path: str | Path) -> str:
    """A WARC file as the index names it: relative to the database's folder when inside it,
    so that the archive folder can move as a whole; absolute otherwise."""
    base = Path(db_path).resolve().parent
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(base))
    except ValueError:
        return str(resolved)


def resolve_stored(name: str, db_path: str | Path) -> Path:
    path = Path(name)
    return path if path.is_absolute() else Path(db_path).resolve().parent / path


class _RawHeaders(StatusAndHeaders):
    """An HTTP header block written byte for byte (warcio would %-encode non-ASCII values,
    such as a Korean file name in Content-Disposition)."""

    def __init__(self, first_line: str, headers: list[tuple[str, str]], raw: bytes, **kw: Any):
        super().__init__(first_line, headers, **kw)
        self._raw = raw

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self._raw


def _http_block(first_line: bytes, pairs: Iterable[tuple[bytes, bytes]]) -> bytes:
    lines = [first_line] + [name + b": " + value for name, value in pairs]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _scrapy_pairs(headers: Any) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, values in headers.items() for value in values]


def _as_text(pairs: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in pairs]


def request_headers(request: Request) -> _RawHeaders:
    parts = urlsplit(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    first = f"{request.method} {target} HTTP/1.1"
    pairs = _scrapy_pairs(request.headers)
    if not any(name.lower() == b"host" for name, _ in pairs):
        pairs.insert(0, (b"Host", parts.netloc.encode("ascii")))  # Twisted adds it on the wire
    raw = _http_block(first.encode("latin-1"), pairs)
    return _RawHeaders(first, _as_text(pairs), raw, is_http_request=True)


def response_headers(response: Response) -> _RawHeaders:
    protocol = getattr(response, "protocol", None) or "HTTP/1.1"
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = ""
    status_line = f"{response.status} {reason}".strip()
    pairs = _scrapy_pairs(response.headers)
    raw = _http_block(f"{protocol} {status_line}".encode("latin-1"), pairs)
    return _RawHeaders(status_line, _as_text(pairs), raw, protocol=protocol)


def serialize(record: ArcWarcRecord) -> bytes:
    """One record as one complete gzip member (readers can seek straight to it)."""
    out = BytesIO()
    WARCWriter(out, gzip=False, warc_version=WARC_VERSION).write_record(record)
    # warcio would compress at level 9; for HTML pages level 1 is 2.3x as fast and its
    # members 0.5% larger (bench/RESULTS.md), and this runs for every exchange of a crawl.
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    return compressor.compress(out.getvalue()) + compressor.flush()


@dataclass(frozen=True)
class Written:
    """Where one record landed."""

    record: ArcWarcRecord
    path: Path
    offset: int
    length: int


class WarcFiles:
    """The WARC files of one crawl (`WARC_NAME`), each starting with a warcinfo record and
    rolled over past `max_size` bytes.

    Each write is one os.write of whole gzip members on an append-only descriptor, with no
    buffer in this process: a crawl killed at any moment leaves every file readable up to
    its last complete record.
    """

    def __init__(
        self,
        directory: Path,
        crawl_id: int,
        max_size: int,
        info: dict[str, str],
        prefix: str = "unpog",
    ):
        self.directory = directory
        self.crawl_id = crawl_id
        self.max_size = max_size
        self.info = info
        self.prefix = prefix
        self.token = secrets.token_hex(4)
        self.builder = BufferWARCWriter(gzip=True, warc_version=WARC_VERSION)
        self.paths: list[Path] = []
        self._fd: int | None = None
        self._size = 0
        self._after_info = 0

    def write(self, records: list[ArcWarcRecord]) -> list[Written]:
        """Write records together, in one file; returns them (and any new warcinfo) placed."""
        members = [serialize(record) for record in records]
        placed: list[Written] = []
        full = self._size > self._after_info and self._size + sum(map(len, members)) > self.max_size
        if self._fd is None or full:
            placed.append(self._open_next())
        placed += self._append(list(zip(records, members, strict=True)))
        return placed

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def _open_next(self) -> Written:
        self.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            name = warc_file_name(
                self.prefix, self.crawl_id, datetime.now(timezone.utc), self.token, len(self.paths)
            )
            path = self.directory / name
            try:  # O_EXCL: never append to, or clobber, a file another crawl wrote
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
                self._fd = os.open(path, flags, 0o644)
                break
            except FileExistsError:  # one chance in 2**32 a second: draw another token
                self.token = secrets.token_hex(4)
        self._size = 0
        self.paths.append(path)
        info = self.builder.create_warcinfo_record(name, self.info)
        (written,) = self._append([(info, serialize(info))])
        self._after_info = self._size
        return written

    def _append(self, pairs: list[tuple[ArcWarcRecord, bytes]]) -> list[Written]:
        data = b"".join(member for _, member in pairs)
        view = memoryview(data)
        while view:  # a short write is possible (disk full, signals): finish it
            done = os.write(self._fd, view)
            view = view[done:]
        placed, offset = [], self._size
        for record, member in pairs:
            placed.append(Written(record, self.paths[-1], offset, len(member)))
            offset += len(member)
        self._size = offset
        return placed


class CaptureSession:
    """One crawl's capture: builds the records of each exchange, writes them, indexes them."""

    def __init__(self, archive: Archive, crawl_id: int, files: WarcFiles) -> None:
        self.archive = archive
        self.crawl_id = crawl_id
        self.files = files
        self.builder = files.builder
        self.records = 0
        self.revisits = 0

    @classmethod
    def start(
        cls,
        archive: Archive,
        crawl_id: int,
        directory: Path,
        max_size: int,
        info: dict[str, str],
    ) -> CaptureSession:
        """The capture of a crawl that starts now, into `directory`. First the records an
        earlier crawl wrote but did not index (killed between the two) are indexed."""
        from unpog_crawler.capture.recover import index_leftovers  # it reads what this writes

        try:
            index_leftovers(archive, [directory])
        except Exception as error:  # never worth the crawl: verify --repair can do it later
            logger.warning("WARC: records of an earlier crawl not indexed (%s)", error)
        prefix = folders.warc_prefix(archive.path)
        return cls(archive, crawl_id, WarcFiles(directory, crawl_id, max_size, info, prefix))

    def exchange(self, request: Request, response: Response, sent_at: str) -> None:
        url = response.url
        body = response.body
        http = response_headers(response)
        digest = sha1_digest(body)
        target = self.archive.revisit_target(url, digest) if body else None
        warc_headers = {"WARC-Date": sent_at}
        if target is None:  # computed above already: warcio need not digest the body again
            warc_headers["WARC-Payload-Digest"] = digest
        if response.ip_address is not None:
            warc_headers["WARC-IP-Address"] = str(response.ip_address)
        if target is None:
            main = self.builder.create_warc_record(
                url,
                "response",
                payload=BytesIO(body),
                length=len(body),
                http_headers=http,
                warc_headers_dict=warc_headers,
            )
        else:
            main = self.builder.create_revisit_record(
                url,
                digest,
                target["url"],
                target["fetched_at"],
                http_headers=http,
                warc_headers_dict=warc_headers,
            )
            main.rec_headers.add_header("WARC-Refers-To", target["record_id"])
            self.revisits += 1
        sent = self._request_record(request, sent_at, main)
        extra = {
            "page_type": page_type(request),
            "status": response.status,
            "content_type": _header(response, b"Content-Type"),
            "length": len(body),
            "revisit_of": target["id"] if target else None,
        }
        self._write_and_index([(main, extra), (sent, {"page_type": page_type(request)})])

    def error(self, request: Request, exception: BaseException, sent_at: str) -> None:
        """A request that got no response: the request, and a metadata record saying why."""
        sent = self._request_record(request, sent_at, None)
        text = f"fetch-error: {type(exception).__name__}: {exception}\r\n".encode()
        note = self.builder.create_warc_record(
            request.url,
            "metadata",
            payload=BytesIO(text),
            length=len(text),
            warc_content_type="application/warc-fields",
            warc_headers_dict={
                "WARC-Date": sent_at,
                "WARC-Concurrent-To": sent.rec_headers.get_header("WARC-Record-ID"),
            },
        )
        kind = {"page_type": page_type(request)}
        self._write_and_index([(sent, kind), (note, {**kind, "length": len(text)})])

    def close(self) -> None:
        self.files.close()

    def _request_record(
        self, request: Request, sent_at: str, response: ArcWarcRecord | None
    ) -> ArcWarcRecord:
        headers = {"WARC-Date": sent_at}
        if response is not None:
            headers["WARC-Concurrent-To"] = response.rec_headers.get_header("WARC-Record-ID")
        return self.builder.create_warc_record(
            request.url,
            "request",
            payload=BytesIO(request.body),
            length=len(request.body),
            http_headers=request_headers(request),
            warc_headers_dict=headers,
        )

    def _write_and_index(self, records: list[tuple[ArcWarcRecord, dict[str, Any]]]) -> None:
        placed = self.files.write([record for record, _ in records])
        extras = [{}] * (len(placed) - len(records)) + [extra for _, extra in records]
        rows = [self._row(w, extra) for w, extra in zip(placed, extras, strict=True)]
        # The second record of a pair (request, or error note) was written with the first.
        rows[-1]["concurrent_to_index"] = len(rows) - 2
        self.archive.add_captures(rows)
        self.records += len(rows)

    def _row(self, written: Written, extra: Mapping[str, Any]) -> dict[str, Any]:
        headers = written.record.rec_headers
        url = headers.get_header("WARC-Target-URI")
        record_type = headers.get_header("WARC-Type")
        return {
            "crawl_id": self.crawl_id,
            "record_type": record_type,
            "record_id": headers.get_header("WARC-Record-ID"),
            "url": url,
            "canonical_url": canonical_url(url) if url else None,
            "fetched_at": headers.get_header("WARC-Date"),
            "payload_digest": headers.get_header("WARC-Payload-Digest"),
            "block_digest": headers.get_header("WARC-Block-Digest"),
            "warc_file": stored_name(written.path, self.archive.path),
            "offset": written.offset,
            "record_length": written.length,
            "length": written.record.length if record_type == "warcinfo" else None,
            **extra,
        }


def page_type(request: Request) -> str | None:
    if urlsplit(request.url).path == "/robots.txt":
        return "robots"
    return request.meta.get("page_type")


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value is not None else None
