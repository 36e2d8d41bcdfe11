"""URL identity: canonical_url and friends (table-driven)."""

from __future__ import annotations

import pytest

from unpog_crawler.site import (
    absolute_url,
    canonical_url,
    link_identity,
    list_page_url,
    view_id,
)

VIEW_72 = "/page/sub4_3_view.asp?sn=72"


@pytest.mark.parametrize(
    "url",
    [
        "https://unpog.org/page/sub4_3_view.asp?sn=72",
        "http://unpog.org/page/sub4_3_view.asp?sn=72",
        "https://www.unpog.org/page/sub4_3_view.asp?sn=72",
        "http://unpog.gabia.io/page/sub4_3_view.asp?sn=72",
        "http://127.0.0.1:8123/page/sub4_3_view.asp?sn=72",
        "https://unpog.org/page/sub4_3_view.asp?sn=72&page=1&search=&SearchString=",
        "https://unpog.org/page/sub4_3_view.asp?page=3&Gubun=&SearchString=x&sn=72",
        "https://unpog.org/page/sub4_3_view.asp?SN=72&PAGE=2",
        "https://unpog.org/Page/Sub4_3_View.asp?Sn=72",
        "https://unpog.org/page/sub4_3_view.asp?sn=072",
        "https://unpog.org/page/sub4_3_view.asp?sn=72#top",
        "sub4_3_view.asp?sn=72&page=1",  # relative to /page/, as the site writes links
        "/page/sub4_3_view.asp?sn=72",
        VIEW_72,
    ],
)
def test_quarterly_view_variants_share_one_identity(url):
    assert canonical_url(url) == VIEW_72


@pytest.mark.parametrize(
    "url,expected",
    [
        ("https://unpog.org/page/sub4_3_list.asp", "/page/sub4_3_list.asp?page=1"),
        ("https://unpog.org/page/sub4_3_list.asp?page=", "/page/sub4_3_list.asp?page=1"),
        ("sub4_3_list.asp?search=&Page=3", "/page/sub4_3_list.asp?page=3"),
        ("https://unpog.org/page/sub4_3_2022_winter.asp?x=1", "/page/sub4_3_2022_winter.asp"),
        (
            "https://unpog.org/page/sub3_1_view.asp?sn=12&page=2&boardid=0004",
            "/page/sub3_1_view.asp?BoardID=0004&sn=12",
        ),
        (
            "http://www.unpog.org/page/sub5_1_view.asp?Gubun=&BoardID=0007&sn=40",
            "/page/sub5_1_view.asp?BoardID=0007&sn=40",
        ),
        (
            "https://unpog.org/page/sub4_1_view.asp?page=1&tb_engagement_sn=9",
            "/page/sub4_1_view.asp?tb_engagement_sn=9",
        ),
        (
            "https://unpog.org/page/sub4_2_tab_media_list_video.asp?tb_Symposium_sn=3&Page=2",
            "/page/sub4_2_tab_media_list_video.asp?page=2&tb_symposium_sn=3",
        ),
        ("https://unpog.org/Page/Sub1_1.asp", "/page/sub1_1.asp"),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "link,base,expected",
    [
        (
            "sub4_3_view.asp?sn=5",
            "http://127.0.0.1:9000/page/sub4_3_list.asp",
            "/page/sub4_3_view.asp?sn=5",
        ),
        (
            "../page/sub4_3_view.asp?sn=5",
            "https://unpog.org/page/x.asp",
            "/page/sub4_3_view.asp?sn=5",
        ),
        ("sub4_3_view.asp?sn=5", "/page/sub4_3_list.asp?page=2", "/page/sub4_3_view.asp?sn=5"),
        ("view.asp?sn=5", "https://unpog.org/board/list.asp", "/board/view.asp?sn=5"),
    ],
)
def test_canonical_url_of_relative_link(link, base, expected):
    assert canonical_url(link, base) == expected


def test_absolute_url():
    assert (
        absolute_url("https://unpog.org", VIEW_72) == "https://unpog.org/page/sub4_3_view.asp?sn=72"
    )


def test_absolute_url_keeps_base_port_and_drops_base_path():
    assert (
        absolute_url("http://127.0.0.1:8123/page/x.asp", VIEW_72)
        == "http://127.0.0.1:8123" + VIEW_72
    )


@pytest.mark.parametrize(
    "args,expected",
    [
        (("https://unpog.org",), "https://unpog.org/page/sub4_3_list.asp?page=1"),
        (
            ("https://unpog.org", "/page/sub4_3_list.asp", 3),
            "https://unpog.org/page/sub4_3_list.asp?page=3",
        ),
        (
            ("http://127.0.0.1:8123", "/page/sub3_1_list.asp?BoardID=0004", 2),
            "http://127.0.0.1:8123/page/sub3_1_list.asp?BoardID=0004&page=2",
        ),
    ],
)
def test_list_page_url(args, expected):
    assert list_page_url(*args) == expected


@pytest.mark.parametrize(
    "url,expected",
    [
        ("https://unpog.org/page/sub4_3_view.asp?page=1&sn=72", "72"),
        ("sub4_3_view.asp?SN=072", "72"),
        ("/page/sub3_1_view.asp?BoardID=0004&sn=12", "12"),
        ("/page/sub4_1_view.asp?tb_engagement_sn=9", "9"),
        ("/page/sub4_3_list.asp?page=2", None),
        ("/page/sub4_3_view.asp", None),
        ("/page/sub4_3_2022_winter.asp", None),
    ],
)
def test_view_id(url, expected):
    assert view_id(url) == expected


@pytest.mark.parametrize(
    "link,page_url,expected",
    [
        ("/upload/a.jpg", "http://127.0.0.1:8123/page/x.asp", "/upload/a.jpg"),
        ("/upload/a.jpg", "https://unpog.org/page/x.asp", "/upload/a.jpg"),
        ("http://unpog.gabia.io/upload/a.jpg", "http://127.0.0.1:8123/page/x.asp", "/upload/a.jpg"),
        ("https://www.unpog.org:443/upload/a.jpg", "https://unpog.org/page/x.asp", "/upload/a.jpg"),
        ("../upload/a.jpg", "https://unpog.org/page/x.asp", "/upload/a.jpg"),
        (
            "/common/download.asp?path=board&file=r.pdf",
            "http://127.0.0.1:9/page/x.asp",
            "/common/download.asp?file=r.pdf&path=board",
        ),
        (
            "sub4_3_view.asp?sn=5&page=2",
            "https://unpog.org/page/x.asp",
            "/page/sub4_3_view.asp?sn=5",
        ),
        (
            "https://www.un.org/en/a.jpg",
            "https://unpog.org/page/x.asp",
            "https://www.un.org/en/a.jpg",
        ),
        # Another port on the replica's host is another site.
        (
            "http://127.0.0.1:9999/a.jpg",
            "http://127.0.0.1:8123/page/x.asp",
            "http://127.0.0.1:9999/a.jpg",
        ),
    ],
)
def test_link_identity(link, page_url, expected):
    assert link_identity(link, page_url) == expected
