"""The replica's Theme boards, Youth Engagement and Publications (issue 3).

Content and markup follow docs/assumed-markup.md ("Theme, Youth and Publications boards").
The prose is written for the replica. Each `Post` also records what a correct parser should
read from it (`title`, `published`, `place`, attachment names), so that end-to-end tests
compare the archive with the data that implies it.

`BoardState` holds the mutable posts; `ReplicaSite` owns one (`site.boards`) and routes the
board paths to it. Board view pages carry no ETag, so conditional requests always get a
full answer here.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from unpog_crawler.replica import templates
from unpog_crawler.replica.templates import attr, text

PAGE_SIZE = 4
HTML_UTF8 = "text/html; charset=utf-8"


@dataclass(frozen=True)
class BoardSpec:
    key: str  # "0004", "0002", "0010", "0007" or "youth"
    list_path: str
    view_path: str
    id_param: str
    board_id: str | None
    page_title: str  # the <title> after "UNPOG : "
    heading: str  # h3.sub_title
    layout: str  # "div" or "table"
    dated: bool  # heading prints "<title> May 30, 2017"

    def query(self, **params: Any) -> str:
        board = {"BoardID": self.board_id} if self.board_id else {}
        return "&amp;".join(f"{k}={v}" for k, v in {**board, **params}.items())

    def view_href(self, sn: int, page: int) -> str:
        name = self.view_path.rsplit("/", 1)[-1]
        # List context first on some boards, like the Quarterly's ad hoc ASP links.
        if sn % 2:
            return f"{name}?page={page}&amp;{self.query(**{self.id_param: sn})}&amp;search="
        return f"{name}?{self.query(**{self.id_param: sn}, page=page)}"

    def list_href(self, page: int) -> str:
        return f"{self.list_path.rsplit('/', 1)[-1]}?{self.query(page=page)}"


THEME = "UNPOG : Theme - Capacity Development"
SPECS: dict[str, BoardSpec] = {
    key: BoardSpec(key, "/page/sub3_1_list.asp", "/page/sub3_1_view.asp", "sn", key, THEME,
                   "Capacity Development", "div", True)
    for key in ("0004", "0002", "0010")
}  # fmt: skip
SPECS["0007"] = BoardSpec(
    "0007",
    "/page/sub5_1_list.asp",
    "/page/sub5_1_view.asp",
    "sn",
    "0007",
    "UNPOG : Knowledge Platform - Publications",
    "Publications",
    "table",
    True,
)
SPECS["youth"] = BoardSpec(
    "youth",
    "/page/sub4_1_list.asp",
    "/page/sub4_1_view.asp",
    "tb_engagement_sn",
    None,
    "UNPOG : News & Events - Youth Engagement",
    "Youth Engagement",
    "div",
    False,
)
SECTIONS = {
    "0004": "news/activity",
    "0002": "news/events",
    "0010": "news/press",
    "0007": "publications",
    "youth": "youth",
}


@dataclass(frozen=True)
class BoardFile:
    file: str  # served by /common/download.asp?path=board&file=<file>
    label: str = ""  # link text; the file name when empty

    @property
    def href(self) -> str:
        return f"/common/download.asp?path=board&amp;file={self.file}"

    @property
    def name(self) -> str:
        return self.label or self.file


@dataclass(frozen=True)
class Post:
    board: str  # a SPECS key
    sn: int
    title: str
    date: str  # ISO: list column, and the heading's date on dated boards
    body: tuple[str, ...]
    dateline: str = ""  # printed before the first paragraph: "INCHEON, 22 November 2022 -"
    place: str | None = None  # what a parser should read from the dateline
    files: tuple[BoardFile, ...] = ()  # downloads (youth: labelled links above the body)
    images: tuple[str, ...] = ()
    korean: str = ""  # a Korean block inside the English body
    listed: bool = True  # False: on no list page and in no prev/next link (sweep only)
    goview: bool = False  # the list links it with javascript:goView('sn')
    repeat_title: bool = False  # the title printed again as the body's first line
    charset: str = "utf-8"  # "euc-kr" is declared only in <meta>
    hits: int = 10

    @property
    def published(self) -> str | None:
        """What a parser should read as the publication date."""
        return self.date if SPECS[self.board].dated or self.dateline else None


def _printed_date(iso: str) -> str:
    """'2017-05-30' -> 'May 30, 2017' (the site's `Month DD, YYYY`)."""
    return date.fromisoformat(iso).strftime("%B %d, %Y")


def _dateline_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.day} {day.strftime('%B %Y')}"


