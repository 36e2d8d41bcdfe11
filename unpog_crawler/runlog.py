"""What a scheduled run leaves behind and shows: a log file per spider, a live progress line.

- `spider_log_file()` copies the log of one spider's run into the archive's logs folder,
  ``archive/unpog/logs/unpog-YYYYmmddTHHMMSSZ-<spider>.log`` (console output goes on as
  before), and keeps only the newest `UNPOG_LOG_KEEP` files of that spider.
- `OneLineConsole` (a Scrapy extension `unpog crawl` enables) prints each console record on
  one line, its traceback only in the log file, and nothing more once the site proved
  unreachable (`unpog_crawler.reach`): `unpog crawl` says that in one line.
- `ProgressLine` is a Scrapy extension that redraws one line on the terminal with the crawl
  row's counters (the figures of the summary line that replaces it); `unpog crawl` enables it
  (`UNPOG_PROGRESS`) only when stderr is a terminal, so cron and systemd get plain log lines.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.log import get_scrapy_root_handler

from unpog_crawler import folders
from unpog_crawler.reach import UNREACHABLE_STAT
from unpog_crawler.signals import archive_opened

logger = logging.getLogger(__name__)

LOG_NAME = re.compile(r"^unpog-(?P<stamp>\d{8}T\d{6}Z)-(?P<spider>.+)\.log$")
PROGRESS_EXTENSION = "unpog_crawler.runlog.ProgressLine"
CONSOLE_EXTENSION = "unpog_crawler.runlog.OneLineConsole"
# Erase the terminal line: carriage return, then "erase to end of line".
CLEAR_LINE = "\r\033[K"


# --- Log files -----------------------------------------------------------------------------


def log_dir(db_path: str | Path) -> Path:
    """Logs live in the archive's own folder (archive/unpog/logs/), so that one backup holds
    both and two archives never mix their logs."""
    return folders.companion_dir(db_path, folders.LOGS)


def log_file_name(spider: str, when: datetime) -> str:
    return f"unpog-{when.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{spider}.log"


def prune_logs(directory: Path, spider: str, keep: int) -> list[Path]:
    """Delete all but the `keep` newest log files of `spider`; return the deleted paths.

    The UTC time stamp in the name sorts in time order, whatever the files' mtimes say
    (a restored backup or a copy resets those).
    """
    mine = sorted(
        path
        for path in directory.glob("unpog-*.log")
        if (match := LOG_NAME.match(path.name)) and match["spider"] == spider
    )
    doomed = mine[: max(len(mine) - keep, 0)]
    for path in doomed:
        with contextlib.suppress(FileNotFoundError):  # another run pruned it first
            path.unlink()
    return doomed


def file_log_level(settings: Settings) -> int:
    """INFO at least: the file is the record of an unattended run, even when the console
    was quietened with -L WARNING; DEBUG when asked for."""
    level = settings.get("LOG_LEVEL", "INFO")
    if isinstance(level, str):
        level = logging.getLevelName(level.upper())
    return min(level, logging.INFO) if isinstance(level, int) else logging.INFO


@contextlib.contextmanager
def spider_log_file(settings: Settings, spider: str) -> Iterator[Path | None]:
    """Copy every log record to a new file for one spider's run; yield its path.

    Yields None (and logs a warning) when logging to a file is off (`UNPOG_LOG_KEEP=0`) or the
    directory cannot be written: a missing log file must not stop a scheduled crawl.
    """
    keep = settings.getint("UNPOG_LOG_KEEP", 30)
    if keep <= 0:
        yield None
        return
    directory = log_dir(settings.get("UNPOG_ARCHIVE_DB"))
    path = directory / log_file_name(spider, datetime.now(timezone.utc))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    except OSError as error:
        logger.warning("No log file for this run: cannot write %s (%s)", path, error.strerror)
        yield None
        return
    handler.setFormatter(
        logging.Formatter(settings.get("LOG_FORMAT"), settings.get("LOG_DATEFORMAT"))
    )
    handler.setLevel(file_log_level(settings))
    logging.root.addHandler(handler)
    try:
        prune_logs(directory, spider, keep)
        yield path
    finally:
        logging.root.removeHandler(handler)
        handler.close()


# --- Console -------------------------------------------------------------------------------


class _WithoutTraceback(logging.Formatter):
    """Console lines without tracebacks: the run's log file keeps them."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        dropped = bool(record.exc_info or record.exc_text or record.stack_info)
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            text = super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved
        return text + " (traceback in the log file)" if dropped else text


class _QuietOnceUnreachable(logging.Filter):
    """Nothing more on the console once the site proved unreachable: `unpog crawl` says so
    in one line, and the log file keeps the rest."""

    def __init__(self, stats: Any) -> None:
        super().__init__()
        self.stats = stats

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.CRITICAL or not self.stats.get_value(UNREACHABLE_STAT)


