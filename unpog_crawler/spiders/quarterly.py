"""The `quarterly` spider: finds The UNPOG Public Governance Quarterly's pages.

It only walks pages and yields requests and records; reading a page is done by the pure
functions in `unpog_crawler.parsing`, and storing by the archive pipeline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import CloseSpider
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from unpog_crawler import health, site
from unpog_crawler.items import (
    ListedArticle,
    NotAnArticle,
    NotModified,
    PageFetched,
    PageProblem,
    PageValidators,
)
from unpog_crawler.parsing import find_links, parse_article

GONE_STATUSES = (404, 410)


def response_headers(response: Response) -> dict[str, str]:
    """The headers the parser needs, as text (Scrapy keeps them as lists of bytes)."""
    content_type = response.headers.get(b"Content-Type")
    return {"Content-Type": content_type.decode("latin-1")} if content_type else {}


class QuarterlySpider(scrapy.Spider):
    name = "quarterly"
    section = "quarterly"
    # A <meta http-equiv="refresh"> anywhere in a page (pasted into an article, or hostile:
    # "url=javascript:...") would replace the article with another request; moved pages
    # answer with HTTP 3xx, which is still followed.
    custom_settings = {"METAREFRESH_ENABLED": False}

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> QuarterlySpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.list_pages_queued: set[str] = set()
        spider.list_pages_read: set[str] = set()
        spider.list_pages_failed: dict[str, str] = {}
        # Every page asked for gets an answer or a failure; what gets neither (a redirect
        # loop back to a URL already seen is dropped by Scrapy's duplicate filter) is
        # reported at the end instead of vanishing.
        spider.requested: dict[str, str] = {}  # canonical URL -> page type
        spider.answered: set[str] = set()
        spider.last_hop: dict[str, str] = {}  # canonical URL -> last URL a redirect led to
        crawler.signals.connect(spider.request_scheduled, signal=signals.request_scheduled)
        # A bad `-s NAME=value` is one clear line and no crawl, rather than a traceback
        # from deep inside Scrapy; the pipeline then leaves the archive untouched.
        spider.setting_problem = None
        try:
            health.check_settings(settings)
        except health.BadSetting as error:
            spider.setting_problem = str(error)
            return spider
        spider.base_url = settings.get("UNPOG_BASE_URL").rstrip("/")
        spider.list_path = settings.get("UNPOG_QUARTERLY_LIST_PATH")
        spider.max_list_pages = settings.getint("UNPOG_MAX_LIST_PAGES")
        # Requests never leave the host we were pointed at (OffsiteMiddleware enforces it).
        spider.allowed_domains = [urlsplit(spider.base_url).hostname or ""]
        return spider

    @property
    def listing_complete(self) -> bool:
        """True when every list page the crawl discovered was read and listed articles."""
        return (
            bool(self.list_pages_read)
            and not self.list_pages_failed
            and self.list_pages_read == self.list_pages_queued
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.setting_problem:
            self.logger.error("Not crawling: %s", self.setting_problem)
            raise CloseSpider("bad_setting")
        first = site.list_page_url(self.base_url, self.list_path, 1)
        for request in self._list_requests([first]):
            yield request
        # Archived articles the lists no longer show are asked for again: only their own
        # page can tell "deleted" (no such post, 404) from "merely unlisted".
        for request in self._article_requests(tuple(self.known_urls())):
            yield request

    def known_urls(self) -> list[str]:
        """Live archived articles, handed over by the archive pipeline when it opened."""
        if not self.settings.getbool("UNPOG_RECHECK_KNOWN"):
            return []
        return list(getattr(self, "archived_urls", []))

    def request_scheduled(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        """Note where redirects lead: Scrapy drops an off-site or looping hop silently."""
        canonical = request.meta.get("canonical")
        if canonical and request.meta.get("redirect_urls"):
            self.last_hop[canonical] = request.url

    def unanswered(self) -> dict[str, str]:
        """Requested pages that got neither a response nor a failure: canonical URL -> why."""
        return {
            url: self._why_unanswered(url) for url in self.requested if url not in self.answered
        }

    def _why_unanswered(self, url: str) -> str:
        hop = self.last_hop.get(url)
        if hop is None:
            return "no response (dropped by Scrapy; see the log)"
        host = urlsplit(hop).hostname or ""
        if host not in self.allowed_domains:
            return f"no response: redirected off the site to {hop} (not followed)"
        return f"no response: redirect loop (back to {hop}, already asked for)"

    def parse_list(self, response: Response) -> Iterator[Any]:
        self.answered.add(response.meta.get("canonical", ""))
        url = site.canonical_url(response.url)
        yield PageFetched(url)
        links = find_links(response.body, response.url, response_headers(response))
        if not links.views:
            reason = "list page links no articles (markup changed or empty board?)"
            self.list_pages_failed[url] = reason
            yield PageProblem(url, "parse_failure", reason)
            return
        self.list_pages_read.add(url)
        for view in links.views:
            yield ListedArticle(view)
        yield from self._article_requests(links.views + links.issue_pages)
        yield from self._list_requests(links.list_pages)

    def parse_article_page(self, response: Response) -> Iterator[Any]:
        self.answered.add(response.meta.get("canonical", ""))
        url = site.canonical_url(response.url)
        yield PageFetched(url)
        if response.status == 304:  # answer to our conditional request: nothing changed
            yield NotModified(response.meta["canonical"])
            return
        result = parse_article(response.body, response.url, response_headers(response))
        if isinstance(result, NotAnArticle):
            self.logger.warning("Not an article: %s (%s)", response.url, result.reason)
            yield PageProblem(result.url, "parse_failure", result.reason, gone=result.gone)
        elif problems := health.record_problems(result):
            # Selectors that half-match a new template give furniture, not an article:
            # a parse failure (counted by the health rules), never a version.
            reason = "does not look like an article: " + "; ".join(problems)
            self.logger.warning("Not an article: %s (%s)", response.url, reason)
            yield PageProblem(result.url, "parse_failure", reason)
        else:
            yield result
            yield from self._validators(result.url, response)
        # Previous/next links reach articles that no list page shows.
        links = find_links(response.body, response.url, response_headers(response))
        yield from self._article_requests(links.views + links.issue_pages)

    def request_failed(self, failure: Failure) -> Iterator[PageProblem]:
        request = failure.request
        # The URL asked for, not where a redirect led (an off-site host, a loop).
        url = request.meta.get("canonical") or site.canonical_url(request.url)
        self.answered.add(url)
        status = failure.value.response.status if failure.check(HttpError) else None
        reason = f"HTTP {status}" if status else failure.getErrorMessage() or repr(failure.value)
        self.logger.error("Failed: %s (%s)", request.url, reason)
        if request.meta.get("page_type") == "list":
            self.list_pages_failed[url] = reason
        gone = request.meta.get("page_type") == "article" and status in GONE_STATUSES
        yield PageProblem(url, "error", reason, gone=gone)

    def _list_requests(self, urls: tuple[str, ...] | list[str]) -> Iterator[scrapy.Request]:
        for url in urls:
            canonical = site.canonical_url(url)
            if canonical in self.list_pages_queued:
                continue
            if len(self.list_pages_queued) >= self.max_list_pages:
                self.list_pages_failed[canonical] = "UNPOG_MAX_LIST_PAGES reached"
                continue
            self.list_pages_queued.add(canonical)
            yield self._request(canonical, self.parse_list, "list")

    def _article_requests(self, urls: tuple[str, ...]) -> Iterator[scrapy.Request]:
        for url in urls:
            # Below list pages, so the whole listing is read early and paging stays cheap.
            yield self._request(url, self.parse_article_page, "article", priority=-1)

    def _request(
        self, canonical: str, callback: Any, page_type: str, priority: int = 0
    ) -> scrapy.Request:
        self.requested.setdefault(canonical, page_type)
        meta: dict[str, Any] = {"page_type": page_type, "canonical": canonical}
        headers = self._conditional_headers(canonical) if page_type == "article" else {}
        if headers:
            meta["handle_httpstatus_list"] = [304]
        return scrapy.Request(
            site.absolute_url(self.base_url, canonical),
            callback=callback,
            errback=self.request_failed,
            headers=headers,
            meta=meta,
            priority=priority,
        )

    def _conditional_headers(self, canonical: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since from the page's last archived answer."""
        if not self.settings.getbool("UNPOG_CONDITIONAL_REQUESTS"):
            return {}
        etag, last_modified = getattr(self, "http_validators", {}).get(canonical, (None, None))
        headers = {"If-None-Match": etag} if etag else {}
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers

    def _validators(self, url: str, response: Response) -> Iterator[PageValidators]:
        etag = response.headers.get(b"ETag", b"").decode("latin-1")
        last_modified = response.headers.get(b"Last-Modified", b"").decode("latin-1")
        if etag or last_modified or url in getattr(self, "http_validators", {}):
            yield PageValidators(url, etag, last_modified)
