"""Archival capture: every HTTP exchange of a crawl as gzipped WARC 1.1, indexed in the archive.

`WarcCaptureMiddleware` sits next to the downloader (order 950, see settings.py), so it sees
each request as sent (with Accept-Encoding) and each body as received, before
HttpCompressionMiddleware decodes it. `WarcFiles` writes the records, one gzip member each,
rolling over to a new file past UNPOG_WARC_MAX_SIZE; every record is then indexed in the
archive's `captures` table, through the pipeline's own connection.

The reading half (`read_record`, `check_capture`, `page_of`, `cdxj_lines`) serves
`unpog verify`, `unpog reparse` and `unpog cdx`; it needs neither Scrapy nor the network.

What is byte-exact and what is not: the HTTP body is stored as Scrapy received it (chunked
transfer coding removed by Twisted, content coding such as gzip kept). The HTTP header block
is rebuilt from the headers Scrapy hands over (their order and spelling may differ from the
wire; Twisted keeps Transfer-Encoding and Connection apart, so they are missing); the
request record gains the Host header that Twisted adds on the wire.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import os
import socket
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from importlib.metadata import version as _version
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils._compression import (  # the decoders HttpCompressionMiddleware runs
    _DecompressionMaxSizeExceeded,
    _inflate,
    _unbrotli,
    _unzstd,
)
from scrapy.utils.gz import gunzip
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import BufferWARCWriter, WARCWriter

from unpog_crawler import __version__
from unpog_crawler.archive import Archive, ArchiveError
from unpog_crawler.signals import archive_opened
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
SENT_AT_META = "_unpog_warc_sent_at"
GZIP_LEVEL = 1


# --- Small helpers ------------------------------------------------------------------------


def sha1_digest(data: bytes) -> str:
    """A WARC digest value: 'sha1:' and the base32 SHA-1, as warcio and pywb write them."""
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def warc_date(moment: datetime) -> str:
    return datetime_to_iso_date(moment.astimezone(timezone.utc).replace(tzinfo=None), True)


def warc_dir_for(db_path: str | Path, setting: str | None) -> Path:
    """UNPOG_WARC_DIR, or warc/ beside the archive database when it is empty."""
    return Path(setting) if setting else Path(db_path).parent / "warc"


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


# --- Writing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """Where one record landed."""

    record: ArcWarcRecord
    path: Path
    offset: int
    length: int


class WarcFiles:
    """The WARC files of one crawl: `unpog-crawl<id>-<UTC time>-<serial>.warc.gz`, each
    starting with a warcinfo record and rolled over past `max_size` bytes.

    Each write is one os.write of whole gzip members on an append-only descriptor, with no
    buffer in this process: a crawl killed at any moment leaves every file readable up to
    its last complete record.
    """

    def __init__(self, directory: Path, crawl_id: int, max_size: int, info: dict[str, str]):
        self.directory = directory
        self.crawl_id = crawl_id
        self.max_size = max_size
        self.info = info
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
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        name = f"unpog-crawl{self.crawl_id}-{stamp}-{len(self.paths):05d}.warc.gz"
        path = self.directory / name
        # O_EXCL: never append to, or clobber, a file another crawl wrote.
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
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


# --- The Scrapy side ------------------------------------------------------------------------


class WarcCaptureMiddleware:
    """Downloader middleware writing each exchange to WARC and the `captures` index."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.session: CaptureSession | None = None
        self._unavailable = False
        self._archive: Archive | None = None
        self._crawl_id: int | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.archive_opened, signal=archive_opened)

    @classmethod
    def from_crawler(cls, crawler: Any) -> WarcCaptureMiddleware:
        if not crawler.settings.getbool("UNPOG_WARC_ENABLED"):
            raise NotConfigured("UNPOG_WARC_ENABLED is off")
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        # The WARC-Date of both records: when the request went out (a retry is a new copy).
        request.meta[SENT_AT_META] = warc_date(datetime.now(timezone.utc))

    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        session = self._session()
        if session is not None:
            self._guard(session.exchange, request, response, self._sent_at(request))
        return response

    def process_exception(
        self, request: Request, exception: BaseException, spider: Any = None
    ) -> None:
        session = self._session()
        if session is not None:
            self._guard(session.error, request, exception, self._sent_at(request))

    def archive_opened(self, archive: Archive, crawl_id: int) -> None:
        """The pipeline's connection and crawl row: captures are indexed through them."""
        self._archive, self._crawl_id = archive, crawl_id

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.session is None:
            return
        self.session.close()
        stats = self.crawler.stats
        stats.set_value("unpog/warc/records", self.session.records)
        stats.set_value("unpog/warc/revisits", self.session.revisits)
        stats.set_value("unpog/warc/files", len(self.session.files.paths))
        logger.info(
            "WARC: %d records (%d revisits) in %s",
            self.session.records,
            self.session.revisits,
            ", ".join(str(p) for p in self.session.files.paths),
        )

    @staticmethod
    def _sent_at(request: Request) -> str:
        return request.meta.get(SENT_AT_META) or warc_date(datetime.now(timezone.utc))

    def _guard(self, method: Any, *args: Any) -> None:
        """A capture that cannot be written is logged and counted; the crawl goes on."""
        try:
            method(*args)
        except ArchiveError as error:  # the index refused it (locked past the busy timeout)
            self.crawler.stats.inc_value("unpog/warc/errors")
            logger.error("WARC: could not index the capture of %s (%s)", args[0].url, error)
        except Exception:
            self.crawler.stats.inc_value("unpog/warc/errors")
            logger.exception("WARC: could not capture %s", args[0].url)

    def _session(self) -> CaptureSession | None:
        """Opened on first use: the pipeline has sent `archive_opened` before any request."""
        if self.session is not None or self._unavailable:
            return self.session
        crawl_id, archive = self._crawl_id, self._archive
        if not crawl_id or archive is None:
            self._unavailable = True
            logger.warning("WARC capture off: the archive pipeline did not open a crawl")
            return None
        settings = self.crawler.settings
        directory = warc_dir_for(archive.path, settings.get("UNPOG_WARC_DIR"))
        files = WarcFiles(
            directory, crawl_id, settings.getint("UNPOG_WARC_MAX_SIZE"), self._info(crawl_id)
        )
        self.session = CaptureSession(archive, crawl_id, files)
        return self.session

    def _info(self, crawl_id: int) -> dict[str, str]:
        settings = self.crawler.settings
        recorded = {name: settings.get(name) for name in WARCINFO_SETTINGS}
        return {
            "software": SOFTWARE,
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
            "warc-format/warc-1.1/",
            "isPartOf": f"unpog crawl {crawl_id}",
            "hostname": socket.gethostname(),
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "http-header-user-agent": settings.get("USER_AGENT"),
            "crawl-settings": json.dumps(recorded, sort_keys=True, default=str),
        }


