"""Pure page parsing: bytes, URL and headers in, records and links out. No network, no
database: nothing here imports Scrapy or SQLite (tests/test_layout.py keeps it so).

All site-specific selectors and patterns come from ``site``; this package only applies them.
`decode` turns bytes into text and a tree, `lines` the tree into text lines, `segment` finds
the article among them by its reading order, `article` makes the record's fields, `links`
finds the links a page gives, `text` holds the text rules (dates, issues). `pool` runs the
parse in worker processes for a crawl that fetches faster than one core parses.
"""

from __future__ import annotations

from unpog_crawler.parse.article import PARSER_VERSION, parse_article, parse_page
from unpog_crawler.parse.decode import decode_html
from unpog_crawler.parse.links import PageLinks, find_links

__all__ = [
    "PARSER_VERSION",
    "PageLinks",
    "decode_html",
    "find_links",
    "parse_article",
    "parse_page",
]
