"""First contact: a site that cannot be reached is said so at once, in one line.

Until the site has answered once in a crawl (any HTTP status), a request that gets no
answer at all (its host name does not resolve, the connection is refused or cannot be made,
nothing comes back within DOWNLOAD_TIMEOUT) is not retried: the site cannot be reached (no
network, a wrong --base-url, the site down), and retrying every page would only take
minutes to say so. `FirstContactMiddleware` then records why in the crawl's stats
(`UNREACHABLE_STAT`), logs it once, and refuses every later request of the crawl at once with
that reason, so the crawl ends `failed` (it removes nothing) within seconds. `unpog crawl`
prints the reason as one line, runs no further spider and exits 1.

Once the site has answered, the same errors are an ordinary page's: retried as RETRY_TIMES
says, and recorded as that page's error.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import Response
from twisted.internet import error as twisted_errors

logger = logging.getLogger(__name__)

UNREACHABLE_STAT = "unpog/unreachable"

_NO_NAME = (CannotResolveHostError, twisted_errors.DNSLookupError)
_REFUSED = (DownloadConnectionRefusedError, twisted_errors.ConnectionRefusedError)
_NO_ANSWER = (
    DownloadTimeoutError,
    twisted_errors.TimeoutError,
    twisted_errors.TCPTimedOutError,
)


def unreachable_reason(exception: BaseException, request: Request, timeout: float) -> str | None:
    """Why a request got no answer at all, in words for the operator; None when the error
    is not of that kind (an answer cut short, a refused redirect, a robots.txt rule...)."""
    causes = [exception, exception.__cause__]
    parts = urlsplit(request.url)
    if any(isinstance(cause, _NO_NAME) for cause in causes):
        return f"its host name {parts.hostname} does not resolve (DNS lookup failed)"
    if any(isinstance(cause, _REFUSED) for cause in causes):
        return f"the connection to {parts.netloc} was refused"
    if any(isinstance(cause, _NO_ANSWER) for cause in causes):
        return f"no answer from {parts.netloc} within {timeout:g} s (DOWNLOAD_TIMEOUT)"
    if any(isinstance(cause, twisted_errors.ConnectError) for cause in causes):
        return f"cannot connect to {parts.netloc} ({exception})"
    return None


class FirstContactMiddleware:
    """Downloader middleware between the retries (550) and the downloader: it sees each
    failure before RetryMiddleware decides to retry it, and each answer."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.timeout = crawler.settings.getfloat("DOWNLOAD_TIMEOUT")
        self.answered = False
        self.reason: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> FirstContactMiddleware:
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        if self.reason is not None:
            raise IgnoreRequest(f"not fetched: the site cannot be reached: {self.reason}")

    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        self.answered = True
        return response

    def process_exception(
        self, request: Request, exception: BaseException, spider: Any = None
    ) -> None:
        if self.answered or self.reason is not None:
            return
        reason = unreachable_reason(exception, request, self.timeout)
        if reason is None:
            return
        request.meta["dont_retry"] = True  # RetryMiddleware, next in line, leaves it
        self.reason = reason
        self.crawler.stats.set_value(UNREACHABLE_STAT, reason)
        logger.error("The site cannot be reached: %s. Nothing more is fetched.", reason)
