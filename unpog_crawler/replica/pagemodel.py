"""What a view page says, line by line, whatever its markup: the page model.

Generated templates (`gen_pages.py`) render a `ViewModel`; the truth (`truth.py`) reads the
same model, so what a correct parser must extract follows from what the page says. Models
come from the replica's own content (`content.ARTICLES`, `content.ISSUE_PAGES`,
`boards.POSTS`). `article_model(article)` is what today's templates print; with a random
generator (`vary=`) the *shape* of the content changes too, the way real pages differ: the
event's date/place line after the repeated name, the name repeated or not, a last paragraph
ending in a footnote marker or without a full stop, the signature before the footnotes.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import date

from unpog_crawler.replica.boards import SECTIONS, SPECS, Post
from unpog_crawler.replica.content import Article, Bullets, IssuePage

# Line roles. Body text is made of BODY_ROLES only; the others are the article's furniture
# (lead: the heading repeated; event: the date/place line) or other fields.
ROLES = (
    "lead", "event", "para", "item", "notice", "subhead", "image", "files", "rule",
    "footnote", "sign",
)  # fmt: skip
BODY_ROLES = ("para", "item", "notice", "subhead")
DOWNLOAD_PATH = "/common/download.asp?path=board&file="
ADDED_FOOTNOTE = "Figures reported by the organizers after the event; see the event page."


@dataclass(frozen=True)
class Link:
    path: str  # site path the href resolves to, '&' unescaped
    label: str  # link text (downloads) or alt text (images)


@dataclass(frozen=True)
class Line:
    """One line of the article in reading order (a paragraph, a list item, a signature line)."""

    role: str  # one of ROLES
    text: str = ""
    links: tuple[Link, ...] = ()  # "files": the download links that make up the line
    image: Link | None = None  # "image"


@dataclass(frozen=True)
class ViewModel:
    """One view or whole-issue page's content and the record fields it implies."""

    board: str  # "quarterly", "issue" or a replica.boards.SPECS key
    source_id: str
    url: str  # canonical path and query
    section: str
    board_id: str | None
    kind: str
    title: str
    heading: str  # the heading as printed ("<title> May 30, 2017" on dated boards)
    heading_date: str  # the printed date of the heading ('' when none)
    lines: tuple[Line, ...]
    file_block: tuple[Link, ...] = ()  # attachments listed between the body and the share box
    event: tuple[str, str, str] | None = None  # (start, end, place), ISO dates
    issue: str | None = None
    published: str | None = None
    place: str | None = None
    charset: str = "utf-8"
    share_rss: bool = True
    share_inside: bool = False
    list_date: str = ""  # the date the list and info rows show
    page_title: str = "UNPOG : News & Events - The UNPOG Public Governance Quarterly"
    section_heading: str = "The UNPOG Public Governance Quarterly"


# ---- the Quarterly ------------------------------------------------------------------------


def article_model(
    article: Article, vary: random.Random | None = None, rate: float = 0.0
) -> ViewModel:
    """The model of a Quarterly article; `vary` (with `rate`) also varies its shape."""
    if vary is not None and rate:
        article = vary_article(article, vary, rate)
    lines: list[Line] = []
    event_after_name = bool(vary is not None and rate and vary.random() < rate)
    if article.repeat_heading:
        lines.append(Line("lead", article.title))
    if article.event:
        leads = [Line("event", article.event.line)]
        if article.event.repeat_name:
            name = Line("lead", article.title)
            leads = [name, *leads] if event_after_name else [*leads, name]
        lines += leads
    for index, block in enumerate(article.body):
        if isinstance(block, Bullets):
            lines += [Line("item", item) for item in block.items]
        else:
            lines.append(Line("para", block))
        if index == 0:
            lines += [Line("image", image=Link(i.src, i.alt)) for i in article.images]
            lines += [Line("files", links=(download(a.file),)) for a in article.attachments]
    if article.rule and article.footnotes:
        lines.append(Line("rule", "____________________"))
    notes = [Line("footnote", note) for note in article.footnotes]
    signs = [Line("sign", line) for line in article.authors]
    lines += signs + notes if article.authors_first else notes + signs
    event = article.event
    return ViewModel(
        board="quarterly",
        source_id=str(article.sn),
        url=f"/page/sub4_3_view.asp?sn={article.sn}",
        section="quarterly",
        board_id=None,
        kind=article.kind,
        title=article.title,
        heading=article.title,
        heading_date="",
        lines=tuple(lines),
        event=(event.start, event.end, event.place) if event else None,
        issue=article.stated_issue,
        charset=article.charset,
        share_rss=article.share_rss,
        share_inside=article.share_inside,
        list_date=article.date,
    )


