"""Pure page parsing: bytes in, records out. No network, no database.

All site-specific selectors and patterns come from ``site``; this module only applies them.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import lxml.etree
import lxml.html
import nh3
from lxml.cssselect import CSSSelector
from w3lib.encoding import html_to_unicode

from unpog_crawler import site
from unpog_crawler.items import ArticleRecord, Attachment, NotAnArticle
from unpog_crawler.parse.lines import Line, page_lines, region_html
from unpog_crawler.parse.segment import (
    NoArticle,
    Segments,
    is_attachment_href,
    is_furniture_image,
    segment,
)
from unpog_crawler.parse.text import (
    issue_from_issue_page,
    normalise_text,
    parse_dateline,
    split_title_date,
    stated_issue,
)

# Bumped whenever the same page bytes may parse to different fields: the archive records it
# on every version, so that a parser change is never mistaken for a change of the site.
PARSER_VERSION = "2"

# --- Decoding ---------------------------------------------------------------------------


def _header(headers: Mapping | None, name: str) -> str | None:
    """A header's value from a plain dict or Scrapy Headers (bytes keys, list values)."""
    if not headers:
        return None
    for key, value in headers.items():
        key = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if key.lower() != name:
            continue
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else b""
        return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return None


def decode_html(body: bytes, headers: Mapping[str, str | bytes] | None = None) -> tuple[str, str]:
    """(text, encoding): HTTP header charset wins, then BOM, then <meta>; EUC-KR -> cp949."""
    encoding, text = html_to_unicode(_header(headers, "content-type"), body)
    return text, codecs.lookup(encoding).name  # one spelling: "utf8" -> "utf-8"


def _parse_tree(text: str) -> lxml.html.HtmlElement | None:
    # Re-encode to UTF-8 and say so: lxml rejects str input with an XML encoding
    # declaration, and must not re-read the page's own <meta> charset.
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        return lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None


def _not_html(body: bytes, headers: Mapping | None) -> str | None:
    """Why the response cannot be an HTML page, or None."""
    if not body or not body.strip():
        return "empty response body"
    content_type = (_header(headers, "content-type") or "").lower()
    if content_type and "html" not in content_type and "xml" not in content_type:
        return f"not an HTML page (content-type {content_type})"
    if b"<" not in body[:4096]:
        return "not an HTML page (no markup)"
    return None


# --- Page structure ---------------------------------------------------------------------


@lru_cache(maxsize=256)
def _css(selector: str) -> CSSSelector:
    """`selector` compiled once: `el.cssselect()` re-translates CSS to XPath on every call."""
    return CSSSelector(selector, translator="html")


def _select(root: lxml.html.HtmlElement, selector: str) -> list[lxml.html.HtmlElement]:
    """What `root.cssselect(selector)` returns, with the compiled selector."""
    return _css(selector)(root)


def _blocks(doc: lxml.html.HtmlElement, selectors: Iterable[str]) -> list[lxml.html.HtmlElement]:
    return [el for selector in selectors for el in _select(doc, selector)]


# --- Fields -------------------------------------------------------------------------------