class OneLineConsole:
    """Scrapy extension `unpog crawl` enables: each console record on one line (tracebacks
    go to the run's log file only; with no log file, UNPOG_LOG_KEEP=0, they stay), and a
    quiet console once the site proved unreachable (`reach.py`)."""

    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.keep_tracebacks = settings.getint("UNPOG_LOG_KEEP", 30) <= 0
        self.formatter = _WithoutTraceback(
            settings.get("LOG_FORMAT"), settings.get("LOG_DATEFORMAT")
        )
        self.quiet = _QuietOnceUnreachable(crawler.stats)
        self.handler: logging.Handler | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> OneLineConsole:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        # Not at spider_closed: the archive pipeline's last lines come after that.
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def spider_opened(self, spider: Any) -> None:
        # Scrapy re-creates its console handler for each crawler: shape the current one.
        self.handler = get_scrapy_root_handler()
        if self.handler is None:  # logging left to the caller (tests, scrapyd)
            return
        if not self.keep_tracebacks:
            self.handler.setFormatter(self.formatter)
        self.handler.addFilter(self.quiet)

    def engine_stopped(self) -> None:
        if self.handler is not None:
            self.handler.removeFilter(self.quiet)


# --- Progress line -------------------------------------------------------------------------


def format_elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# The crawl row's counters the line shows, as `unpog crawl`'s summary line names them.
PROGRESS_COUNTS = ("pages", "articles_seen", "new", "changed", "errors")


def progress_text(spider: str, counts: dict[str, Any], elapsed: float) -> str:
    """One line from the crawl row's counters (`PROGRESS_COUNTS`), so that it says what the
    summary line will: what an operator watches while it runs."""
    shown = {name: counts.get(name) or 0 for name in PROGRESS_COUNTS}
    return (
        f"{spider}: {shown['pages']} pages, {shown['articles_seen']} articles, "
        f"{shown['new']} new, {shown['changed']} changed, {shown['errors']} errors, "
        f"{format_elapsed(elapsed)} elapsed"
    )


class _ClearBeforeLogging(logging.Filter):
    """Erase the progress line before the console handler prints a record over it; the next
    tick redraws it below the record."""

    def __init__(self, progress: ProgressLine) -> None:
        super().__init__()
        self.progress = progress

    def filter(self, record: logging.LogRecord) -> bool:
        self.progress.clear()
        return True


class ProgressLine:
    """Scrapy extension: redraw `progress_text` on the terminal every `UNPOG_PROGRESS_INTERVAL`
    seconds, and leave the final line in place when the spider closes."""

    def __init__(self, crawler: Any, stream: TextIO, interval: float) -> None:
        self.crawler = crawler
        self.stream = stream
        self.interval = interval
        self.started = time.monotonic()
        self.shown = False
        self.loop: Any = None
        self.filter = _ClearBeforeLogging(self)
        self.handler: logging.Handler | None = None
        self.archive: Any = None  # the pipeline's archive and crawl row (archive_opened)
        self.crawl_id: int | None = None
        self.counts: dict[str, Any] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> ProgressLine:
        if not crawler.settings.getbool("UNPOG_PROGRESS"):
            raise NotConfigured  # no message: Scrapy would log it as a warning
        interval = crawler.settings.getfloat("UNPOG_PROGRESS_INTERVAL", 1.0)
        extension = cls(crawler, sys.stderr, interval)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.archive_opened, signal=archive_opened)
        return extension

    def archive_opened(self, archive: Any, crawl_id: int) -> None:
        self.archive, self.crawl_id = archive, crawl_id

    def spider_opened(self, spider: Any) -> None:
        from twisted.internet import task  # the reactor is installed by now

        self.started = time.monotonic()
        # Scrapy re-creates its console handler for each crawler: attach to the current one.
        self.handler = get_scrapy_root_handler()
        if self.handler is not None:
            self.handler.addFilter(self.filter)
        self.loop = task.LoopingCall(self.draw)
        self.loop.start(self.interval, now=True)

    def spider_closed(self, spider: Any) -> None:
        """Draw the last counts, then give the line to `unpog crawl`'s summary, which adds
        what the crawl's end finds (pages that never got an answer)."""
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.handler is not None:
            self.handler.removeFilter(self.filter)
        self.draw()
        self.clear()

    def draw(self) -> None:
        elapsed = time.monotonic() - self.started
        text = progress_text(self.crawler.spidercls.name, self._counts(), elapsed)
        self.stream.write(CLEAR_LINE + text)
        self.stream.flush()
        self.shown = True

    def _counts(self) -> dict[str, Any]:
        """The crawl row's counters now (the last ones read if it cannot be read)."""
        if self.archive is not None and self.crawl_id is not None:
            with contextlib.suppress(Exception):  # closed or busy: the line is only a view
                self.counts = self.archive.crawl(self.crawl_id)
        return self.counts

    def clear(self) -> None:
        if self.shown:
            self.stream.write(CLEAR_LINE)
            self.stream.flush()
            self.shown = False
