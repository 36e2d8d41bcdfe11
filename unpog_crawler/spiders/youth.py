"""The `youth` spider: News & Events - Youth Engagement."""

from __future__ import annotations

from typing import Any

from unpog_crawler import site
from unpog_crawler.spiders.boards import BoardSpider


class YouthSpider(BoardSpider):
    name = "youth"

    def declare_boards(self, settings: Any) -> tuple[site.Board, ...]:
        return (site.YOUTH,)
