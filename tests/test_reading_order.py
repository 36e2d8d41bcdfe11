"""The parser finds the article by the page's reading order, on markup it was not written for.

The pages in fixtures/unforeseen/ are classic-ASP board templates that neither the replica's
own templates nor the site facts mention: a definition-list board in EUC-KR with Korean info
rows and a prev/next box naming the neighbours, an upper-case nested-table board whose
familiar class name sits on the wrong element, a Youth page with a plain <h2> heading and no
share box. Every field is checked against what the page says.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
import pytest_twisted
from conftest import crawl

from unpog_crawler import health
from unpog_crawler.items import ArticleRecord, Attachment
from unpog_crawler.parse import parse_article
from unpog_crawler.parse.decode import _parse_tree
from unpog_crawler.parse.lines import page_lines
from unpog_crawler.parse.segment import info_row, is_furniture
from unpog_crawler.replica.server import ReplicaSite, serve

FIXTURES = Path(__file__).parent / "fixtures" / "unforeseen"
QUARTERLY = "https://unpog.org/page/sub4_3_view.asp?sn=61&page=1"
YOUTH = "https://unpog.org/page/sub4_1_view.asp?tb_engagement_sn=20"


def record(name: str, url: str = QUARTERLY) -> ArticleRecord:
    result = parse_article((FIXTURES / name).read_bytes(), url)
    assert isinstance(result, ArticleRecord), result
    assert health.record_problems(result) == []
    return result


@pytest.fixture(scope="module")
def dialogue() -> ArticleRecord:
    return record("dl_korean_euckr.html")


@pytest.fixture(scope="module")
def welcome() -> ArticleRecord:
    return record("table_english_upper.html")


@pytest.fixture(scope="module")
def youth() -> ArticleRecord:
    return record("youth_h2_no_share.html", YOUTH)


# --- A definition-list board in EUC-KR --------------------------------------------------


def test_title_is_the_heading_the_share_line_names(dialogue):
    assert dialogue.title == "Regional Dialogue on Resilient Local Institutions"


def test_body_has_no_breadcrumb_toolbar_info_row_or_neighbours(dialogue):
    assert dialogue.body_text.split("\n\n") == [
        "Mayors and planners from eleven cities compared how their councils keep services "
        "running after floods.",
        "Several delegations described budget lines that can be released within days rather "
        "than months, and the audit rules that make such speed acceptable.[1]",
        "Participants agreed to share their contingency plans through a common online folder, "
        "coordinated by the Project Office and its partners[2]",
    ]


def test_date_line_after_the_repeated_heading_gives_the_event(dialogue):
    assert (dialogue.event_start, dialogue.event_end, dialogue.event_place) == (
        "2018-11-27",
        "2018-11-28",
        "Bangkok, Thailand",
    )


def test_prose_before_the_footnotes_is_not_a_signature(dialogue):
    assert dialogue.authors == ("Anna KOWALSKA", "Programme Analyst, UNPOG/DPIDG/UN DESA")
    assert len(dialogue.footnotes) == 2


def test_social_icons_and_toolbar_buttons_are_not_images(dialogue):
    assert dialogue.images == ("https://unpog.org/upload/editor/2018/dialogue_panel.jpg",)


def test_body_html_ends_before_the_share_box(dialogue):
    assert "페이스북" not in dialogue.body_html and "이전글" not in dialogue.body_html
    assert '<img src="/upload/editor/2018/dialogue_panel.jpg"' in dialogue.body_html


# --- An upper-case nested-table board, a familiar class on the wrong element -----------


def test_welcome_note_of_a_nested_table_board(welcome):
    assert (welcome.title, welcome.kind, welcome.issue) == (
        "Welcome Note",
        "welcome_note",
        "2019-Q3",
    )
    assert welcome.body_text.startswith("In the third quarter of 2019, our office")
    assert welcome.body_text.endswith("as much as we enjoyed the discussions.")
    assert welcome.authors == ("KIM So-young", "Head of Office, UNPOG")


@pytest.mark.parametrize(
    "furniture", ["Writer", "538", "Print", "List", "PREV", "Webinar on Disaster", "(245 KB)"]
)
def test_nothing_of_the_frame_reaches_the_welcome_note(welcome, furniture):
    assert furniture not in welcome.body_text


def test_spacers_and_file_icons_are_not_images_but_the_file_is_an_attachment(welcome):
    assert welcome.images == ()
    assert welcome.attachments == (
        Attachment(
            "https://unpog.org/common/download.asp?path=board&file=q3_2019.pdf", "q3_2019.pdf"
        ),
    )


# --- A Youth page with a plain heading and no share box ---------------------------------


def test_plain_heading_after_the_section_heading_is_the_title(youth):
    assert youth.title == "Youth Forum on Digital Public Services"
    assert youth.missing_landmarks == ("share line",)  # counted by the landmarks rule


def test_download_labels_are_attachments_not_prose(youth):
    assert [a.name for a in youth.attachments] == ["Event Information", "Registration Materials"]
    assert youth.body_text.startswith("Students from twelve universities")
    assert "Copyright" not in youth.body_text and "G-Tower" not in youth.body_text


# --- Shapes of lines --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,shape",
    [
        ("Writer : admin | Date : 2019-01-02 | Hit : 33", "row"),
        ("작성자 : 관리자 | 등록일 : 2018-12-03 | 조회 : 45", "row"),
        ("Date 2019.01.07 Hits 538", "row"),
        ("Views 12", "row"),
        ("Writer", "label"),
        ("작성자", "label"),
        ("Date: 12 March 2019, Venue: Incheon", None),  # prose of an event notice
        ("Participants met in Incheon.", None),
        ("Name of the programme changed in 2019 to reflect its new scope.", None),
    ],
)
def test_info_rows_by_their_shape(text, shape):
    assert info_row(text) == shape


@pytest.mark.parametrize(
    "html,furniture",
    [
        ('<p>Prev <a href="v.asp?sn=1">An older post</a> 2019-01-02</p>', True),
        ("<p>다음글이 없습니다.</p>", True),
        ("<p>There is no next post.</p>", True),
        ('<p><a href="list.asp">List</a> | <a href="javascript:print()">Print</a></p>', True),
        ("<p>Home &gt; News &amp; Events &gt; Welcome Note</p>", True),
        ('<p>Read the <a href="x.asp">report</a> of the workshop.</p>', False),
        ("<p>List of participants</p>", False),
    ],
)
def test_furniture_lines_by_their_shape(html, furniture):
    (line,) = page_lines(_parse_tree(f"<html><body>{html}</body></html>"))
    assert is_furniture(line) is furniture


# --- A neighbour is not a change ----------------------------------------------------------


@pytest.mark.parametrize("template_seed", [None, 3, 11, 27])
@pytest_twisted.ensureDeferred
async def test_a_neighbour_added_writes_exactly_one_new_change(db_path, template_seed):
    """The replica's own template, and generated ones whose prev/next boxes name the
    neighbours' titles: adding a post changes no other article."""
    with serve(ReplicaSite(template_seed=template_seed)) as replica:
        await crawl(replica.base_url, db_path)
        newest = replica.site.articles()[0]  # its page will now link the new one as "next"
        replica.site.add(dataclasses.replace(newest, sn=newest.sn + 10, title="A Newer Report"))

        row = await crawl(replica.base_url, db_path)

    changes = sqlite3.connect(db_path).execute(
        "select kind from changes where crawl_id = ?", [row["id"]]
    )
    assert [kind for (kind,) in changes] == ["new"]
    assert (row["new"], row["changed"]) == (1, 0)
