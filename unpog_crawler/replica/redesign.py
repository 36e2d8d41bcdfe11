"""A redesign of the live site, as it could come (ReplicaSite.set_template("redesign"))."""

from __future__ import annotations

from collections.abc import Sequence

from unpog_crawler.replica.content import Article, IssuePage
from unpog_crawler.replica.templates import LIST_PATH, VIEW_PATH, body_lines, text

# ---- a redesigned site (ReplicaSite.set_template("redesign")) --------------------------------
# What a redesign of the live site could look like: HTML5, no share box, new class names, and
# the old container id kept on a <main> that now also holds breadcrumbs and a side menu. The
# parser's fallback selector still matches, so only the health checks can tell that what it
# reads is navigation, not an article.

REDESIGN_NAV = (
    '<nav class="breadcrumb"><a href="/">Home</a> &gt; <a href="/news/">News &amp; Events</a>'
    " &gt; Quarterly</nav>\n"
    '<aside class="side-menu"><ul><li><a href="/about/">About UNPOG</a></li>'
    '<li><a href="/knowledge/">Knowledge Platform</a></li>'
    '<li><a href="/youth/">Youth Engagement</a></li>'
    '<li><a href="/symposium/">Regional Symposium</a></li></ul></aside>'
)
REDESIGN_FOOTER = '<div class="site-footer">Copyright &copy; UNPOG. All Rights Reserved.</div>'


def redesign_frame(title: str, inner: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>UNPOG | {title}</title></head>\n<body>\n"
        f'<main id="contents">\n{REDESIGN_NAV}\n{inner}\n{REDESIGN_FOOTER}\n</main>\n'
        "</body></html>\n"
    )


def redesign_view_page(article: Article) -> str:
    paragraphs = "".join(
        f"<p>{text(line)}</p>" for role, line in body_lines(article) if role in ("para", "item")
    )
    inner = (
        f'<article class="post"><h1 class="post__title">{text(article.title)}</h1>'
        f'<time datetime="{article.date}">{article.date}</time>'
        f'<div class="post__body">{paragraphs}</div></article>'
    )
    return redesign_frame(text(article.title), inner)


def redesign_list_page(rows: Sequence[Article], *, page: int, pages: int) -> str:
    items = "".join(
        f'<li class="card"><a href="/page/{VIEW_PATH}?sn={a.sn}">{text(a.title)}</a></li>'
        for a in rows
    )
    pager = " ".join(f'<a href="/page/{LIST_PATH}?page={n}">{n}</a>' for n in range(1, pages + 1))
    inner = f'<ul class="post-list">{items}</ul><nav class="pager">{pager}</nav>'
    return redesign_frame("News", inner)


def redesign_issue_page(issue: IssuePage) -> str:
    sections = "".join(
        f"<h2>{text(section.heading)}</h2>"
        + "".join(f"<p>{text(p)}</p>" for p in section.paragraphs)
        for section in issue.sections
    )
    inner = f'<article class="issue"><h1>{text(issue.heading)}</h1>{sections}</article>'
    return redesign_frame(text(issue.heading), inner)
