"""A Scrapy extension for the benchmarks: writes the crawl's stats as JSON when it ends.

Enable with `-s EXTENSIONS={"bench.statsdump.JsonStats": 900} -s BENCH_STATS_FILE=path`.
`bench/elapsed_s` runs from engine start to engine stop (after the pipeline closed).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured


class JsonStats:
    def __init__(self, crawler: Any, path: str) -> None:
        self.crawler = crawler
        self.path = Path(path)
        self.started = 0.0
        self.stats: dict[str, Any] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> JsonStats:
        path = crawler.settings.get("BENCH_STATS_FILE")
        if not path:
            raise NotConfigured("BENCH_STATS_FILE is not set")
        ext = cls(crawler, path)
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def engine_started(self) -> None:
        self.started = time.perf_counter()

    def spider_closed(self, spider: Any, reason: str) -> None:
        self.stats = dict(self.crawler.stats.get_stats())
        self.stats["bench/close_reason"] = reason

    def engine_stopped(self) -> None:
        self.stats.update(self.crawler.stats.get_stats())
        self.stats["bench/elapsed_s"] = time.perf_counter() - self.started
        self.path.write_text(json.dumps(self.stats, default=str, indent=1))
