"""From response bytes to text and an lxml tree: the charset, and whether it is HTML at all."""

from __future__ import annotations

import codecs
from collections.abc import Mapping

import lxml.etree
import lxml.html
from w3lib.encoding import html_to_unicode


def _header(headers: Mapping | None, name: str) -> str | None:
    """A header's value from a plain dict or Scrapy Headers (bytes keys, list values)."""
    if not headers:
        return None
    for key, value in headers.items():
        key = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if key.lower() != name:
            continue
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else b""
        return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return None


def decode_html(body: bytes, headers: Mapping[str, str | bytes] | None = None) -> tuple[str, str]:
    """(text, encoding): HTTP header charset wins, then BOM, then <meta>; EUC-KR -> cp949."""
    encoding, text = html_to_unicode(_header(headers, "content-type"), body)
    return text, codecs.lookup(encoding).name  # one spelling: "utf8" -> "utf-8"


def _parse_tree(text: str) -> lxml.html.HtmlElement | None:
    # Re-encode to UTF-8 and say so: lxml rejects str input with an XML encoding
    # declaration, and must not re-read the page's own <meta> charset.
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        return lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None


def _not_html(body: bytes, headers: Mapping | None) -> str | None:
    """Why the response cannot be an HTML page, or None."""
    if not body or not body.strip():
        return "empty response body"
    content_type = (_header(headers, "content-type") or "").lower()
    if content_type and "html" not in content_type and "xml" not in content_type:
        return f"not an HTML page (content-type {content_type})"
    if b"<" not in body[:4096]:
        return "not an HTML page (no markup)"
    return None