# --- Reading ---------------------------------------------------------------------------------


class RecordProblem(Exception):
    """A stored record cannot be read back as indexed."""


@dataclass(frozen=True)
class StoredRecord:
    """One record read back: its WARC headers (names as written) and its block."""

    headers: dict[str, str]
    block: bytes

    @property
    def http_split(self) -> tuple[bytes, bytes]:
        """(HTTP header block, payload) of a request, response or revisit record."""
        head, sep, payload = self.block.partition(b"\r\n\r\n")
        if not sep:
            raise RecordProblem("no end of HTTP headers in the record block")
        return head + sep, payload


def read_member(handle: Any, offset: int, length: int, max_size: int) -> bytes:
    """Decompress the gzip member at offset; it must end exactly at offset + length and
    hold at most `max_size` bytes (an altered file must not fill the memory)."""
    handle.seek(offset)
    raw = handle.read(length)
    if len(raw) < length:
        raise RecordProblem(f"file ends {length - len(raw)} bytes short of the record (truncated)")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, max_size + 1)
    except zlib.error as error:
        raise RecordProblem(f"gzip data is corrupt ({error})") from None
    if len(data) > max_size:
        raise RecordProblem(
            f"record holds more than {max_size} bytes, far more than its index says (altered)"
        )
    if not inflater.eof:
        raise RecordProblem("gzip member is incomplete (record length or file altered)")
    if inflater.unused_data:
        raise RecordProblem("gzip member ends before the indexed record length")
    return data


def parse_record(data: bytes) -> StoredRecord:
    head, sep, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    if not sep or not lines[0].startswith("WARC/"):
        raise RecordProblem("not a WARC record")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    try:
        length = int(headers["Content-Length"])
    except (KeyError, ValueError):
        raise RecordProblem("WARC record without a valid Content-Length") from None
    if len(rest) != length + 4 or rest[length:] != b"\r\n\r\n":
        raise RecordProblem("record block length differs from its Content-Length")
    return StoredRecord(headers, rest[:length])


# Bytes a record may hold beyond its indexed payload length: WARC and HTTP headers.
RECORD_HEADERS_ALLOWANCE = 16 * 1024 * 1024


def read_record(handle: Any, capture: Mapping[str, Any]) -> StoredRecord:
    limit = (capture.get("length") or 0) + RECORD_HEADERS_ALLOWANCE
    return parse_record(read_member(handle, capture["offset"], capture["record_length"], limit))


def check_capture(record: StoredRecord, capture: Mapping[str, Any]) -> list[str]:
    """Problems of a record read back against its index row (empty: all is well)."""
    headers = record.headers
    problems = []
    expected = {
        "WARC-Record-ID": capture["record_id"],
        "WARC-Type": capture["record_type"],
        "WARC-Target-URI": capture["url"],
    }
    for name, value in expected.items():
        if headers.get(name) != value:
            problems.append(f"{name} is {headers.get(name)!r}, index says {value!r}")
    block_digest = sha1_digest(record.block)
    if headers.get("WARC-Block-Digest") != block_digest:
        problems.append("block digest does not match the block (record altered)")
    if capture["block_digest"] and capture["block_digest"] != block_digest:
        problems.append("block digest differs from the index")
    if capture["record_type"] in ("response", "revisit"):
        problems += _check_payload(record, capture)
    return problems


