"""robots.txt as RFC 9309 reads it, where Scrapy would crawl as if everything were allowed.

Scrapy's RobotsTxtMiddleware treats a robots.txt it cannot read (a timeout, an error, a
file over DOWNLOAD_MAXSIZE) as no robots.txt, and parses a 5xx error page as rules (none):
either way the crawl proceeds as if all were allowed, silently (issue 18). Here, after
RFC 9309, section 2.3.1:

- 2xx: the rules, read up to UNPOG_ROBOTS_MAX_SIZE (at least 500 KiB; the rest is ignored,
  and the crawl's problems say so);
- 4xx: "unavailable": no rules, everything may be crawled;
- 5xx or no answer (timeout, connection, too many or off-site redirects, too large):
  "unreachable": nothing is crawled now. Each page is refused with the reason, which the
  crawl records as its problem; the next crawl asks again.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached

from unpog_crawler.middlewares import failure_text

logger = logging.getLogger(__name__)

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
