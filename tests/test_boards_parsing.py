"""Parsing of Theme, Youth and Publications pages from saved raw bytes: one field per test."""

from __future__ import annotations

import pytest
from conftest import fixture_bytes

from unpog_crawler import site
from unpog_crawler.items import ArticleRecord
from unpog_crawler.parse import find_links, parse_article
from unpog_crawler.parse.text import parse_dateline, split_title_date

HOST = "https://unpog.org"
PRESS = "/page/sub3_1_view.asp?BoardID=0010&sn=701&page=1&search="
ACTIVITY = "/page/sub3_1_view.asp?sn=302&BoardID=0004"
PUBLICATION = "/page/sub5_1_view.asp?BoardID=0007&sn=40"
YOUTH = "/page/sub4_1_view.asp?tb_engagement_sn=11&page=1"


def parsed(name: str, path: str, headers: dict[str, str] | None = None) -> ArticleRecord:
    record = parse_article(fixture_bytes(name), HOST + path, headers)
    assert isinstance(record, ArticleRecord), record
    return record


@pytest.fixture(scope="module")
def press() -> ArticleRecord:
    return parsed("theme_press_view.html", PRESS, {"Content-Type": "text/html; charset=utf-8"})


@pytest.fixture(scope="module")
def activity() -> ArticleRecord:
    return parsed("theme_activity_view.html", ACTIVITY)


@pytest.fixture(scope="module")
def publication() -> ArticleRecord:
    return parsed("publication_view.html", PUBLICATION)


@pytest.fixture(scope="module")
def youth() -> ArticleRecord:
    return parsed("youth_view_euckr.html", YOUTH, {"Content-Type": "text/html"})


# --- Theme press release ------------------------------------------------------------------


def test_press_title_has_its_date_split_off(press):
    assert press.title == "UNPOG and Partners Sign Cooperation Framework"


def test_press_published_is_the_iso_date(press):
    assert press.published == "2022-11-22"


def test_press_place_comes_from_the_dateline_as_printed(press):
    assert press.place == "INCHEON"


def test_press_dateline_stays_in_the_body_words(press):
    assert press.body_text.startswith("INCHEON, 22 November 2022 - The item")


def test_press_section_names_the_board(press):
    assert press.section == "news/press"


def test_press_board_id_is_raw(press):
    assert press.board_id == "0010"


def test_press_canonical_url_is_board_and_sn(press):
    assert press.url == "/page/sub3_1_view.asp?BoardID=0010&sn=701"


def test_press_source_id_is_sn(press):
    assert press.source_id == "701"


def test_press_attachment_from_the_file_block(press):
    assert [a.name for a in press.attachments] == ["board_701.pdf"]


def test_press_file_type_icon_is_no_image(press):
    assert press.images == ()


def test_press_body_has_no_furniture(press):
    for furniture in ("Hit", "UNPOG :", "페이스북", "Capacity Development", "Attachments"):
        assert furniture not in press.body_text


# --- Theme activity news ------------------------------------------------------------------


def test_activity_repeated_title_is_not_body(activity):
    assert not activity.body_text.startswith("Workshop on Open Data")


def test_activity_published(activity):
    assert activity.published == "2017-02-15"


def test_activity_has_no_place_without_a_dateline(activity):
    assert activity.place is None


def test_activity_section(activity):
    assert activity.section == "news/activity"


def test_activity_image(activity):
    assert activity.images == (HOST + "/upload/editor/board_302.jpg",)


# --- Publications -------------------------------------------------------------------------


def test_publication_section(publication):
    assert publication.section == "publications"


def test_publication_board_id(publication):
    assert publication.board_id == "0007"


def test_publication_title_from_table_heading_and_share_line(publication):
    assert publication.title == "Compendium of Innovative Practices in Public Governance"


def test_publication_published(publication):
    assert publication.published == "2016-03-01"


def test_publication_attachment(publication):
    assert [a.url for a in publication.attachments] == [
        HOST + "/common/download.asp?path=board&file=publication_40.pdf"
    ]


# --- Youth Engagement ---------------------------------------------------------------------


def test_youth_download_labels_are_attachments(youth):
    assert [a.name for a in youth.attachments] == ["Event Information", "Registration Materials"]


def test_youth_download_labels_are_not_prose(youth):
    assert "Event Information" not in youth.body_text
    assert "Registration Materials" not in youth.body_text


def test_youth_korean_block_is_decoded_and_kept(youth):
    assert "[공지] 유엔 청소년 스피치 대회 참가 신청은 9월 30일까지입니다." in youth.body_text


def test_youth_page_decoded_from_meta_charset(youth):
    assert youth.encoding == "cp949"


def test_youth_section_and_no_board_id(youth):
    assert (youth.section, youth.board_id) == ("youth", None)


def test_youth_canonical_url(youth):
    assert youth.url == "/page/sub4_1_view.asp?tb_engagement_sn=11"


def test_youth_title_is_not_split_without_a_date(youth):
    assert (youth.title, youth.published) == ("UN Youth Speech Contest", None)


# --- Lists --------------------------------------------------------------------------------


def test_theme_list_views_include_javascript_rows_of_the_same_board():
    links = find_links(
        fixture_bytes("theme_list_page.html"), HOST + site.theme_board("0004").list_url()
    )
    assert links.views == tuple(
        f"/page/sub3_1_view.asp?BoardID=0004&sn={sn}" for sn in (312, 311, 310, 307)
    )


def test_theme_list_pages_are_only_this_boards():
    links = find_links(
        fixture_bytes("theme_list_page.html"), HOST + site.theme_board("0004").list_url()
    )
    assert links.list_pages == tuple(
        f"/page/sub3_1_list.asp?BoardID=0004&page={n}" for n in (1, 2, 3)
    )


def test_youth_list_views():
    links = find_links(fixture_bytes("youth_list_page.html"), HOST + "/page/sub4_1_list.asp")
    assert links.views[0] == "/page/sub4_1_view.asp?tb_engagement_sn=16"
    assert links.list_pages == ("/page/sub4_1_list.asp?page=1", "/page/sub4_1_list.asp?page=2")


def test_no_such_post_on_a_board_is_gone():
    result = parse_article(fixture_bytes("no_such_post.html"), HOST + PRESS)
    assert result.gone and result.url == "/page/sub3_1_view.asp?BoardID=0010&sn=701"


# --- Text helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Meeting with ITU Regional Office May 30, 2017",
            ("Meeting with ITU Regional Office", "2017-05-30"),
        ),
        ("Forum on Resilience (Sep 03, 2021)", ("Forum on Resilience", "2021-09-03")),
        ("Welcome Note", None),
        ("Forum Feb 30, 2017", None),
    ],
)
def test_split_title_date(line, expected):
    assert split_title_date(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("INCHEON, 22 November 2022 - The office", ("INCHEON", "2022-11-22")),
        ("New York, 3 Sept 2021 – Today", ("New York", "2021-09-03")),
        ("Hello, 22 apples 2022 - x", None),
        ("In 2022, 22 November - x", None),
    ],
)
def test_parse_dateline(line, expected):
    assert parse_dateline(line) == expected
