"""Pure page parsing: bytes in, records out. No network, no database.

All site-specific selectors and patterns come from ``site``; this module only applies them.
"""

from __future__ import annotations

import codecs
import copy
import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import lxml.etree
import lxml.html
import nh3
from lxml.cssselect import CSSSelector
from w3lib.encoding import html_to_unicode

from unpog_crawler import site
from unpog_crawler.items import ArticleRecord, Attachment, NotAnArticle
from unpog_crawler.text import (
    issue_from_issue_page,
    normalise_text,
    parse_date_line,
    parse_dateline,
    split_title_date,
    stated_issue,
)

# Bumped whenever the same page bytes may parse to different fields: the archive records it
# on every version, so that a parser change is never mistaken for a change of the site.
PARSER_VERSION = "1"

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


# --- Text lines -------------------------------------------------------------------------

_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "caption", "center", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "ul",
})  # fmt: skip


class _Line(NamedTuple):
    text: str
    listed: bool  # came from a list item or a link: never part of a signature block


class _LineBuilder:
    """Turns an element into lines: each block element or <br> ends a line."""

    def __init__(self) -> None:
        self.lines: list[_Line] = []
        self._parts: list[str] = []
        self._listed = False

    def add(self, text: str | None, listed: bool) -> None:
        if text:
            self._parts.append(text)
            self._listed = self._listed or listed

    def flush(self) -> None:
        text = normalise_text("".join(self._parts)).replace("\n", " ")
        if text:
            self.lines.append(_Line(text, self._listed))
        self._parts, self._listed = [], False

    def walk(self, el: lxml.html.HtmlElement, listed: bool = False) -> None:
        if not isinstance(el.tag, str):  # comment / processing instruction
            return
        tag = el.tag.lower()
        listed = listed or tag in ("li", "a")
        if tag == "br" or tag in _BLOCK_TAGS:
            self.flush()
        self.add(el.text, listed)
        for child in el:
            self.walk(child, listed)
            self.add(child.tail, listed)
        if tag in _BLOCK_TAGS:
            self.flush()


def _element_lines(el: lxml.html.HtmlElement) -> list[_Line]:
    builder = _LineBuilder()
    builder.walk(el)
    builder.flush()
    return builder.lines


# --- Page structure ---------------------------------------------------------------------


@lru_cache(maxsize=256)
def _css(selector: str) -> CSSSelector:
    """`selector` compiled once: `el.cssselect()` re-translates CSS to XPath on every call."""
    return CSSSelector(selector, translator="html")


def _select(root: lxml.html.HtmlElement, selector: str) -> list[lxml.html.HtmlElement]:
    """What `root.cssselect(selector)` returns, with the compiled selector."""
    return _css(selector)(root)


def _first_match(root: lxml.html.HtmlElement, selectors: Iterable[str]):
    """(element, selector) for the first selector that matches, else (None, None)."""
    for selector in selectors:
        found = _select(root, selector)
        if found:
            return found[0], selector
    return None, None


def _drop(root: lxml.html.HtmlElement, selectors: tuple[str, ...]) -> None:
    """Remove matching elements (their tail text stays with the parent)."""
    # One selector group, one XPath query: eighteen separate queries were a quarter of the
    # time an article page takes to parse.
    for el in _select(root, ", ".join(selectors)):
        if el is not root and el.getparent() is not None:
            el.drop_tree()


def _share_title(doc: lxml.html.HtmlElement) -> str | None:
    for selector in site.SHARE_TITLE_SELECTORS:
        for el in _select(doc, selector):
            title = _share_line_title(normalise_text(el.text_content()))
            if title:
                return title
    return None


def _share_line_title(line: str) -> str | None:
    m = site.SHARE_LINE_RE.match(line)
    if m and not site.SECTION_TITLE_RE.match(m["title"]):
        return m["title"].strip()
    return None


def _heading_title(doc: lxml.html.HtmlElement) -> tuple[str, str | None]:
    for selector in site.HEADING_SELECTORS:
        for el in _select(doc, selector):
            text = normalise_text(el.text_content()).replace("\n", " ")
            if text:
                return text, selector
    return "", None


