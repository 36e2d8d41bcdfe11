"""A local replica of UNPOG's Quarterly board, served over HTTP for tests.

`ReplicaSite` holds the mutable state (articles, failures, request log) and answers
requests as plain data; `ReplicaServer` puts it on a loopback port. Tests change the site
between crawls (`edit`, `delete`, `touch_markup`, `fail`, ...) to drive the archive through
new versions, removals and errors, without any network.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from unpog_crawler.replica import faults, gen_site, redesign, templates
from unpog_crawler.replica.boards import BoardState
from unpog_crawler.replica.content import (
    ARTICLES,
    ISSUE_PAGES,
    LAYOUTS,
    Article,
    IssuePage,
)
from unpog_crawler.replica.faults import Fault
from unpog_crawler.replica.generated import TemplateStyle
from unpog_crawler.replica.request_log import RequestLog
from unpog_crawler.replica.responses import (
    HTML_UTF8,
    Response,
    error_response,
    html_response,
    image_response,
    list_etag,
    not_modified,
    view_etag,
)

LIST_PATH = "/page/sub4_3_list.asp"
VIEW_PATH = "/page/sub4_3_view.asp"
TEMPLATES = ("classic", "redesign")


@dataclass
class _Failure:
    path: str  # lower-case path
    params: dict[str, str]  # lower-case names; all must match the request's
    fault: Fault
    remaining: int | None  # None: until heal()

    def matches(self, path: str, params: dict[str, str]) -> bool:
        return path == self.path and all(params.get(k) == v for k, v in self.params.items())


def query_params(query: str) -> dict[str, str]:
    """Query parameters with lower-case names (ASP's Request() ignores case); first wins."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(name.lower(), value)
    return params


def as_int(value: str | None) -> int | None:
    if value is None or not re.fullmatch(r"\s*\d{1,9}\s*", value):
        return None
    return int(value)


class ReplicaSite:
    """The replica's mutable state and its request handling (no sockets here).

    All public methods are thread-safe: tests mutate the site while the server thread runs.
    """

    def __init__(
        self,
        articles: tuple[Article, ...] | None = None,
        issue_pages: tuple[IssuePage, ...] | None = None,
        template_seed: int | None = None,
        validators: bool = True,
    ) -> None:
        self._lock = threading.RLock()
        # False: no page sends an ETag, and conditional requests get full answers, as from
        # many classic ASP servers (the revisit policy's case, issue 16).
        self.validators = validators
        self._style: TemplateStyle | None = None
        self.set_template_seed(template_seed)
        self._defaults = {a.sn: a for a in copy.deepcopy(articles or ARTICLES)}
        self._issue_defaults = {p.slug: p for p in copy.deepcopy(issue_pages or ISSUE_PAGES)}
        self.requests = RequestLog()
        self.reset()

    # ---- state --------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the default content: no edits, no deletions, no failures, counters reset."""
        with self._lock:
            self._articles: dict[int, Article] = copy.deepcopy(self._defaults)
            self._issue_pages: dict[str, IssuePage] = copy.deepcopy(self._issue_defaults)
            self._deleted: dict[int, Article] = {}
            self._hits = {sn: a.hits for sn, a in self._articles.items()}
            self._failures: list[_Failure] = []
            self._template = "classic"
            self._disallowed: list[str] = []
            self.boards = BoardState()  # Theme, Youth and Publications boards (issue 3)
            # Bytes of endless headers sent per answer before the client hung up.
            self.header_bytes_sent: list[int] = []

    def article(self, sn: int) -> Article | None:
        """The live article `sn`, or None when it is missing or deleted."""
        with self._lock:
            return self._articles.get(sn)

    def articles(self) -> list[Article]:
        """Live articles, newest (highest sn) first: the order of the list pages."""
        with self._lock:
            return sorted(self._articles.values(), key=lambda a: a.sn, reverse=True)

    @property
    def issue_pages(self) -> list[IssuePage]:
        with self._lock:
            return list(self._issue_pages.values())

    def page_count(self) -> int:
        return max(1, -(-len(self.articles()) // templates.PAGE_SIZE))

    # ---- mutations ----------------------------------------------------------------------

    def edit(self, sn: int, **fields: Any) -> Article:
        """Change an article's fields (e.g. `title=`, `body=`); lists become tuples."""
        with self._lock:
            current = self._live(sn)
            values = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
            if "layout" in values:
                check_layout(values["layout"])
            updated = dataclasses.replace(current, **values)
            self._articles[sn] = updated
            return updated

    def delete(self, sn: int) -> None:
        """Remove an article: its view answers "no such post" and the list drops it."""
        with self._lock:
            self._deleted[sn] = self._live(sn)
            del self._articles[sn]

    def restore(self, sn: int) -> Article:
        """Bring back a deleted article as it was; otherwise reset `sn` to its default."""
        with self._lock:
            article = self._deleted.pop(sn, None) or self._defaults.get(sn)
            if article is None:
                raise KeyError(f"sn={sn} was never part of the replica")
            self._articles[sn] = article
            self._hits.setdefault(sn, article.hits)
            return article

    def add(self, item: Article) -> Article:
        """Publish a new article (or replace the one with the same sn)."""
        check_layout(item.layout)
        with self._lock:
            self._deleted.pop(item.sn, None)
            self._articles[item.sn] = item
            self._hits.setdefault(item.sn, item.hits)
            return item

    def set_layout(self, sn: int, layout: str) -> Article:
        """Serve the same article through another template (markup change, same words)."""
        return self.edit(sn, layout=layout)

    def touch_markup(self, sn: int) -> Article:
        """A markup-only change: entities, whitespace and tags differ, the words do not."""
        with self._lock:
            return self.edit(sn, markup_rev=self._live(sn).markup_rev + 1)

    def fail(
        self,
        path: str,
        status: int = 500,
        times: int | None = None,
        *,
        retry_after: str | None = None,
    ) -> None:
        """Answer `path` with `status`: `times` requests, or until `heal()` when None.

        Without a query, `path` fails whatever the query; with one (`...view.asp?sn=52`),
        only requests carrying those parameter values fail (other parameters may vary).
        """
        self.inject(path, Fault("status", status=status, retry_after=retry_after), times)

    def inject(self, path: str, fault: Fault, times: int | None = None) -> None:
        """Misbehave on `path` as `fault` says (see faults.FAULT_KINDS); matching as `fail`."""
        parts = urlsplit(path)
        rule = _Failure(parts.path.lower(), query_params(parts.query), fault, times)
        with self._lock:
            self._failures.append(rule)

    def heal(self) -> None:
        """Forget every failure rule, robots.txt exclusions and template switch (a template
        seed stays: it is what the site is, not a fault)."""
        with self._lock:
            self._failures.clear()
            self._disallowed.clear()
            self._template = "classic"

    def set_template(self, name: str) -> None:
        """Serve list and view pages through another design ("redesign"), same content."""
        if name not in TEMPLATES:
            raise ValueError(f"unknown template {name!r}; expected one of {TEMPLATES}")
        with self._lock:
            self._template = name

    def set_template_seed(self, seed: int | None) -> None:
        """Serve every board through the generated template `seed` (None: today's templates).

        Same URLs, ids and content; other markup (replica/generated.py), and per seed another
        shape of the Quarterly's content. `truth.pages(site)` says what each page must parse to.
        """
        with self._lock:
            self._style = None if seed is None else TemplateStyle.from_seed(seed)

    @property
    def template_style(self) -> TemplateStyle | None:
        """The generated template served now (None: today's templates)."""
        with self._lock:
            return self._style

    def disallow(self, path: str) -> None:
        """Add a `Disallow: path` line to robots.txt."""
        with self._lock:
            self._disallowed.append(path)

    def _live(self, sn: int) -> Article:
        article = self._articles.get(sn)
        if article is None:
            raise KeyError(f"no live article sn={sn}")
        return article

    # ---- requests -----------------------------------------------------------------------

    def handle(self, method: str, target: str, if_none_match: str | None = None) -> Response:
        """Answer one request (`target` = path + query) and log it."""
        parts = urlsplit(target)
        path, params = parts.path.lower(), query_params(parts.query)
        fault = self._injected_fault(path, params)
        if fault is None:
            response = self._route(path, params)
            if self.validators:
                response = not_modified(response, if_none_match)
            else:
                response.headers.pop("ETag", None)
        else:
            response = self._faulty(fault, target, path, params)
        self.requests.append(method, target, response.status)
        return response

    def _injected_fault(self, path: str, params: dict[str, str]) -> Fault | None:
        with self._lock:
            for rule in self._failures:
                if rule.matches(path, params):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self._failures.remove(rule)
                    return rule.fault
        return None

    def _faulty(self, fault: Fault, target: str, path: str, params: dict[str, str]) -> Response:
        """The response of a page under `fault` (connection faults: marked for the handler)."""
        kind = fault.kind
        if kind == "status":
            response = error_response(fault.status)
            if fault.retry_after is not None:
                response.headers["Retry-After"] = fault.retry_after
            return response
        if kind == "empty":
            return Response(200, b"")
        if kind == "maintenance":
            return Response(200, faults.maintenance_page())
        if kind == "redirect_loop":
            # page -> page&loop=1 -> page -> ...: each hop looks new to a naive client.
            back = re.sub(rf"[?&]{faults.LOOP_PARAM}=1$", "", target)
            location = back if back != target else f"{target}&{faults.LOOP_PARAM}=1"
            return Response(302, b"", HTML_UTF8, {"Location": location})
        if kind == "redirect_offsite":
            return Response(302, b"", HTML_UTF8, {"Location": faults.OFFSITE_URL})
        if kind == "redirect":
            return Response(302, b"", HTML_UTF8, {"Location": fault.location})
        if kind == "no_rows":
            return html_response(templates.list_page([], page=1, total=0, hits={}))
        response = self._route(path, params)
        if kind == "slow":
            response.delay = fault.delay
        elif kind in ("reset", "truncate", "endless_headers", "drip"):
            response.action, response.fault = kind, fault
        elif kind == "gzip_bomb":
            response.body, encoding = faults.gzip_bomb(fault.size, fault.layers)
            response.headers["Content-Encoding"] = encoding
        elif kind == "huge_attribute":
            response.body = faults.huge_attribute(response.body, fault.size)
        elif kind == "append_html":
            response.body = faults.append_html(response.body, fault.html)
        elif kind == "oversize":
            response.body = faults.pad(response.body, fault.size)
        elif kind == "malformed":
            response.body = faults.malformed(response.body)
        elif kind == "deep":
            response.body = faults.deep(response.body, fault.depth)
        elif kind == "wrong_charset":
            response.content_type = faults.other_charset(response.content_type, response.body)
        return response

    def _route(self, path: str, params: dict[str, str]) -> Response:
        if path == "/robots.txt":
            with self._lock:
                extra = "".join(f"Disallow: {rule}\n" for rule in self._disallowed)
            robots = templates.ROBOTS_TXT + extra
            return Response(200, robots.encode(), "text/plain; charset=utf-8")
        if path in ("/", "/index.asp"):
            return html_response(templates.home_page())
        if path == LIST_PATH:
            return self._list(as_int(params.get("page")) or 1)
        if path == VIEW_PATH:
            return self._view(as_int(params.get("sn")))
        issue = self._issue_page(path)
        if issue is not None:
            style = self._generated()
            if style is not None:
                return Response(200, *gen_site.issue_view(style, issue, self.articles()))
            if self._template == "redesign":
                return html_response(redesign.redesign_issue_page(issue))
            return html_response(templates.issue_page(issue))
        if path.startswith("/upload/"):
            return image_response(path)
        if path == "/common/download.asp" and params.get("file"):
            return Response(
                200,
                self.boards.file_bytes(params["file"]),
                "application/pdf",
                {"Content-Disposition": f'attachment; filename="{params["file"]}"'},
            )
        style = self._generated()
        pages = gen_site.GeneratedBoardPages(style) if style is not None else None
        board_page = self.boards.page(path, params, pages)
        if board_page is not None:
            return Response(200, *board_page)
        return error_response(404)

    def _generated(self) -> TemplateStyle | None:
        """The generated template, unless a test switched to the redesign."""
        with self._lock:
            return self._style if self._template == "classic" else None

    def _issue_page(self, path: str) -> IssuePage | None:
        match = re.fullmatch(r"/page/(sub4_3_\d{4}_[a-z]+)\.asp", path)
        with self._lock:
            return self._issue_pages.get(match.group(1)) if match else None

    def _list(self, page: int) -> Response:
        with self._lock:
            live = self.articles()
            hits = dict(self._hits)
        start = (page - 1) * templates.PAGE_SIZE
        rows = live[start : start + templates.PAGE_SIZE]
        style = self._generated()
        if style is not None:
            answer = gen_site.quarterly_list(
                style, rows, page=page, pages=self.page_count(), total=len(live),
                page_size=templates.PAGE_SIZE, hits=hits, issue_pages=self.issue_pages,
            )  # fmt: skip
            return Response(200, *answer)
        if self._template == "redesign":
            return html_response(
                redesign.redesign_list_page(rows, page=page, pages=self.page_count())
            )
        response = html_response(
            templates.list_page(
                rows, page=page, total=len(live), hits=hits, issue_pages=self.issue_pages
            )
        )
        response.headers["ETag"] = list_etag(rows, page, len(live), self.issue_pages)
        return response

    def _view(self, sn: int | None) -> Response:
        with self._lock:
            article = self._articles.get(sn) if sn is not None else None
            style = self._generated()
            if article is None:
                if style is not None:
                    return Response(200, *gen_site.no_such_post(style))
                return html_response(templates.NO_SUCH_POST)
            # Every request counts, as on the live site: the counter never repeats.
            self._hits[sn] = self._hits.get(sn, article.hits) + 1
            hits = self._hits[sn]
            live = self.articles()
            if self._template == "redesign":
                return html_response(redesign.redesign_view_page(article))
        index = next(i for i, a in enumerate(live) if a.sn == sn)
        newer = live[index - 1] if index > 0 else None
        older = live[index + 1] if index + 1 < len(live) else None
        page = index // templates.PAGE_SIZE + 1
        if style is not None:
            answer = gen_site.quarterly_view(style, article, hits=hits, live=live, page=page)
            return Response(200, *answer)
        page_html = templates.view_page(article, hits=hits, older=older, newer=newer, page=page)
        body = templates.encode(page_html, article.charset)
        # The EUC-KR page declares its charset only in <meta>, like many old ASP pages.
        content_type = "text/html" if article.charset != "utf-8" else HTML_UTF8
        return Response(200, body, content_type, {"ETag": view_etag(article, older, newer, page)})


def check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")


class ReplicaHandler(BaseHTTPRequestHandler):
    """GET and HEAD against the server's `ReplicaSite`; keep-alive, no per-request logging."""

    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/8.5"
    sys_version = ""
    timeout = 15  # drop idle keep-alive connections so handler threads end
    # Headers and body go out in two writes: with Nagle's algorithm each keep-alive answer
    # waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: ReplicaServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._answer(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        response = self.server.site.handle(
            self.command, self.path, self.headers.get("If-None-Match")
        )
        if response.delay:
            time.sleep(response.delay)
        if response.action == "reset":
            self._reset()
            return
        if response.action == "endless_headers":
            self._endless_headers(response)
            return
        if response.action == "drip":
            self._drip(response)
            return
        body = response.body
        declared = len(body) + (4096 if response.action == "truncate" else 0)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(declared))
        self.send_header("Cache-Control", "private")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body[: len(body) // 2] if response.action == "truncate" else body)
        if response.action == "truncate":
            self.wfile.flush()
            self.close_connection = True  # the rest of the promised body never comes

    def _endless_headers(self, response: Response) -> None:
        """A status line, then header lines until the client hangs up (or `size` bytes)."""
        assert response.fault is not None
        self.close_connection = True
        chunk = faults.endless_header_lines(response.fault.line)
        sent = 0
        try:
            self.wfile.write(f"HTTP/1.1 {response.status} OK\r\n".encode())
            while sent < response.fault.size:
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the client hung up: what it was sent until then is recorded
        self.server.site.header_bytes_sent.append(sent)

    def _drip(self, response: Response) -> None:
        """Headers, then the body a byte at a time, `delay` seconds apart."""
        assert response.fault is not None
        self.close_connection = True
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        try:
            for index in range(len(response.body)):
                self.wfile.write(response.body[index : index + 1])
                time.sleep(response.fault.delay)
        except OSError:
            pass  # the client gave up

    def _reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), as a crashed server would."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()  # closing now, not after a FIN, is what sends the RST

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # tests read `site.requests` instead of a stderr line per request


class ReplicaServer(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog of 5 stalls crawls at concurrency 16+
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], site: ReplicaSite) -> None:
        super().__init__(address, ReplicaHandler)
        self.site = site
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ReplicaServer:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket (idempotent)."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients (crawlers, urllib) drop connections mid-response; that is not news.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def __enter__(self) -> ReplicaServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(site: ReplicaSite | None = None, host: str = "127.0.0.1", port: int = 0) -> ReplicaServer:
    """Start a replica in a background thread; `port=0` picks a free port (see `.base_url`)."""
    return ReplicaServer((host, port), site or ReplicaSite()).start()
