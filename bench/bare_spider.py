"""The baseline for benchmark 1: a bare Scrapy spider that requests the same URLs as the
`quarterly` crawl and does nothing with the responses (no parsing, no pipeline).

    .venv/bin/python -m scrapy runspider bench/bare_spider.py -a urls=urls.txt \
        -s UNPOG_BASE_URL=http://127.0.0.1:8765
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import scrapy


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, urls: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls_file = Path(urls)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        base = self.settings.get("UNPOG_BASE_URL").rstrip("/")
        for target in self.urls_file.read_text().split():
            if target != "/robots.txt":  # RobotsTxtMiddleware fetches it, as in our crawl
                yield scrapy.Request(base + target, callback=self.parse)

    def parse(self, response: Any) -> None:
        return None
