"""The replica's answers as plain data (`Response`), and the entity tags that make its
conditional requests honest."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from http import HTTPStatus

from unpog_crawler.replica import templates
from unpog_crawler.replica.content import Article, IssuePage
from unpog_crawler.replica.faults import Fault

HTML_UTF8 = "text/html; charset=utf-8"


IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
}


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = HTML_UTF8
    headers: dict[str, str] = field(default_factory=dict)
    action: str | None = None  # a connection fault for the handler: "reset", "truncate", ...
    delay: float = 0.0  # seconds the handler waits before answering
    fault: Fault | None = None  # the fault the handler carries out, for its parameters


def view_etag(article: Article, older: Article | None, newer: Article | None, page: int) -> str:
    """An entity tag from what the page shows, except its view counter: like a server that
    derives it from the stored post, it changes when the post or its neighbours change."""
    neighbours = (older and older.sn, newer and newer.sn, page)
    shown = repr((dataclasses.replace(article, hits=0), neighbours))
    return '"' + hashlib.sha1(shown.encode()).hexdigest()[:16] + '"'


def list_etag(rows: list[Article], page: int, total: int, issues: list[IssuePage]) -> str:
    """An entity tag from the posts a list page shows (not their view counters), its place
    in the paging and the whole-issue links: it changes when the page's links change."""
    shown = repr(([dataclasses.replace(a, hits=0) for a in rows], page, total, issues))
    return '"' + hashlib.sha1(shown.encode()).hexdigest()[:16] + '"'


def not_modified(response: Response, if_none_match: str | None) -> Response:
    """304 with no body when the client already holds this entity (RFC 9110, 13.1.2)."""
    etag = response.headers.get("ETag")
    if response.status != 200 or not etag or not if_none_match:
        return response
    held = {tag.strip() for tag in if_none_match.split(",")}
    if etag in held or "*" in held:
        return Response(304, b"", response.content_type, {"ETag": etag})
    return response


def html_response(page: str, status: int = 200) -> Response:
    return Response(status, page.encode("utf-8"))


def error_response(status: int) -> Response:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return html_response(templates.error_page(status, reason), status)


def image_response(path: str) -> Response:
    extension = path[path.rfind(".") :] if "." in path else ""
    content_type = IMAGE_TYPES.get(extension)
    if content_type is None:
        return error_response(404)
    body = templates.jpeg_bytes() if content_type == "image/jpeg" else templates.png_bytes()
    return Response(200, body, content_type)
