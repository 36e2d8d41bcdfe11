"""The records that flow from the parser, through the spider, to the archive.

Parsing returns an ``ArticleRecord`` or a ``NotAnArticle``; the spider also yields
``ListPageAnswer`` (a list page read, with the articles it lists) and ``PageProblem`` (a
page that could not be fetched or parsed). The pipeline hands each to the archive.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # parse/ imports this module: the name only, for the annotation
    from unpog_crawler.parse.list_rows import ListRow

KINDS = ("welcome_note", "article", "issue_page")

# The fields whose values make an article's content: a version is written only when one
# of these changes. Identity (url, source_id, section) and provenance (fetched_url,
# page_sha256, encoding, body_html) are deliberately left out: markup is not content.
CONTENT_FIELDS = (
    "title",
    "kind",
    "event_start",
    "event_end",
    "event_place",
    "authors",
    "body_text",
    "footnotes",
    "images",
    "attachments",
    "issue",
    "published",
    "place",
)


@dataclass(frozen=True)
class Attachment:
    url: str  # absolute URL as linked from the page
    name: str  # link text, normalised


@dataclass(frozen=True)
class ArticleRecord:
    """One article page, normalised. Every field is plain data (str, None, tuples)."""

    url: str  # canonical identity: path + canonical query, e.g. /page/sub4_3_view.asp?sn=72
    fetched_url: str  # absolute URL that was fetched
    source_id: str  # the site's id: 'sn' value, or the file stem of a whole-issue page
    section: str  # 'quarterly'
    kind: str  # one of KINDS
    title: str
    body_text: str  # paragraphs separated by one blank line
    body_html: str  # sanitised structure of the article container
    event_start: str | None = None  # ISO date, event reports only
    event_end: str | None = None
    event_place: str | None = None
    authors: tuple[str, ...] = ()  # signature / author block lines, in page order
    footnotes: tuple[str, ...] = ()  # footnote texts, e.g. "[1] United Nations, ..."
    images: tuple[str, ...] = ()  # absolute image URLs
    attachments: tuple[Attachment, ...] = ()
    issue: str | None = None  # issue the page itself states: '2019-Q1', 'No. 2', '2022 Winter'
    page_sha256: str = ""  # hash of the raw response bytes (provenance)
    encoding: str = ""  # charset the page was decoded with
    parser_notes: tuple[str, ...] = field(default=(), compare=False)  # which rules fired
    # Theme, Youth and Publications boards (issue 3).
    published: str | None = None  # ISO date printed with the title or in the dateline
    place: str | None = None  # place of a press-release dateline, as printed ('INCHEON')
    board_id: str | None = None  # raw BoardID of the board's URLs ('0004'); None elsewhere
    found_by: str = "list"  # how this crawl reached the page: 'list', 'link' or 'sweep'
    # Attachments and images downloaded for this page (files.ArchiveFilesPipeline).
    downloads: tuple[StoredFile, ...] = field(default=(), compare=False)
    # HTTP validators of the answer this record was read from: stored with its version (in
    # one transaction), sent back next time as If-None-Match / If-Modified-Since.
    etag: str = ""
    last_modified: str = ""
    # Reading-order landmarks the page lacked ('share line', 'heading'): health rules count
    # them, since a page without them may have been read with furniture (issue 14).
    missing_landmarks: tuple[str, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NotAnArticle:
    """A view page that holds no article: counted as a parse failure, never stored."""

    url: str  # canonical URL
    fetched_url: str
    reason: str  # human readable, e.g. "no such post (script alert page)"
    gone: bool  # True when the page says the post does not exist (evidence of removal)


@dataclass(frozen=True)
class ListPageAnswer:
    """A list page read: the canonical URLs it links, the answer's validators, and what its
    row of each post shows (title, dates, counters: the revisit policy's hints).

    `not_modified` is a 304 whose links are the ones stored with the validators sent (and
    no rows: the page is as it was).
    """

    url: str  # canonical URL of the list page
    views: tuple[str, ...]
    issue_pages: tuple[str, ...] = ()
    list_pages: tuple[str, ...] = ()
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False
    rows: tuple[ListRow, ...] = ()


@dataclass(frozen=True)
class PageProblem:
    """A page that failed: kind is 'error' (fetch failed) or 'parse_failure'."""

    url: str
    kind: str
    reason: str
    gone: bool = False  # the article's own page answers 404 / "no such post"
    fetched: bool = False  # the page was downloaded (counted in crawls.pages)


@dataclass(frozen=True)
class PageFetched:
    """One page (list, view or issue page) was downloaded successfully."""

    url: str


@dataclass(frozen=True)
class NotModified:
    """The server answered 304 to a conditional request: the archived article is unchanged."""

    url: str  # canonical URL


@dataclass(frozen=True)
class StoredFile:
    """An attachment or image downloaded for an article, stored by content hash."""

    url: str  # absolute URL as linked from the page
    role: str  # 'attachment' or 'image'
    name: str  # link text (attachments) or alt text / file name (images)
    sha256: str
    size: int  # bytes
    content_type: str
    path: str  # relative to the files directory (archive/files/)
