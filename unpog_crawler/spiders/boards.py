"""The board engine: one spider class that crawls any of the site's boards.

A board (``site.Board``) is a list of posts with list pages and view pages. The engine owns
everything that is the same on every board: list paging, view-link discovery (plain and
``javascript:`` links, via ``parse.find_links``), canonical URLs, the "no such post"
answer, listing completeness, re-checks of archived articles and the revisit policy (which
archived posts a crawl asks for again, ``spiders/revisits.py``), conditional requests, and
the optional sweep for posts no list shows. A spider is a declaration of its boards::

    class YouthSpider(BoardSpider):
        name = "youth"

        def declare_boards(self, settings):
            return (site.YOUTH,)

Pages are read by the pure functions of ``unpog_crawler.parse``; records go to the
archive through the item pipelines.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import CloseSpider, DontCloseSpider
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from unpog_crawler import health, site
from unpog_crawler.items import (
    ArticleRecord,
    ListPageAnswer,
    NotAnArticle,
    NotModified,
    PageFetched,
    PageProblem,
)
from unpog_crawler.parse import PageLinks
from unpog_crawler.parse.pool import PageParser, ParserCrashed, worker_count
from unpog_crawler.spiders.revisits import Revisits

GONE_STATUSES = (404, 410)
TRUE_WORDS = ("1", "true", "yes", "on")


def numeric_id(canonical: str) -> int | None:
    """The id of a view URL as a number, when it is one (ASCII digits, at most 12 of them:
    never a 4,000-digit int); None for ids that are not numbers."""
    item_id = site.view_id(canonical)
    if item_id and item_id.isascii() and item_id.isdigit() and len(item_id) <= 12:
        return int(item_id)
    return None


def absurd_id(canonical: str) -> str | None:
    """Why a view URL's id can be no post of the site (too large a number), else None."""
    item_id = site.view_id(canonical) or ""
    if not (item_id.isascii() and item_id.isdigit()):
        return None
    number = numeric_id(canonical)
    if number is not None and number <= site.MAX_POST_ID:
        return None
    shown = item_id if len(item_id) <= 24 else f"{item_id[:12]}…({len(item_id)} digits)"
    return f"not requested: id {shown} is above any post id the site can have ({site.MAX_POST_ID})"


def _header(response: Response, name: bytes) -> str:
    return response.headers.get(name, b"").decode("latin-1")


def response_headers(response: Response) -> dict[str, str]:
    """The headers the parser needs, as text (Scrapy keeps them as lists of bytes)."""
    content_type = response.headers.get(b"Content-Type")
    return {"Content-Type": content_type.decode("latin-1")} if content_type else {}


