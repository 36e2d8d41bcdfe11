"""Serve a generated replica of N articles from its own process, fast enough not to be the
bottleneck of a crawl on loopback.

Every page the crawl reads (robots.txt, list pages, article pages, issue pages) is rendered
once at start by the stock `ReplicaSite.handle()`, then served as bytes by a small asyncio
HTTP/1.1 server with keep-alive. Hit counters are therefore frozen. Like many servers, it
answers conditional requests: each page has an ETag (hash of its bytes) and a Last-Modified
(edited articles: the server's start time), and If-None-Match / If-Modified-Since get 304.
Other targets are answered by `ReplicaSite.handle()` at request time.

    .venv/bin/python bench/serve_large.py --articles 5000 --port 8765 [--edit-share 0.01]
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from bench.common import (  # noqa: E402
    LargeSite,
    edited_sns,
    generate_articles,
    list_pages,
    list_target,
    view_target,
)
from unpog_crawler.replica import templates  # noqa: E402
from unpog_crawler.replica.server import Response  # noqa: E402

PUBLISHED = email.utils.formatdate(1_704_067_200, usegmt=True)  # 2024-01-01
REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found", 500: "Internal Server Error"}


@dataclass(frozen=True)
class Page:
    status: int
    head: bytes  # status line and headers, without the final blank line
    body: bytes
    etag: str
    last_modified: str
    modified_at: float


def make_page(response: Response, modified_at: float) -> Page:
    # The replica's own ETag when it sets one (view pages): a second ETag header would
    # leave the crawler storing one tag and the 304 check comparing the other.
    headers = {k: v for k, v in response.headers.items() if k.lower() != "etag"}
    etag = response.headers.get("ETag") or '"' + hashlib.sha1(response.body).hexdigest()[:20] + '"'
    last_modified = email.utils.formatdate(modified_at, usegmt=True)
    reason = REASONS.get(response.status, "Status")
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        "Cache-Control: private",
        f"ETag: {etag}",
        f"Last-Modified: {last_modified}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    head = ("\r\n".join(lines)).encode("latin-1")
    return Page(response.status, head, response.body, etag, last_modified, modified_at)


def window_paging(page: int, pages: int) -> str:
    """Paging as most ASP boards print it: blocks of 10 numbers with first/prev/next/last
    (the stock replica links every page from every list page: quadratic for big boards)."""
    first = (page - 1) // 10 * 10 + 1
    last = min(pages, first + 9)
    links = [f'<a href="{templates.list_href(1)}" class="first">&lt;&lt;</a>']
    if first > 1:
        links.append(f'<a href="{templates.list_href(first - 1)}" class="prev">&lt;</a>')
    for number in range(first, last + 1):
        on = ' class="on"' if number == page else ""
        links.append(f'<a href="{templates.list_href(number)}"{on}>{number}</a>')
    if last < pages:
        links.append(f'<a href="{templates.list_href(last + 1)}" class="next">&gt;</a>')
    links.append(f'<a href="{templates.list_href(pages)}" class="last">&gt;&gt;</a>')
    return '<div class="paging">' + " ".join(links) + "</div>"


def targets(site: LargeSite, count: int) -> list[str]:
    """Every page a full crawl requests, in canonical form (the order a crawl meets them)."""
    out = ["/robots.txt"]
    out += [list_target(p) for p in range(1, list_pages(count) + 1)]
    out += [page.path for page in site.issue_pages]
    out += [view_target(a.sn) for a in site.articles()]
    return out


def render_all(site: LargeSite, count: int, edited: set[int]) -> dict[str, Page]:
    now = time.time()
    published = email.utils.parsedate_to_datetime(PUBLISHED).timestamp()
    pages = {}
    for target in targets(site, count):
        sn = int(target.rsplit("=", 1)[1]) if "view.asp" in target else None
        modified = now if sn in edited or "list.asp" in target else published
        pages[target] = make_page(site.handle("GET", target), modified)
    return pages


def not_modified(page: Page, headers: dict[str, str]) -> bool:
    if page.status != 200:
        return False
    if "if-none-match" in headers:
        tags = {t.strip() for t in headers["if-none-match"].split(",")}
        return page.etag in tags or "*" in tags
    since = headers.get("if-modified-since")
    if since:
        try:
            return email.utils.parsedate_to_datetime(since).timestamp() >= int(page.modified_at)
        except (TypeError, ValueError):
            return False
    return False


class Handler(asyncio.Protocol):
    def __init__(self, server: LargeServer) -> None:
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            raw, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.answer(raw.decode("latin-1"))

    def answer(self, raw: str) -> None:
        line, *header_lines = raw.split("\r\n")
        method, target = (line.split(" ") + ["", ""])[:2]
        headers = {}
        for header in header_lines:
            name, _, value = header.partition(":")
            headers[name.strip().lower()] = value.strip()
        page = self.server.page(target)
        if not_modified(page, headers):
            self.server.not_modified += 1
            head = (
                f"HTTP/1.1 304 Not Modified\r\nETag: {page.etag}\r\n"
                f"Last-Modified: {page.last_modified}\r\nContent-Length: 0"
            ).encode("latin-1")
            self.transport.write(head + b"\r\n\r\n")
        else:
            body = page.body if method != "HEAD" else b""
            self.transport.write(page.head + b"\r\n\r\n" + body)
        self.server.requests += 1
        if headers.get("connection", "").lower() == "close":
            self.transport.close()


class LargeServer:
    def __init__(self, site: LargeSite, pages: dict[str, Page]) -> None:
        self.site = site
        self.pages = pages
        self.requests = 0
        self.not_modified = 0

    def page(self, target: str) -> Page:
        page = self.pages.get(target)
        if page is None:  # a form the crawl was not expected to ask for: answer it live
            page = make_page(self.site.handle("GET", target), time.time())
        return page


async def serve(server: LargeServer, port: int, ready: Path | None) -> None:
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(
        lambda: Handler(server), "127.0.0.1", port, backlog=1024, reuse_address=True
    )
    if ready is not None:
        ready.write_text(str(port))
    async with listener:
        await listener.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--edit-share", type=float, default=0.0, help="share of articles edited")
    parser.add_argument(
        "--paging",
        choices=("all", "window"),
        default="all",
        help="all: the stock replica (every page linked); window: blocks of 10",
    )
    parser.add_argument("--urls", type=Path, help="write every canonical target here")
    parser.add_argument("--ready", type=Path, help="create this file once serving")
    args = parser.parse_args()
    if args.paging == "window":
        templates.paging = window_paging  # this process only
    edited = set(edited_sns(args.articles, args.edit_share))
    site = LargeSite(generate_articles(args.articles, edited))
    started = time.perf_counter()
    pages = render_all(site, args.articles, edited)
    if args.urls:
        args.urls.write_text("\n".join(pages) + "\n")
    print(
        f"serve_large: {len(pages)} pages rendered in {time.perf_counter() - started:.1f}s, "
        f"{len(edited)} edited; http://127.0.0.1:{args.port}",
        file=sys.stderr,
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(LargeServer(site, pages), args.port, args.ready))


if __name__ == "__main__":
    main()