# ---- content ------------------------------------------------------------------------------

_ACTIVITY = (
    "Meeting with ITU Regional Office",
    "Workshop on Open Data for Local Governments",
    "Study Visit of the Civil Service Academy of Mongolia",
    "Training on Risk-Informed Public Budgeting",
    "Consultation with the Pacific Islands Secretariat",
    "Online Course on Digital Service Design Launched",
    "Peer Exchange on Participatory Planning",
    "Briefing for the Diplomatic Corps in Incheon",
    "Expert Group Meeting on Public Sector Innovation",
)
_EVENTS = (
    "Call for Participants: Regional Symposium",
    "Announcement of the Public Service Awards Webinar",
    "Save the Date: Governance Dialogue on Resilience",
    "Registration Open: Capacity Workshop on Data Ethics",
    "Call for Papers: Public Administration Review",
    "Notice of Office Closure for the Holidays",
    "Invitation: Forum on Subnational Governance",
    "Call for Interns: Autumn Programme",
    "Announcement: Webinar Series on Integrity",
)
_PRESS = (
    "UNPOG and Partners Sign Cooperation Framework",
    "New Report on Digital Government Released",
    "Heads of Public Service Agencies Meet in Incheon",
    "UNPOG Welcomes New Head of Office",
    "Regional Symposium Concludes with Joint Statement",
    "Survey Shows Progress on E-Participation",
    "UNPOG Marks Public Service Day",
    "Youth Forum Calls for Inclusive Institutions",
    "Pacific Governments Share Lessons on Resilience",
)
_PUBLICATIONS = (
    "Compendium of Innovative Practices in Public Governance",
    "Policy Brief on Whole-of-Government Approaches",
    "Guidebook on Evaluating E-Government Services",
    "Country Study on Local Service Delivery",
    "Working Paper on Trust in Public Institutions",
    "Handbook on Gender-Responsive Budgeting",
    "Case Studies on Public Sector Workforce Planning",
    "Research Note on Open Government Data Portals",
    "Annual Report of the Project Office",
)
_YOUTH = (
    "UN Youth Speech Contest",
    "Youth Policy Lab on Climate Governance",
    "Model Public Service Forum for Students",
    "Youth Essay Competition on Integrity",
    "Campus Dialogue on Digital Citizenship",
    "Youth Volunteer Day at the Project Office",
)
YOUTH_LABELS = (
    "Event Information",
    "Registration Materials",
    "Summary Report",
    "Speakers Materials",
)


def _paragraphs(title: str, n: int) -> tuple[str, ...]:
    return (
        f"The item “{title}” summarises work of the Project Office with its partners in "
        "the Asia-Pacific region, with attention to practical lessons for public servants.",
        f"Participants discussed next steps; this is note number {n} of the replica, written "
        "so that every page has its own words.",
    )


def _dates(start: str, count: int, step: int) -> list[str]:
    first = date.fromisoformat(start).toordinal()
    return [date.fromordinal(first + i * step).isoformat() for i in range(count)]


