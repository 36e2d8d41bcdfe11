"""The replica's boards in a generated template: what `ReplicaSite` calls when it serves one.

Same URLs, ids, list order, paging, "no such post" answers and attachments as today's
templates; only the markup (and, per seed, the shape of the Quarterly's content) changes.
`truth.pages(site)` gives every page's model, the same one these functions render.
"""

from __future__ import annotations

from collections.abc import Sequence

from unpog_crawler.replica.boards import PAGE_SIZE, SPECS, BoardSpec, Post
from unpog_crawler.replica.content import Article, IssuePage
from unpog_crawler.replica.gen_pages import QUARTERLY, Board, Nav, Row, list_page, view_page
from unpog_crawler.replica.gen_pages import no_such_post as no_such_post_page
from unpog_crawler.replica.generated import TemplateStyle
from unpog_crawler.replica.pagemodel import issue_model, post_model
from unpog_crawler.replica.truth import model_of_article

CRUMBS = {
    "0004": ("Theme", "Capacity Development"),
    "0002": ("Theme", "Capacity Development"),
    "0010": ("Theme", "Capacity Development"),
    "0007": ("Knowledge Platform", "Publications"),
    "youth": ("News & Events", "Youth Engagement"),
}


def board_of(spec: BoardSpec) -> Board:
    return Board(
        spec.page_title,
        spec.heading,
        spec.view_path.rsplit("/", 1)[-1],
        spec.list_path.rsplit("/", 1)[-1],
        spec.id_param,
        spec.board_id,
        CRUMBS[spec.key],
    )


# ---- the Quarterly ------------------------------------------------------------------------


def quarterly_view(
    style: TemplateStyle,
    article: Article,
    *,
    hits: int,
    live: Sequence[Article],
    page: int,
) -> tuple[bytes, str]:
    """A Quarterly view; `live` are the live articles newest first (the list's order)."""
    index = next(i for i, a in enumerate(live) if a.sn == article.sn)
    newer = live[index - 1] if index > 0 else None
    older = live[index + 1] if index + 1 < len(live) else None

    def pair(other: Article) -> tuple[str, str]:
        return QUARTERLY.view_href(style, other.sn, page, salt=2), other.title

    others = tuple(pair(a) for a in live if a.sn != article.sn)[:5]
    nav = Nav(
        pair(older) if older else None,
        pair(newer) if newer else None,
        others,
        QUARTERLY.list_href(style, page),
    )
    return view_page(style, model_of_article(article, style), QUARTERLY, hits=hits, nav=nav)


def issue_view(
    style: TemplateStyle, issue: IssuePage, live: Sequence[Article]
) -> tuple[bytes, str]:
    others = tuple((QUARTERLY.view_href(style, a.sn, 1, salt=3), a.title) for a in live[:4])
    nav = Nav(None, None, others, QUARTERLY.list_href(style, 1))
    return view_page(style, issue_model(issue), QUARTERLY, hits=0, nav=nav)


def quarterly_list(
    style: TemplateStyle,
    rows: Sequence[Article],
    *,
    page: int,
    pages: int,
    total: int,
    page_size: int,
    hits: dict[int, int],
    issue_pages: Sequence[IssuePage],
) -> tuple[bytes, str]:
    listed = []
    for offset, article in enumerate(rows):
        if article.list_link == "goView":
            href = f"javascript:goView('{article.sn}')"
        elif article.list_link == "fnView":
            href = f"javascript:fnView({article.sn})"
        else:
            href = QUARTERLY.view_href(style, article.sn, page, salt=1 + article.sn)
        number = total - (page - 1) * page_size - offset
        listed.append(
            Row(number, article.title, href, article.date, hits.get(article.sn, article.hits))
        )
    extra = ""
    if page == 1:
        extra = "".join(
            f'<div class="issue_link"><a href="{issue.slug}.asp">{issue.heading}</a></div>'
            for issue in issue_pages
        )
    return list_page(style, QUARTERLY, listed, page=page, pages=pages, total=total, extra=extra)


def no_such_post(style: TemplateStyle) -> tuple[bytes, str]:
    return no_such_post_page(style)


# ---- Theme, Publications and Youth --------------------------------------------------------


class GeneratedBoardPages:
    """Board pages in a generated template (`replica.boards.BoardPages`)."""

    def __init__(self, style: TemplateStyle) -> None:
        self.style = style

    def list_page(
        self, spec: BoardSpec, rows: list[Post], *, page: int, pages: int, total: int
    ) -> tuple[bytes, str]:
        board = board_of(spec)
        listed = []
        for offset, post in enumerate(rows):
            if post.goview:
                href = f"javascript:goView('{post.sn}')"
            else:
                href = board.view_href(self.style, post.sn, page, salt=post.sn)
            number = total - (page - 1) * PAGE_SIZE - offset
            listed.append(Row(number, post.title, href, post.date, post.hits))
        return list_page(self.style, board, listed, page=page, pages=pages, total=total)

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
        board = board_of(SPECS[post.board])

        def pair(other: Post) -> tuple[str, str]:
            return board.view_href(self.style, other.sn, page, salt=2), other.title

        others = tuple(pair(p) for p in listed if p.sn != post.sn)[:5]
        nav = Nav(
            pair(older) if older else None,
            pair(newer) if newer else None,
            others,
            board.list_href(self.style, page),
        )
        return view_page(self.style, post_model(post), board, hits=hits, nav=nav)

    def no_such_post(self) -> tuple[bytes, str]:
        return no_such_post_page(self.style)
