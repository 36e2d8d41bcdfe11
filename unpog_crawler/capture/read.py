"""Reading stored WARC records back: checked against their index row (`unpog verify`), and
as the page the crawl saw (`unpog reparse`). Neither needs the network."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scrapy.utils._compression import (  # the decoders HttpCompressionMiddleware runs
    _DecompressionMaxSizeExceeded,
    _inflate,
    _unbrotli,
    _unzstd,
)
from scrapy.utils.gz import gunzip

from unpog_crawler.capture.write import sha1_digest


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