def _theme_posts() -> list[Post]:
    posts: list[Post] = []
    # Ids have gaps (deleted or other boards' posts), as on the live site.
    boards = (("0004", _ACTIVITY, 301), ("0002", _EVENTS, 501), ("0010", _PRESS, 701))
    for key, titles, first in boards:
        for i, (title, day) in enumerate(
            zip(titles, _dates("2017-01-05", len(titles), 41), strict=True)
        ):
            sn = first + i + (i >= 3) + 2 * (i >= 6)  # gaps after the 3rd and 6th posts
            dateline, place = "", None
            if key == "0010":
                dateline, place = f"INCHEON, {_dateline_date(day)} -", "INCHEON"
            files = (BoardFile(f"board_{sn}.pdf"),) if i % 3 == 0 else ()
            images = (f"/upload/editor/board_{sn}.jpg",) if i % 4 == 1 else ()
            posts.append(
                Post(key, sn, title, day, _paragraphs(title, sn), dateline=dateline,
                     place=place, files=files, images=images, goview=i % 4 == 2,
                     repeat_title=i % 2 == 1)
            )  # fmt: skip
    # The first press release of the replica, dated as in the issue.
    posts[-9] = dataclasses.replace(
        posts[-9], date="2022-11-22", dateline="INCHEON, 22 November 2022 -"
    )
    # Unlisted (two above the highest listed id): no list page and no prev/next link shows
    # it; only a sweep finds it.
    posts.append(
        Post("0004", 314, "Unlisted Note on Regional Cooperation", "2024-02-01",
             _paragraphs("Unlisted Note on Regional Cooperation", 314), listed=False)
    )  # fmt: skip
    return posts


def _publication_posts() -> list[Post]:
    days = _dates("2016-03-01", len(_PUBLICATIONS), 97)
    return [
        Post("0007", 40 + i * 2, title, day, _paragraphs(title, 40 + i * 2),
             files=(BoardFile(f"publication_{40 + i * 2}.pdf"),), goview=i % 3 == 1)
        for i, (title, day) in enumerate(zip(_PUBLICATIONS, days, strict=True))
    ]  # fmt: skip


def _youth_posts() -> list[Post]:
    posts = []
    for i, (title, day) in enumerate(
        zip(_YOUTH, _dates("2018-04-10", len(_YOUTH), 120), strict=True)
    ):
        sn = 11 + i
        labels = YOUTH_LABELS[: 2 + i % 3]
        files = tuple(BoardFile(f"youth_{sn}_{n}.pdf", label) for n, label in enumerate(labels))
        posts.append(Post("youth", sn, title, day, _paragraphs(title, sn), files=files))
    # A 2018 contest item with a Korean notice inside its English body, served in EUC-KR.
    posts[0] = dataclasses.replace(
        posts[0],
        korean="[공지] 유엔 청소년 스피치 대회 참가 신청은 9월 30일까지입니다.",
        charset="euc-kr",
    )
    return posts


POSTS: tuple[Post, ...] = (*_theme_posts(), *_publication_posts(), *_youth_posts())


# ---- markup -------------------------------------------------------------------------------


def frame(spec: BoardSpec, inner: str, charset: str = "utf-8") -> str:
    page = templates.frame(inner, charset)
    page = page.replace(templates.PAGE_TITLE, text(spec.page_title))
    return page.replace(
        f'<h3 class="sub_title">{templates.SECTION_HEADING}</h3>',
        f'<h3 class="sub_title">{text(spec.heading)}</h3>',
    )


def heading(post: Post) -> str:
    spec = SPECS[post.board]
    return f"{post.title} {_printed_date(post.date)}" if spec.dated else post.title


def _body(post: Post) -> str:
    parts = []
    if post.board == "youth" and post.files:
        links = " | ".join(f'<a href="{f.href}">{text(f.name)}</a>' for f in post.files)
        parts.append(f'<div class="down_list">{links}</div>')
    if post.repeat_title:
        parts.append(f"<p><strong>{text(post.title)}</strong></p>")
    for n, paragraph in enumerate(post.body):
        lead = f"{text(post.dateline)} " if n == 0 and post.dateline else ""
        parts.append(f'<p style="text-align:justify">{lead}{text(paragraph)}</p>')
        if n == 0:
            parts += [f'<p><img src="{attr(src)}" alt="" /></p>' for src in post.images]
    if post.korean:
        parts.append(f'<div class="notice_kr"><p>{text(post.korean)}</p></div>')
    return "\n".join(parts)


def _file_block(post: Post) -> str:
    if post.board == "youth" or not post.files:
        return ""
    icon = '<img src="/images/icon/ico_pdf.gif" alt="" />'
    links = "".join(f'<li>{icon} <a href="{f.href}">{text(f.name)}</a></li>' for f in post.files)
    return f'<div class="view_file"><strong>Attachments</strong><ul>{links}</ul></div>'


