"""Parsing in worker processes (UNPOG_PARSE_WORKERS): same archive, and a dying worker
costs one page, not the crawl."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import operator
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator

import pytest
import pytest_twisted
from conftest import crawl, fixture_bytes
from scrapy.settings import Settings
from twisted.internet.defer import Deferred

from unpog_crawler.items import ArticleRecord
from unpog_crawler.parse import pool as parse_pool
from unpog_crawler.parse.pool import PageParser, ParserCrashed, read_article_page, worker_count

VIEW_URL = "https://unpog.org/page/sub4_3_view.asp?sn=72"


def archived(db_path) -> list[tuple]:
    connection = sqlite3.connect(db_path)
    try:
        return connection.execute(
            "select url, version, content_hash, body_html, changed_fields from versions "
            "order by url, version"
        ).fetchall()
    finally:
        connection.close()


@contextlib.contextmanager
def running_parser(workers: int) -> Iterator[PageParser]:
    parser = PageParser(workers)
    try:
        yield parser
    finally:
        parser.close()


async def kill_the_worker_mid_page(parser: PageParser) -> None:
    """A worker dies while it reads a page: that page fails with ParserCrashed."""
    with pytest.raises(ParserCrashed, match="parser process died"):
        await awaited(parser._run(signal.raise_signal, signal.SIGKILL))


async def awaited(coroutine):
    return await Deferred.fromFuture(asyncio.ensure_future(coroutine))


@pytest_twisted.ensureDeferred
async def test_a_crawl_parsed_in_a_worker_archives_what_an_inline_crawl_does(
    replica, tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="unpog_crawler.parse.pool")
    inline, pooled = tmp_path / "inline" / "a.db", tmp_path / "pooled" / "a.db"

    first = await crawl(replica.base_url, inline, UNPOG_PARSE_WORKERS=0)
    assert "worker process" not in caplog.text
    second = await crawl(replica.base_url, pooled, UNPOG_PARSE_WORKERS=2)
    assert "Parsing pages in 2 worker process(es)" in caplog.text

    assert archived(pooled) == archived(inline)
    assert len(archived(inline)) == first["new"] == second["new"] > 0
    assert (second["complete"], second["parse_failures"], second["errors"]) == (1, 0, 0)


@pytest_twisted.ensureDeferred
async def test_a_worker_that_dies_fails_its_page_and_a_new_worker_reads_the_next():
    with running_parser(1) as parser:
        await kill_the_worker_mid_page(parser)

        result, links, problems = await awaited(
            parser.article_page(fixture_bytes("article_p.html"), VIEW_URL, {})
        )

    assert isinstance(result, ArticleRecord) and result.body_text
    assert (result, links, problems) == read_article_page(
        fixture_bytes("article_p.html"), VIEW_URL, {}
    )


@pytest.mark.parametrize(
    ("value", "delay", "expected"),
    [("0", 0, 0), ("3", 2, 3), ("auto", 2, 0), ("auto", 0.5, 0)],
)
def test_worker_count_from_settings(value, delay, expected):
    settings = Settings({"UNPOG_PARSE_WORKERS": value, "DOWNLOAD_DELAY": delay})
    assert worker_count(settings) == expected


def test_auto_uses_one_worker_when_politeness_is_off_on_a_multicore_machine(monkeypatch):
    settings = Settings({"UNPOG_PARSE_WORKERS": "auto", "DOWNLOAD_DELAY": 0})
    monkeypatch.setattr(parse_pool.os, "cpu_count", lambda: 4)
    assert worker_count(settings) == 1
    monkeypatch.setattr(parse_pool.os, "cpu_count", lambda: 1)
    assert worker_count(settings) == 0


@pytest.mark.parametrize("value", ["many", "-1", "1.5"])
def test_a_bad_worker_count_is_refused_with_a_clear_message(value):
    with pytest.raises(ValueError, match="UNPOG_PARSE_WORKERS must be"):
        worker_count(Settings({"UNPOG_PARSE_WORKERS": value}))


@pytest_twisted.ensureDeferred
async def test_a_crawl_with_a_bad_worker_count_does_not_start(replica, db_path):
    with pytest.raises(AssertionError, match="did not open the archive"):
        await crawl(replica.base_url, db_path, UNPOG_PARSE_WORKERS="many")
    assert not db_path.exists()


@pytest_twisted.ensureDeferred
async def test_workers_that_keep_dying_give_way_to_parsing_in_the_crawl_process():
    with running_parser(1) as parser:
        for _ in range(parse_pool.MAX_POOL_DEATHS):
            await kill_the_worker_mid_page(parser)

        result, _links, _problems = await awaited(
            parser.article_page(fixture_bytes("article_p.html"), VIEW_URL, {})
        )

    assert parser.workers == 0 and parser._pool is None
    assert isinstance(result, ArticleRecord)


@pytest_twisted.ensureDeferred
async def test_a_page_read_between_deaths_keeps_the_workers():
    with running_parser(1) as parser:
        for _ in range(parse_pool.MAX_POOL_DEATHS):
            await kill_the_worker_mid_page(parser)
            await awaited(parser.article_page(fixture_bytes("article_p.html"), VIEW_URL, {}))

    assert parser.workers == 1


@pytest_twisted.ensureDeferred
async def test_answers_find_their_calls_when_many_are_in_flight_across_workers():
    with running_parser(2) as parser:
        answers = await awaited(
            asyncio.gather(*(parser._run(operator.mul, number, number) for number in range(200)))
        )
        busy = [(worker.busy, len(worker.waiting)) for worker in parser._pool.workers]

    assert answers == [number * number for number in range(200)]
    assert busy == [(0, 0), (0, 0)]


@pytest_twisted.ensureDeferred
async def test_an_error_in_a_worker_reaches_the_caller_as_it_would_inline():
    with running_parser(1) as parser:
        with pytest.raises(ZeroDivisionError):
            await awaited(parser._run(operator.truediv, 1, 0))
        with pytest.raises(RuntimeError, match="unpicklable answer"):
            await awaited(parser._run(threading.Lock))
        assert await awaited(parser._run(operator.add, 2, 3)) == 5
    assert parser._deaths_in_a_row == 0


@pytest_twisted.ensureDeferred
async def test_ctrl_c_is_left_to_the_crawl_and_close_ends_the_workers():
    with running_parser(2) as parser:
        warm_up = asyncio.gather(*(parser._run(operator.add, n, 0) for n in (1, 2)))
        assert await awaited(warm_up) == [1, 2]  # each worker answered once: both are serving
        processes = [worker.process for worker in parser._pool.workers]
        for process in processes:
            os.kill(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends to all of them
        answers = asyncio.gather(*(parser._run(operator.add, n, 1) for n in range(10)))
        assert await awaited(answers) == list(range(1, 11))

    assert parser._pool is None
    assert [process.is_alive() for process in processes] == [False, False]
    assert [process.exitcode for process in processes] == [0, 0]  # they ended, not killed


@pytest_twisted.ensureDeferred
async def test_a_worker_killed_between_pages_fails_the_next_page_only():
    with running_parser(1) as parser:
        await awaited(parser._run(operator.add, 1, 1))
        process = parser._pool.workers[0].process
        process.kill()
        process.join(5)
        await awaited(asyncio.sleep(0.2))  # the crawl's loop reads the end of the socket
        with pytest.raises(ParserCrashed):
            await awaited(parser._run(operator.add, 1, 1))
        assert await awaited(parser._run(operator.add, 2, 2)) == 4
