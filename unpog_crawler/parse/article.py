"""An article page to its record: the reading order (`lines`, `segment`) gives the parts,
and this module makes the record's fields of them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit

import lxml.html
import nh3

from unpog_crawler import site
from unpog_crawler.items import ArticleRecord, Attachment, NotAnArticle
from unpog_crawler.parse.decode import _not_html, _parse_tree, decode_html
from unpog_crawler.parse.lines import Line, page_lines, region_html
from unpog_crawler.parse.links import PageLinks, _links_from_tree
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

# Bumped whenever the same page bytes may parse to different fields (a change anywhere in
# parse/): the archive records it on every version, so that a parser change is never mistaken
# for a change of the site. Read at run time as `article.PARSER_VERSION` (tests patch it).
PARSER_VERSION = "2"

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
