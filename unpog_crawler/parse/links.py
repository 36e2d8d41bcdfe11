"""The links a list or view page gives: views, whole-issue pages and list pages of a board,
from hrefs and from javascript: links and onclick handlers."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml.cssselect import CSSSelector

from unpog_crawler import site
from unpog_crawler.parse.decode import _parse_tree, decode_html
from unpog_crawler.parse.list_rows import ListRow, rows_from_tree


@dataclass(frozen=True)
class PageLinks:
    """Canonical URLs a list or view page links to, in page order, without repeats; for a
    list page (`find_links`), also what its row of each post shows (the revisit policy's
    hints)."""

    views: tuple[str, ...] = ()
    issue_pages: tuple[str, ...] = ()
    list_pages: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)
    rows: tuple[ListRow, ...] = field(default=(), compare=False)


@lru_cache(maxsize=256)
def _css(selector: str) -> CSSSelector:
    """`selector` compiled once: `el.cssselect()` re-translates CSS to XPath on every call."""
    return CSSSelector(selector, translator="html")


def _select(root: lxml.html.HtmlElement, selector: str) -> list[lxml.html.HtmlElement]:
    """What `root.cssselect(selector)` returns, with the compiled selector."""
    return _css(selector)(root)


def _blocks(doc: lxml.html.HtmlElement, selectors: Iterable[str]) -> list[lxml.html.HtmlElement]:
    return [el for selector in selectors for el in _select(doc, selector)]


def _js_links(script: str, board: site.Board) -> tuple[str | None, str | None]:
    """(view URL, list URL) that a javascript: href or onclick handler leads to.

    A bare id in a script means a post of the board whose page carries the script.
    """
    view = site.JS_VIEW_RE.search(script)
    page = site.JS_PAGE_RE.search(script)
    return (
        board.view_url(view["id"]) if view else None,
        board.list_url(page["page"]) if page else None,  # digits as given: no int() limit
    )


def _plain_link(
    href: str, url: str, board: site.Board, url_without_query: str | None = None
) -> tuple[str | None, str | None, str | None]:
    """(view, issue page, list page) canonical URL of an ordinary href on our hosts."""
    # An href with a path or a query resolves the same against the page URL with or without
    # the page's query (urljoin keeps the base's query only for a bare "?" or "scheme:"):
    # list pages differ only by ?page=, so without it the cache below hits.
    if not _has_path_or_query(href):
        return _resolved_link(href, url, board)
    return _resolved_link(href, url_without_query or _without_query(url), board)


@lru_cache(maxsize=8192)
def _has_path_or_query(href: str) -> bool:
    """Cached: a list page repeats the same paging hrefs as every other list page."""
    parts = urlsplit(href)
    return bool(parts.path or parts.query)


def _without_query(url: str) -> str:
    return url.split("#", 1)[0].split("?", 1)[0]


@lru_cache(maxsize=8192)
def _resolved_link(
    href: str, url: str, board: site.Board
) -> tuple[str | None, str | None, str | None]:
    """_plain_link, cached: every list page repeats the same paging and menu links."""
    absolute = urljoin(url, href)
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not site.is_site_host(
        parts.netloc, urlsplit(url).netloc
    ):
        return None, None, None
    canonical = site.canonical_url(absolute)
    path = canonical.split("?")[0]
    if board.owns_view(canonical):
        return canonical, None, None
    if board.section == site.SECTION and site.ISSUE_PAGE_RE.search(path):
        return None, canonical, None
    return None, None, canonical if board.owns_list(canonical) else None


def _paging_elements(doc: lxml.html.HtmlElement) -> set:
    return {el for block in _blocks(doc, site.PAGING_SELECTORS) for el in block.iter()}


class _LinkCollector:
    """Ordered, de-duplicated canonical links of one page."""

    def __init__(self, url: str, paging: set, board: site.Board) -> None:
        self.url, self.paging, self.board = url, paging, board
        self.url_without_query = _without_query(url)
        self.views: dict[str, None] = {}
        self.issues: dict[str, None] = {}
        self.lists: dict[str, None] = {}

    def add(self, el: lxml.html.HtmlElement) -> None:
        href = (el.get("href") or "").strip()
        onclick = el.get("onclick")
        scripts = [onclick[: site.JS_SCAN_CHARS]] if onclick else []
        if href[:11].lower() == "javascript:":
            scripts, href = [*scripts, href[: site.JS_SCAN_CHARS]], ""
        # Without a recognised paging block, list links anywhere count (noted, not lost).
        in_paging = not self.paging or el in self.paging
        hrefs = [href] if href and not href.startswith("#") else []
        for script in scripts:
            view, page = _js_links(script, self.board)
            self._keep(view, None, page if in_paging else None)
            hrefs += site.JS_URL_RE.findall(script)
        for link in hrefs:
            if len(link) > site.MAX_LINK_CHARS:
                continue
            view, issue, page = _plain_link(link, self.url, self.board, self.url_without_query)
            self._keep(view, issue, page if in_paging else None)

    def _keep(self, view: str | None, issue: str | None, page: str | None) -> None:
        if view:
            self.views[view] = None
        if issue:
            self.issues[issue] = None
        if page:
            self.lists[page] = None


def find_links(
    body: bytes,
    url: str,
    headers: Mapping[str, str | bytes] | None = None,
    board: site.Board | None = None,
) -> PageLinks:
    """Views, whole-issue pages and list pages of `board` that a list page links to, and
    its rows (`list_rows`), from one parse.

    `board` defaults to the board the page's own URL belongs to.
    """
    doc = _parse_tree(decode_html(body, headers)[0]) if body and body.strip() else None
    links = _links_from_tree(doc, url, board)
    if doc is None:
        return links
    return dataclasses.replace(links, rows=rows_from_tree(doc, url, board))


def _links_from_tree(
    doc: lxml.html.HtmlElement | None, url: str, board: site.Board | None
) -> PageLinks:
    """find_links on a parsed page (left unchanged)."""
    if doc is None:
        return PageLinks(notes=("not an HTML page",))
    board = board or site.board_for_url(url)
    paging = _paging_elements(doc)
    collector = _LinkCollector(url, paging, board)
    for el in doc.xpath("//*[@href or @onclick]"):
        collector.add(el)
    notes = () if paging else ("paging: no paging block matched; list links from whole page",)
    return PageLinks(tuple(collector.views), tuple(collector.issues), tuple(collector.lists), notes)