def vary_article(article: Article, rng: random.Random, rate: float) -> Article:
    """The same article with another content shape (each change with probability `rate`)."""
    changes: dict[str, object] = {}
    if article.event and rng.random() < rate:
        changes["event"] = dataclasses.replace(
            article.event, repeat_name=not article.event.repeat_name
        )
    if article.kind == "welcome_note" and rng.random() < rate:
        changes["repeat_heading"] = not article.repeat_heading
    if article.footnotes and rng.random() < rate:
        changes["authors_first"] = not article.authors_first
    last = article.body[-1]
    if isinstance(last, str) and rng.random() < rate:
        if rng.random() < 0.5:
            # "...region.[3]": a marker at the end of the last paragraph, its note below.
            number = len(article.footnotes) + 1
            changes["body"] = (*article.body[:-1], f"{last}[{number}]")
            changes["footnotes"] = (*article.footnotes, f"[{number}] {ADDED_FOOTNOTE}")
        else:
            changes["body"] = (*article.body[:-1], last.rstrip("."))
    return dataclasses.replace(article, **changes) if changes else article


def download(file: str, label: str = "") -> Link:
    return Link(DOWNLOAD_PATH + file, label or file)


# ---- whole-issue pages --------------------------------------------------------------------


def issue_model(issue: IssuePage) -> ViewModel:
    lines: list[Line] = []
    for section in issue.sections:
        lines.append(Line("subhead", section.heading))
        lines += [Line("para", paragraph) for paragraph in section.paragraphs]
    return ViewModel(
        board="issue",
        source_id=issue.slug,
        url=issue.path,
        section="quarterly",
        board_id=None,
        kind="issue_page",
        title=issue.heading,
        heading=issue.heading,
        heading_date="",
        lines=tuple(lines),
        issue=issue.stated_issue,
    )


# ---- Theme, Publications and Youth boards -------------------------------------------------


def post_model(post: Post) -> ViewModel:
    """The model of a board post, as replica/boards.py prints it."""
    spec = SPECS[post.board]
    lines: list[Line] = []
    if post.board == "youth" and post.files:
        lines.append(Line("files", links=tuple(download(f.file, f.name) for f in post.files)))
    if post.repeat_title:
        lines.append(Line("lead", post.title))
    for index, paragraph in enumerate(post.body):
        lead = f"{post.dateline} " if index == 0 and post.dateline else ""
        lines.append(Line("para", lead + paragraph))
        if index == 0:
            lines += [Line("image", image=Link(src, "")) for src in post.images]
    if post.korean:
        lines.append(Line("notice", post.korean))
    printed = printed_date(post.date) if spec.dated else ""
    file_block = (
        () if post.board == "youth" else tuple(download(f.file, f.name) for f in post.files)
    )
    return ViewModel(
        board=post.board,
        source_id=str(post.sn),
        url=canonical_post_url(post),
        section=SECTIONS[post.board],
        board_id=spec.board_id,
        kind="article",
        title=post.title,
        heading=f"{post.title} {printed}" if printed else post.title,
        heading_date=printed,
        lines=tuple(lines),
        file_block=file_block,
        published=post.published,
        place=post.place,
        charset=post.charset,
        list_date=post.date,
        page_title=spec.page_title,
        section_heading=spec.heading,
    )


def canonical_post_url(post: Post) -> str:
    spec = SPECS[post.board]
    if spec.board_id:
        return f"{spec.view_path}?BoardID={spec.board_id}&{spec.id_param}={post.sn}"
    return f"{spec.view_path}?{spec.id_param}={post.sn}"


def printed_date(iso: str) -> str:
    """'2017-05-30' -> 'May 30, 2017' (the site's `Month DD, YYYY`, day zero-padded)."""
    return date.fromisoformat(iso).strftime("%B %d, %Y")
