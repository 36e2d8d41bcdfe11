"""What a server may make the crawl do: where it may send it, and how much it may send.

- `SameOriginMiddleware` keeps every request (pages, files, redirects) on the scheme, host
  and port of UNPOG_BASE_URL; a redirect elsewhere is a fetch error naming where it led.
- `BoundedHTTPDownloadHandler` is Scrapy's HTTP/1.1 handler with a cap on the response's
  header section (UNPOG_MAX_RESPONSE_HEADERS lines, UNPOG_MAX_RESPONSE_HEADER_BYTES bytes):
  Twisted keeps every header line it is sent, so a server that sends them forever filled
  16.5 GB (issue 18). DOWNLOAD_MAXSIZE caps only the body.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
)
from scrapy.exceptions import DownloadFailedError, IgnoreRequest
from scrapy.http import Response
from twisted.web._newclient import STATUS, ResponseFailed

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