def _pick_title(
    share: str | None, lines: list[_Line], doc: lxml.html.HtmlElement
) -> tuple[str, str]:
    """(title, note): share box, else a share line in the body, else the heading."""
    if share:
        return share, "title: share line"
    for line in lines:
        title = _share_line_title(line.text)
        if title:
            return title, "title: share line (body text)"
    heading, selector = _heading_title(doc)
    if heading:
        return heading, f"title: heading {selector}"
    return "", "title: none found"


# --- Body rules -------------------------------------------------------------------------

_FOOTNOTE_RE = re.compile(r"^\[\d+\]")
_RULE_RE = re.compile(r"^[_\-–—=*·.\s]+$")
_BULLET_RE = re.compile(r"^[□○•●■▪◦◇◆※\-*]")
_SENTENCE_END_RE = re.compile(r"[.!?…:;][\"'”’)\]]*$")
_MAX_SIGNATURE_WORDS = 12
_MAX_SIGNATURE_LINES = 6


def _same(a: str, b: str) -> bool:
    return bool(a) and a.casefold() == b.casefold()


def _drop_furniture_lines(lines: list[_Line], title: str) -> list[_Line]:
    """Stray counters, share lines and social links that sit in the body as plain text."""
    kept: list[_Line] = []
    social = False  # the previous line was a social link: a lone "RSS" follows it
    for i, line in enumerate(lines):
        after = lines[i + 1].text if i + 1 < len(lines) else ""
        if site.SOCIAL_LINE_RE.match(line.text) or (social and site.SOCIAL_RSS_RE.match(line.text)):
            social = True
            continue
        social = False
        share = site.SHARE_LINE_RE.match(line.text)
        if site.COUNTER_LINE_RE.match(line.text):
            continue
        if share and (
            _same(share["title"], title) or site.SOCIAL_LINE_RE.match(after) or not after
        ):
            continue
        kept.append(line)
    return kept


def _is_share_line(text: str, title: str, after: str) -> bool:
    """ "UNPOG : <title>", or any "UNPOG : …" line that ends the body or precedes social links."""
    share = site.SHARE_LINE_RE.match(text)
    return bool(share) and (
        _same(share["title"], title) or not after or bool(site.SOCIAL_LINE_RE.match(after))
    )


def _take_head(lines: list[_Line], title: str):
    """Drop a repeated heading and take the date/place line from the first few lines."""
    event = None
    while lines and len(lines) > 1:
        first = lines[0].text
        if _same(first, title):
            lines = lines[1:]
        elif event is None and (parsed := parse_date_line(first)):
            event, lines = parsed, lines[1:]
        else:
            break
    return lines, event


def _is_signature_line(line: _Line) -> bool:
    text = line.text
    return (
        not line.listed
        and len(text.split()) <= _MAX_SIGNATURE_WORDS
        and not _SENTENCE_END_RE.search(text)
        and not _BULLET_RE.match(text)
        and any(ch.isalpha() for ch in text)
    )


def _take_tail(lines: list[_Line], signatures: bool):
    """Split trailing footnotes ('[n] …') and the signature block off the body."""
    i, footnotes, authors = len(lines), [], []
    while i > 1:
        line = lines[i - 1]
        if _FOOTNOTE_RE.match(line.text):
            footnotes.insert(0, line.text)
        elif _RULE_RE.match(line.text):
            pass  # a rule only separates the trailer from the prose
        elif signatures and _is_signature_line(line):
            authors.insert(0, line)
        else:
            break
        i -= 1
    body = lines[:i]
    # A long run of short lines is a list or headings, not a signature: give it back.
    if len(authors) > _MAX_SIGNATURE_LINES or not body:
        body, authors = body + authors, []
    return body, tuple(a.text for a in authors), tuple(footnotes)


# --- Links, images, attachments, HTML ---------------------------------------------------

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


