"""Faults the replica can inject: the ways a real server misbehaves.

A `Fault` says what goes wrong; `ReplicaSite.inject(path, fault, times)` attaches it to the
pages matching `path` (same matching as `fail`). Faults that change a page's bytes are
applied here to the page the site would have served; faults that break the connection
itself (slow, reset, truncated) are carried out by the HTTP handler.
"""

from __future__ import annotations

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

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; expected one of {list(FAULT_KINDS)}")

    @property
    def handled_by_server(self) -> bool:
        """Faults of the connection, carried out by the HTTP handler."""
        return self.kind in ("slow", "reset", "truncate")

    @property
    def needs_page(self) -> bool:
        """Faults that transform the page the site would have served."""
        return self.kind in ("oversize", "malformed", "deep", "wrong_charset")


def maintenance_page() -> bytes:
    """A maintenance notice inside the site's usual frame and article box, served with 200."""
    inner = (
        f'<div class="board_view"><div class="view_content"><p>{MAINTENANCE_TEXT}</p></div></div>'
    )
    return templates.frame(inner).encode("utf-8")


def pad(body: bytes, size: int) -> bytes:
    """The page grown to `size` bytes with an HTML comment (what the size cap must stop)."""
    filler = max(0, size - len(body))
    return body.replace(b"</body>", b"<!--" + b"x" * filler + b"--></body>", 1)


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
