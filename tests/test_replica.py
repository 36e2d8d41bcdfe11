"""The local replica behaves like the assumed site (docs/assumed-markup.md) and its test
controls (edit, delete, fail, ...) do what they say. Checked over real HTTP with urllib."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
import urllib.robotparser
from collections.abc import Iterator
from dataclasses import replace

import lxml.html
import pytest

from unpog_crawler.replica.content import ARTICLES, LAYOUTS
from unpog_crawler.replica.server import ReplicaServer, serve
from unpog_crawler.replica.templates import NO_SUCH_POST

LIST = "/page/sub4_3_list.asp"
VIEW = "/page/sub4_3_view.asp"
HANGUL = re.compile("[\uac00-\ud7a3]")
VIEW_LINK = re.compile(r"sn=(\d+)|goView\('(\d+)'\)|fnView\((\d+)\)")


@pytest.fixture
def server() -> Iterator[ReplicaServer]:
    with serve() as running:
        yield running


def fetch(server: ReplicaServer, target: str, method: str = "GET") -> tuple[int, dict, bytes]:
    request = urllib.request.Request(server.base_url + target, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def page(server: ReplicaServer, target: str) -> str:
    status, _, body = fetch(server, target)
    assert status == 200, target
    return body.decode("cp949" if b"euc-kr" in body[:600] else "utf-8")


def listed_sns(html: str) -> list[int]:
    """Article ids linked from a list page's table, in row order (hrefs and javascript:)."""
    rows = lxml.html.fromstring(html).cssselect("table.board_list tbody a")
    found = [VIEW_LINK.search(a.get("href", "")) for a in rows]
    return [int(next(g for g in m.groups() if g)) for m in found if m]


def content_text(html: str) -> str:
    """The article container's visible words, whitespace collapsed (a crude parser)."""
    root = lxml.html.fromstring(html)
    for element in root.iter("br", "p", "li", "div", "td", "tr", "ul"):
        element.tail = "\n" + (element.tail or "")
    container = root.cssselect(".view_content")[0]
    return " ".join(container.text_content().replace("\xa0", " ").split())


def hit_count(html: str) -> int:
    match = re.search(r"(?:Hit :|Views) (\d+)", html)
    assert match, "no view counter"
    return int(match.group(1))


# ---- list pages -------------------------------------------------------------------------


def test_list_pages_show_five_rows_newest_first_and_link_every_page(server):
    expected = sorted((a.sn for a in ARTICLES), reverse=True)
    seen: list[int] = []
    for number in range(1, 5):
        html = page(server, f"{LIST}?page={number}")
        rows = listed_sns(html)
        assert len(rows) == (5 if number < 4 else len(expected) - 15)
        seen += rows
        paging = lxml.html.fromstring(html).cssselect("div.paging a")
        linked = {re.search(r"page=(\d+)", a.get("href")).group(1) for a in paging}
        assert linked == {"1", "2", "3", "4"}
        assert all(not a.get("href").startswith(("/", "http")) for a in paging)
    assert seen == expected
    assert listed_sns(page(server, f"{LIST}?page=9")) == []


def test_list_params_are_case_insensitive_and_unknown_ones_ignored(server):
    plain = listed_sns(page(server, f"{LIST}?page=2"))
    assert listed_sns(page(server, f"{LIST}?PAGE=2&Gubun=title&SearchString=x&foo=1")) == plain
    assert listed_sns(page(server, LIST)) == listed_sns(page(server, f"{LIST}?page=1"))


def test_list_has_javascript_links_and_issue_page_link(server):
    pages = [page(server, f"{LIST}?page={n}") for n in range(1, 5)]
    everything = "".join(pages)
    assert "javascript:goView('72')" in everything
    assert "javascript:fnView(52)" in everything
    assert 'href="sub4_3_2022_winter.asp"' in pages[0]
    # Relative view hrefs carry list context in more than one order.
    hrefs = re.findall(r'href="(sub4_3_view\.asp\?[^"]+)"', everything)
    orders = {tuple(re.findall(r"(\w+)=", h.replace("&amp;", "&"))) for h in hrefs}
    assert len(orders) >= 3


def test_whole_issue_page(server):
    html = page(server, "/page/sub4_3_2022_winter.asp")
    heading = lxml.html.fromstring(html).cssselect("div.quarterly_issue h4")[0].text_content()
    assert heading == "The UNPOG Public Governance Quarterly - 2022 Winter"
    assert fetch(server, "/page/sub4_3_2031_spring.asp")[0] == 404


# ---- view pages -------------------------------------------------------------------------


def test_view_counter_changes_on_every_request_and_stays_out_of_the_body(server):
    first = page(server, f"{VIEW}?sn=72")
    second = page(server, f"{VIEW}?sn=72")
    assert hit_count(first) != hit_count(second)
    assert str(hit_count(second)) not in content_text(second)


def test_view_ignores_list_context_and_param_case(server):
    plain = content_text(page(server, f"{VIEW}?sn=77"))
    assert content_text(page(server, f"{VIEW}?page=3&SN=77&search=&Gubun=x")) == plain


def test_every_layout_is_served_with_its_markup(server):
    markers = {"table": "MsoNormal", "div_br": "<br><br>", "div_p": "<p>"}
    assert {a.layout for a in ARTICLES} == set(LAYOUTS)
    for article in ARTICLES:
        html = page(server, f"{VIEW}?sn={article.sn}")
        assert markers[article.layout] in html, article.sn
        assert f'<p class="share_title">UNPOG : {article.title}</p>' in html


