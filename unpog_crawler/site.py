"""Everything specific to unpog.org: selectors, URL patterns and page rules.

The live site's markup has never been seen (docs/assumed-markup.md records the guess), so
every rule that depends on it lives here, in priority order, for the first real crawl to
check and correct in one place. Parsing code elsewhere only consumes these constants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from w3lib.url import add_or_replace_parameter, canonicalize_url

# --- Hosts and URL patterns -------------------------------------------------------------

UNPOG_HOSTS = ("unpog.org", "www.unpog.org", "unpog.gabia.io")
DEFAULT_BASE_URL = "https://unpog.org"
# Relative links on the site ("sub4_3_view.asp?sn=5") are written relative to /page/.
DEFAULT_LINK_BASE = "/page/"

QUARTERLY_VIEW_PATH = "/page/sub4_3_view.asp"
QUARTERLY_LIST_PATH = "/page/sub4_3_list.asp"
# Whole-issue pages of the Quarterly (2022 on): sub4_3_<year>_<season>.asp.
ISSUE_PAGE_RE = re.compile(r"sub4_3_(?P<year>\d{4})_(?P<season>[a-z]+)\.asp$", re.I)
SECTION = "quarterly"

# Query parameters that make a page's identity, per path, in output order and spelling.
# Anything else on these paths (page, search, SearchString, Gubun: list context) is dropped.
IDENTITY_PARAMS: dict[str, tuple[str, ...]] = {
    QUARTERLY_VIEW_PATH: ("sn",),
    QUARTERLY_LIST_PATH: ("page",),
    "/page/sub3_1_view.asp": ("BoardID", "sn"),
    "/page/sub3_1_list.asp": ("BoardID", "page"),
    "/page/sub5_1_view.asp": ("BoardID", "sn"),
    "/page/sub5_1_list.asp": ("BoardID", "page"),
    "/page/sub4_1_view.asp": ("tb_engagement_sn",),
    "/page/sub4_1_list.asp": ("page",),
}
# Defaults written out so that "list.asp" and "list.asp?page=1" are one page.
IDENTITY_DEFAULTS: dict[str, str] = {"page": "1"}
# ASP reads these with CInt, so "072" and "72" are the same page; BoardID keeps its zeros.
NUMERIC_PARAMS = frozenset({"sn", "page", "tb_engagement_sn"})
# Id parameters of view pages, in the order view_id() tries them.
VIEW_ID_PARAMS = ("sn", "tb_engagement_sn")

# --- Article view page: the reading order of real pages (SITE.md) -------------------------
# No CSS class of the live site is known, so the parser finds the article by what every real
# page says, in this order (parse/segment.py):
#   section heading  ->  article heading  ->  [date/place line, repeated heading]  ->  body
#   ->  [footnotes, signature]  ->  share line "UNPOG : <heading>"  ->  social links line.
# Everything before the heading and from the share line on is page furniture.

# The section heading printed above every article of a board (the page title repeats it).
SECTION_HEADINGS: dict[str, str] = {
    "quarterly": "The UNPOG Public Governance Quarterly",
    "news": "Capacity Development",  # every Theme board (sub3_1_*), whatever its BoardID
    "youth": "Youth Engagement",
    "publications": "Publications",
}
# The share box's title line "UNPOG : <heading>": it ends the article and names its heading.
SHARE_LINE_RE = re.compile(r"^UNPOG\s*:\s*(?P<title>\S.*)$")
# The page <title> is also "UNPOG : <section>", never an article title.
SECTION_TITLE_RE = re.compile(r"^(?:UNPOG\s*:\s*)?News\s*&\s*Events\b", re.I)
_SOCIAL = r"(?:페이스북|트위터|유튜브|블로그|인스타그램|facebook|twitter|youtube|blog|instagram)"
# The social-links line after the share line (RSS sometimes missing), whole or a link a line.
SOCIAL_LINE_RE = re.compile(rf"^{_SOCIAL}(?:[\s|/·]*(?:{_SOCIAL}|RSS))*$", re.I)
SOCIAL_WORD_RE = re.compile(rf"^(?:{_SOCIAL}|RSS)$", re.I)
# How many lines after the share line may hold the social links (one link per line).
SOCIAL_LINES_MAX = 6
# A view counter as a line of its own, or ending a short line ("Date 2019-01-02 Hit : 33").
COUNTER_LINE_RE = re.compile(
    r"^(?:[^.!?]{0,60}?\s)?(?:hits?|views?|조회수?|read)\s*[:：]?\s*[\d,]+$", re.I
)
# Labels of a board's info rows (writer, date, counter), English or Korean: a row made only
# of these and short values ("Writer : admin | Date 2019-01-02 | Hit 33") is furniture.
INFO_LABEL_RE = re.compile(
    r"(?<![\w])(?:writer|author|posted\s+by|name|date|posted(?:\s+on)?|registered|reg\.?\s*date"
    r"|hits?|views?|read|title|subject|작성자|글쓴이|이름|등록일|작성일|날짜|일자|조회수?|추천수?|제목)"
    r"(?![\w])\s*[:：]?",
    re.I,
)
# Info labels whose value is a name (a few words), not a date or a number.
NAME_LABEL_RE = re.compile(r"^(?:writer|author|posted\s+by|name|작성자|글쓴이|이름)", re.I)
# Words of board furniture: toolbars, prev/next boxes, list buttons, file blocks. A line made
# only of these, separators, dates, numbers and links is furniture at the body's edges.
FURNITURE_WORDS_RE = re.compile(
    r"(?<![\w])(?:prev(?:ious)?(?:\s+(?:post|article))?|next(?:\s+(?:post|article))?|list|print"
    r"|back|top|close|share|scrap|reply|edit|modify|delete|font\s*size|go\s+to\s+list|e-?mail"
    r"|send|recommend|attachments?|attached\s+files?|files?|downloads?"
    r"|(?:related|latest|recent)\s+(?:posts?|articles?|news)"
    r"|목록|인쇄|이전글?|다음글?|글자\s*크기|크게|작게|첨부\s*파일|첨부|다운로드|수정|삭제|답변|닫기"
    r"|공유|스크랩|추천|메일|이메일|(?:관련|최근)\s*게시물|(?:관련|최근)\s*글|[ap][+-])(?![\w])",
    re.I,
)
# What a prev/next box says where a neighbour is missing.
NO_NEIGHBOUR_RE = re.compile(
    r"^(?:there\s+is\s+)?no\s+(?:previous|next|prev)\s+(?:post|article)s?\.?$"
    r"|^(?:이전|다음)\s*글이\s*없습니다\.?$|^there\s+is\s+no\s+post\.?$",
    re.I,
)
# A breadcrumb: "Home > News & Events > ...".
BREADCRUMB_RE = re.compile(r"^(?:home|홈)\s*(?:>|›|»|/|&gt;)", re.I)
# Footer text of the site frame: where an article without a share line ends at the latest
# (copyright, phone numbers, the office's address in Songdo's G-Tower).
FOOTER_RE = re.compile(
    r"\bCopyright\s*(?:©|\(c\)|&copy;)|\bAll Rights Reserved\b|\bFax\s*:|\bTel\s*[:.]"
    r"|\bG-Tower\b|\bArt\s*center-daero\b"
    r"|^United Nations Project Office on Governance(?:\s*\(UNPOG\))?$",
    re.I,
)
# An info row's date or time value, and a number: what board software prints in them.
NUMERIC_DATE_RE = re.compile(
    r"^\d{2,4}[-./]\s?\d{1,2}[-./]\s?\d{1,4}\.?(?:\s*\(?[월화수목금토일]?\)?)?"
    r"(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?(?:\s*[AP]M)?$",
    re.I,
)
# Images that are page furniture, by what they say of themselves (alt or title text).
FURNITURE_IMAGE_TEXT_RE = re.compile(
    rf"^(?:{FURNITURE_WORDS_RE.pattern}|{_SOCIAL}|rss|icon|ico|button|btn|blank|spacer|bullet"
    r"|pdf|hwp|doc|docx|xls|xlsx|ppt|pptx|zip|file|logo|search|home|banner)$",
    re.I,
)
# Images this small (width or height, in pixels) are icons or spacers, never article images.
FURNITURE_IMAGE_MAX_PX = 24
# How many article lines (the heading repeated) may come before the date/place line.
HEAD_LINES_MAX = 3


def section_heading(section: str) -> str:
    """The section heading printed above the articles of `section` ('news/press' -> Theme)."""
    return SECTION_HEADINGS.get(section.split("/", 1)[0], "")


# Attachments: the board's download script, or a link to a document file.
DOWNLOAD_RE = re.compile(r"download\.asp", re.I)
ATTACHMENT_EXT_RE = re.compile(r"\.(?:pdf|docx?|hwp|hwpx|pptx?|xlsx?|zip)$", re.I)

WELCOME_NOTE_RE = re.compile(r"^welcome\s+note$", re.I)
# Names of the newsletter in Welcome Note prose ("the 2nd UNPOG Public Governance Quarterly").
NEWSLETTER_NAME_RE = r"(?:issue|edition|(?:UNPOG\s+)?(?:Public\s+Governance\s+)?Quarterly\b)"

# --- "No such post" and error pages -----------------------------------------------------

NO_POST_SCRIPT_RE = re.compile(r"alert\s*\(|history\.(?:back|go)\s*\(", re.I)
NO_POST_MESSAGE_RE = re.compile(
    r"게시물이\s*없습니다|존재하지\s*않는|삭제된\s*게시물|does\s+not\s+exist|no\s+(?:such\s+)?post",
    re.I,
)
# Text that names an error page served with HTTP 200, for the NotAnArticle reason.
ERROR_PAGE_RE = re.compile(
    r"service\s+unavailable|database\s+error|internal\s+server\s+error|server\s+error"
    r"|ADODB|OLE\s+DB|ODBC|under\s+maintenance|page\s+not\s+found|runtime\s+error",
    re.I,
)

# --- Does a parsed record look like an article? (health.record_problems, doctor) ---------

# Menu, breadcrumb and footer labels of the site's frame: two or more of them in one body
# mean the container matched page furniture (e.g. a redesign that kept the id "contents").
NAVIGATION_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (label, re.compile(pattern, re.I))
    for label, pattern in (
        ("About UNPOG", r"\bAbout UNPOG\b"),
        ("Knowledge Platform", r"\bKnowledge Platform\b"),
        ("Youth Engagement", r"\bYouth Engagement\b"),
        ("Regional Symposium", r"\bRegional Symposium\b"),
        ("Home >", r"\bHome\s*(?:>|›|&gt;)"),
        ("Copyright", r"\bCopyright\s*(?:©|\(c\)|&copy;)|\bAll Rights Reserved\b"),
        ("Tel/Fax", r"\bFax\s*:"),
        ("social links", r"페이스북|트위터"),
        ("Log in", r"\b(?:Log ?in|Sign ?in)\b"),
    )
)
NAVIGATION_MARKERS_MIN = 2
# Headings that name the section, never one article.
SECTION_NAMES = frozenset({
    "the unpog public governance quarterly", "news & events", "unpog", "capacity development",
    "youth engagement", "publications", "knowledge platform",
})  # fmt: skip
MIN_BODY_WORDS = 5

# --- List pages and links ---------------------------------------------------------------

# Blocks that hold the list's page links, most specific first.
PAGING_SELECTORS = (".paging", ".pagination", ".page_num", "#paging")
# The script patterns below are searched in every javascript: href and onclick of every page,
# so each must take time linear in its input (a server chooses that input): each can start
# only at the start of a word or run, and backtracks at most over that word or run
# (bench/bench_link_regexes.py prints their cost at growing sizes).
# javascript: links and onclick handlers carrying an article id: goView('72'), fnView(72).
JS_VIEW_RE = re.compile(
    r"\b(?:go|fn|js)?_?(?:view|read|detail)\w*\s*\(\s*['\"]?(?P<id>\d+)['\"]?", re.I
)
# javascript: paging: goPage(2), fnPage('3').
JS_PAGE_RE = re.compile(r"\b(?:go|fn|js)?_?page\w*\s*\(\s*['\"]?(?P<page>\d+)['\"]?", re.I)
# URLs spelled out inside scripts: location.href='sub4_3_view.asp?sn=5', window.open(...).
# Only from the start of a run of URL characters: tried from every position of a long run
# without ".asp", the pattern was quadratic (8.5 s on 40,000 characters, issue 18).
JS_URL_RE = re.compile(r"""(?<![\w./:-])[\w./:-]+\.asp(?:\?[^'"\s)]*)?""", re.I)
# Characters of one handler that are searched: a real one is a function call (goView(72),
# location.href='...'); a longer one is not read past this, whatever it holds.
JS_SCAN_CHARS = 4096
# Longer links are not the site's (its URLs are a path and an id or two); they are not
# followed, and never reach the URL caches, which would keep up to 8192 of them.
MAX_LINK_CHARS = 2048
# The highest id a post can have: ASP boards keep ids in a Long (SQL Server int). A link to a
# larger one is garbage or hostile: it is reported, never requested or swept towards.
MAX_POST_ID = 2**31 - 1
# On the Quarterly a javascript view id is a Quarterly sn.
JS_VIEW_PATH = QUARTERLY_VIEW_PATH
JS_LIST_PATH = QUARTERLY_LIST_PATH


# --- URL helpers ------------------------------------------------------------------------


def _split(url: str, base: str | None = None):
    """Resolve a relative link (against base, or /page/ as the site writes them) and split."""
    if not urlsplit(url).scheme and not url.startswith("//"):
        url = urljoin(base or DEFAULT_LINK_BASE, url)
    return urlsplit(url)


def _plain_number(value: str) -> str:
    """'072' -> '72'; anything but ASCII digits as is. Not int(): it refuses '²' (a digit
    to str.isdigit) and numbers of over 4,300 digits, which a hostile link may carry."""
    if value.isascii() and value.isdigit():
        return value.lstrip("0") or "0"
    return value


def _identity_query(params: list[tuple[str, str]], names: tuple[str, ...]) -> str:
    """Keep only the identity params (first value wins), in canonical spelling and order."""
    by_name: dict[str, str] = {}
    for key, value in params:
        by_name.setdefault(key.lower(), value.strip())
    kept = []
    for name in names:
        value = by_name.get(name.lower()) or IDENTITY_DEFAULTS.get(name.lower())
        if value is None:
            continue
        if name.lower() in NUMERIC_PARAMS:
            value = _plain_number(value)
        kept.append((name, value))
    return urlencode(kept)


# Pure and hot: every link of every page goes through it, and list pages repeat the same
# paging links page after page. Bounded so that a long crawl's memory stays flat.
@lru_cache(maxsize=8192)
def canonical_url(url: str, base: str | None = None) -> str:
    """Identity of a page: lower-cased path + canonical query, never host or scheme."""
    parts = _split(url, base)
    path = (parts.path or "/").lower()
    params = parse_qsl(parts.query, keep_blank_values=True)
    names = IDENTITY_PARAMS.get(path)
    if names is not None:
        query = _identity_query(params, names)
    elif ISSUE_PAGE_RE.search(path):
        query = ""
    else:
        # Unknown page: ASP ignores the case of names, so lower them; sort for stability.
        lowered = urlencode([(k.lower(), v) for k, v in params])
        query = urlsplit(canonicalize_url("http://x/?" + lowered)).query
    return path + ("?" + query if query else "")


def absolute_url(base_url: str, canonical: str) -> str:
    """The canonical path+query on base_url's scheme and host."""
    if urlsplit(canonical).scheme:
        return canonical
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}{canonical}"


def list_page_url(base_url: str, list_path: str = QUARTERLY_LIST_PATH, page: int = 1) -> str:
    """Absolute URL of list page `page` (list_path may carry its own query, e.g. BoardID)."""
    return add_or_replace_parameter(absolute_url(base_url, list_path), "page", str(page))


def view_id(url: str) -> str | None:
    """The article id (sn, or tb_engagement_sn on Youth views) of a view URL, else None."""
    parts = _split(url)
    if not parts.path.lower().endswith("_view.asp"):
        return None
    params = {k.lower(): v for k, v in parse_qsl(parts.query) if v.strip()}
    for name in VIEW_ID_PARAMS:
        if name in params:
            return _plain_number(params[name].strip())
    return None


def is_site_host(host: str, page_host: str = "") -> bool:
    """True for an UNPOG host (any port) or the page's own host:port."""
    host = host.lower()
    return host.split(":")[0] in UNPOG_HOSTS or (bool(page_host) and host == page_host.lower())


def link_identity(link: str, page_url: str) -> str:
    """What a link means for content hashing: path+query on our hosts, else the full URL.

    A mirror, or the replica on another port, then links to "the same" images and files.
    """
    absolute = urljoin(page_url, link.strip())
    parts = urlsplit(absolute)
    if is_site_host(parts.netloc, urlsplit(page_url).netloc):
        return canonical_url(absolute)
    return absolute


# --- Boards: the Quarterly, the Theme boards, Youth Engagement, Publications ---------------


@dataclass(frozen=True)
class Board:
    """One list of posts on the site: where its list and view pages live and what to call it.

    Everything the board engine (unpog_crawler.spiders.boards) and the parser need to know about a
    board is here, so a new board is one declaration.
    """

    section: str  # the archive's `section`: 'quarterly', 'news/activity', 'youth', ...
    list_path: str  # site-absolute path of its list pages
    view_path: str  # site-absolute path of its view pages
    id_param: str  # the view page's id parameter: 'sn' or 'tb_engagement_sn'
    board_id: str | None = None  # the BoardID query value, kept raw ('0004')
    # Theme, Publications and Youth views print "<title> May 30, 2017" as their heading.
    dated_titles: bool = True

    def _with_board(self, path: str, params: dict[str, str | int]) -> str:
        query = {"BoardID": self.board_id, **params} if self.board_id else params
        return canonical_url(f"{path}?{urlencode(query)}")

    def list_url(self, page: int | str = 1) -> str:
        """Canonical URL of list page `page`."""
        return self._with_board(self.list_path, {"page": page})

    def view_url(self, item_id: int | str) -> str:
        """Canonical URL of the view page of post `item_id`."""
        return self._with_board(self.view_path, {self.id_param: item_id})

    def _owns(self, canonical: str, path: str) -> bool:
        parts = urlsplit(canonical)
        if parts.path != path.lower():
            return False
        board = {k.lower(): v for k, v in parse_qsl(parts.query)}.get("boardid")
        return board == self.board_id if self.board_id else True

    def owns_view(self, canonical: str) -> bool:
        return self._owns(canonical, self.view_path) and view_id(canonical) is not None

    def owns_list(self, canonical: str) -> bool:
        return self._owns(canonical, self.list_path)


QUARTERLY = Board(
    section=SECTION,
    list_path=QUARTERLY_LIST_PATH,
    view_path=QUARTERLY_VIEW_PATH,
    id_param="sn",
    dated_titles=False,
)
THEME_LIST_PATH = "/page/sub3_1_list.asp"
THEME_VIEW_PATH = "/page/sub3_1_view.asp"
# Theme BoardIDs and what they hold (inferred from content: /work/shared/site/SITE.md).
THEME_SECTIONS: dict[str, str] = {
    "0004": "news/activity",
    "0002": "news/events",
    "0010": "news/press",
    "0003": "news/research",
}
YOUTH = Board(
    section="youth",
    list_path="/page/sub4_1_list.asp",
    view_path="/page/sub4_1_view.asp",
    id_param="tb_engagement_sn",
)
PUBLICATIONS = Board(
    section="publications",
    list_path="/page/sub5_1_list.asp",
    view_path="/page/sub5_1_view.asp",
    id_param="sn",
    board_id="0007",
)


def theme_board(board_id: str) -> Board:
    """A Theme board by its BoardID; an unknown id is archived as 'news/<BoardID>'."""
    board_id = board_id.strip()
    return Board(
        section=THEME_SECTIONS.get(board_id, f"news/{board_id}"),
        list_path=THEME_LIST_PATH,
        view_path=THEME_VIEW_PATH,
        id_param="sn",
        board_id=board_id,
    )


def board_for_url(url: str) -> Board:
    """The board a view or list URL belongs to (the Quarterly for anything else)."""
    canonical = canonical_url(url)
    path = urlsplit(canonical).path
    board_id = {k.lower(): v for k, v in parse_qsl(urlsplit(canonical).query)}.get("boardid")
    if path in (THEME_LIST_PATH, THEME_VIEW_PATH) and board_id:
        return theme_board(board_id)
    for board in (YOUTH, PUBLICATIONS):
        if path in (board.list_path, board.view_path):
            return board
    return QUARTERLY


# --- Theme, Youth and Publications pages --------------------------------------------------

# Press-release datelines open the first paragraph: "INCHEON, 22 November 2022 - ...".
DATELINE_RE = re.compile(
    r"^(?P<place>[A-Z][A-Za-z .'-]{1,40}?),\s*(?P<day>\d{1,2})\s+(?P<month>[A-Za-z]{3,9})\.?"
    r"\s+(?P<year>\d{4})\s*[-–—]"
)
# How many of a body's first lines may hold the dateline.
DATELINE_MAX_LINE = 2
# Link labels that name a download, not prose (Youth views open with them).
DOWNLOAD_LABEL_RE = re.compile(
    r"^(?:event\s+information|registration\s+materials?|summary\s+report"
    r"|speakers?['’]?\s+materials?|concept\s+note|agenda|programme|program)$",
    re.I,
)
