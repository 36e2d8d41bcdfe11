"""List rows (issue 16): what a list page says of each post, read by what rows show.

Saved list pages, small pages of the row forms and counters boards print, and the list pages
of generated templates (markup the reader never saw), checked against the replica's truth.
"""

from __future__ import annotations

import pytest
from conftest import fixture_bytes

from unpog_crawler import site
from unpog_crawler.parse import find_links
from unpog_crawler.parse.list_rows import ListRow, read_list_rows
from unpog_crawler.parse.text import flatten_text
from unpog_crawler.replica import boards as replica_boards
from unpog_crawler.replica import templates
from unpog_crawler.replica.server import ReplicaSite

HOST = "https://unpog.org"
THEME_LIST = HOST + "/page/sub3_1_list.asp?BoardID=0004&page=1"
THEME_VIEW = "/page/sub3_1_view.asp?BoardID=0004&sn={}"


def brief(rows: tuple[ListRow, ...]) -> list[tuple]:
    return [(r.url, r.title, r.date, r.views) for r in rows]


# --- saved list pages -------------------------------------------------------------------------

SAVED = [
    (
        "list_page.html",
        "/page/sub4_3_list.asp?page=1",
        [
            ("/page/sub4_3_view.asp?sn=80", "Welcome Note", "2019-07-01", 33),
            ("/page/sub4_3_view.asp?sn=79", "Workshop on open data", "2019-06-20", 21),
            ("/page/sub4_3_view.asp?sn=78", "Webinar report", "2019-06-02", 19),
            ("/page/sub4_3_view.asp?sn=72", "Welcome Note", "2019-04-10", 40),  # goView('72')
            ("/page/sub4_3_view.asp?sn=71", "Study visit", "2019-04-02", 12),  # <tr onclick>
            ("/page/sub4_3_2022_winter.asp", "2022 Winter issue", "2022-12-20", 5),
            ("/page/sub4_3_view.asp?sn=70", "Spelled-out script link", "2018-12-20", 3),
        ],
    ),
    (
        "theme_list_page.html",
        "/page/sub3_1_list.asp?BoardID=0004&page=1",
        [
            (
                THEME_VIEW.format(312),
                "Expert Group Meeting on Public Sector Innovation",
                "2017-11-29",
                10,
            ),
            (
                THEME_VIEW.format(311),
                "Briefing for the Diplomatic Corps in Incheon",
                "2017-10-19",
                10,
            ),
            (THEME_VIEW.format(310), "Peer Exchange on Participatory Planning", "2017-09-08", 10),
            (
                THEME_VIEW.format(307),
                "Online Course on Digital Service Design Launched",
                "2017-07-29",
                10,
            ),
        ],
    ),
    (
        "youth_list_page.html",
        "/page/sub4_1_list.asp?page=1",
        [
            (
                "/page/sub4_1_view.asp?tb_engagement_sn=16",
                "Youth Volunteer Day at the Project Office",
                "2019-12-01",
                10,
            ),
            (
                "/page/sub4_1_view.asp?tb_engagement_sn=15",
                "Campus Dialogue on Digital Citizenship",
                "2019-08-03",
                10,
            ),
            (
                "/page/sub4_1_view.asp?tb_engagement_sn=14",
                "Youth Essay Competition on Integrity",
                "2019-04-05",
                10,
            ),
            (
                "/page/sub4_1_view.asp?tb_engagement_sn=13",
                "Model Public Service Forum for Students",
                "2018-12-06",
                10,
            ),
        ],
    ),
]


@pytest.mark.parametrize(("name", "path", "expected"), SAVED, ids=[s[0] for s in SAVED])
def test_saved_list_page_rows(name, path, expected):
    # list_page.html: a repeated view keeps its first row; another host's link is no row.
    assert brief(read_list_rows(fixture_bytes(name), HOST + path)) == expected


# --- row forms and counters -------------------------------------------------------------------


def _link(sn: int, title: str) -> str:
    return f'<a href="sub3_1_view.asp?BoardID=0004&amp;sn={sn}&amp;page=1">{title}</a>'