class BoardSpider(scrapy.Spider):
    """Crawls the boards `declare_boards` returns; subclasses only declare them."""

    # A <meta http-equiv="refresh"> anywhere in a page (pasted into an article, or hostile:
    # "url=javascript:...") would replace the article with another request; moved pages
    # answer with HTTP 3xx, which is still followed.
    custom_settings = {"METAREFRESH_ENABLED": False}

    def declare_boards(self, settings: Any) -> tuple[site.Board, ...]:
        raise NotImplementedError

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> BoardSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.list_pages_queued: set[str] = set()
        spider.list_pages_read: set[str] = set()
        spider.list_pages_failed: dict[str, str] = {}
        spider.listed_urls: set[str] = set()
        # Every page asked for gets an answer or a failure; what gets neither (a redirect
        # loop back to a URL already seen is dropped by Scrapy's duplicate filter) is
        # reported at the end instead of vanishing.
        spider.requested: dict[str, str] = {}  # canonical URL -> page type
        spider.answered: set[str] = set()
        spider.last_hop: dict[str, str] = {}  # canonical URL -> last URL a redirect led to
        spider.refused: set[str] = set()  # links to ids no post can have (reported once)
        # Problems of the crawl that are no page's answer (robots.txt partly read): URL ->
        # reason, recorded as errors when the crawl ends (components write them here).
        spider.noted: dict[str, str] = {}
        spider.sweeper = None
        spider.revisits = None
        # Set by the archive pipeline when it opens: what the revisit plan reads.
        spider.revisit_history = {}
        spider.crawl_started_at = None
        spider.previous_crawl_started_at = None
        crawler.signals.connect(spider.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(spider.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.close_parser, signal=signals.spider_closed)
        spider.parser = None
        # A bad `-s NAME=value` is one clear line and no crawl, rather than a traceback
        # from deep inside Scrapy; the pipeline then leaves the archive untouched.
        spider.setting_problem = None
        try:
            health.check_settings(crawler.settings)
            spider.boards = spider.declare_boards(crawler.settings)
            spider.sweeper = Sweeper.from_settings(spider, crawler.settings)
            spider.revisits = Revisits.from_settings(spider, crawler.settings)
            spider.parser = PageParser(worker_count(crawler.settings))
        except (health.BadSetting, ValueError) as error:
            spider.setting_problem = str(error)
            return spider
        spider.base_url = crawler.settings.get("UNPOG_BASE_URL").rstrip("/")
        spider.max_list_pages = crawler.settings.getint("UNPOG_MAX_LIST_PAGES")
        # Requests never leave the base URL's scheme, host and port: SameOriginMiddleware
        # enforces it (this names the host for unanswered redirects).
        spider.allowed_domains = [urlsplit(spider.base_url).hostname or ""]
        return spider

    @property
    def listing_complete(self) -> bool:
        """True when every list page the crawl discovered was read and listed articles.

        The sweep never makes a listing complete: only list pages say what the site lists.
        """
        return (
            bool(self.list_pages_read)
            and not self.list_pages_failed
            and self.list_pages_read == self.list_pages_queued
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.setting_problem:
            self.logger.error("Not crawling: %s", self.setting_problem)
            raise CloseSpider("bad_setting")
        for board in self.boards:
            for request in self._list_requests([board.list_url(1)], board):
                yield request
        # Archived articles are asked for once the lists are read (spider_idle): the
        # revisit plan's listed ones, and every one the lists no longer show (only its own
        # page can tell "deleted", no such post or 404, from "merely unlisted").

    def known_urls(self) -> list[str]:
        """Live archived articles, handed over by the archive pipeline when it opened."""
        if not self.settings.getbool("UNPOG_RECHECK_KNOWN"):
            return []
        return list(getattr(self, "archived_urls", []))

    def board_of(self, canonical: str) -> site.Board | None:
        return next((b for b in self.boards if b.owns_view(canonical)), None)

    # ---- bookkeeping -------------------------------------------------------------------

    def request_scheduled(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        """Note where redirects lead: Scrapy drops an off-site or looping hop silently."""
        canonical = request.meta.get("canonical")
        if canonical and request.meta.get("redirect_urls"):
            self.last_hop[canonical] = request.url

    def unanswered(self) -> dict[str, str]:
        """Requested pages that got neither a response nor a failure, and what components
        noted (`noted`): canonical URL -> why. The pipeline records each as an error."""
        dropped = {
            url: self._why_unanswered(url) for url in self.requested if url not in self.answered
        }
        return {**self.noted, **dropped}

    def _why_unanswered(self, url: str) -> str:
        hop = self.last_hop.get(url)
        if hop is None:
            return "no response (dropped by Scrapy; see the log)"
        host = urlsplit(hop).hostname or ""
        if host not in self.allowed_domains:
            return f"no response: redirected off the site to {hop} (not followed)"
        return f"no response: redirect loop (back to {hop}, already asked for)"

    def close_parser(self, spider: scrapy.Spider) -> None:
        if self.parser is not None:
            self.parser.close()

    @property
    def revisit_counts(self) -> dict[str, int] | None:
        """What the revisit plan decided (due, fetched, skipped, deferred), for the crawl row."""
        return self.revisits.counts if self.revisits is not None else None

    def spider_idle(self, spider: scrapy.Spider) -> None:
        """When the lists and new articles are done, the archived ones are asked for (the
        revisit plan); when those are done, the sweep (if asked for) starts."""
        if self.setting_problem:
            return
        requests = list(self.revisits.start())
        if not requests and self.sweeper is not None:
            requests = list(self.sweeper.start())
        for request in requests:
            self.crawler.engine.crawl(request)
        if requests:
            raise DontCloseSpider

    # ---- callbacks ---------------------------------------------------------------------

    async def parse_list(self, response: Response) -> AsyncIterator[Any]:
        self.answered.add(response.meta.get("canonical", ""))
        url = site.canonical_url(response.url)
        board = response.meta["board"]
        if response.status == 304:  # unchanged since the answer whose links we stored
            outputs = self._replay_list(url, board)
        else:
            headers = response_headers(response)
            try:
                links = await self.parser.list_page(response.body, response.url, headers, board)
            except ParserCrashed as error:
                self.logger.error("Not read: %s (%s)", response.url, error)
                outputs = self._list_not_read(url, str(error))
            else:
                outputs = self._read_list(url, links, response)
        for output in outputs:
            yield output

    def _list_not_read(self, url: str, reason: str) -> Iterator[PageProblem]:
        self.list_pages_failed[url] = reason
        yield PageProblem(url, "parse_failure", reason, fetched=True)

    def _read_list(self, url: str, links: PageLinks, response: Response) -> Iterator[Any]:
        if not links.views:
            reason = "list page links no articles (markup changed or empty board?)"
            yield from self._list_not_read(url, reason)
            return
        yield ListPageAnswer(
            url,
            links.views,
            links.issue_pages,
            links.list_pages,
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            rows=links.rows,
        )
        self.revisits.add_rows(links.rows)
        yield from self._listed(url, links, response.meta["board"])

    def _replay_list(self, url: str, board: site.Board) -> Iterator[Any]:
        stored = getattr(self, "stored_list_links", lambda url: None)(url)
        if stored is None:  # validators without links: ask again, unconditionally
            self.logger.warning("HTTP 304 for list page %s with no stored links: refetching", url)
            yield self._request(url, self.parse_list, "list", meta={"board": board}, fresh=True)
            return
        links = PageLinks(
            tuple(stored["views"]), tuple(stored["issue_pages"]), tuple(stored["list_pages"])
        )
        yield ListPageAnswer(url, links.views, not_modified=True)
        yield from self._listed(url, links, board)

    def _listed(self, url: str, links: PageLinks, board: site.Board) -> Iterator[Any]:
        """What a list page gives the crawl, read now or replayed after a 304."""
        self.list_pages_read.add(url)
        self.listed_urls.update(links.views)
        yield from self._article_requests(links.views + links.issue_pages)
        yield from self._list_requests(links.list_pages, board)

    async def parse_article_page(self, response: Response) -> AsyncIterator[Any]:
        canonical = response.meta.get("canonical", "")
        self.answered.add(canonical)
        if response.status == 304:  # answer to our conditional request: nothing changed
            yield NotModified(canonical)
            return
        # One decode and one lxml parse give the record, its problems and prev/next links.
        headers = response_headers(response)
        try:
            page = await self.parser.article_page(response.body, response.url, headers)
        except ParserCrashed as error:
            self.logger.error("Not read: %s (%s)", response.url, error)
            yield PageProblem(canonical, "parse_failure", str(error), fetched=True)
            return
        for output in self._read_article(canonical, response, *page):
            yield output

    def _read_article(
        self,
        canonical: str,
        response: Response,
        result: ArticleRecord | NotAnArticle,
        links: PageLinks,
        problems: list[str],
    ) -> Iterator[Any]:
        if response.meta.get("sweep"):
            # A sweep probes ids that may not exist: "no such post" is its expected answer.
            hit = not (isinstance(result, NotAnArticle) and result.gone)
            yield from self.sweeper.answered(canonical, hit)
            if not hit:
                yield PageFetched(canonical)
                return
        # Previous/next links reach articles that no list page shows. Yielded before the
        # record: with CONCURRENT_ITEMS = 1 they would otherwise wait for its files.
        yield from self._article_requests(links.views + links.issue_pages)
        if isinstance(result, NotAnArticle):
            self.logger.warning("Not an article: %s (%s)", response.url, result.reason)
            yield PageProblem(
                result.url, "parse_failure", result.reason, gone=result.gone, fetched=True
            )
        elif problems:
            # Selectors that half-match a new template give furniture, not an article:
            # a parse failure (counted by the health rules), never a version.
            reason = "does not look like an article: " + "; ".join(problems)
            self.logger.warning("Not an article: %s (%s)", response.url, reason)
            yield PageProblem(result.url, "parse_failure", reason, fetched=True)
        else:
            yield self._with_provenance(result, response)

    def _with_provenance(self, record: ArticleRecord, response: Response) -> ArticleRecord:
        """How this crawl reached the page (a list page, the sweep, or a link/re-check), and
        the answer's validators, archived together with the version they describe."""
        if record.url in self.listed_urls:
            found_by = "list"
        else:
            found_by = "sweep" if response.meta.get("sweep") else "link"
        return dataclasses.replace(
            record,
            found_by=found_by,
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
        )

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
        if request.meta.get("sweep") and gone:
            yield from self.sweeper.answered(url, hit=False)  # a 404 is a miss, not a removal
            return
        yield PageProblem(url, "error", reason, gone=gone)

    # ---- requests ----------------------------------------------------------------------

    def _list_requests(self, urls: Iterable[str], board: site.Board) -> Iterator[scrapy.Request]:
        for url in urls:
            # find_links already gives canonical URLs, and a list page repeats the same
            # paging links on every page: skip those seen before canonicalising again.
            if url in self.list_pages_queued:
                continue
            canonical = site.canonical_url(url)
            if canonical in self.list_pages_queued:
                continue
            if len(self.list_pages_queued) >= self.max_list_pages:
                self.list_pages_failed[canonical] = "UNPOG_MAX_LIST_PAGES reached"
                continue
            self.list_pages_queued.add(canonical)
            yield self._request(canonical, self.parse_list, "list", meta={"board": board})

    def _article_requests(self, urls: Iterable[str]) -> Iterator[scrapy.Request | PageProblem]:
        for url in urls:
            # Prev/next links name pages asked for already: dropping them here spares each
            # a trip through the spider middlewares to Scrapy's duplicate filter.
            if url in self.requested or url in self.refused or self.revisits.waits(url):
                continue
            absurd = absurd_id(url)
            if absurd:
                self.refused.add(url)
                self.logger.error("Link refused: %s (%s)", url, absurd)
                yield PageProblem(url, "error", absurd)
                continue
            # Below list pages, so the whole listing is read early and paging stays cheap.
            yield self._request(url, self.parse_article_page, "article", priority=-1)

    def archived_requests(self, urls: Iterable[str]) -> Iterator[scrapy.Request]:
        """Requests for archived articles (the revisit plan's, and the re-checks) not asked
        for yet; an id no post can have (archived before ids were checked) is an error of
        the crawl, as a link to it is."""
        for url in urls:
            if url in self.requested or url in self.refused:
                continue
            absurd = absurd_id(url)
            if absurd:
                self.refused.add(url)
                self.noted[url] = absurd
                continue
            yield self._request(url, self.parse_article_page, "article", priority=-1)

    def _request(
        self,
        canonical: str,
        callback: Any,
        page_type: str,
        priority: int = 0,
        meta: dict[str, Any] | None = None,
        fresh: bool = False,
    ) -> scrapy.Request:
        """A request for a page; conditional unless `fresh` (which also passes the
        duplicate filter, for a page asked for again)."""
        self.requested.setdefault(canonical, page_type)
        meta = {"page_type": page_type, "canonical": canonical, **(meta or {})}
        headers = {} if fresh else self._conditional_headers(canonical, page_type)
        if headers:
            meta["handle_httpstatus_list"] = [304]
        return scrapy.Request(
            site.absolute_url(self.base_url, canonical),
            callback=callback,
            errback=self.request_failed,
            headers=headers,
            meta=meta,
            priority=priority,
            dont_filter=fresh,
        )

    def _conditional_headers(self, canonical: str, page_type: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since from the page's last archived answer."""
        if not self.settings.getbool("UNPOG_CONDITIONAL_REQUESTS"):
            return {}
        held = "list_page_validators" if page_type == "list" else "http_validators"
        etag, last_modified = getattr(self, held, {}).get(canonical, (None, None))
        headers = {"If-None-Match": etag} if etag else {}
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers


# --- Sweep -----------------------------------------------------------------------------------


@dataclasses.dataclass
class _BoardSweep:
    board: site.Board
    last_hit: int  # highest id known to exist (listed, archived or found)
    scheduled_to: int  # highest id above `last_hit`'s start that was requested
    requests: int = 0


class Sweeper:
    """Finds posts no list shows by asking for ids the crawl does not know.

    Once lists and articles are read, it requests every id below the highest known one that
    no list or archive row names (gaps), and the ids above it until `max_misses` consecutive
    ones answer "no such post". Each hit moves the window up. What it finds is archived
    like any article, marked found_by='sweep'; it never adds to the listing.
    """

    def __init__(self, spider: BoardSpider, max_misses: int, max_requests: int) -> None:
        self.spider = spider
        self.max_misses = max_misses
        self.max_requests = max_requests
        self.started = False
        self.boards: dict[site.Board, _BoardSweep] = {}

    @classmethod
    def from_settings(cls, spider: BoardSpider, settings: Any) -> Sweeper | None:
        if str(getattr(spider, "sweep", "")).strip().lower() not in TRUE_WORDS:
            return None
        misses = settings.getint("UNPOG_SWEEP_MAX_MISSES")
        limit = settings.getint("UNPOG_SWEEP_MAX_REQUESTS")
        if misses < 1 or limit < 1:
            raise ValueError("UNPOG_SWEEP_MAX_MISSES and UNPOG_SWEEP_MAX_REQUESTS must be >= 1")
        return cls(spider, misses, limit)

    def _known_ids(self, board: site.Board) -> set[int]:
        """Ids of posts the crawl knows (listed, asked for, archived); an id above
        site.MAX_POST_ID was refused as a link and plans nothing here."""
        urls = {*self.spider.listed_urls, *self.spider.requested, *self.spider.known_urls()}
        urls |= set(getattr(self.spider, "archived_urls", ()))
        ids = (numeric_id(url) for url in urls if board.owns_view(url))
        return {i for i in ids if i is not None and i <= site.MAX_POST_ID}

    def start(self) -> Iterator[scrapy.Request]:
        """The first sweep requests (once per crawl), when the crawl is otherwise done."""
        if self.started:
            return
        self.started = True
        for board in self.spider.boards:
            known = self._known_ids(board)
            if not known:
                self.spider.logger.warning("Sweep: no known id on %s", board.list_url(1))
                continue
            top = max(known)
            state = _BoardSweep(board, last_hit=top, scheduled_to=top)
            self.boards[board] = state
            # Lazily, lowest first: _requests stops at max_requests, so ids far apart cost
            # no more than near ones (a set of the whole range took 24 GB, issue 18).
            gaps = (i for i in range(min(known) + 1, top) if i not in known)
            yield from self._requests(state, gaps)
            yield from self._extend(state)

    def answered(self, canonical: str, hit: bool) -> Iterator[scrapy.Request]:
        """Record a sweep answer; a hit asks for `max_misses` more ids above it."""
        board = self.spider.board_of(canonical)
        state = self.boards.get(board) if board else None
        item_id = numeric_id(canonical)
        if state is None or item_id is None:
            return
        if hit:
            state.last_hit = max(state.last_hit, item_id)
            yield from self._extend(state)

    def _extend(self, state: _BoardSweep) -> Iterator[scrapy.Request]:
        wanted = range(
            state.scheduled_to + 1, min(state.last_hit + self.max_misses, site.MAX_POST_ID) + 1
        )
        state.scheduled_to = max(state.scheduled_to, state.last_hit + self.max_misses)
        yield from self._requests(state, wanted)

    def _requests(self, state: _BoardSweep, ids: Iterable[int]) -> Iterator[scrapy.Request]:
        for item_id in ids:
            if state.requests >= self.max_requests:
                self.spider.logger.warning(
                    "Sweep: UNPOG_SWEEP_MAX_REQUESTS reached on %s", state.board.list_url(1)
                )
                return
            state.requests += 1
            yield self.spider._request(
                state.board.view_url(item_id),
                self.spider.parse_article_page,
                "article",
                priority=-2,
                meta={"sweep": True},
            )
