"""Hostile pages: XSS in article bodies, off-site links, titles and URLs written as SQL."""

from __future__ import annotations

import dataclasses
import re

import pytest
import pytest_twisted
from conftest import crawl
from conftest import query as rows

from unpog_crawler.replica.server import ReplicaSite, serve

# Known XSS vectors (after the OWASP filter evasion cheat sheet and html5sec.org).
XSS_CORPUS = """
<script>alert('xss')</script>
<img src=x onerror=alert(1)>
<svg onload=alert(1)><circle r=1 /></svg>
<iframe src="javascript:alert(1)"></iframe>
<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>
<embed src="javascript:alert(1)">
<form action="javascript:alert(1)"><input type="submit" value="Go"><button>Send</button></form>
<p><a href="javascript:alert(1)">plain javascript link</a></p>
<p><a href="JaVaScRiPt:alert(1)">mixed case</a></p>
<p><a href="&#106;avascript:alert(1)">entity encoded</a></p>
<p><a href="&#x6A;&#x61;&#x76;&#x61;script:alert(1)">hex entities</a></p>
<p><a href="  javascript:alert(1)">leading spaces</a></p>
<p><a href="java&#x09;script:alert(1)">tab inside</a></p>
<p><a href="data:text/html,<script>alert(1)</script>">data link</a></p>
<p><img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">data image</p>
<div style="background:url(javascript:alert(1))">styled block</div>
<style>body{background:url("javascript:alert(1)")}</style>
<math><mtext><table><mglyph><style>
<img src=x onerror=alert(1)></style></mglyph></table></mtext></math>
<p onclick="alert(1)" onmouseover="alert(1)">Click me paragraph</p>
<base href="javascript:alert(1)//">
<meta http-equiv="refresh" content="0;url=javascript:alert(1)">
<link rel="stylesheet" href="javascript:alert(1)">
<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>
<table background="javascript:alert(1)"><tr><td onmouseenter=alert(1)>cell</td></tr></table>
<p><a href="vbscript:msgbox(1)">vbscript</a></p>
<!--[if gte IE 4]><script>alert(1)</script><![endif]-->
<p>Prose survives: UNPOG met partners in Incheon.</p>
"""
FORBIDDEN = [
    r"<\s*(script|style|iframe|object|embed|form|input|button|svg|math|base|meta|link|noscript)\b",
    r"\son[a-z]+\s*=",
    r"javascript\s*:",
    r"vbscript\s*:",
    r"data\s*:",
    r"\sstyle\s*=",
    r"\sbackground\s*=",
]
HOSTILE_TITLE = 'Robert\'); DROP TABLE articles; -- <script>alert("t")</script> %s ? :x'


@pytest.fixture
def offsite():
    """A second server, on another host name: nothing may ever reach it."""
    with serve(ReplicaSite(), host="127.0.0.2") as server:
        yield server


def hostile(replica, sn: int, **fields) -> None:
    template = replica.site.article(80)
    replica.site.add(dataclasses.replace(template, sn=sn, **fields))


@pytest.mark.parametrize("layout", ["div_p", "div_br", "table"])
@pytest_twisted.ensureDeferred
async def test_xss_vectors_do_not_survive_in_body_html(replica, db_path, layout):
    hostile(replica, 95, raw_html=XSS_CORPUS, layout=layout)

    row = await crawl(replica.base_url, db_path)

    assert row["status"] == "finished"
    ((body_html, body_text),) = rows(
        db_path, "select body_html, body_text from versions where source_id = '95'"
    )
    for pattern in FORBIDDEN:
        assert not re.search(pattern, body_html, re.I), (pattern, body_html)
    assert "<p>Prose survives: UNPOG met partners in Incheon.</p>" in body_html
    assert "alert(" not in body_text  # script and style bodies are dropped, not shown as text
    for html_of_any in rows(db_path, "select body_html from versions"):
        assert not re.search("|".join(FORBIDDEN), html_of_any[0], re.I)


@pytest_twisted.ensureDeferred
async def test_off_site_links_are_recorded_not_followed(replica, db_path, offsite):
    elsewhere = f"{offsite.base_url}/page/sub4_3_view.asp?sn=72"
    # Prose first: a line made only of links at the body's edge is page furniture.
    links = (
        "<p>The links below come from the article's own prose.</p>"
        f'<p><a href="{elsewhere}">an article elsewhere</a> '
        f'<img src="{offsite.base_url}/upload/pixel.png" alt="pixel"> '
        f'<a href="{offsite.base_url}/common/download.asp?file=report.pdf">report.pdf</a></p>'
        f"<p onclick=\"location.href='{elsewhere}'\">a script link</p>"
    )
    hostile(replica, 96, raw_html=links)

    await crawl(replica.base_url, db_path)

    assert offsite.site.requests.count() == 0
    ((body_html, images, attachments),) = rows(
        db_path, "select body_html, images, attachments from versions where source_id = '96'"
    )
    assert f'href="{elsewhere}"' in body_html
    assert f"{offsite.base_url}/upload/pixel.png" in images
    assert "report.pdf" in attachments


@pytest_twisted.ensureDeferred
async def test_hostile_titles_and_urls_are_stored_as_text(replica, db_path):
    # A title and a linked URL written as SQL: they must reach SQLite as parameters.
    sql_id = "99'); DROP TABLE crawls; --"
    link = f'<p><a href="sub4_3_view.asp?sn={sql_id}">a crafted link</a></p>'
    hostile(replica, 97, title=HOSTILE_TITLE, raw_html=link)

    row = await crawl(replica.base_url, db_path)

    assert row["status"] == "finished"
    assert rows(db_path, "select title from articles where source_id = '97'") == [(HOSTILE_TITLE,)]
    # The crafted id was asked for (on the site's own host), answered "no such post", and
    # logged with its text intact.
    logged = rows(db_path, "select url, kind from crawl_problems where crawl_id = ?", row["id"])
    assert len(logged) == 1 and "DROP" in logged[0][0], logged
    tables = {name for (name,) in rows(db_path, "select name from sqlite_master")}
    assert {"articles", "versions", "changes", "crawls", "crawl_problems"} <= tables
    assert rows(db_path, "select count(*) from crawls") == [(1,)]
    assert rows(db_path, "PRAGMA integrity_check") == [("ok",)]