PAGING = '<div class="paging"><a href="sub3_1_list.asp?BoardID=0004&amp;page=2">2</a></div>'
# (what the page shows, its HTML, [(sn, title, dates, comments, attachments, views)])
FORMS = [
    (
        "headed columns: files as icons or empty, comments, views with a thousands comma",
        "<table><tr><th>No</th><th>Title</th><th>File</th><th>댓글</th><th>Date</th>"
        "<th>조회</th></tr>"
        f"<tr><td>2</td><td>{_link(5, 'Alpha')}</td><td><img src='/img/ico_pdf.gif'></td>"
        "<td>3</td><td>2020.01.02</td><td>1,234</td></tr>"
        f"<tr><td>1</td><td>{_link(4, 'Beta')}</td><td></td><td></td><td>20-01-01</td>"
        f"<td>5</td></tr></table>{PAGING}",
        [(5, "Alpha", ("2020-01-02",), 3, 1, 1234), (4, "Beta", ("2020-01-01",), 0, 0, 5)],
    ),
    (
        "a bracketed count after the title, a file icon by its alt text, English dates",
        f"<ul><li>{_link(5, 'Alpha')} [3] <img src='/i/x.gif' alt='첨부파일'> "
        "<span>May 30, 2017</span></li>"
        f"<li>{_link(4, 'Beta (2020)')} <span>Comments 2 · 1 file · 30 May 2017</span></li>"
        f"</ul>{PAGING}",
        [
            (5, "Alpha", ("2017-05-30",), 3, 1, None),
            (4, "Beta (2020)", ("2017-05-30",), 2, 1, None),
        ],
    ),
    (
        "links and plain text in one paragraph: a row runs to the next post's link",
        f"<p>{_link(5, 'Alpha')} 2019년 7월 1일 댓글 4<br>{_link(4, 'Beta')} 2019.07.02<br></p>",
        [
            (5, "Alpha", ("2019-07-01",), 4, None, None),
            (4, "Beta", ("2019-07-02",), None, None, None),
        ],
    ),
    (
        "dt and dd: the date sits in the dd after the link's dt; a bare number is no counter",
        f"<dl><dt>{_link(5, 'Alpha')}</dt><dd>2019-10-15 | 87</dd>"
        f"<dt>{_link(4, 'Beta')}</dt><dd>2019-10-14 | 265</dd></dl>{PAGING}",
        [
            (5, "Alpha", ("2019-10-15",), None, None, None),
            (4, "Beta", ("2019-10-14",), None, None, None),
        ],
    ),
    (
        "the only row of a last list page stops at the paging, not at a date below it",
        f"<div><div>{_link(5, 'Only one')}<span>2019-01-02</span></div>{PAGING}"
        "<p>Site updated 2024-01-01</p></div>",
        [(5, "Only one", ("2019-01-02",), None, None, None)],
    ),
    (
        "posted and modified dates; a date in the title is the title's",
        f"<table><tr><td>{_link(5, 'Forum 2018-05-01 report')}</td><td>2018-05-02</td>"
        f"<td>2018-06-30</td></tr><tr><td>{_link(4, 'Beta')}</td><td>2018-04-02</td></tr>"
        "</table>",
        [
            (5, "Forum 2018-05-01 report", ("2018-05-02", "2018-06-30"), None, None, None),
            (4, "Beta", ("2018-04-02",), None, None, None),
        ],
    ),
    (
        "a post linked first from a box of latest posts: the row that shows a date is read",
        f"<div class='latest'>{_link(5, 'Alpha (latest)')}</div><table>"
        f"<tr><td>{_link(5, 'Alpha')}</td><td>2019-01-02</td></tr>"
        f"<tr><td>{_link(4, 'Beta')}</td><td>2019-01-01</td></tr></table>",
        [
            (5, "Alpha", ("2019-01-02",), None, None, None),
            (4, "Beta", ("2019-01-01",), None, None, None),
        ],
    ),
    (
        "a row linking its post twice (the title, then 'more'): the title is the longer text",
        f"<ul><li>{_link(5, 'Alpha and Omega')} 2019-01-02 {_link(5, 'more')}</li>"
        f"<li>{_link(4, 'Beta')} 2019-01-01</li></ul>",
        [
            (5, "Alpha and Omega", ("2019-01-02",), None, None, None),
            (4, "Beta", ("2019-01-01",), None, None, None),
        ],
    ),
    (
        "a thumbnail under /files/ is no file icon; 'new' icons neither",
        f"<ul><li><img src='/upload/files/photo.jpg'>{_link(5, 'Alpha')}"
        "<img src='/img/icon_new.gif' alt='new'> 2019-01-02</li>"
        f"<li>{_link(4, 'Beta')} 2019-01-01</li></ul>",
        [
            (5, "Alpha", ("2019-01-02",), None, None, None),
            (4, "Beta", ("2019-01-01",), None, None, None),
        ],
    ),
]


