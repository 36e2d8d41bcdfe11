"""Parsing off the reactor thread, for crawls that fetch faster than one core can parse.

A polite crawl of the live site fetches a page every two seconds or so: parsing it in the
crawl process costs nothing, and that is what happens (``UNPOG_PARSE_WORKERS=0``). With
politeness off (a local mirror, the replica, a benchmark) the crawl process is CPU-bound
and parsing is its largest share, so pages are parsed in worker processes
(``concurrent.futures``), on the cores Scrapy's single thread leaves idle.

The functions run in a worker are pure (bytes, URL and headers in; records and links out),
so both ways give the same result. A worker that dies on a page (a crash in a C library, an
out-of-memory kill) fails that page only: it is reported, and a new pool takes over.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from unpog_crawler import health, site
from unpog_crawler.items import ArticleRecord, NotAnArticle
from unpog_crawler.parsing import PageLinks, find_links, parse_page

logger = logging.getLogger(__name__)

# Seconds of download delay from which a crawl counts as polite: parsing inline then.
POLITE_DELAY = 0.25
# Worker pools that may die in a row, with no page read in between, before parsing inline.
MAX_POOL_DEATHS = 3


class ParserCrashed(Exception):
    """The worker process parsing a page died (the page is reported, the crawl goes on)."""


def read_article_page(
    body: bytes, url: str, headers: Mapping[str, str]
) -> tuple[ArticleRecord | NotAnArticle, PageLinks, list[str]]:
    """The record, the links and the problems that make a record not an article."""
    result, links = parse_page(body, url, headers)
    problems = health.record_problems(result) if isinstance(result, ArticleRecord) else []
    return result, links, problems


def read_list_page(
    body: bytes, url: str, headers: Mapping[str, str], board: site.Board
) -> PageLinks:
    return find_links(body, url, headers, board)


def worker_count(settings: Any) -> int:
    """UNPOG_PARSE_WORKERS: a number, or 'auto' (one worker when politeness is off and the
    machine has a core to spare, else 0: parse in the crawl process)."""
    value = str(settings.get("UNPOG_PARSE_WORKERS", "auto")).strip().lower()
    if value != "auto":
        try:
            workers = int(value)
        except ValueError:
            message = f"UNPOG_PARSE_WORKERS must be 'auto' or a number, not {value!r}"
            raise ValueError(message) from None
        if workers < 0:
            raise ValueError("UNPOG_PARSE_WORKERS must be 'auto' or a number >= 0")
        return workers
    polite = settings.getfloat("DOWNLOAD_DELAY") >= POLITE_DELAY
    return 0 if polite or (os.cpu_count() or 1) < 2 else 1


class PageParser:
    """Runs the page readers inline (no workers) or in a process pool."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._deaths_in_a_row = 0  # pools that died with no page read since

    async def article_page(
        self, body: bytes, url: str, headers: Mapping[str, str]
    ) -> tuple[ArticleRecord | NotAnArticle, PageLinks, list[str]]:
        return await self._run(read_article_page, body, url, headers)

    async def list_page(
        self, body: bytes, url: str, headers: Mapping[str, str], board: site.Board
    ) -> PageLinks:
        return await self._run(read_list_page, body, url, headers, board)

    async def _run(self, function: Any, *args: Any) -> Any:
        pool = (self._pool or self._start()) if self.workers else None
        if pool is None:
            return function(*args)
        try:
            result = await asyncio.get_running_loop().run_in_executor(pool, function, *args)
        except BrokenProcessPool:
            if self._pool is pool:  # the first page to notice replaces the pool
                self._replace(pool)
            raise ParserCrashed("the parser process died reading the page") from None
        self._deaths_in_a_row = 0
        return result

    def _replace(self, pool: ProcessPoolExecutor) -> None:
        self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)
        self._deaths_in_a_row += 1
        if self._deaths_in_a_row >= MAX_POOL_DEATHS:
            # Workers that cannot even start (no /dev/shm, a sandbox) would fail every
            # page; the crawl process can still parse them itself.
            logger.warning(
                "Parser processes died %d times in a row: parsing in the crawl process",
                self._deaths_in_a_row,
            )
            self.workers = 0

    def _start(self) -> ProcessPoolExecutor | None:
        # forkserver, not fork: forking a process that runs a reactor and threads can copy
        # a lock in a held state; the server process imports the parser once.
        try:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["unpog_crawler.parse_pool"])
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        except (OSError, ValueError, ImportError) as error:
            logger.warning(
                "Cannot start parser processes (%s): parsing in the crawl process", error
            )
            self.workers = 0
            return None
        logger.info("Parsing pages in %d worker process(es)", self.workers)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
