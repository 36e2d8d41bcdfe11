"""A page as the reader sees it: text lines in reading order, each with what shaped it.

The segmentation (``segment``) never asks which CSS class held a line: it reads what a person
reads (the lines, in order) plus shallow features of each line, as boilerpipe and jusText
do: how much of it sits inside links, whether it is set as a heading, whether it came from a
list item, which images and links it holds. Pure: lxml in, lines out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lxml.html

from unpog_crawler.parse.text import flatten_text

# Elements that end a line, as a browser breaks them.
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "caption", "center", "dd", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "legend", "li", "main", "menu", "nav", "ol", "p", "pre", "section",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})  # fmt: skip
# Elements whose text a reader never sees as page text. Not <embed> or <object>: libxml2
# reads an unclosed one as holding the rest of the page.
INVISIBLE_TAGS = frozenset({
    "script", "style", "noscript", "iframe", "svg", "template", "select", "option",
    "textarea", "head", "title", "map", "area",
})  # fmt: skip
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "th", "caption"})
EMPHASIS_TAGS = frozenset({"strong", "b", "big"})
_SLOT_TEXT, _SLOT_TAIL = 0, 1


@dataclass(frozen=True)
class Link:
    href: str  # as written in the page (may be relative, javascript:, #anchor)
    text: str  # normalised link text


@dataclass(frozen=True)
class Image:
    element: lxml.html.HtmlElement
    link: str  # href of the link around it ("" when none)


@dataclass(eq=False)  # a line is itself: two "Views 12" lines are two lines
class Line:
    """One visual line of the page: what a block element or a <br> ends."""

    text: str
    link_text: str = ""  # the part of `text` inside links (a[href], or an onclick handler)
    links: tuple[Link, ...] = ()
    images: tuple[Image, ...] = ()
    heading: bool = False  # every character sits in h1-h6/th/caption, or in strong/b/font size
    listed: bool = False  # from a list item or a link: never part of a signature block
    # The text pieces that made the line, for rebuilding the article's HTML.
    slots: tuple[tuple[lxml.html.HtmlElement, int], ...] = field(default=(), repr=False)


@dataclass
class _Piece:
    text: str
    in_link: bool
    heading: bool
    slot: tuple[lxml.html.HtmlElement, int]


class _Builder:
    """Walks a tree in document order; each block element or <br> ends a line."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self._pieces: list[_Piece] = []
        self._links: list[Link] = []
        self._images: list[Image] = []
        self._listed = False

    def flush(self) -> None:
        pieces, images = self._pieces, self._images
        if not pieces and not images:  # most flushes: a block that held nothing
            self._links, self._listed = [], False
            return
        text = flatten_text("".join([p.text for p in pieces])) if pieces else ""
        if text or images:
            visible = [p for p in pieces if p.text.strip()]
            linked = [p.text for p in pieces if p.in_link]
            self.lines.append(
                Line(
                    text=text,
                    link_text=flatten_text("".join(linked)) if linked else "",
                    links=tuple(self._links),
                    images=tuple(images),
                    heading=bool(visible) and all(p.heading for p in visible),
                    listed=self._listed,
                    slots=tuple(p.slot for p in pieces),
                )
            )
        self._pieces, self._links, self._images, self._listed = [], [], [], False

    def add(self, text: str, ctx: _Context, slot: tuple) -> None:
        # White space that would open a line is dropped: flattening strips it anyway.
        if self._pieces or not text.isspace():
            self._pieces.append(_Piece(text, ctx.link is not None, ctx.heading, slot))
            self._listed = self._listed or ctx.listed

    def walk(self, el: lxml.html.HtmlElement, ctx: _Context) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if not tag or tag in INVISIBLE_TAGS:
            return
        ctx = ctx.enter(el, tag)
        if tag == "img":
            self._images.append(Image(el, ctx.link or ""))
            return
        if tag == "br" or tag in BLOCK_TAGS:
            self.flush()
        if tag == "a" and el.get("href") is not None:
            self._links.append(Link(el.get("href", "").strip(), flatten_text(el.text_content())))
        if el.text:
            self.add(el.text, ctx, (el, _SLOT_TEXT))
        for child in el:
            self.walk(child, ctx)
            if child.tail:
                self.add(child.tail, ctx, (child, _SLOT_TAIL))
        if tag in BLOCK_TAGS:
            self.flush()


