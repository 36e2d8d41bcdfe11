"""Parsing off the reactor thread, for crawls that fetch faster than one core can parse.

A polite crawl of the live site fetches a page every two seconds or so: parsing it in the
crawl process costs nothing, and that is what happens (``UNPOG_PARSE_WORKERS=0``). With
politeness off (a local mirror, the replica, a benchmark) the crawl process is CPU-bound
and parsing is its largest share, so pages are parsed in worker processes
(one socket each, read by the crawl's own event loop), on the cores Scrapy's single
thread leaves idle.

The functions run in a worker are pure (bytes, URL and headers in; records and links out),
so both ways give the same result. A worker that dies on a page (a crash in a C library, an
out-of-memory kill) fails that page only: it is reported, and a new pool takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from unpog_crawler import health, site
from unpog_crawler.items import ArticleRecord, NotAnArticle
from unpog_crawler.parse import PageLinks, find_links, parse_page

logger = logging.getLogger(__name__)

# Seconds of download delay from which a crawl counts as polite: parsing inline then.
POLITE_DELAY = 0.25
# Worker pools that may die in a row, with no page read in between, before parsing inline.
MAX_POOL_DEATHS = 3
# Seconds a worker gets to exit once the crawl hangs up, before it is killed.
CLOSE_TIMEOUT = 5.0


DIED = "the parser process died reading the page"
STOPPED = "the crawl was stopped while the page was read"
STOPPING = "not read: the crawl is stopping"
# The signals that stop a crawl (Scrapy's shutdown handlers); a page being read when one
# arrives is given up, so that the crawl stops now rather than when the page is done.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ParserCrashed(Exception):
    """The worker process parsing a page died (the page is reported, the crawl goes on)."""


class ParseInterrupted(ParserCrashed):
    """The crawl was told to stop while the page was read: the page is not read."""


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
    """Runs the page readers inline (no workers) or in worker processes."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: _Workers | None = None
        self._deaths_in_a_row = 0  # pools that died with no page read since
        self.stopping = False  # a stop signal came: no page is read any more
        self._reading = 0  # pages being read now
        self._reading_inline = False  # one is being read on this thread's stack
        self._wrapped: dict[int, Any] = {}  # stop signal -> the handler our own one calls
        self._loop: asyncio.AbstractEventLoop | None = None

    async def article_page(
        self, body: bytes, url: str, headers: Mapping[str, str]
    ) -> tuple[ArticleRecord | NotAnArticle, PageLinks, list[str]]:
        return await self._run(read_article_page, body, url, headers)

    async def list_page(
        self, body: bytes, url: str, headers: Mapping[str, str], board: site.Board
    ) -> PageLinks:
        return await self._run(read_list_page, body, url, headers, board)

    async def _run(self, function: Any, *args: Any) -> Any:
        if self.stopping:
            raise ParseInterrupted(STOPPING)
        with self._stoppable():
            pool = (self._pool or self._start()) if self.workers else None
            if pool is None:
                return self._inline(function, args)
            try:
                result = await pool.call(function, args)
            except ParserCrashed:
                if self._pool is pool:  # the first page to notice replaces the pool
                    self._replace(pool)
                raise
        self._deaths_in_a_row = 0
        return result

    def _inline(self, function: Any, args: tuple[Any, ...]) -> Any:
        self._reading_inline = True
        try:
            return function(*args)
        finally:
            self._reading_inline = False

    # ---- stop signals while a page is read -----------------------------------------------
    # Scrapy's SIGTERM/SIGINT handler only asks the event loop to stop the crawl, which
    # waits for the pages being read: one that takes minutes (or a worker that does) would
    # keep the crawl, and its archive row, "running" that long. While pages are read, the
    # stop signals go through `_stop_signal` first, which calls Scrapy's handler and then
    # gives the pages up: inline by raising out of the parse, in workers by killing them.

    @contextlib.contextmanager
    def _stoppable(self) -> Iterator[None]:
        if self._reading == 0:
            self._wrap_stop_signals()
        self._reading += 1
        try:
            yield
        finally:
            self._reading -= 1
            if self._reading == 0:
                self._unwrap_stop_signals()

    def _wrap_stop_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers belong to the main thread
        self._loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            handler = signal.getsignal(signum)
            if callable(handler):  # a Python handler (Scrapy's): not the default action
                self._wrapped[signum] = handler
                signal.signal(signum, self._stop_signal)

    def _unwrap_stop_signals(self) -> None:
        wrapped, self._wrapped = self._wrapped, {}
        for signum, handler in wrapped.items():
            # Scrapy's handler installs its "kill" handler on the first signal: keep that.
            if signal.getsignal(signum) == self._stop_signal:
                signal.signal(signum, handler)

    def _stop_signal(self, signum: int, frame: Any) -> None:
        self.stopping = True
        handler = self._wrapped.get(signum)
        if callable(handler):
            handler(signum, frame)
        if self._reading_inline:
            raise ParseInterrupted(STOPPED)
        if self._pool is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._abandon_workers)

    def _abandon_workers(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            logger.warning("Stopping: pages being read by parser processes are given up")
            pool.close(wait=False, kill=True)

    def _replace(self, pool: _Workers) -> None:
        self._pool = None
        pool.close(wait=False)
        self._deaths_in_a_row += 1
        if self._deaths_in_a_row >= MAX_POOL_DEATHS:
            # Workers that cannot even start (no /dev/shm, a sandbox) would fail every
            # page; the crawl process can still parse them itself.
            logger.warning(
                "Parser processes died %d times in a row: parsing in the crawl process",
                self._deaths_in_a_row,
            )
            self.workers = 0

    def _start(self) -> _Workers | None:
        try:
            self._pool = _Workers(self.workers)
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
            self._pool.close(wait=True)
            self._pool = None


# --- The worker processes -------------------------------------------------------------------
# concurrent.futures.ProcessPoolExecutor costs the crawl process ~0.25 ms of CPU per call
# (two helper threads, their GIL hand-offs, a queue per direction); a socket per worker,
# read by the crawl's own event loop, costs ~0.04 ms (bench/RESULTS.md, benchmark 1).

_FRAME = struct.Struct("!Q")  # length of the pickle that follows


def _frame(message: Any) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _FRAME.pack(len(data)) + data


def _serve(connection: socket.socket) -> None:
    """A worker: answers each (number, function, args) in turn until the crawl hangs up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the crawl's: it closes us
    with connection, connection.makefile("rb") as calls, connection.makefile("wb") as answers:
        while len(head := calls.read(_FRAME.size)) == _FRAME.size:
            number, function, args = pickle.loads(calls.read(_FRAME.unpack(head)[0]))
            try:
                answer = (number, True, function(*args))
            except Exception as error:  # the caller's to handle, as if called inline
                answer = (number, False, error)
            try:
                frame = _frame(answer)
            except Exception as error:  # an answer that cannot travel
                frame = _frame((number, False, RuntimeError(f"unpicklable answer: {error!r}")))
            answers.write(frame)
            answers.flush()


class _Worker:
    """One worker process and the socket to it; answers come back by call number."""

    def __init__(self, context: Any) -> None:
        self._socket, theirs = socket.socketpair()
        try:
            self.process = context.Process(
                target=_serve, args=(theirs,), name="unpog-parser", daemon=True
            )
            self.process.start()
        except BaseException:
            self._socket.close()
            raise
        finally:
            theirs.close()
        self.waiting: dict[int, asyncio.Future[Any]] = {}
        self.busy = 0  # calls sent or about to be, for the pool to choose the least busy
        self._numbers = itertools.count()
        self._connected: asyncio.Future[asyncio.StreamWriter] | None = None
        self._reading: asyncio.Task[None] | None = None
        self.dead = False

    async def call(self, function: Any, args: tuple[Any, ...]) -> Any:
        if self._connected is None:
            self._connected = asyncio.ensure_future(self._connect())
        try:
            writer = await self._connected
        except OSError as error:
            self.dead = True
            raise ParserCrashed(f"cannot reach the parser process: {error}") from None
        if self.dead:
            raise ParserCrashed(DIED)
        number = next(self._numbers)
        answer = self.waiting[number] = asyncio.get_running_loop().create_future()
        writer.write(_frame((number, function, args)))
        return await answer

    async def _connect(self) -> asyncio.StreamWriter:
        reader, writer = await asyncio.open_unix_connection(sock=self._socket)
        self._reading = asyncio.ensure_future(self._read_answers(reader))
        return writer

    async def _read_answers(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                (size,) = _FRAME.unpack(await reader.readexactly(_FRAME.size))
                number, ok, value = pickle.loads(await reader.readexactly(size))
                answer = self.waiting.pop(number, None)
                if answer is None or answer.done():
                    continue
                if ok:
                    answer.set_result(value)
                else:
                    answer.set_exception(value)
        except (asyncio.IncompleteReadError, OSError):
            pass  # the worker is gone
        except Exception:  # an answer that cannot be read: the worker is not trusted further
            logger.exception("Unreadable answer from a parser process")
            self.process.kill()
        finally:
            self._died()

    def _died(self, error: type[ParserCrashed] = ParserCrashed, reason: str = DIED) -> None:
        self.dead = True
        waiting, self.waiting = self.waiting, {}
        for answer in waiting.values():
            if not answer.done():
                answer.set_exception(error(reason))

    def close(self, wait: bool, kill: bool = False) -> None:
        """Hang up (the worker ends after its page); with `kill`, end it now."""
        if kill:
            self.process.kill()
            self._died(ParseInterrupted, STOPPED)
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # the worker reads the end of its calls
        if self._connected is not None and self._connected.done():
            self._connected.result().close()
        elif self._connected is not None:
            self._connected.cancel()
        else:
            self._socket.close()
        if self._reading is not None:
            self._reading.cancel()
        self._died()
        if wait:
            self.process.join(CLOSE_TIMEOUT)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(CLOSE_TIMEOUT)


class _Workers:
    """The worker processes of one pool: each call goes to the least busy."""

    def __init__(self, count: int) -> None:
        # forkserver, not fork: forking a process that runs a reactor and threads can copy
        # a lock in a held state; the server process imports the parser once.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["unpog_crawler.parse.pool"])
        self.workers: list[_Worker] = []
        try:
            for _ in range(count):
                self.workers.append(_Worker(context))
        except BaseException:
            self.close(wait=False)
            raise

    async def call(self, function: Any, args: tuple[Any, ...]) -> Any:
        worker = min(self.workers, key=lambda worker: worker.busy)
        worker.busy += 1
        try:
            return await worker.call(function, args)
        finally:
            worker.busy -= 1

    def close(self, wait: bool, kill: bool = False) -> None:
        for worker in self.workers:
            worker.close(wait, kill)