def _share(post: Post) -> str:
    return (
        f'<div class="share_box"><p class="share_title">UNPOG : {text(post.title)}</p>'
        '<ul class="sns"><li><a href="javascript:shareSns(\'facebook\')">페이스북</a></li>'
        "<li><a href=\"javascript:shareSns('twitter')\">트위터</a></li></ul></div>"
    )


def _prev_next(spec: BoardSpec, older: Post | None, newer: Post | None, page: int) -> str:
    def link(other: Post | None) -> str:
        if other is None:
            return "There is no post."
        return f'<a href="{spec.view_href(other.sn, page)}">{text(other.title)}</a>'

    return (
        f'<ul class="prev_next"><li class="prev"><span>Prev</span> {link(older)}</li>'
        f'<li class="next"><span>Next</span> {link(newer)}</li></ul>'
    )


def view_page(post: Post, *, hits: int, older: Post | None, newer: Post | None, page: int) -> str:
    spec = SPECS[post.board]
    if spec.layout == "table":
        board = (
            '<table class="board_view" summary="post view">\n'
            f'<tr><th class="subject">{text(heading(post))}</th></tr>\n'
            f'<tr><td class="info">Hit : {hits}</td></tr>\n'
            f'<tr><td class="view_content">\n{_body(post)}\n</td></tr>\n</table>\n'
            f"{_file_block(post)}"
        )
    else:
        board = (
            '<div class="board_view">\n'
            f'<div class="view_title"><h4>{text(heading(post))}</h4>'
            f'<span class="hit">Hit {hits}</span></div>\n'
            f'<div class="view_content">\n{_body(post)}\n</div>\n{_file_block(post)}</div>'
        )
    inner = (
        f"{board}\n{_share(post)}\n{_prev_next(spec, older, newer, page)}\n"
        f'<div class="btn_area"><a class="btn_list" href="{spec.list_href(page)}">List</a></div>'
    )
    return frame(spec, inner, post.charset)


def list_page(spec: BoardSpec, rows: list[Post], *, page: int, pages: int, total: int) -> str:
    body_rows = []
    for offset, post in enumerate(rows):
        href = f"javascript:goView('{post.sn}')" if post.goview else spec.view_href(post.sn, page)
        body_rows.append(
            f'<tr><td class="num">{total - (page - 1) * PAGE_SIZE - offset}</td>'
            f'<td class="tl"><a href="{href}">{text(post.title)}</a></td>'
            f"<td>{post.date}</td><td>{post.hits}</td></tr>"
        )
    if not body_rows:
        body_rows.append('<tr><td colspan="4" class="no_data">There are no posts.</td></tr>')
    on = ' class="on"'
    paging = " ".join(
        f'<a href="{spec.list_href(n)}"{on if n == page else ""}>{n}</a>'
        for n in range(1, pages + 1)
    )
    inner = (
        '<table class="board_list" summary="list of posts">\n'
        "<thead><tr><th>No</th><th>Title</th><th>Date</th><th>Hit</th></tr></thead>\n<tbody>\n"
        + "\n".join(body_rows)
        + f'\n</tbody></table>\n<div class="paging">{paging}</div>'
    )
    return frame(spec, inner)


# ---- state --------------------------------------------------------------------------------