def _body_html(container: lxml.html.HtmlElement) -> str:
    inner = html.escape(container.text or "", quote=False) + "".join(
        lxml.html.tostring(child, encoding="unicode") for child in container
    )
    cleaned = nh3.clean(
        inner,
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


def _images(container: lxml.html.HtmlElement, url: str) -> tuple[str, ...]:
    found = (_http_link(url, img.get("src")) for img in container.iter("img"))
    return tuple(
        dict.fromkeys(src for src in found if src and not site.IGNORED_IMAGE_RE.search(src))
    )


def _is_attachment(link: str) -> bool:
    parts = urlsplit(link)
    files = [v for _, v in parse_qsl(parts.query)]
    return bool(site.DOWNLOAD_RE.search(parts.path)) or any(
        site.ATTACHMENT_EXT_RE.search(p) for p in [parts.path, *files]
    )


def _attachment_name(a: lxml.html.HtmlElement, link: str) -> str:
    name = normalise_text(a.text_content()).replace("\n", " ")
    if name:
        return name
    parts = urlsplit(link)
    files = [v for k, v in parse_qsl(parts.query) if site.ATTACHMENT_EXT_RE.search(v)]
    return unquote(files[0] if files else parts.path.rsplit("/", 1)[-1])


def _attachments(scopes: Iterable[lxml.html.HtmlElement], url: str) -> tuple[Attachment, ...]:
    found: dict[str, Attachment] = {}
    for scope in scopes:
        for a in scope.iter("a"):
            link = _http_link(url, a.get("href"))
            if link and _is_attachment(link) and link not in found:
                found[link] = Attachment(url=link, name=_attachment_name(a, link))
    return tuple(found.values())


# --- Articles ---------------------------------------------------------------------------


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


def _no_container(doc: lxml.html.HtmlElement, text: str, url: str, canonical: str):
    """The NotAnArticle for a page without an article container."""
    if site.NO_POST_SCRIPT_RE.search(text) and site.NO_POST_MESSAGE_RE.search(text):
        return NotAnArticle(canonical, url, "no such post (script alert page)", gone=True)
    visible = normalise_text(doc.text_content())
    error = site.ERROR_PAGE_RE.search(visible)
    if error:
        reason = f"no article container: error page ({error.group(0)})"
    else:
        reason = "no article container (no selector in site.CONTAINER_SELECTORS matched)"
    return NotAnArticle(canonical, url, reason, gone=False)


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
    # Links first: parse_article drops furniture (and the paging block with it) from the tree.
    links = _links_from_tree(doc, url, board)
    problem = _not_html(body, headers)
    if problem:
        return NotAnArticle(canonical, url, problem, gone=False), links
    return _article_from_tree(body, url, text, encoding, doc), links


def _article_from_tree(
    body: bytes, url: str, text: str, encoding: str, doc: lxml.html.HtmlElement | None
) -> ArticleRecord | NotAnArticle:
    """The record of a decoded HTML page; modifies `doc` (furniture is dropped)."""
    canonical = site.canonical_url(url)
    if doc is None:
        return NotAnArticle(canonical, url, "not an HTML page (unparseable)", gone=False)
    share = _share_title(doc)  # before furniture removal: the share box is furniture
    _drop(doc, site.FURNITURE_SELECTORS)
    container, selector = _first_match(doc, site.CONTAINER_SELECTORS)
    if container is None:
        return _no_container(doc, text, url, canonical)
    container = copy.deepcopy(container)  # the heading stays in doc for the title fallback
    _drop(container, site.HEADING_FURNITURE_SELECTORS)
    return _article(_Page(body, url, canonical, encoding, doc, container, selector, share))


class _Page(NamedTuple):
    body: bytes
    url: str
    canonical: str
    encoding: str
    doc: lxml.html.HtmlElement
    container: lxml.html.HtmlElement
    selector: str
    share: str | None


def _article(page: _Page) -> ArticleRecord | NotAnArticle:
    """Apply the body rules to a page whose article container was found."""
    url, canonical, container = page.url, page.canonical, page.container
    lines = _element_lines(container)
    if not lines:
        return NotAnArticle(canonical, url, "empty article container", gone=False)
    board = site.board_for_url(canonical)
    title, title_note = _pick_title(page.share, lines, page.doc)
    dated = _dated_title(title, page.doc) if board.dated_titles else None
    if dated:
        title, title_note = dated[0], f"{title_note}; date split off the title"
    kind = _kind(url, title)
    attachment_scopes = [container, *_blocks(page.doc, site.ATTACHMENT_BLOCK_SELECTORS)]
    attachments = _attachments(attachment_scopes, url)
    lines = _drop_furniture_lines(lines, title)
    if board.section != site.SECTION:
        lines = _drop_title_date_lines(_drop_download_labels(lines, attachments), title)
    lines, event = _take_head(lines, title)
    dateline = _dateline(lines) if board.section != site.SECTION else None
    lines, authors, footnotes = _take_tail(lines, signatures=kind != "issue_page")
    body_text = "\n\n".join(line.text for line in lines)
    if not body_text:
        return NotAnArticle(canonical, url, "empty article body", gone=False)
    return ArticleRecord(
        url=canonical,
        fetched_url=url,
        source_id=_source_id(url),
        section=board.section,
        kind=kind,
        title=title,
        body_text=body_text,
        body_html=_body_html(container),
        event_start=event[0] if event else None,
        event_end=event[1] if event else None,
        event_place=(event[2] or None) if event else None,
        authors=authors,
        footnotes=footnotes,
        images=_images(container, url),
        attachments=attachments,
        issue=_issue(kind, url, body_text),
        page_sha256=hashlib.sha256(page.body).hexdigest(),
        encoding=page.encoding,
        parser_notes=_notes(page.selector, title_note, event, authors, footnotes),
        published=(dated and dated[1]) or (dateline and dateline[1]) or None,
        place=dateline[0] if dateline else None,
        board_id=board.board_id,
    )


# --- Theme, Youth and Publications rules ------------------------------------------------


def _dated_title(title: str, doc: lxml.html.HtmlElement) -> tuple[str, str] | None:
    """(title, ISO date) from '<title> May 30, 2017': the chosen title, else the heading.

    The share line may print the bare title while the heading carries the date.
    """
    split = split_title_date(title)
    if split:
        return split
    heading, _ = _heading_title(doc)
    split = split_title_date(heading) if heading else None
    if split and _same(split[0], title):
        return title, split[1]
    return None


def _drop_title_date_lines(lines: list[_Line], title: str) -> list[_Line]:
    """Leading lines that repeat the heading, with or without its date."""
    while len(lines) > 1:
        split = split_title_date(lines[0].text)
        if not (_same(lines[0].text, title) or (split and _same(split[0], title))):
            break
        lines = lines[1:]
    return lines


def _drop_download_labels(lines: list[_Line], attachments: tuple[Attachment, ...]) -> list[_Line]:
    """Lines made only of download links ("Event Information", a file name): attachments,
    recorded as such, never prose."""
    names = sorted({a.name for a in attachments if a.name}, key=len, reverse=True)
    if not names:
        return lines
    kept = []
    for line in lines:
        rest = line.text
        for name in names:
            rest = rest.replace(name, " ")
        labels_only = line.listed and not rest.strip(" |/·•-–,")
        if not labels_only:
            kept.append(line)
    return kept


def _dateline(lines: list[_Line]) -> tuple[str, str] | None:
    """(place, ISO date) of a press-release dateline opening one of the first lines."""
    for line in lines[: site.DATELINE_MAX_LINE]:
        found = parse_dateline(line.text)
        if found:
            return found
    return None


def _notes(selector, title_note, event, authors, footnotes) -> tuple[str, ...]:
    """Which rules produced the record, for checking the live site against the guess."""
    notes = [f"container: {selector}", title_note]
    notes += ["date line"] if event else []
    notes += [f"authors: {len(authors)} lines"] if authors else []
    notes += [f"footnotes: {len(footnotes)}"] if footnotes else []
    return tuple(notes)


def _blocks(doc: lxml.html.HtmlElement, selectors: Iterable[str]) -> list[lxml.html.HtmlElement]:
    return [el for selector in selectors for el in _select(doc, selector)]


def _issue(kind: str, url: str, body_text: str) -> str | None:
    if kind == "welcome_note":
        return stated_issue(body_text)
    if kind == "issue_page":
        return issue_from_issue_page(urlsplit(url).path)
    return None


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
