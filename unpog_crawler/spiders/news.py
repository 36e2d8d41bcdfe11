"""The `news` spider: the Theme boards (activity news, events, press releases)."""

from __future__ import annotations

import re
from typing import Any

from unpog_crawler import site
from unpog_crawler.spiders.boards import BoardSpider

_BOARD_ID_RE = re.compile(r"^\d{1,6}$")


def news_boards(value: str | list[str] | tuple[str, ...]) -> tuple[site.Board, ...]:
    """UNPOG_NEWS_BOARDS ("0004,0002,0010") as boards; a bad id is a ValueError."""
    ids = value.split(",") if isinstance(value, str) else list(value)
    ids = [i.strip() for i in ids if i.strip()]
    bad = [i for i in ids if not _BOARD_ID_RE.match(i)]
    if bad or not ids:
        raise ValueError(f"UNPOG_NEWS_BOARDS: expected BoardIDs like 0004,0002,0010, got {value!r}")
    return tuple(site.theme_board(i) for i in dict.fromkeys(ids))


class NewsSpider(BoardSpider):
    name = "news"

    def declare_boards(self, settings: Any) -> tuple[site.Board, ...]:
        return news_boards(settings.get("UNPOG_NEWS_BOARDS"))
