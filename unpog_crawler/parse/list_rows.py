"""What a list page says about each post it lists: title, dates, counters (issue 16).

The revisit policy (``revisit.py``) moves a post to the front of a crawl when its list row no
longer says what the archive recorded: a new title, a new date, one more comment or
attachment. No class name of the live site is known (docs/assumed-markup.md), so rows are
found by what they show, never by markup names:

- a **row** is the element around a link to a post (a view page, or a whole-issue page of the
  Quarterly): the highest ancestor of the link that holds no link to another post and no link
  to a list page, and never above a ``tr``, ``li``, ``dt`` or ``dd``. When that element shows
  no date, the text after it up to the next post's link belongs to it too (a ``dt`` and its
  ``dd``; a link followed by plain text);
- its **title** is the link's text (for a row that is itself the link, ``<tr onclick>``: its
  longest text that is not a date or a number);
- its **dates** are the date-shaped texts outside the title (2019-07-01, 2019.07.01,
  19-07-01, 2019년 7월 1일, May 30, 2017, 30 May 2017);
- its **counters** are numbers next to words that name them ("Comments 3", "댓글 3",
  "3 files", a table column headed 첨부 or File), a bracketed number right after the title
  ("[3]": the comment count on Korean boards), or file icons (attachments). A view counter
  (Hit, Views, 조회) is read too, so that it is never taken for another counter; it changes
  with every reader and is never a hint.

Pure: bytes in, rows out (lxml only), like ``parsing``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import pairwise
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from unpog_crawler import site
from unpog_crawler.parse.decode import decode_html
from unpog_crawler.parse.text import flatten_text

Element = lxml.html.HtmlElement
# Elements that are a row by HTML's own meaning: a row never grows above one of them.
ROW_TAGS = frozenset({"tr", "li", "dt", "dd"})
# Siblings after a dateless row that may still belong to it (a dt's dd, a second table row).
MAX_ROW_SIBLINGS = 3
# Links to one post whose rows are read in search of its date (the rest are repeats).
MAX_LINKS_TRIED = 3

_COMMENT_WORDS = r"comments?|repl(?:y|ies)|댓글|덧글|코멘트"
_FILE_WORDS = r"files?|attach(?:ment|ed)?s?|첨부\s*파일|첨부|파일|downloads?"
_VIEW_WORDS = r"hits?|views?|reads?|조회\s*수|조회"
_COUNTER_WORDS = {"comments": _COMMENT_WORDS, "attachments": _FILE_WORDS, "views": _VIEW_WORDS}
_NUMBER = r"(?P<n>\d[\d,]{0,9})"
# "Comments 3", "댓글 : 3", "Files (2)", "조회수 33" ...
_LABEL_FIRST = {
    kind: re.compile(rf"(?<![\w])(?:{words})(?![\w])\s*[:：]?\s*[(\[]?\s*{_NUMBER}", re.I)
    for kind, words in _COUNTER_WORDS.items()
}
# ... and "3 comments", "2 files", "33 views".
_NUMBER_FIRST = {
    kind: re.compile(rf"(?<![\w.,-]){_NUMBER}\s*(?:{words})(?![\w])", re.I)
    for kind, words in _COUNTER_WORDS.items()
}
_HEADER_KINDS = {
    kind: re.compile(rf"^(?:{words})$", re.I) for kind, words in _COUNTER_WORDS.items()
}
# The comment count Korean boards print right after the title: "[3]", "(3)".
_BRACKETED_COUNT_RE = re.compile(r"^[\[(]\s*(\d{1,6})\s*[\])]")
# A file icon: an image that says it stands for a file (alt, title, src or class).
_FILE_ICON_RE = re.compile(
    r"(?:^|[\W_])(?:file|files|attach\w*|clip|disk|paperclip|pdf|hwpx?|docx?|xlsx?|pptx?|zip"
    r"|첨부\w*|파일)(?:$|[\W_\d])",
    re.I,
)

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
# Date-shaped texts, each with named parts y (or yy), m or mon, d.
_DATE_RES = (
    re.compile(
        r"(?<![\d.])(?P<y>(?:19|20)\d\d)\s*(?:[-./]|년)\s*(?P<m>\d{1,2})\s*(?:[-./]|월)\s*"
        r"(?P<d>\d{1,2})(?!\d)"
    ),
    re.compile(r"(?<![\d.])(?P<yy>\d\d)(?P<sep>[-./])(?P<m>\d\d)(?P=sep)(?P<d>\d\d)(?![\d.])"),
    re.compile(rf"(?<![\w]){_MONTH}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})", re.I),
    re.compile(rf"(?<![\w])(?P<d>\d{{1,2}})\s+{_MONTH}\s+(?P<y>\d{{4}})", re.I),
)


@dataclass(frozen=True)
class ListRow:
    """One post as a list page shows it."""

    url: str  # canonical URL of the post's page (view or whole-issue page)
    title: str
    dates: tuple[str, ...] = ()  # ISO dates the row shows, in page order
    comments: int | None = None  # None: the row shows no such counter
    attachments: int | None = None
    views: int | None = None  # read so that it is not taken for another counter; no hint

    @property
    def date(self) -> str | None:
        """The first date the row shows (the posting date on every board seen)."""
        return self.dates[0] if self.dates else None

    def changes_from(self, recorded: ListRow) -> tuple[str, ...]:
        """What differs from the row the archive recorded: 'title', 'date', 'comments 2 -> 3'.

        A counter only one of the two rows shows is no change (the markup moved, not the
        post); the view counter never is one.
        """
        found = []
        if self.title != recorded.title:
            found.append("title")
        if self.dates and recorded.dates and self.dates != recorded.dates:
            found.append("date")
        for name in ("comments", "attachments"):
            now, then = getattr(self, name), getattr(recorded, name)
            if now is not None and then is not None and now != then:
                found.append(f"{name} {then} -> {now}")
        return tuple(found)


def read_list_rows(
    body: bytes,
    url: str,
    headers: Mapping[str, str | bytes] | None = None,
    board: site.Board | None = None,
) -> tuple[ListRow, ...]:
    """The rows of a list page, one per post, in page order (`board`: the URL's board)."""
    if not body or not body.strip():
        return ()
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        doc = lxml.html.document_fromstring(decode_html(body, headers)[0].encode(), parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return ()
    return rows_from_tree(doc, url, board)


def rows_from_tree(doc: Element, url: str, board: site.Board | None = None) -> tuple[ListRow, ...]:
    """read_list_rows on a parsed page (left unchanged)."""
    links = _PageLinks(doc, url, board or site.board_for_url(url))
    rows = []
    for target, elements in links.links_to.items():
        # A post linked more than once: the first row that shows a date (a few tried).
        read = [_read_row(links, element, target) for element in elements[:MAX_LINKS_TRIED]]
        rows.append(next((row for row in read if row.dates), read[0]))
    return tuple(rows)


# ---- links -----------------------------------------------------------------------------------


class _PageLinks:
    """Every link of a page to a post or a list page, and which posts each element holds."""

    def __init__(self, doc: Element, url: str, board: site.Board) -> None:
        self.url, self.board, self.netloc = url, board, urlsplit(url).netloc
        self.links_to: dict[str, list[Element]] = {}
        self.posts_within: dict[Element, set[str]] = {}
        self.lists_within: set[Element] = set()
        for element in doc.xpath("//*[@href or @onclick]"):
            posts, to_list = self._targets(element)
            for target in posts[:1]:  # one element, one post (the first it names)
                self.links_to.setdefault(target, []).append(element)
                for holder in element.iterancestors():
                    self.posts_within.setdefault(holder, set()).add(target)
                self.posts_within.setdefault(element, set()).add(target)
            if to_list:
                self.lists_within.update(element.iterancestors())
                self.lists_within.add(element)

    def holds_other(self, element: Element, target: str) -> bool:
        """True when `element` holds a link to another post or to a list page."""
        posts = self.posts_within.get(element, ())
        return (
            len(posts) > 1
            or (bool(posts) and target not in posts)
            or (element in self.lists_within)
        )

    def holds_post_or_list(self, element: Element) -> bool:
        return element in self.posts_within or element in self.lists_within

    def _targets(self, element: Element) -> tuple[list[str], bool]:
        """(post URLs an element's href or script leads to, whether it leads to a list page)."""
        href = (element.get("href") or "").strip()
        onclick = element.get("onclick")
        scripts = [onclick[: site.JS_SCAN_CHARS]] if onclick else []
        if href[:11].lower() == "javascript:":
            scripts, href = [*scripts, href[: site.JS_SCAN_CHARS]], ""
        posts: list[str] = []
        to_list = False
        hrefs = [href] if href and not href.startswith("#") else []
        for script in scripts:
            view = site.JS_VIEW_RE.search(script)
            if view:
                posts.append(self.board.view_url(view["id"]))
            to_list = to_list or bool(site.JS_PAGE_RE.search(script))
            hrefs += site.JS_URL_RE.findall(script)
        for link in hrefs:
            post, listing = self._resolve(link)
            posts += [post] if post else []
            to_list = to_list or listing
        return posts, to_list

    def _resolve(self, href: str) -> tuple[str | None, bool]:
        """(the post a plain link leads to, whether it leads to a list page of the board)."""
        if len(href) > site.MAX_LINK_CHARS:
            return None, False
        # An href with a path or a query resolves the same whatever the page's query (list
        # pages differ by ?page=): the cache then serves every list page's repeated links.
        parts = urlsplit(href)
        base = self.url.split("?")[0] if parts.path or parts.query else self.url
        return _resolved(href, base, self.board)


@lru_cache(maxsize=8192)
def _resolved(href: str, base: str, board: site.Board) -> tuple[str | None, bool]:
    """_PageLinks._resolve, cached: a crawl reads the same paging links on every list page
    (a parse of a list page spent most of its time here)."""
    absolute = urljoin(base, href)
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not site.is_site_host(
        parts.netloc, urlsplit(base).netloc
    ):
        return None, False
    canonical = site.canonical_url(absolute)
    if board.owns_view(canonical):
        return canonical, False
    if board.section == site.SECTION and site.ISSUE_PAGE_RE.search(parts.path):
        return canonical, False
    return None, board.owns_list(canonical)


# ---- one row ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Piece:
    """A text of the row, and whether it is the title link's."""

    text: str
    in_title: bool


def _row_element(links: _PageLinks, link: Element, target: str) -> Element:
    """The highest ancestor of `link` that is still this post's alone (see the module doc)."""
    row = link
    while row.tag not in ROW_TAGS:
        parent = row.getparent()
        if parent is None or parent.tag in ("body", "html", "form"):
            break
        if links.holds_other(parent, target):
            break
        row = parent
    return row


def _row_parts(links: _PageLinks, row: Element) -> list[Element]:
    """The row's element, then the siblings after it that belong to it (no post, no list)."""
    parts = [row]
    for sibling in row.itersiblings():
        if len(parts) > MAX_ROW_SIBLINGS or links.holds_post_or_list(sibling):
            break
        if not isinstance(sibling.tag, str):
            continue
        parts.append(sibling)
    return parts


def _pieces(parts: list[Element], title_links: set[Element], include_tail: bool) -> list[_Piece]:
    """The texts of `parts` in page order; the tail of the last only with `include_tail`."""
    pieces = []
    for index, part in enumerate(parts):
        for node in part.xpath(".//text()"):
            holder = node.getparent()
            if node.is_tail and holder is part:
                continue  # the part's own tail is outside it
            text = flatten_text(str(node))
            if text:
                inside = holder if not node.is_tail else holder.getparent()
                pieces.append(_Piece(text, inside is not None and _within(inside, title_links)))
        last = index == len(parts) - 1
        tail = flatten_text(part.tail or "")
        if tail and (include_tail or not last):
            pieces.append(_Piece(tail, False))
    return pieces


def _within(element: Element, targets: set[Element]) -> bool:
    return element in targets or any(a in targets for a in element.iterancestors())


def _read_row(links: _PageLinks, link: Element, target: str) -> ListRow:
    row = _row_element(links, link, target)
    # The row's links to its post; a row that is itself the link (<tr onclick>) has none.
    title_links = [el for el in links.links_to[target] if el is not row and _within(el, {row})]
    pieces = _pieces([row], set(title_links), include_tail=False)
    if not _dates(p.text for p in pieces if not p.in_title):
        # A dateless row: its tail and the siblings up to the next post may carry the date.
        pieces = _pieces(_row_parts(links, row), set(title_links), include_tail=True)
    outside = [p for p in pieces if not p.in_title]
    counters = _counters(row, outside, pieces)
    return ListRow(
        url=target,
        title=_title(title_links, outside),
        dates=_dates(p.text for p in outside),
        **counters,
    )


def _title(title_links: list[Element], outside: list[_Piece]) -> str:
    """The longest text of the row's links to the post ("Title" over "more", a thumbnail);
    without any, the row's longest text that is not a date or a number."""
    texts = [flatten_text(el.text_content()) for el in title_links]
    if any(texts):
        return max(texts, key=len)
    candidates = [
        p.text
        for p in outside
        if not _dates([p.text]) and not re.fullmatch(r"[\d\s,.:|/()\[\]-]*", p.text)
    ]
    return max(candidates, key=len, default="")


def _dates(texts: Iterable[str]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for text in texts:
        for iso in _dates_in(text):
            found[iso] = None
    return tuple(found)


def _dates_in(text: str) -> Iterator[str]:
    matches = sorted(
        (m for pattern in _DATE_RES for m in pattern.finditer(text)), key=lambda m: m.start()
    )
    end = -1
    for m in matches:
        if m.start() < end:
            continue  # overlaps a date already read
        parts = m.groupdict()
        year = int(parts["y"]) if parts.get("y") else 2000 + int(parts["yy"])
        month = _MONTHS[parts["mon"][:3].lower()] if parts.get("mon") else int(parts["m"])
        try:
            yield date(year, month, int(parts["d"])).isoformat()
        except ValueError:
            continue
        end = m.end()


# ---- counters --------------------------------------------------------------------------------


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _counters(row: Element, outside: list[_Piece], pieces: list[_Piece]) -> dict[str, int | None]:
    """comments, attachments, views: column headers first, then labels, brackets, icons."""
    found: dict[str, int | None] = dict.fromkeys(_COUNTER_WORDS)
    found.update({k: v for k, v in _column_counters(row).items() if v is not None})
    text = " | ".join(p.text for p in outside)
    for kind in _COUNTER_WORDS:
        if found[kind] is not None:
            continue
        m = _LABEL_FIRST[kind].search(text) or _NUMBER_FIRST[kind].search(text)
        if m:
            found[kind] = _number(m["n"])
    if found["comments"] is None:
        found["comments"] = _bracketed_after_title(pieces)
    if found["attachments"] is None:
        icons = _file_icons(row)
        found["attachments"] = icons or None
    return found


def _bracketed_after_title(pieces: list[_Piece]) -> int | None:
    """The "[3]" printed right after the title, if the title is followed by one."""
    for before, after in pairwise(pieces):
        if before.in_title and not after.in_title:
            m = _BRACKETED_COUNT_RE.match(after.text)
            return int(m[1]) if m else None
    return None


def _file_icons(element: Element) -> int:
    """File icons in an element: images whose alt, title, class or file name (not folder: a
    thumbnail may live under /files/) names a file."""
    count = 0
    for image in element.iter("img"):
        name = urlsplit(image.get("src") or "").path.rsplit("/", 1)[-1]
        said = " ".join([name, *(image.get(attr) or "" for attr in ("alt", "title", "class"))])
        count += bool(_FILE_ICON_RE.search(said))
    return count


def _column_counters(row: Element) -> dict[str, int | None]:
    """Counters of a table row whose columns are headed (File, 댓글, Hit ...)."""
    if row.tag != "tr":
        return {}
    kinds = _header_kinds(row)
    found: dict[str, int | None] = {}
    for index, cell in _cells(row):
        kind = kinds.get(index)
        if kind is None or found.get(kind) is not None:
            continue
        digits = re.search(r"\d[\d,]{0,9}", flatten_text(cell.text_content()))
        if digits:
            found[kind] = _number(digits[0])
        else:  # a files column shows icons, or nothing for "none"
            found[kind] = _file_icons(cell) if kind == "attachments" else 0
    return found


def _cells(tr: Element) -> Iterator[tuple[int, Element]]:
    index = 0
    for cell in tr:
        if cell.tag not in ("td", "th"):
            continue
        yield index, cell
        span = cell.get("colspan") or "1"
        index += int(span) if span.isdigit() and 0 < int(span) < 100 else 1


def _header_kinds(tr: Element) -> dict[int, str]:
    """Column index -> counter kind, from the table's header row (a row of th cells)."""
    table = next(tr.iterancestors("table"), None)
    if table is None:
        return {}
    for candidate in table.iter("tr"):
        cells = list(_cells(candidate))
        if not cells or any(cell.tag != "th" for _, cell in cells):
            continue
        kinds = {}
        for index, cell in cells:
            label = flatten_text(cell.text_content())
            kind = next((k for k, p in _HEADER_KINDS.items() if p.match(label)), None)
            if kind:
                kinds[index] = kind
        return kinds
    return {}