@pytest.mark.parametrize(("html", "expected"), [f[1:] for f in FORMS], ids=[f[0] for f in FORMS])
def test_row_forms_and_counters(html, expected):
    rows = read_list_rows(f"<html><body>{html}</body></html>".encode(), THEME_LIST)
    got = [(r.url, r.title, r.dates, r.comments, r.attachments, r.views) for r in rows]
    assert got == [(THEME_VIEW.format(sn), *rest) for sn, *rest in expected]


@pytest.mark.parametrize(
    "body", [b"", b"   ", b"%PDF-1.4 not a page", b"<html><body><p>There are no posts.</p>"]
)
def test_pages_without_rows_give_none(body):
    assert read_list_rows(body, THEME_LIST) == ()


# --- what counts as a change --------------------------------------------------------------------

ROW = ListRow("/v?sn=1", "Alpha", ("2019-01-02",), comments=2, attachments=1, views=33)
CHANGES = [
    ("the same row", ROW, ()),
    ("only the view counter moved", ListRow("/v?sn=1", "Alpha", ("2019-01-02",), 2, 1, 90), ()),
    ("a new title", ListRow("/v?sn=1", "Alpha (rev.)", ("2019-01-02",), 2, 1, 33), ("title",)),
    ("a new date", ListRow("/v?sn=1", "Alpha", ("2019-01-03",), 2, 1, 33), ("date",)),
    ("one more comment", ListRow("/v?sn=1", "Alpha", ("2019-01-02",), 3, 1, 33),
     ("comments 2 -> 3",)),
    ("an attachment gone", ListRow("/v?sn=1", "Alpha", ("2019-01-02",), 2, 0, 33),
     ("attachments 1 -> 0",)),
    ("counters no longer shown (markup moved)", ListRow("/v?sn=1", "Alpha", ("2019-01-02",)),
     ()),
    ("no date read now", ListRow("/v?sn=1", "Alpha", (), 2, 1, 33), ()),
]  # fmt: skip


@pytest.mark.parametrize(("now", "expected"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_changes_from_the_recorded_row(now, expected):
    assert now.changes_from(ROW) == expected


# --- generated templates ------------------------------------------------------------------------


def _board_of(key: str) -> site.Board:
    if key == "youth":
        return site.YOUTH
    return site.PUBLICATIONS if key == "0007" else site.theme_board(key)


def _truth(replica: ReplicaSite, key: str, page: int) -> tuple[str, list[tuple[str, str, str]]]:
    """(list page path, [(view URL, title, date)] the page lists), from the replica's state."""
    if key == "quarterly":
        size, board = templates.PAGE_SIZE, site.QUARTERLY
        posts = replica.articles()
    else:
        size, board = replica_boards.PAGE_SIZE, _board_of(key)
        posts = replica.boards.posts(key, listed_only=True)
    shown = posts[(page - 1) * size : page * size]
    truth = [(board.view_url(p.sn), flatten_text(p.title), p.date) for p in shown]
    return board.list_url(page), truth


BOARD_KEYS = ["quarterly", *replica_boards.SPECS]


@pytest.mark.parametrize("seed", [None, *range(40)])
def test_generated_list_pages_rows_are_the_truth(seed):
    replica = ReplicaSite(template_seed=seed)
    for key in BOARD_KEYS:
        for page in (1, 2):
            path, truth = _truth(replica, key, page)
            answer = replica.handle("GET", path)
            headers = {"Content-Type": answer.content_type}
            rows = read_list_rows(answer.body, "http://127.0.0.1:8000" + path, headers)
            views = [(r.url, r.title, r.date) for r in rows if "_view.asp" in r.url]
            assert views == truth, (seed, key, page)
            # Every post the crawl follows from the page has its row.
            links = find_links(answer.body, "http://127.0.0.1:8000" + path, headers)
            followed = {*links.views, *links.issue_pages}
            assert sorted(r.url for r in rows) == sorted(followed), (seed, key, page)
