"""The crawl's downloader middlewares and download handler: what a server may make the crawl
do, how long it waits for it, what robots.txt allows, and the WARC capture of every exchange.

- `SameOriginMiddleware` keeps every request (pages, files, redirects) on the scheme, host
  and port of UNPOG_BASE_URL; a redirect elsewhere is a fetch error naming where it led.
- `BoundedHTTPDownloadHandler` is Scrapy's HTTP/1.1 handler with a cap on the response's
  header section (UNPOG_MAX_RESPONSE_HEADERS lines, UNPOG_MAX_RESPONSE_HEADER_BYTES bytes):
  Twisted keeps every header line it is sent, so a server that sends them forever filled
  16.5 GB (issue 18). DOWNLOAD_MAXSIZE caps only the body.
- `RetryAfterMiddleware`: retries that honour the server's Retry-After (RFC 9110, 10.2.3).
  Scrapy's RetryMiddleware retries 503s and friends at once; a server that says how long it
  needs (maintenance, overload) should be given that time, up to UNPOG_RETRY_AFTER_MAX.
- `RobotsRulesMiddleware`: robots.txt as RFC 9309 reads it, where Scrapy would crawl as if
  everything were allowed. Scrapy's RobotsTxtMiddleware treats a robots.txt it cannot read (a
  timeout, an error, a file over DOWNLOAD_MAXSIZE) as no robots.txt, and parses a 5xx error
  page as rules (none): either way the crawl proceeds as if all were allowed, silently
  (issue 18). Here, after RFC 9309, section 2.3.1:

  - 2xx: the rules, read up to UNPOG_ROBOTS_MAX_SIZE (at least 500 KiB; the rest is ignored,
    and the crawl's problems say so);
  - 4xx: "unavailable": no rules, everything may be crawled;
  - 5xx or no answer (timeout, connection, too many or off-site redirects, too large):
    "unreachable": nothing is crawled now. Each page is refused with the reason, which the
    crawl records as its problem; the next crawl asks again.
- `WarcCaptureMiddleware` sits next to the downloader (order 950, see settings.py), so it
  sees each request as sent (with Accept-Encoding) and each body as received, before
  HttpCompressionMiddleware decodes it; `capture.write` writes and indexes the records.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
)
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DownloadFailedError, IgnoreRequest, NotConfigured, StopDownload
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from twisted.web._newclient import STATUS, ResponseFailed

from unpog_crawler.archive import Archive, ArchiveError
from unpog_crawler.capture.write import (
    SOFTWARE,
    WARCINFO_SETTINGS,
    CaptureSession,
    warc_date,
    warc_dir_for,
)
from unpog_crawler.signals import archive_opened

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}


# --- Same origin -------------------------------------------------------------------------------


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port written out when it is the default."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is no number: no origin of ours
        return scheme, "", None
    return scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme)


class OffOrigin(IgnoreRequest):
    """A request or redirect that would leave UNPOG_BASE_URL's scheme, host and port."""


class SameOriginMiddleware:
    """Requests only to UNPOG_BASE_URL's origin: pages, files and where redirects lead.

    Replaces Scrapy's OffsiteMiddleware, which compares host names only: a redirect to the
    same host on another port (another server) was followed and archived (issue 18). A
    redirected request comes back through here before it is sent, so the page's errback
    names where the redirect led.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.origin = origin(base_url)

    @classmethod
    def from_crawler(cls, crawler: Any) -> SameOriginMiddleware:
        return cls(crawler.settings.get("UNPOG_BASE_URL"))

    def process_request(self, request: Request, spider: Any = None) -> None:
        if origin(request.url) == self.origin:
            return
        if request.meta.get("redirect_urls"):
            raise OffOrigin(f"redirected off the site to {request.url} (not followed)")
        raise OffOrigin(f"not fetched: {request.url} is not on {self.base_url}")


# --- Bounded response headers ----------------------------------------------------------------


class HeadersTooLarge(Exception):
    """The server sent more header lines or bytes than the crawl accepts."""


class _BoundedParser(_LenientHTTPClientParser):
    """Scrapy's lenient response parser, counting the header section as it arrives."""

    max_lines = 100
    max_bytes = 64 * 1024
    _lines = 0
    _bytes = 0

    def lineReceived(self, line: bytes) -> None:  # noqa: N802 (Twisted's naming)
        if self.state != STATUS:
            self._lines += 1
            self._bytes += len(line) + 1
            if self._lines > self.max_lines:
                raise HeadersTooLarge(
                    f"response headers: more than {self.max_lines} lines "
                    "(UNPOG_MAX_RESPONSE_HEADERS)"
                )
            if self._bytes > self.max_bytes:
                raise HeadersTooLarge(
                    f"response headers: more than {self.max_bytes:,} bytes "
                    "(UNPOG_MAX_RESPONSE_HEADER_BYTES)"
                )
        super().lineReceived(line)


def _bounded_factory(max_lines: int, max_bytes: int) -> type[_LenientHTTP11ClientFactory]:
    """A client factory whose protocols parse responses with `_BoundedParser`'s limits."""
    parser = type(
        "BoundedParser", (_BoundedParser,), {"max_lines": max_lines, "max_bytes": max_bytes}
    )

    class Protocol(_LenientHTTP11ClientProtocol):
        def request(self, request: Any) -> Any:
            answer = super().request(request)
            # As Scrapy does for its lenient parser: request() hardcodes the class.
            self._parser.__class__ = parser
            return answer

    class Factory(_LenientHTTP11ClientFactory):
        def buildProtocol(self, addr: Any) -> Protocol:  # noqa: N802
            return Protocol(self._quiescentCallback)

    return Factory


class BoundedHTTPDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 download handler; an oversized header section fails the request."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self._pool._factory = _bounded_factory(
            settings.getint("UNPOG_MAX_RESPONSE_HEADERS"),
            settings.getint("UNPOG_MAX_RESPONSE_HEADER_BYTES"),
        )

    async def download_request(self, request: Request) -> Response:
        # The WARC-Date of the exchange: now, when it is sent, after any download delay.
        request.meta[SENT_AT_META] = warc_date(datetime.now(timezone.utc))
        try:
            return await super().download_request(request)
        except DownloadFailedError as error:
            reason = _headers_too_large(error.__cause__)
            if reason is None:
                raise
            raise DownloadFailedError(reason) from None


def failure_text(error: BaseException) -> str:
    """One line for a download error: Twisted's ResponseFailed prints a list of Failure
    objects ("[<twisted.python.failure.Failure ...>]"), this gives their messages."""
    cause = error.__cause__ if isinstance(error, DownloadFailedError) else error
    if isinstance(cause, ResponseFailed):
        return "; ".join(f.getErrorMessage() or type(f.value).__name__ for f in cause.reasons)
    return str(error) or type(error).__name__


def _headers_too_large(cause: BaseException | None) -> str | None:
    """The HeadersTooLarge message inside Twisted's ResponseFailed, if that is the cause."""
    if isinstance(cause, ResponseFailed):
        for failure in cause.reasons:
            if isinstance(failure.value, HeadersTooLarge):
                return str(failure.value)
    return None


# --- Retry-After -------------------------------------------------------------------------------


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds or an HTTP date; else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retries, waiting first when the answer carries Retry-After."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> RetryAfterMiddleware:
        middleware = super().from_crawler(crawler)
        middleware.max_wait = crawler.settings.getfloat("UNPOG_RETRY_AFTER_MAX")
        return middleware

    async def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        result = super().process_response(request, response)
        raw = response.headers.get(b"Retry-After")
        wait = retry_after_seconds(raw.decode("latin-1") if raw else None)
        if isinstance(result, Request) and wait:
            wait = min(wait, self.max_wait)
            logger.info("%s answered %s: retrying in %.0f s", request.url, response.status, wait)
            await asyncio.sleep(wait)
        return result


# --- robots.txt (RFC 9309) ---------------------------------------------------------------------

ROBOTS_PATH = "/robots.txt"
RFC = "RFC 9309"


def is_robots_request(request: Request) -> bool:
    """The request Scrapy's robots middleware makes for a host's robots.txt."""
    return bool(request.meta.get("dont_obey_robotstxt")) and (
        urlparse_cached(request).path == ROBOTS_PATH
    )


class RobotsRulesMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with RFC 9309's rules for a robots.txt it cannot read."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.max_size = crawler.settings.getint("UNPOG_ROBOTS_MAX_SIZE")
        self._unreachable: dict[str, str] = {}  # netloc -> why nothing is crawled there
        crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)

    def bytes_received(self, data: bytes, request: Request, spider: Any = None) -> None:
        """Stop reading a robots.txt past UNPOG_ROBOTS_MAX_SIZE: what came is parsed."""
        if not is_robots_request(request):
            return
        received = request.meta.get("robots_bytes", 0) + len(data)
        request.meta["robots_bytes"] = received
        if received > self.max_size:
            raise StopDownload(fail=False)

    def process_request_2(self, rp: Any, request: Request) -> None:
        reason = self._unreachable.get(urlparse_cached(request).netloc)
        if reason:
            raise IgnoreRequest(f"not fetched: {reason}: nothing is crawled until it can ({RFC})")
        super().process_request_2(rp, request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        status = response.status
        if status >= 500 or status < 200:
            self._stats.inc_value(f"robotstxt/response_status_count/{status}")
            self._refuse(netloc, f"robots.txt answered HTTP {status}")
            return
        body = response.body if status < 300 else b""  # 3xx not followed, 4xx: no rules
        if status >= 300:
            logger.info("%s answered HTTP %s: no rules (%s)", response.url, status, RFC)
        if len(body) > self.max_size or "download_stopped" in response.flags:
            body = body[: self.max_size].rpartition(b"\n")[0]
            self._note(
                f"robots.txt is larger than UNPOG_ROBOTS_MAX_SIZE: only its first "
                f"{len(body):,} bytes were read ({RFC})"
            )
        await super()._parse_robots(response.replace(body=body), netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        detail = failure_text(exc)
        self._refuse(netloc, f"robots.txt could not be read ({detail})", exc)

    def _refuse(self, netloc: str, reason: str, exc: Exception | None = None) -> None:
        """Nothing is crawled on `netloc` now: its pages are refused with `reason`."""
        self._unreachable[netloc] = reason
        self._note(reason)
        super()._robots_error(exc or IgnoreRequest(reason), netloc)

    def _note(self, reason: str) -> None:
        """Log it, and give it to the spider for the crawl's problems (BoardSpider.noted)."""
        logger.error("%s: %s", ROBOTS_PATH, reason)
        noted = getattr(self.crawler.spider, "noted", None)
        if isinstance(noted, dict):
            noted.setdefault(ROBOTS_PATH, reason)


# --- WARC capture ------------------------------------------------------------------------------

SENT_AT_META = "_unpog_warc_sent_at"


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
        # The WARC-Date is taken by the download handler when the request is sent, after the
        # download delay; a retry (a copy) must not carry its earlier attempt's.
        request.meta.pop(SENT_AT_META, None)

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
        max_size = settings.getint("UNPOG_WARC_MAX_SIZE")
        self.session = CaptureSession.start(
            archive, crawl_id, directory, max_size, self._info(crawl_id)
        )
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