class BoardState:
    """Mutable posts of every board and attachment revisions; thread-safe."""

    def __init__(self, posts: tuple[Post, ...] = POSTS) -> None:
        self._lock = threading.RLock()
        self._posts = {(p.board, p.sn): p for p in copy.deepcopy(posts)}
        self._hits: dict[tuple[str, int], int] = {}
        self._file_revs: dict[str, int] = {}

    def posts(self, board: str, *, listed_only: bool = False) -> list[Post]:
        """Live posts of a board, newest (highest sn) first."""
        with self._lock:
            found = [p for (b, _), p in self._posts.items() if b == board]
        found = [p for p in found if p.listed or not listed_only]
        return sorted(found, key=lambda p: p.sn, reverse=True)

    def post(self, board: str, sn: int) -> Post | None:
        with self._lock:
            return self._posts.get((board, sn))

    def edit(self, board: str, sn: int, **fields: Any) -> Post:
        with self._lock:
            values = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
            post = dataclasses.replace(self._posts[(board, sn)], **values)
            self._posts[(board, sn)] = post
            return post

    def delete(self, board: str, sn: int) -> None:
        with self._lock:
            del self._posts[(board, sn)]

    def add(self, post: Post) -> Post:
        with self._lock:
            self._posts[(post.board, post.sn)] = post
            return post

    def revise_file(self, name: str) -> None:
        """New bytes at the same download URL (a corrected PDF uploaded over the old one)."""
        with self._lock:
            self._file_revs[name] = self._file_revs.get(name, 0) + 1

    def file_bytes(self, name: str) -> bytes:
        with self._lock:
            rev = self._file_revs.get(name, 0)
        return templates.pdf_bytes(f"{name} revision {rev}" if rev else name)

    def page(
        self, path: str, params: dict[str, str], pages: BoardPages | None = None
    ) -> tuple[bytes, str] | None:
        """(body, content type) of a board list or view page; None when `path` is no board's.

        `pages` renders them (a generated template); None: the markup of this module.
        """
        spec = self._spec(path, params)
        if spec is None:
            return None
        return self._render(spec, path, params, pages or ClassicPages())

    def _spec(self, path: str, params: dict[str, str]) -> BoardSpec | None:
        for spec in SPECS.values():
            on_board = spec.board_id is None or params.get("boardid") == spec.board_id
            if path in (spec.list_path, spec.view_path) and on_board:
                return spec
        return None

    def _render(
        self, spec: BoardSpec, path: str, params: dict[str, str], render: BoardPages
    ) -> tuple[bytes, str]:
        page = _int(params.get("page")) or 1
        listed = self.posts(spec.key, listed_only=True)
        pages = max(1, -(-len(listed) // PAGE_SIZE))
        if path == spec.list_path:
            rows = listed[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
            return render.list_page(spec, rows, page=page, pages=pages, total=len(listed))
        post = self.post(spec.key, _int(params.get(spec.id_param.lower())) or -1)
        if post is None:
            return render.no_such_post()
        with self._lock:
            key = (post.board, post.sn)
            self._hits[key] = self._hits.get(key, post.hits) + 1
            hits = self._hits[key]
        older = newer = None
        if post in listed:
            index = listed.index(post)
            newer = listed[index - 1] if index > 0 else None
            older = listed[index + 1] if index + 1 < len(listed) else None
            page = index // PAGE_SIZE + 1
        return render.view_page(post, hits=hits, older=older, newer=newer, page=page, listed=listed)


class BoardPages(Protocol):
    """What renders board pages: (body bytes, Content-Type) of each kind of answer."""

    def list_page(
        self, spec: BoardSpec, rows: list[Post], *, page: int, pages: int, total: int
    ) -> tuple[bytes, str]: ...

    def view_page(
        self,
        post: Post,
        *,
        hits: int,
        older: Post | None,
        newer: Post | None,
        page: int,
        listed: list[Post],
    ) -> tuple[bytes, str]: ...

    def no_such_post(self) -> tuple[bytes, str]: ...


class ClassicPages:
    """The board pages of this module (the default templates)."""

    def list_page(
        self, spec: BoardSpec, rows: list[Post], *, page: int, pages: int, total: int
    ) -> tuple[bytes, str]:
        html = list_page(spec, rows, page=page, pages=pages, total=total)
        return templates.encode(html, "utf-8"), HTML_UTF8

    def view_page(
        self,
        post: Post,
        *,
        hits: int,
        older: Post | None,
        newer: Post | None,
        page: int,
        listed: list[Post],
    ) -> tuple[bytes, str]:
        html = view_page(post, hits=hits, older=older, newer=newer, page=page)
        # The EUC-KR page declares its charset only in <meta>.
        content_type = HTML_UTF8 if post.charset == "utf-8" else "text/html"
        return templates.encode(html, post.charset), content_type

    def no_such_post(self) -> tuple[bytes, str]:
        return templates.encode(templates.NO_SUCH_POST, "utf-8"), HTML_UTF8


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None
