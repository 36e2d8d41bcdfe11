"""Faults the replica can inject: the ways a real server misbehaves.

A `Fault` says what goes wrong; `ReplicaSite.inject(path, fault, times)` attaches it to the
pages matching `path` (same matching as `fail`). Faults that change a page's bytes are
applied here to the page the site would have served; faults that break the connection
itself (slow, reset, truncated) are carried out by the HTTP handler.
"""

from __future__ import annotations

import functools
import gzip
import io
import re
from dataclasses import dataclass

from unpog_crawler.replica import templates

# What each kind does (see `ReplicaSite.inject`):
FAULT_KINDS = {
    "status": "answer with `status` (and a Retry-After header when `retry_after` is set)",
    "slow": "wait `delay` seconds before answering (past DOWNLOAD_TIMEOUT)",
    "reset": "close the connection with a TCP reset, answering nothing",
    "truncate": "declare a Content-Length larger than the body sent, then close",
    "empty": "HTTP 200 with an empty body",
    "maintenance": "HTTP 200: the site's frame saying it is under maintenance",
    "redirect_loop": "302 to the same page with another query, which redirects back",
    "redirect_offsite": "302 to another host",
    "oversize": "the page padded to `size` bytes (past DOWNLOAD_MAXSIZE)",
    "malformed": "the page as tag soup: closing tags dropped, stray closers, bad attributes",
    "deep": "the page with `depth` unclosed nested elements before the article",
    "wrong_charset": "the HTTP header declares another charset than the page's bytes",
    "no_rows": "a list page that lists no posts",
    # Attacks of a hostile server (issue 18).
    "redirect": "302 to `location` (another port, host or scheme)",
    "endless_headers": "HTTP 200 whose header lines never end (`size` bytes, then close)",
    "gzip_bomb": "the page as `size` bytes of spaces, gzipped `layers` times (Content-Encoding)",
    "huge_attribute": "the page with an onclick of `size` characters in its body",
    "drip": "the page's body sent one byte every `delay` seconds (no read ever times out)",
    "append_html": "the page with `html` added at its end, outside the article",
}

MAINTENANCE_TEXT = (
    "The website is under maintenance. We apologise for the inconvenience; "
    "please visit again later."
)
OFFSITE_URL = "http://offsite.invalid/page/sub4_3_view.asp?sn=1"
LOOP_PARAM = "loop"


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0
    size: int = 0
    depth: int = 0
    location: str = ""
    layers: int = 1
    line: int = 40  # bytes per header line of endless_headers
    html: str = ""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; expected one of {list(FAULT_KINDS)}")

    @property
    def handled_by_server(self) -> bool:
        """Faults of the connection, carried out by the HTTP handler."""
        return self.kind in ("slow", "reset", "truncate", "endless_headers", "drip")

    @property
    def needs_page(self) -> bool:
        """Faults that transform the page the site would have served."""
        return self.kind in (
            "oversize", "malformed", "deep", "wrong_charset", "gzip_bomb", "huge_attribute",
            "append_html",
        )  # fmt: skip


def maintenance_page() -> bytes:
    """A maintenance notice inside the site's usual frame and article box, served with 200."""
    inner = (
        f'<div class="board_view"><div class="view_content"><p>{MAINTENANCE_TEXT}</p></div></div>'
    )
    return templates.frame(inner).encode("utf-8")


def pad(body: bytes, size: int) -> bytes:
    """The page grown to `size` bytes with an HTML comment (what the size cap must stop);
    a text file (robots.txt) with comment lines."""
    filler = max(0, size - len(body))
    if b"</body>" not in body:
        line = b"# " + b"x" * 77 + b"\n"
        return body + line * (filler // len(line) + 1)
    return body.replace(b"</body>", b"<!--" + b"x" * filler + b"--></body>", 1)


@functools.lru_cache(maxsize=4)
def gzip_bomb(size: int, layers: int) -> tuple[bytes, str]:
    """(body, Content-Encoding): `size` spaces gzipped `layers` times, about size/1000
    bytes on the wire for one layer and a few KB for two (compressed a MB at a time)."""
    megabyte = b" " * 1024**2
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as packed:
        for _ in range(size // len(megabyte)):
            packed.write(megabyte)
        packed.write(b" " * (size % len(megabyte)))
    body = buffer.getvalue()
    for _ in range(layers - 1):
        body = gzip.compress(body, compresslevel=9)
    return body, ", ".join(["gzip"] * layers)


def append_html(body: bytes, html: str) -> bytes:
    """`html` just before </body>: outside the article container, so not its content."""
    return body.replace(b"</body>", html.encode("utf-8") + b"</body>", 1)


def huge_attribute(body: bytes, size: int) -> bytes:
    """An onclick of `size` characters, the worst case of a backtracking link pattern: one
    run of URL characters that never reaches ".asp"."""
    handler = b"goView(83);" + b"a" * size
    return body.replace(b"</body>", b'<p onclick="' + handler + b'">more</p></body>', 1)


def endless_header_lines(line: int) -> bytes:
    """64 KB of header lines of `line` bytes each: what an endless header section repeats."""
    filler = b"X-Filler: " + b"x" * max(0, line - 12) + b"\r\n"
    return filler * (65536 // len(filler) + 1)


def malformed(body: bytes) -> bytes:
    """Tag soup as old editors leave it: no closing tags, stray closers, unquoted values."""
    soup = re.sub(rb"</(p|li|span|font|b|strong)>", b"", body)
    soup = soup.replace(b'<div class="view_content">', b"<div class=view_content><font size=2>")
    soup = soup.replace(b"<p", b"</td></tr></table><p", 3)
    return soup.replace(b"</body>", b"</div></div></span></body><p><b><i>", 1)


def deep(body: bytes, depth: int) -> bytes:
    """`depth` unclosed <div>s opened in the header, before the article."""
    return body.replace(b'<div id="header">', b"<div>" * depth + b'<div id="header">', 1)


def other_charset(content_type: str, body: bytes) -> str:
    """A Content-Type that declares the charset the page is NOT in."""
    if b"euc-kr" in body[:600].lower():
        return "text/html; charset=utf-8"
    return "text/html; charset=euc-kr"
