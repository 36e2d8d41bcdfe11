"""The `publications` spider: Knowledge Platform - Publications (BoardID 0007)."""

from __future__ import annotations

from typing import Any

from unpog_crawler import site
from unpog_crawler.spiders.boards import BoardSpider


class PublicationsSpider(BoardSpider):
    name = "publications"

    def declare_boards(self, settings: Any) -> tuple[site.Board, ...]:
        return (site.PUBLICATIONS,)
