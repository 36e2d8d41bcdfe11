"""Parsing of saved pages (raw bytes in their real charset): one field per test."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from scrapy.http import Headers

from unpog_crawler import site
from unpog_crawler.items import ArticleRecord, Attachment, NotAnArticle
from unpog_crawler.parse import (
    PARSER_VERSION,
    PageLinks,
    decode_html,
    find_links,
    parse_article,
    parse_page,
)
from unpog_crawler.parse.links import _plain_link, _resolved_link

FIXTURES = Path(__file__).parent / "fixtures"
SITE = "https://unpog.org/page/"
EUCKR_HEADER = {"Content-Type": "text/html; charset=euc-kr"}


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(name: str, url: str = SITE + "sub4_3_view.asp?sn=72", headers=None):
    """Parse a fixture as if fetched from url."""
    return parse_article(raw(name), url, headers)


def article(name: str, url: str = SITE + "sub4_3_view.asp?sn=72", headers=None) -> ArticleRecord:
    record = parse(name, url, headers)
    assert isinstance(record, ArticleRecord), record
    return record


WELCOME = "welcome_note_table.html"
EVENT = "event_report_br.html"
ARTICLE = "article_p.html"
ISSUE = "issue_page_2022_winter.html"
ISSUE_URL = SITE + "sub4_3_2022_winter.asp"
ARTICLES = [
    (WELCOME, None),
    (EVENT, None),
    (ARTICLE, None),
    ("euckr_meta.html", None),
    ("euckr_header.html", EUCKR_HEADER),
    ("same_words_p.html", None),
    ("same_words_br.html", None),
]
FURNITURE = [
    "페이스북",
    "트위터",
    "RSS",
    "UNPOG :",
    "Hit",
    "Views",
    "About UNPOG",
    "Knowledge Platform",
    "Youth Engagement",
    "The UNPOG Public Governance Quarterly",
    "Copyright",
    "24F G-Tower",
    "Previous article title",
    "Next article title",
    "List",
    "shareSns",
    "goView",
    "font-size",
    "WordDocument",
]


# --- Rules that hold on every article fixture -------------------------------------------


@pytest.mark.parametrize("name,headers", ARTICLES)
@pytest.mark.parametrize("furniture", FURNITURE)
def test_no_furniture_in_body_text(name, headers, furniture):
    assert furniture not in article(name, headers=headers).body_text


@pytest.mark.parametrize("name,headers", ARTICLES)
@pytest.mark.parametrize("furniture", FURNITURE)
def test_no_furniture_in_title(name, headers, furniture):
    assert furniture not in article(name, headers=headers).title


@pytest.mark.parametrize("name,headers", ARTICLES)
def test_body_text_paragraphs_are_normalised(name, headers):
    paragraphs = article(name, headers=headers).body_text.split("\n\n")
    assert all(p and p == p.strip() and "\n" not in p and "  " not in p for p in paragraphs)
    assert "\xa0" not in article(name, headers=headers).body_text


@pytest.mark.parametrize("name,headers", ARTICLES)
def test_body_html_is_sanitised(name, headers):
    body_html = article(name, headers=headers).body_html
    for unwanted in (
        "style=",
        "class=",
        "onclick",
        "javascript:",
        "<o:p",
        "<span",
        "<!--",
        "<script",
    ):
        assert unwanted not in body_html


@pytest.mark.parametrize("name,headers", ARTICLES)
def test_page_sha256_is_hash_of_raw_bytes(name, headers):
    assert article(name, headers=headers).page_sha256 == hashlib.sha256(raw(name)).hexdigest()


@pytest.mark.parametrize("name,headers", ARTICLES)
def test_section_is_quarterly(name, headers):
    assert article(name, headers=headers).section == "quarterly"


# --- Identity ---------------------------------------------------------------------------


def test_url_is_canonical_whatever_the_host_and_list_context():
    record = article(EVENT, "http://unpog.gabia.io/page/sub4_3_view.asp?page=1&SN=52&search=")
    assert record.url == "/page/sub4_3_view.asp?sn=52"


def test_fetched_url_is_kept_as_fetched():
    url = "http://127.0.0.1:8123/page/sub4_3_view.asp?sn=62&search="
    assert article(ARTICLE, url).fetched_url == url


def test_source_id_is_the_sn():
    assert article(EVENT, SITE + "sub4_3_view.asp?sn=52&page=1").source_id == "52"


def test_source_id_of_issue_page_is_the_file_stem():
    assert article(ISSUE, ISSUE_URL).source_id == "sub4_3_2022_winter"


# --- Kind -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,url,kind",
    [
        (WELCOME, SITE + "sub4_3_view.asp?sn=81", "welcome_note"),
        (EVENT, SITE + "sub4_3_view.asp?sn=52", "article"),
        (ARTICLE, SITE + "sub4_3_view.asp?sn=62", "article"),
        (ISSUE, ISSUE_URL, "issue_page"),
    ],
)
def test_kind(name, url, kind):
    assert article(name, url).kind == kind


# --- Title ------------------------------------------------------------------------------


def test_title_from_share_box():
    record = article(WELCOME)
    assert record.title == "Welcome Note"
    assert "start: the heading the share line names" in record.parser_notes


def test_title_from_share_line_written_as_plain_text():
    record = article(ARTICLE)
    assert record.title == "Study Visit on E-Government for Officials from Africa"
    assert "end: share line" in record.parser_notes


def test_title_falls_back_to_heading_without_share_line():
    record = article("same_words_p.html")
    assert record.title == "Same words"
    assert "start: first heading after the section heading" in record.parser_notes
    assert record.missing_landmarks == ("share line",)


def test_title_of_issue_page():
    assert article(ISSUE, ISSUE_URL).title == "The UNPOG Public Governance Quarterly - 2022 Winter"


def test_parser_notes_name_the_parser_version_and_landmarks():
    assert {f"parser {PARSER_VERSION}", "end: share line"} <= set(article(EVENT).parser_notes)


# --- Date line, repeated heading --------------------------------------------------------


def test_event_start():
    assert article(EVENT).event_start == "2018-10-30"


def test_event_end():
    assert article(EVENT).event_end == "2018-11-01"


def test_event_place():
    assert article(EVENT).event_place == "Incheon, Republic of Korea"


def test_date_line_removed_from_body():
    assert "Oct 30-Nov 1, 2018" not in article(EVENT).body_text


def test_repeated_event_name_removed_from_body():
    assert "Regional Forum on Digital Government Capacity" not in article(EVENT).body_text


def test_repeated_welcome_note_removed_from_body():
    assert not article(WELCOME).body_text.startswith("Welcome Note")


def test_no_event_fields_without_date_line():
    record = article(WELCOME)
    assert (record.event_start, record.event_end, record.event_place) == (None, None, None)


# --- Body text ---------------------------------------------------------------------------


def test_body_text_of_br_layout():
    assert article(EVENT).body_text == (
        "UNPOG hosted a three-day forum for senior officials from twelve countries of the "
        "region.[1]\n\nParticipants compared national strategies and discussed how "
        "“whole-of-government” approaches can support the SDGs.[2]"
    )


def test_body_text_of_word_table_layout_keeps_typographic_quotes():
    body = article(WELCOME).body_text
    assert "on “digital public services” and a workshop" in body
    assert body.startswith("Dear readers, we are pleased")


def test_p_and_br_layouts_give_the_same_body_text():
    assert article("same_words_p.html").body_text == article("same_words_br.html").body_text


def test_body_text_keeps_list_items_bullets_and_rules_as_paragraphs():
    paragraphs = article(ARTICLE).body_text.split("\n\n")
    assert "Data governance" in paragraphs
    assert "□ Main topics" in paragraphs
    assert "____________________" in paragraphs


def test_inline_footnote_markers_stay_in_body():
    assert "twelve countries of the region.[1]" in article(EVENT).body_text


def test_stray_counter_line_removed():
    # "Hit : 57" sits inside the event report's container as a <br> line.
    assert "57" not in article(EVENT).body_text


def test_issue_page_body_keeps_section_headings():
    assert article(ISSUE, ISSUE_URL).body_text.split("\n\n")[0] == "Highlights"


# --- Authors and footnotes ---------------------------------------------------------------


def test_authors_of_welcome_note():
    assert article(WELCOME).authors == ("KIM Min-ho", "Head of Office, UNPOG")


def test_authors_of_event_report():
    assert article(EVENT).authors == (
        "LEE Soo-jin",
        "Programme Management Officer",
        "Contributors: PARK Jae-won, CHOI Eun-ji",
    )


def test_authors_removed_from_body():
    assert "KIM Min-ho" not in article(WELCOME).body_text


def test_link_lines_are_not_authors():
    assert article(ARTICLE).authors == ()


def test_footnotes():
    assert article(EVENT).footnotes == (
        "[1] The list of participating countries is available on request.",
        "[2] See the outcome document of the forum.",
    )


def test_footnotes_removed_from_body():
    assert "[1] The list" not in article(EVENT).body_text


# --- Images, attachments, HTML ----------------------------------------------------------


def test_images_absolute_in_page_order_without_repeats():
    assert article(ARTICLE, "http://127.0.0.1:8123/page/sub4_3_view.asp?sn=62").images == (
        "http://127.0.0.1:8123/upload/editor/2019/visit_01.jpg",
        "http://127.0.0.1:8123/upload/editor/2019/visit_02.jpg",
    )


def test_file_type_icons_are_not_images():
    assert not any("ico_pdf" in image for image in article(ARTICLE).images)


def test_parser_notes_name_the_rules_that_fired():
    assert {"date line", "authors: 3 lines", "footnotes: 2"} <= set(article(EVENT).parser_notes)


def test_attachments():
    assert article(ARTICLE).attachments == (
        Attachment(
            "https://unpog.org/common/download.asp?path=board&file=visit_report.pdf",
            "visit_report.pdf",
        ),
        Attachment(
            "https://unpog.org/upload/files/Presentation%20Notes.pptx", "Presentation notes"
        ),
    )


def test_body_html_keeps_structure():
    body_html = article(ARTICLE).body_html
    assert "<ul><li>Online public services</li>" in body_html
    assert "<strong>fifteen officials</strong>" in body_html
    assert "<sup>[1]</sup>" in body_html
    assert '<img src="/upload/editor/2019/visit_01.jpg" alt="Group photo">' in body_html


def test_body_html_drops_javascript_links_but_keeps_their_text():
    assert "<a>agenda</a>" in article(ARTICLE).body_html


def test_body_html_has_no_share_box():
    assert "페이스북" not in article(EVENT).body_html


# --- Issue -------------------------------------------------------------------------------


def test_issue_stated_by_welcome_note():
    assert article(WELCOME).issue == "2019-Q3"


def test_issue_of_issue_page():
    assert article(ISSUE, ISSUE_URL).issue == "2022 Winter"


def test_no_issue_on_event_report():
    assert article(EVENT).issue is None


# --- Encoding ----------------------------------------------------------------------------


def test_euckr_declared_in_meta_decodes_hangul():
    record = article("euckr_meta.html")
    assert "청소년 말하기 대회" in record.body_text
    assert record.encoding == "cp949"


def test_euckr_declared_in_header_decodes_hangul():
    record = article("euckr_header.html", headers=EUCKR_HEADER)
    assert "청소년 말하기 대회" in record.body_text
    assert record.encoding == "cp949"


def test_header_accepts_scrapy_headers():
    text, encoding = decode_html(raw("euckr_header.html"), Headers(EUCKR_HEADER))
    assert (encoding, "접수 기간" in text) == ("cp949", True)


def test_http_header_charset_wins_over_meta():
    _, encoding = decode_html(raw("euckr_meta.html"), {"content-type": b"text/html; charset=utf-8"})
    assert encoding == "utf-8"


def test_bom_wins_over_meta():
    body = b"\xef\xbb\xbf" + raw("euckr_meta.html").replace(b"euc-kr", b"utf-8")
    assert decode_html(body)[1] == "utf-8"


# --- Not an article ----------------------------------------------------------------------


def test_no_such_post_is_gone():
    result = parse("no_such_post.html", SITE + "sub4_3_view.asp?sn=999&page=3")
    assert result == NotAnArticle(
        "/page/sub4_3_view.asp?sn=999",
        SITE + "sub4_3_view.asp?sn=999&page=3",
        "no such post (script alert page)",
        gone=True,
    )


def test_error_page_served_with_200_is_not_gone_and_named():
    result = parse("error_200.html")
    assert isinstance(result, NotAnArticle)
    assert (result.gone, "Service Unavailable" in result.reason) == (False, True)


def test_empty_container_is_not_an_article():
    result = parse("empty_container.html")
    assert isinstance(result, NotAnArticle)
    assert (result.gone, result.reason) == (False, "empty article body")


@pytest.mark.parametrize(
    "body,headers",
    [
        (b"", None),
        (b"   \n", None),
        (b"%PDF-1.4 binary", None),
        (b"<html><body>x</body></html>", {"Content-Type": "application/pdf"}),
    ],
)
def test_non_html_is_not_an_article(body, headers):
    result = parse_article(body, SITE + "sub4_3_view.asp?sn=1", headers)
    assert isinstance(result, NotAnArticle) and result.gone is False


# --- Links -------------------------------------------------------------------------------

LIST_URL = SITE + "sub4_3_list.asp?page=1"


def test_view_links_canonical_in_order_without_repeats():
    assert find_links(raw("list_page.html"), LIST_URL).views == (
        "/page/sub4_3_view.asp?sn=80",
        "/page/sub4_3_view.asp?sn=79",
        "/page/sub4_3_view.asp?sn=78",
        "/page/sub4_3_view.asp?sn=72",
        "/page/sub4_3_view.asp?sn=71",
        "/page/sub4_3_view.asp?sn=70",
    )


def test_javascript_view_links():
    views = find_links(raw("list_page.html"), LIST_URL).views
    assert {"/page/sub4_3_view.asp?sn=72", "/page/sub4_3_view.asp?sn=71"} <= set(views)


def test_url_spelled_out_in_javascript_link():
    assert "/page/sub4_3_view.asp?sn=70" in find_links(raw("list_page.html"), LIST_URL).views


def test_links_to_other_hosts_ignored():
    assert "/page/sub4_3_view.asp?sn=999" not in find_links(raw("list_page.html"), LIST_URL).views


def test_replica_host_counts_as_own_host():
    links = find_links(raw("list_page.html"), "http://127.0.0.1:8123/page/sub4_3_list.asp")
    assert "/page/sub4_3_view.asp?sn=80" in links.views


def test_issue_page_links():
    assert find_links(raw("list_page.html"), LIST_URL).issue_pages == (
        "/page/sub4_3_2022_winter.asp",
    )


def test_list_pages_from_paging_block_only():
    # The menu's "sub4_3_list.asp" is outside the paging block; "?page=" is written out.
    assert find_links(raw("list_page.html"), LIST_URL).list_pages == (
        "/page/sub4_3_list.asp?page=1",
        "/page/sub4_3_list.asp?page=2",
        "/page/sub4_3_list.asp?page=3",
        "/page/sub4_3_list.asp?page=4",
    )


def test_prev_next_links_on_view_page():
    links = find_links(raw(EVENT), "http://unpog.gabia.io/page/sub4_3_view.asp?sn=52")
    assert links.views == ("/page/sub4_3_view.asp?sn=51", "/page/sub4_3_view.asp?sn=53")


def test_find_links_on_non_html():
    assert find_links(b"", LIST_URL) == PageLinks()


# --- parse_page: one parse for the record and the links ----------------------------------

ALL_PAGES = sorted(p.name for p in FIXTURES.glob("*.html"))
NOT_HTML = [
    (b"", None),
    (b"   \n", None),
    (b"plain text, no markup", None),
    (
        b"<html><body><a href='sub4_3_view.asp?sn=9'>x</a></body></html>",
        {"Content-Type": "text/plain"},
    ),
]


@pytest.mark.parametrize("name", ALL_PAGES)
def test_parse_page_gives_what_parse_article_and_find_links_give(name):
    headers = EUCKR_HEADER if name == "euckr_header.html" else None
    url = SITE + "sub4_3_view.asp?sn=52"
    record, links = parse_page(raw(name), url, headers)
    assert record == parse_article(raw(name), url, headers)
    assert links == find_links(raw(name), url, headers)
    assert links.notes == find_links(raw(name), url, headers).notes


@pytest.mark.parametrize("body, headers", NOT_HTML)
def test_parse_page_on_non_html(body, headers):
    record, links = parse_page(body, LIST_URL, headers)
    assert record == parse_article(body, LIST_URL, headers)
    assert (links, links.notes) == (
        find_links(body, LIST_URL, headers),
        find_links(body, LIST_URL, headers).notes,
    )


@pytest.mark.parametrize(
    "href",
    [
        "sub4_3_list.asp?page=533",
        "?page=3",
        "?",
        "http:",
        "/page/sub4_3_view.asp?sn=9",
        "//unpog.org/page/sub4_3_list.asp",
        "sub4_3_view.asp?sn=5#c",
        "../page/sub4_3_list.asp",
    ],
)
def test_cached_link_resolution_ignores_the_page_query_only_where_urljoin_does(href):
    page = "http://127.0.0.1:8123/page/sub4_3_list.asp?page=17#top"
    uncached = _resolved_link.__wrapped__(href, page, site.QUARTERLY)
    assert _plain_link(href, page, site.QUARTERLY) == uncached