@dataclass(frozen=True)
class _Context:
    link: str | None = None  # href (or "javascript:" + onclick) of the enclosing link
    heading: bool = False
    listed: bool = False

    def enter(self, el: lxml.html.HtmlElement, tag: str) -> _Context:
        link, heading, listed = self.link, self.heading, self.listed
        if tag == "a" and el.get("href") is not None:
            link = el.get("href", "").strip()
            # In-page anchors (Word footnote references) are not navigation.
            link = None if link.startswith("#") else link
        elif el.get("onclick"):
            link = "javascript:" + el.get("onclick", "")
        if tag in HEADING_TAGS or tag in EMPHASIS_TAGS or (tag == "font" and el.get("size")):
            heading = True
        if tag in ("li", "a"):
            listed = True
        if (link, heading, listed) == (self.link, self.heading, self.listed):
            return self
        return _Context(link, heading, listed)


def page_lines(root: lxml.html.HtmlElement) -> list[Line]:
    """The visible lines of a page (or of one element), in reading order."""
    body = root.find("body") if root.tag == "html" else None
    builder = _Builder()
    builder.walk(body if body is not None else root, _Context())
    builder.flush()
    return builder.lines


def region_html(lines: list[Line]) -> str:
    """The HTML of `lines` only: the smallest element holding them, with every text piece
    and image of other lines left out (their elements too, when nothing kept is inside).

    Elements are held in sets (never by id()): lxml keeps one proxy per node only while a
    reference to it lives."""
    kept = {slot for line in lines for slot in line.slots}
    owners = [el if kind == _SLOT_TEXT else el.getparent() for el, kind in kept]
    owners += [image.element for line in lines for image in line.images]
    owners = [el for el in owners if el is not None]
    if not owners:
        return ""
    keep: set[lxml.html.HtmlElement] = set()
    for el in owners:
        for node in (el, *el.iterancestors()):
            if node in keep:
                break
            keep.add(node)
    root = _common_ancestor(owners)
    out: list[str] = []
    if (root, _SLOT_TEXT) in kept:
        out.append(_escape(root.text))
    for child in root:
        _serialise(child, keep, kept, out)
    return "".join(out)


def _common_ancestor(elements: list[lxml.html.HtmlElement]) -> lxml.html.HtmlElement:
    first = elements[0]
    path = [first, *first.iterancestors()]
    depth = {node: i for i, node in enumerate(path)}
    deepest = 0
    for el in elements[1:]:
        for node in (el, *el.iterancestors()):
            if node in depth:
                deepest = max(deepest, depth[node])
                break
    ancestor = path[deepest]
    # A lone text-holding element is not a container: serialise it within its parent.
    single = all(el is ancestor for el in elements)
    if (ancestor.tag in ("img", "br") or single) and ancestor.getparent() is not None:
        return ancestor.getparent()
    return ancestor


def _serialise(el: lxml.html.HtmlElement, keep: set, kept: set, out: list[str]) -> None:
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    if tag and tag not in INVISIBLE_TAGS and (el in keep or tag == "br"):
        attributes = "".join(
            f' {name}="{_escape(value, quote=True)}"' for name, value in el.attrib.items()
        )
        out.append(f"<{tag}{attributes}>")
        if tag not in ("img", "br", "hr"):
            if (el, _SLOT_TEXT) in kept:
                out.append(_escape(el.text))
            for child in el:
                _serialise(child, keep, kept, out)
            out.append(f"</{tag}>")
    if (el, _SLOT_TAIL) in kept:
        out.append(_escape(el.tail))


def _escape(text: str | None, quote: bool = False) -> str:
    if not text:
        return ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text
