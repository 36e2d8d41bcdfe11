"""The truth of every page the replica serves: the fields a correct parser must produce.

`expected(model, base_url)` turns a page model (pagemodel.py) into the values of an
`ArticleRecord`'s fields; `pages(site)` lists every live view and whole-issue page of a
`ReplicaSite` with its model, under the template the site serves now (today's templates or
a generated one); `differences(record, truth)` names the fields a parser got wrong.

The rules (docs/generated-templates.md): the body is the article's paragraphs in order joined
by a blank line, each whitespace-collapsed (NBSP is a space, NFC); bullet items, the Youth
Korean notice and an issue page's section headings are paragraphs; a press release keeps its
dateline. Not body text: the heading and its repeats, the event date/place line, lines made
only of download links, images, a `____` rule, footnotes, signature lines and all furniture.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from unpog_crawler.items import CONTENT_FIELDS, ArticleRecord, Attachment
from unpog_crawler.replica.pagemodel import (
    BODY_ROLES,
    ViewModel,
    article_model,
    issue_model,
    post_model,
)

if TYPE_CHECKING:
    from unpog_crawler.replica.generated import TemplateStyle
    from unpog_crawler.replica.server import ReplicaSite

# The record fields the truth covers: identity, then the content fields a version keeps.
FIELDS = ("url", "source_id", "section", "board_id", *CONTENT_FIELDS)
BOARDS = ("0004", "0002", "0010", "0007", "youth")


@dataclass(frozen=True)
class Page:
    """A page the replica serves: where to fetch it and what it says."""

    target: str  # path and query to request
    model: ViewModel
    spider: str  # the spider that archives it
    listed: bool = True  # False: no list page links it (only a sweep finds it)


def clean(text: str) -> str:
    """One paragraph as a parser must give it: NFC, NBSP as space, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).replace("\xa0", " ").split())


def expected(model: ViewModel, base_url: str) -> dict[str, Any]:
    """The fields of the record a correct parser produces for `model`'s page."""
    base = base_url.rstrip("/")
    body = [clean(line.text) for line in model.lines if line.role in BODY_ROLES]
    images: list[str] = []
    for line in model.lines:
        if line.role == "image" and line.image and base + line.image.path not in images:
            images.append(base + line.image.path)
    links = [link for line in model.lines if line.role == "files" for link in line.links]
    attachments: dict[str, Attachment] = {}
    for link in (*links, *model.file_block):
        attachments.setdefault(base + link.path, Attachment(base + link.path, clean(link.label)))
    start, end, place = model.event or (None, None, None)
    return {
        "url": model.url,
        "source_id": model.source_id,
        "section": model.section,
        "board_id": model.board_id,
        "kind": model.kind,
        "title": clean(model.title),
        "body_text": "\n\n".join(p for p in body if p),
        "event_start": start,
        "event_end": end,
        "event_place": place,
        "authors": tuple(clean(line.text) for line in model.lines if line.role == "sign"),
        "footnotes": tuple(clean(line.text) for line in model.lines if line.role == "footnote"),
        "images": tuple(images),
        "attachments": tuple(attachments.values()),
        "issue": model.issue,
        "published": model.published,
        "place": model.place,
    }


def differences(record: ArticleRecord, truth: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """field -> (parsed, expected) for every field the record gets wrong."""
    found = {name: getattr(record, name) for name in FIELDS}
    return {name: (found[name], truth[name]) for name in FIELDS if found[name] != truth[name]}


def model_of_article(article: Any, style: TemplateStyle | None) -> ViewModel:
    """A Quarterly article's model under `style` (None: today's templates, no variation)."""
    if style is None:
        return article_model(article)
    return article_model(article, style.page_rng("shape", article.sn), style.content_rate)


def pages(site: ReplicaSite) -> list[Page]:
    """Every live view and whole-issue page of `site`, with the model it is served from."""
    style = site.template_style
    found = [
        Page(f"/page/sub4_3_view.asp?sn={a.sn}", model_of_article(a, style), "quarterly")
        for a in site.articles()
    ]
    found += [Page(i.path, issue_model(i), "quarterly") for i in site.issue_pages]
    spiders = {"youth": "youth", "0007": "publications"}
    for board in BOARDS:
        for post in site.boards.posts(board):
            model = post_model(post)
            found.append(Page(model.url, model, spiders.get(board, "news"), post.listed))
    return found