def _check_payload(record: StoredRecord, capture: Mapping[str, Any]) -> list[str]:
    stated = record.headers.get("WARC-Payload-Digest")
    problems = []
    if stated != capture["payload_digest"]:
        problems.append("payload digest differs from the index")
    if capture["record_type"] == "response":
        _, payload = record.http_split
        if sha1_digest(payload) != stated:
            problems.append("payload digest does not match the payload (record altered)")
        if capture["length"] is not None and len(payload) != capture["length"]:
            problems.append(f"payload is {len(payload)} bytes, index says {capture['length']}")
    return problems


# --- Pages for re-parsing ------------------------------------------------------------------


@dataclass(frozen=True)
class StoredPage:
    """A response as the spider saw it: decoded body, headers it needs, URL."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes


def http_headers(block: bytes) -> tuple[int, dict[str, str]]:
    """Status and headers (lower-case names) of an HTTP header block. Content-Encoding
    lines add up, as Scrapy reads them: 'gzip' twice is 'gzip, gzip'."""
    lines = block.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        raise RecordProblem(f"no HTTP status line ({lines[0][:80]!r})") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-encoding" and name in headers:
                value = f"{headers[name]}, {value}"
            headers[name] = value
    return status, headers


# Scrapy's own decoders, with the size cap its HttpCompressionMiddleware applies during a
# crawl: a stored body is decoded exactly as the crawl decoded it, or refused as it was.
_DECODERS = {
    "gzip": gunzip,
    "x-gzip": gunzip,
    "deflate": _inflate,
    "br": _unbrotli,
    "zstd": _unzstd,
}


def decode_content(body: bytes, encoding: str | None, max_size: int) -> bytes:
    """Undo Content-Encoding as HttpCompressionMiddleware does (stored bodies keep it),
    never past `max_size` bytes (DOWNLOAD_MAXSIZE; 0: no cap) after any step."""
    for coding in reversed([c.strip().lower() for c in (encoding or "").split(",") if c.strip()]):
        if coding == "identity":
            continue
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise RecordProblem(f"unknown Content-Encoding {coding!r}")
        try:
            body = decoder(body, max_size=max_size)
        except _DecompressionMaxSizeExceeded:
            raise RecordProblem(
                f"body is over {max_size} bytes once decoded ({coding}; DOWNLOAD_MAXSIZE): "
                "the crawl refused it too"
            ) from None
        except Exception as error:  # any decoder's own error: the stored body is unreadable
            raise RecordProblem(f"body is not valid {coding} ({error})") from None
    if max_size and len(body) > max_size:
        raise RecordProblem(f"body is over {max_size} bytes (DOWNLOAD_MAXSIZE)")
    return body


def page_of(
    record: StoredRecord, payload_record: StoredRecord | None = None, *, max_size: int
) -> StoredPage:
    """The page a response (or a revisit, with the record holding its payload) carried,
    decoded as the crawl decoded it, up to `max_size` bytes (DOWNLOAD_MAXSIZE)."""
    head, payload = record.http_split
    if payload_record is not None:
        payload = payload_record.http_split[1]
    status, headers = http_headers(head)
    body = decode_content(payload, headers.get("content-encoding"), max_size)
    kept = {"Content-Type": headers["content-type"]} if "content-type" in headers else {}
    return StoredPage(record.headers["WARC-Target-URI"], status, kept, body)


# --- CDXJ ----------------------------------------------------------------------------------


def surt(url: str) -> str:
    """Sort-friendly URI Reordering Transform, as pywb's `surt` package writes it by default:
    lower case, host reversed with commas and without 'www.', default port dropped, query
    parameters sorted."""
    parts = urlsplit(url.strip().lower())
    host = parts.hostname or ""
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme)
    key = ",".join(reversed(host.split(".")))
    if port and port != default:
        key += f":{port}"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{key}){parts.path or '/'}" + (f"?{query}" if query else "")


def cdx_timestamp(warc_date_value: str) -> str:
    return "".join(ch for ch in warc_date_value if ch.isdigit())[:14]


def _cdx_type_fields(capture: Mapping[str, Any]) -> dict[str, str]:
    """mime and status as pywb's indexer writes them: a revisit has neither of its own."""
    if capture["record_type"] == "revisit":
        return {"mime": "warc/revisit"}
    mime = (capture["content_type"] or "unk").split(";")[0].strip()
    return {"mime": mime, "status": str(capture["status"])}


def cdxj_lines(captures: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """CDXJ lines of response and revisit records, sorted as replay tools need them."""
    lines = []
    for capture in captures:
        if capture["record_type"] not in ("response", "revisit"):
            continue
        fields = {"url": capture["url"], **_cdx_type_fields(capture)}
        fields["digest"] = (capture["payload_digest"] or "").removeprefix("sha1:")
        fields["length"] = str(capture["record_length"])
        fields["offset"] = str(capture["offset"])
        fields["filename"] = Path(capture["warc_file"]).name
        key = f"{surt(capture['url'])} {cdx_timestamp(capture['fetched_at'])}"
        lines.append(f"{key} {json.dumps(fields, ensure_ascii=False)}")
    yield from sorted(lines)