def test_euc_kr_article_declares_charset_only_in_meta(server):
    status, headers, body = fetch(server, f"{VIEW}?sn=74")
    assert status == 200 and headers["Content-Type"] == "text/html"
    assert b'content="text/html; charset=euc-kr"' in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert HANGUL.search(content_text(body.decode("cp949")))


def test_unknown_sn_answers_200_with_the_alert_script(server):
    for target in (f"{VIEW}?sn=19", f"{VIEW}?sn=abc", VIEW):
        status, _, body = fetch(server, target)
        assert status == 200
        assert body.decode("utf-8") == NO_SUCH_POST


def test_head_get_404_and_binary_bodies(server):
    status, headers, body = fetch(server, f"{VIEW}?sn=53", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 1000
    assert fetch(server, "/page/nothing_here.asp")[0] == 404
    assert fetch(server, "/upload/editor/2018_policy_dialogue.jpg")[2][:2] == b"\xff\xd8"
    assert fetch(server, "/upload/editor/webinar_2019.png")[2][:4] == b"\x89PNG"
    _, headers, pdf = fetch(server, "/common/download.asp?path=board&file=x.pdf")
    assert headers["Content-Type"] == "application/pdf" and pdf.startswith(b"%PDF-")


def test_robots_txt_allows_the_quarterly(server):
    status, _, body = fetch(server, "/robots.txt")
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(body.decode().splitlines())
    assert status == 200
    assert robots.can_fetch("unpog-crawler", f"{server.base_url}{VIEW}?sn=72")
    assert robots.can_fetch("unpog-crawler", f"{server.base_url}{LIST}?page=2")


# ---- test controls ----------------------------------------------------------------------


def test_edit_changes_title_and_body(server):
    server.site.edit(18, title="A New Title", body=["Only one paragraph now."])
    html = page(server, f"{VIEW}?sn=18")
    assert "UNPOG : A New Title" in html
    assert "Only one paragraph now." in content_text(html)
    assert "Ministries rarely fail" not in html
    assert "A New Title" in page(server, f"{LIST}?page=4")


def test_delete_and_restore(server):
    server.site.delete(53)
    assert fetch(server, f"{VIEW}?sn=53")[2].decode() == NO_SUCH_POST
    listed = [sn for n in range(1, 5) for sn in listed_sns(page(server, f"{LIST}?page={n}"))]
    assert 53 not in listed and len(listed) == len(ARTICLES) - 1
    server.site.restore(53)
    assert "Policy Dialogue" in page(server, f"{VIEW}?sn=53")


def test_add_publishes_a_new_article_on_top(server):
    template = next(a for a in ARTICLES if a.sn == 83)
    server.site.add(replace(template, sn=90, title="A Fresh Article", body=("Hello.",)))
    assert listed_sns(page(server, f"{LIST}?page=1"))[0] == 90
    assert "UNPOG : A Fresh Article" in page(server, f"{VIEW}?sn=90")


def test_set_layout_changes_markup_not_words(server):
    before = page(server, f"{VIEW}?sn=53")
    server.site.set_layout(53, "table")
    after = page(server, f"{VIEW}?sn=53")
    assert 'class="MsoNormal"' in after and 'class="MsoNormal"' not in before
    with pytest.raises(ValueError):
        server.site.set_layout(53, "flash")


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: f"sn{a.sn}")
def test_every_layout_shows_the_same_words(server, article):
    # Word order may differ (Word moves footnotes after the signature); the words may not.
    words = []
    for layout in LAYOUTS:
        server.site.set_layout(article.sn, layout)
        words.append(sorted(content_text(page(server, f"{VIEW}?sn={article.sn}")).split()))
    assert words[0] == words[1] == words[2]


@pytest.mark.parametrize("sn", [51, 53, 74, 77])
def test_touch_markup_changes_bytes_not_text(server, sn):
    before = page(server, f"{VIEW}?sn={sn}")
    for _ in range(3):  # every revision differs from the original, with the same words
        server.site.touch_markup(sn)
        after = page(server, f"{VIEW}?sn={sn}")
        strip = re.compile(r"(Hit :|Views) \d+")
        assert strip.sub("", after) != strip.sub("", before)
        assert content_text(after) == content_text(before)


def test_fail_list_pages_until_heal(server):
    server.site.fail(LIST)
    assert fetch(server, f"{LIST}?page=1")[0] == 500
    assert fetch(server, f"{LIST}?page=3&search=")[0] == 500
    assert fetch(server, f"{VIEW}?sn=72")[0] == 200
    server.site.heal()
    assert fetch(server, f"{LIST}?page=1")[0] == 200


def test_fail_one_view_a_number_of_times(server):
    server.site.fail(f"{VIEW}?sn=52", status=503, times=2)
    assert fetch(server, f"{VIEW}?page=3&sn=52")[0] == 503
    assert fetch(server, f"{VIEW}?sn=53")[0] == 200
    assert fetch(server, f"{VIEW}?sn=52")[0] == 503
    assert fetch(server, f"{VIEW}?sn=52")[0] == 200


def test_requests_are_logged_with_status(server):
    server.site.fail(f"{VIEW}?sn=57", status=500, times=1)
    fetch(server, f"{VIEW}?sn=57")
    fetch(server, "/robots.txt", method="HEAD")
    assert list(server.site.requests) == [
        ("GET", f"{VIEW}?sn=57", 500),
        ("HEAD", "/robots.txt", 200),
    ]
    assert server.site.requests.count("sn=57", status=500) == 1


def test_reset_and_stop(server):
    server.site.delete(17)
    server.site.reset()
    assert "Welcome Note" in page(server, f"{VIEW}?sn=17")
    server.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(server.base_url + LIST, timeout=2)
