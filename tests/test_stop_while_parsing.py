"""SIGTERM while a page is read stops the crawl now, not when the page is done (issue 18).

A page that takes minutes to read (a quadratic pattern on a hostile attribute did) used to
keep the crawl, deaf to SIGTERM, and its archive row "running". Here a call that sleeps
stands for such a page: run in a real worker process or inline, as the crawl runs pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred

from unpog_crawler.parse.pool import PageParser, ParserCrashed

A_PAGE_READ_FOR_MINUTES = 60.0  # seconds; the test ends long before, unless the stop is lost


async def awaited(coroutine):
    return await Deferred.fromFuture(asyncio.ensure_future(coroutine))


@contextlib.contextmanager
def scrapy_like_stop_handler() -> Iterator[list[int]]:
    """A Python SIGTERM handler that only records the signal, as Scrapy's only asks the
    event loop to stop; the signals it saw are yielded."""
    seen: list[int] = []

    def handler(signum: int, frame: object) -> None:
        seen.append(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield seen
        # Between pages, the handler is the crawl's own again.
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize("workers", [0, 1], ids=["inline", "in_a_worker"])
@pytest_twisted.ensureDeferred
async def test_sigterm_while_a_page_is_read_gives_the_page_up(workers):
    parser = PageParser(workers)
    try:
        with scrapy_like_stop_handler() as seen:
            threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
            started = time.monotonic()
            with pytest.raises(ParserCrashed, match="stopped while the page was read"):
                await awaited(parser._run(time.sleep, A_PAGE_READ_FOR_MINUTES))
            # Not a timing assertion: the page, had it been waited for, would still be read.
            assert time.monotonic() - started < A_PAGE_READ_FOR_MINUTES
            assert seen == [signal.SIGTERM]  # Scrapy's handler still ran: the crawl stops
            # Pages that arrive while the crawl stops are not read either.
            with pytest.raises(ParserCrashed, match="the crawl is stopping"):
                await awaited(parser._run(len, b"page"))
    finally:
        parser.close()