_ALLOWED_TAGS = {
    "p", "br", "ul", "ol", "li", "strong", "em", "b", "i", "u", "sup", "sub", "a", "img",
    "table", "thead", "tbody", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href"},
    "img": {"src", "alt"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}


def _body_html(lines: list[Line]) -> str:
    """The article's lines as sanitised HTML: structure kept, furniture and styles gone."""
    cleaned = nh3.clean(
        region_html(lines),
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        clean_content_tags={"script", "style"},
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        strip_comments=True,
    )
    # Word leaves empty paragraphs and runs of whitespace: neither is structure.
    cleaned = re.sub(r"<p>(?:\s|&nbsp;|\xa0)*</p>", "", cleaned)
    return re.sub(r"\s+", " ", cleaned).strip()


def _http_link(base: str, href: str | None) -> str | None:
    href = (href or "").strip()
    if not href or href.lower().startswith(("javascript:", "data:", "mailto:", "#")):
        return None
    return urljoin(base, href)


def _images(lines: list[Line], url: str) -> tuple[str, ...]:
    """Absolute URLs of the article's own images, in page order, without repeats."""
    found = (
        _http_link(url, image.element.get("src"))
        for line in lines
        for image in line.images
        if not is_furniture_image(image)
    )
    return tuple(dict.fromkeys(src for src in found if src))


def _attachment_name(text: str, link: str) -> str:
    if text:
        return text
    parts = urlsplit(link)
    files = [v for k, v in parse_qsl(parts.query) if site.ATTACHMENT_EXT_RE.search(v)]
    return unquote(files[0] if files else parts.path.rsplit("/", 1)[-1])


def _attachments(lines: list[Line], url: str) -> tuple[Attachment, ...]:
    found: dict[str, Attachment] = {}
    for line in lines:
        for link in line.links:
            absolute = _http_link(url, link.href)
            if absolute and is_attachment_href(absolute) and absolute not in found:
                found[absolute] = Attachment(absolute, _attachment_name(link.text, absolute))
    return tuple(found.values())


def _source_id(url: str) -> str:
    path = urlsplit(url).path
    m = site.ISSUE_PAGE_RE.search(path)
    if m:
        return m.group(0)[: -len(".asp")].lower()
    return site.view_id(url) or path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _kind(url: str, title: str) -> str:
    if site.ISSUE_PAGE_RE.search(urlsplit(url).path):
        return "issue_page"
    return "welcome_note" if site.WELCOME_NOTE_RE.match(title) else "article"


def _issue(kind: str, url: str, body_text: str) -> str | None:
    if kind == "welcome_note":
        return stated_issue(body_text)
    if kind == "issue_page":
        return issue_from_issue_page(urlsplit(url).path)
    return None


def _dated_title(title: str, headings: list[str]) -> tuple[str, str] | None:
    """(title, ISO date) from '<title> May 30, 2017': the title, else a line naming the
    heading (the share line may print the bare title while the heading carries the date,
    and a breadcrumb may name the title before the dated heading)."""
    split = split_title_date(title)
    if split:
        return split
    for heading in headings:
        split = split_title_date(heading)
        if split and split[0].casefold() == title.casefold():
            return title, split[1]
    return None


def _dateline(lines: list[Line]) -> tuple[str, str] | None:
    """(place, ISO date) of a press-release dateline opening one of the first lines."""
    for line in lines[: site.DATELINE_MAX_LINE]:
        found = parse_dateline(line.text)
        if found:
            return found
    return None


# --- Articles ---------------------------------------------------------------------------


def _no_article(doc: lxml.html.HtmlElement, text: str, url: str, why: str) -> NotAnArticle:
    """The NotAnArticle of a page whose lines hold no article."""
    canonical = site.canonical_url(url)
    if site.NO_POST_SCRIPT_RE.search(text) and site.NO_POST_MESSAGE_RE.search(text):
        return NotAnArticle(canonical, url, "no such post (script alert page)", gone=True)
    visible = normalise_text(doc.text_content())
    error = site.ERROR_PAGE_RE.search(visible)
    if error:
        why = f"error page ({error.group(0)}): {why}"
    return NotAnArticle(canonical, url, why, gone=False)


def parse_article(
    body: bytes, url: str, headers: Mapping[str, str | bytes] | None = None
) -> ArticleRecord | NotAnArticle:
    """Parse one view (or whole-issue) page fetched from `url` into a record."""
    canonical = site.canonical_url(url)
    problem = _not_html(body, headers)
    if problem:
        return NotAnArticle(canonical, url, problem, gone=False)
    text, encoding = decode_html(body, headers)
    return _article_from_tree(body, url, text, encoding, _parse_tree(text))


def parse_page(
    body: bytes,
    url: str,
    headers: Mapping[str, str | bytes] | None = None,
    board: site.Board | None = None,
) -> tuple[ArticleRecord | NotAnArticle, PageLinks]:
    """`parse_article` and `find_links` of one page, from one decode and one lxml parse.

    What the spider needs of every article page; the same results as the two calls.
    """
    canonical = site.canonical_url(url)
    text, encoding = decode_html(body, headers) if body and body.strip() else ("", "")
    doc = _parse_tree(text) if text else None
    links = _links_from_tree(doc, url, board)
    problem = _not_html(body, headers)
    if problem:
        return NotAnArticle(canonical, url, problem, gone=False), links
    return _article_from_tree(body, url, text, encoding, doc), links


def _article_from_tree(
    body: bytes, url: str, text: str, encoding: str, doc: lxml.html.HtmlElement | None
) -> ArticleRecord | NotAnArticle:
    """The record of a decoded HTML page, found by its reading order (see `segment`)."""
    canonical = site.canonical_url(url)
    if doc is None:
        return NotAnArticle(canonical, url, "not an HTML page (unparseable)", gone=False)
    board = site.board_for_url(canonical)
    issue = issue_from_issue_page(urlsplit(canonical).path)
    try:
        parts = segment(page_lines(doc), board.section, board.dated_titles, issue)
    except NoArticle as error:
        return _no_article(doc, text, url, str(error))
    body_text = "\n\n".join(line.text for line in parts.body if line.text)
    if not body_text:
        return _no_article(doc, text, url, "empty article body")
    if parts.missing and site.ERROR_PAGE_RE.search(f"{parts.title}\n{body_text[:600]}"):
        return _no_article(doc, text, url, "no share line")  # an error page in the frame
    return _record(parts, body_text, board, body, url, encoding)


def _record(
    parts: Segments, body_text: str, board: site.Board, body: bytes, url: str, encoding: str
) -> ArticleRecord:
    title, published = parts.title, None
    headings = [parts.heading, *(line.text for line in parts.head)]
    dated = _dated_title(title, headings) if board.dated_titles else None
    if dated:
        title, published = dated
    kind = _kind(url, title)
    article_lines = [*parts.head, *parts.body, *parts.tail]
    dateline = _dateline(parts.body) if board.section != site.SECTION else None
    event = parts.event
    return ArticleRecord(
        url=site.canonical_url(url),
        fetched_url=url,
        source_id=_source_id(url),
        section=board.section,
        kind=kind,
        title=title,
        body_text=body_text,
        body_html=_body_html([line for line in parts.region if line not in parts.furniture]),
        event_start=event[0] if event else None,
        event_end=event[1] if event else None,
        event_place=(event[2] or None) if event else None,
        authors=parts.authors,
        footnotes=parts.footnotes,
        images=_images(article_lines, url),
        attachments=_attachments(parts.region, url),
        issue=_issue(kind, url, body_text),
        page_sha256=hashlib.sha256(body).hexdigest(),
        encoding=encoding,
        parser_notes=_notes(parts),
        published=published or (dateline and dateline[1]) or None,
        place=dateline[0] if dateline else None,
        board_id=board.board_id,
        missing_landmarks=parts.missing,
    )


def _notes(parts: Segments) -> tuple[str, ...]:
    """Which rules produced the record, for checking the live site against the guess."""
    notes = [f"parser {PARSER_VERSION}", *parts.notes]
    notes += ["date line"] if parts.event else []
    notes += [f"authors: {len(parts.authors)} lines"] if parts.authors else []
    notes += [f"footnotes: {len(parts.footnotes)}"] if parts.footnotes else []
    notes += [f"furniture lines dropped: {len(parts.furniture)}"] if parts.furniture else []
    notes += [f"landmark missing: {name}" for name in parts.missing]
    return tuple(notes)


# --- Links ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageLinks:
    """Canonical URLs a list or view page links to, in page order, without repeats."""

    views: tuple[str, ...] = ()
    issue_pages: tuple[str, ...] = ()
    list_pages: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)


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
    """Views, whole-issue pages and list pages of `board` that a page links to.

    `board` defaults to the board the page's own URL belongs to.
    """
    doc = _parse_tree(decode_html(body, headers)[0]) if body and body.strip() else None
    return _links_from_tree(doc, url, board)


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
