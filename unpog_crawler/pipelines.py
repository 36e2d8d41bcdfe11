"""The Scrapy item pipelines: an article's files are downloaded, then the archive records it.

`ArchivePipeline` hands every record the spider yields to the archive. All rules
(versioning, removal, counts) live in `unpog_crawler.archive`; it only follows Scrapy's
lifecycle: open the archive and start a crawl row when the spider opens, pass items on, and
close the crawl row with the truth about how the crawl ended.

`ArchiveFilesPipeline` (attachments and images, with Scrapy's files machinery) runs before
it: for each article it downloads every attachment and image on the site's own host, stores
the bytes in the archive's files folder (`archive/unpog/files/`) by their SHA-256
(`ab/ab12….pdf`: the same bytes are stored once, whatever their URL), and hands the article
on with `downloads` filled in. The archive then records them in its `files` table; a file
whose bytes change at the same URL becomes a new row there, and a new version of the article
says `files` changed. Every linked file is downloaded on every crawl that reads the article:
a changed PDF at an unchanged URL can only be seen by fetching it (FILES_EXPIRES caching
would hide it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import mimetypes
import sqlite3
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from scrapy import Request, Spider, signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.pipelines.files import FilesPipeline

from unpog_crawler import folders, health, site
from unpog_crawler.archive import Archive, ArchiveError, CurrentParser, utc_now
from unpog_crawler.capture.reread import CaptureRereader
from unpog_crawler.items import (
    ArticleRecord,
    ListPageAnswer,
    NotModified,
    PageFetched,
    PageProblem,
    StoredFile,
)
from unpog_crawler.parse import article as article_parser
from unpog_crawler.parse.list_rows import ListRow
from unpog_crawler.signals import archive_opened

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Settings recorded on each crawl row: enough to know how a capture was made.
RECORDED_SETTINGS = (
    "UNPOG_BASE_URL",
    "UNPOG_QUARTERLY_LIST_PATH",
    "UNPOG_NEWS_BOARDS",
    "UNPOG_RECHECK_KNOWN",
    "UNPOG_CONDITIONAL_REQUESTS",
    "UNPOG_DOWNLOAD_FILES",
    "DOWNLOAD_MAXSIZE",
    "USER_AGENT",
    "ROBOTSTXT_OBEY",
    "DOWNLOAD_DELAY",
    "CONCURRENT_REQUESTS_PER_DOMAIN",
    "AUTOTHROTTLE_ENABLED",
    "UNPOG_REVISIT",
    "UNPOG_REVISIT_MAX_AGE",
    "UNPOG_REVISIT_BUDGET",
)


def crawl_status(close_reason: str, spider: Spider) -> tuple[str, bool]:
    """(status, complete) for a crawl that closed for `close_reason`."""
    if close_reason == "shutdown":
        return "interrupted", False
    if close_reason != "finished" or not getattr(spider, "list_pages_read", None):
        return "failed", False
    return "finished", bool(spider.listing_complete)


class ArchivePipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.db_path = crawler.settings.get("UNPOG_ARCHIVE_DB")
        self.archive: Archive | None = None
        self.crawl_id: int | None = None
        self._lock: contextlib.ExitStack | None = None
        # What the health rules need beyond the crawl row's counts.
        self.archived: set[str] = set()  # live articles when the crawl started
        self.seen: set[str] = set()
        self.listed: set[str] = set()
        # Articles whose own page says they are gone: removed only when the crawl finishes
        # healthy, so that an outage or a redesign cannot remove the archive page by page.
        self.gone: dict[str, str] = {}
        self.gone_parse_failures = 0
        self.detectors = health.ContentDetectors()
        # Writes the archive refused (locked past the busy timeout, disk full): url -> why.
        # Any makes the crawl incomplete, so that it removes nothing.
        self.not_archived: dict[str, str] = {}
        self.rereader: CaptureRereader | None = None
        # What this crawl's list pages showed of each post: recorded with the post when it
        # is fetched (the next crawl's hints are measured against it).
        self.rows: dict[str, ListRow] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchivePipeline:
        pipeline = cls(crawler)
        # spider_closed carries the close reason, which close_spider does not.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self, spider: Spider | None = None) -> None:
        spider = spider or self.crawler.spider
        if getattr(spider, "setting_problem", None):
            return  # the spider will not crawl: leave the archive untouched
        settings = self.crawler.settings
        archive = Archive(
            self.db_path, busy_timeout=settings.getfloat("UNPOG_ARCHIVE_BUSY_TIMEOUT")
        )
        self._lock = contextlib.ExitStack()
        self._lock.callback(archive.close)
        try:
            self._lock.enter_context(archive.lock())
            recorded = {name: settings.get(name) for name in RECORDED_SETTINGS}
            started_at = utc_now()
            self.crawl_id = archive.start_crawl(
                spider.name, settings.get("UNPOG_BASE_URL"), started_at, recorded
            )
        except (ArchiveError, sqlite3.Error):
            self._lock.close()
            raise
        self.archive = archive
        # A record that differs from a version an older parser wrote is compared with that
        # version's capture read again by this parser (a parser change is not a site change).
        self.rereader = CaptureRereader(archive, settings.getint("DOWNLOAD_MAXSIZE"))
        self._lock.callback(self.rereader.close)
        archive.parser = CurrentParser(article_parser.PARSER_VERSION, self.rereader)
        # The spider re-checks archived articles; it must not open a second connection to
        # the file in this process (closing it would drop SQLite's POSIX locks).
        spider.archived_urls = archive.live_urls(spider.name)
        spider.http_validators = archive.validators(spider.name)
        spider.list_page_validators = archive.list_page_validators(spider.name)
        spider.stored_list_links = archive.list_page_links  # read on a list page's 304
        # What the revisit policy plans from: each post's history, and the crawl's times.
        spider.revisit_history = archive.known_posts(spider.name)
        spider.crawl_started_at = started_at
        spider.previous_crawl_started_at = archive.previous_crawl_start(spider.name, self.crawl_id)
        self.archived = set(spider.archived_urls)
        # Rules over the bodies themselves (furniture that leaks whatever the markup).
        self.detectors = health.ContentDetectors(
            health.thresholds(settings), known_titles=archive.titles(spider.name)
        )
        self.crawler.stats.set_value("unpog/crawl_id", self.crawl_id)
        self.crawler.signals.send_catch_log(archive_opened, archive=archive, crawl_id=self.crawl_id)
        self.crawler.stats.set_value("unpog/archive_db", str(self.archive.path))
        logger.info("Crawl %s started into %s", self.crawl_id, self.archive.path)
        self.commit_interval = settings.getfloat("UNPOG_COMMIT_INTERVAL")
        if self.commit_interval > 0:
            archive.begin_batch()
        self.last_commit = time.monotonic()

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        archive, crawl_id, name = self.archive, self.crawl_id, self.crawler.spider.name
        if isinstance(item, ArticleRecord):
            if item.found_by == "link" and item.url in self.listed:
                # Parsed before its list page was read, archived after: listed all the same
                # (archived before it, record_list_page corrects the version instead).
                item = dataclasses.replace(item, found_by="list")
            row = self.rows.get(item.url)
            outcome = self.write(
                item.url, archive.record_answer, crawl_id, item, utc_now(), name, row
            )
            if outcome is not None:
                self.detectors.add(item)
                self.seen.add(item.url)
                self.crawler.stats.inc_value(f"unpog/articles/{outcome}")
                if outcome != "unchanged":
                    logger.info("%s: %s (%s)", outcome, item.url, item.title)
        elif isinstance(item, ListPageAnswer):
            self.write(item.url, archive.record_list_page, crawl_id, item, name, utc_now())
            self.listed.update(item.views)
            for row in item.rows:
                self.rows.setdefault(row.url, row)
        elif isinstance(item, PageFetched):
            self.write(item.url, archive.record_page, crawl_id)
        elif isinstance(item, NotModified):
            self.record_not_modified(item)
        elif isinstance(item, PageProblem):
            self.record_problem(item)
        self.commit_when_due()
        return item

    def write(self, url: str, method: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """One write of the page at `url`; None when the archive refused it. The refusal
        is logged and kept: the crawl then ends incomplete and removes nothing."""
        try:
            return method(*args, **kwargs)
        except (ArchiveError, sqlite3.Error) as error:  # locked, disk full: expected, one line
            reason = (
                f"{type(error).__name__}: {error}" if isinstance(error, sqlite3.Error) else error
            )
            logger.error("Not archived: %s (%s)", url, reason)
        except Exception as error:  # a bug: its traceback, and still no silent loss
            reason = f"{type(error).__name__}: {error}"
            logger.exception("Not archived: %s (%s)", url, reason)
        self.not_archived.setdefault(url, str(reason))
        self.crawler.stats.inc_value("unpog/archive/write_failures")
        return None

    def commit_when_due(self) -> None:
        """Commit the batch every UNPOG_COMMIT_INTERVAL seconds: a COMMIT (and the FTS
        segments it flushes) per page cost more than the page's own writes."""
        if self.commit_interval > 0 and time.monotonic() - self.last_commit >= self.commit_interval:
            self.write(str(self.archive.path), self.archive.commit_batch)
            self.last_commit = time.monotonic()

    def record_not_modified(self, item: NotModified) -> None:
        row = self.rows.get(item.url)
        record = self.archive.record_not_modified
        outcome = self.write(item.url, record, self.crawl_id, item.url, utc_now(), row)
        if outcome is None:
            return
        if outcome == "unknown":  # a 304 for nothing we hold is no evidence of anything
            reason = "HTTP 304 for an article the archive does not hold live"
            self.record_problem(PageProblem(item.url, "error", reason))
            return
        self.seen.add(item.url)
        self.crawler.stats.inc_value("unpog/articles/not_modified")

    def record_problem(self, item: PageProblem) -> None:
        if item.fetched:
            self.write(item.url, self.archive.record_page, self.crawl_id)
        record = self.archive.record_problem
        self.write(item.url, record, self.crawl_id, item.url, item.kind, item.reason, utc_now())
        if item.gone:
            self.gone[item.url] = item.reason
            self.gone_parse_failures += item.kind == "parse_failure"

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.archive is None or self.crawl_id is None:
            return
        try:
            # What the crawl wrote, before the verdict.
            self.write(str(self.archive.path), self.archive.commit_batch, reopen=False)
            if reason == "finished":
                self.record_unanswered(spider)  # may make the listing incomplete
            self.record_not_archived()
            status, complete = crawl_status(reason, spider)
            complete = complete and not self.not_archived
            gone = {} if self.not_archived else self.gone
            broken = self.health(spider, complete, gone)
            if broken and status == "finished":
                status = "degraded"  # removes nothing; `unpog crawl` exits non-zero
            row = self.archive.finish_crawl(
                self.crawl_id,
                status=status,
                complete=complete,
                finished_at=utc_now(),
                health=broken,
                listed=len(self.listed),
                gone=gone,
                revisit=getattr(spider, "revisit_counts", None),
            )
            for url, why in sorted(getattr(spider, "list_pages_failed", {}).items()):
                logger.warning("List page not read: %s (%s)", url, why)
            for rule in broken:
                logger.error("Health rule broken: %s: %s", rule["rule"], rule["message"])
            logger.info("Crawl %s %s: %s", self.crawl_id, status, summary_counts(row))
        except (ArchiveError, sqlite3.Error) as error:
            logger.error(
                "Crawl %s not closed (%s): it stays 'running', and the next crawl marks it "
                "interrupted; it removed nothing",
                self.crawl_id,
                error,
            )
        finally:
            self._lock.close()  # releases the lock, then closes the archive

    def record_not_archived(self) -> None:
        """Each refused write is an error of the crawl (its page is fetched again next
        time). Written now that the archive may be free; if it is not, the crawl row cannot
        be closed either, and stays 'running'."""
        if not self.not_archived:
            return
        logger.error(
            "%d pages not archived: the crawl is incomplete and removes nothing",
            len(self.not_archived),
        )
        for url, why in sorted(self.not_archived.items()):
            reason = f"not archived: {why}"
            self.archive.record_problem(self.crawl_id, url, "error", reason, utc_now())

    def record_unanswered(self, spider: Spider) -> None:
        """Pages the spider asked for that got no answer are errors, not silence."""
        for url, why in sorted(getattr(spider, "unanswered", dict)().items()):
            logger.error("Failed: %s (%s)", url, why)
            self.archive.record_problem(self.crawl_id, url, "error", why, utc_now())
            if url in getattr(spider, "list_pages_queued", ()):
                spider.list_pages_failed[url] = why

    def health(self, spider: Spider, complete: bool, gone: dict[str, str]) -> list[dict[str, str]]:
        """The health rules this crawl broke (see unpog_crawler.health)."""
        row = self.archive.crawl(self.crawl_id)
        baseline = self.archive.previous_complete_crawl(row["spider"], self.crawl_id)
        removals = self.archived & set(gone)
        if complete:
            removals |= self.archived - self.seen - self.listed
        facts = health.CrawlFacts(
            articles_seen=row["articles_seen"],
            parse_failures=row["parse_failures"] - self.gone_parse_failures,
            errors=row["errors"],
            listed=len(self.listed),
            baseline_listed=_baseline_listed(baseline),
            live_before=len(self.archived),
            removals=len(removals),
        )
        limits = health.thresholds(self.crawler.settings)
        return health.evaluate(facts, limits) + self.detectors.broken()


def _baseline_listed(crawl: dict[str, Any] | None) -> int | None:
    """Articles the previous complete crawl listed (crawls before 0003: those it read)."""
    if crawl is None:
        return None
    return crawl["listed"] if crawl.get("listed") is not None else crawl["articles_seen"]


def summary_counts(row: dict[str, Any]) -> str:
    complete = "complete" if row.get("complete") else "INCOMPLETE listing"
    counts = (
        f"{complete}; {row['articles_seen']} articles seen: {row['new']} new, "
        f"{row['changed']} changed, {row['unchanged']} unchanged, {row['removed']} removed, "
        f"{row['restored']} restored; {row['parse_failures']} parse failures, "
        f"{row['errors']} errors; {row['pages']} pages"
    )
    revisits = revisit_summary(row)
    return f"{counts}; {revisits}" if revisits else counts


def revisit_summary(row: dict[str, Any]) -> str:
    """What the crawl's revisit plan decided and since when every post is verified, e.g.
    'listed archived posts: 20 due, 236 re-fetched, 2,764 skipped; every post verified
    since 2025-03-01 02:00 UTC' (the parts the row has: crawls before 0010 have neither, a
    first crawl no plan)."""
    parts = []
    planned = (row.get("revisit_fetched") or 0) + (row.get("revisit_skipped") or 0)
    if planned:  # a first crawl has no archived post to plan
        text = (
            f"listed archived posts: {row['revisit_due']:,} due, "
            f"{row['revisit_fetched']:,} re-fetched, {row['revisit_skipped']:,} skipped"
        )
        if row.get("revisit_deferred"):
            text += f" ({row['revisit_deferred']:,} due left to later crawls by the budget)"
        parts.append(text)
    if row.get("verified_since"):
        parts.append(f"every post verified since {short_time(row['verified_since'])}")
    return "; ".join(parts)


def short_time(iso: str) -> str:
    """'2025-03-01T02:00:07.123+00:00' -> '2025-03-01 02:00 UTC' (the archive's UTC times)."""
    return f"{iso[:16].replace('T', ' ')} UTC" if len(iso) >= 16 else iso


# --- Files (attachments and images) ------------------------------------------------------


def files_dir(settings: Any) -> Path:
    """UNPOG_FILES_DIR, or the archive's own files folder (archive/unpog/files/)."""
    configured = settings.get("UNPOG_FILES_DIR")
    db_path = settings.get("UNPOG_ARCHIVE_DB")
    return folders.companion_dir(db_path, folders.FILES, configured).resolve()


def linked_files(record: ArticleRecord) -> list[tuple[str, str, str]]:
    """(url, role, name) of each attachment and image the record links, on the site only."""
    found = [(a.url, "attachment", a.name) for a in record.attachments]
    found += [(url, "image", Path(urlsplit(url).path).name) for url in record.images]
    return _site_files(found, urlsplit(record.fetched_url).netloc)


def _site_files(found: list[tuple[str, str, str]], page_host: str) -> list[tuple[str, str, str]]:
    seen: set[str] = set()
    kept = []
    for url, role, name in found:
        # Files elsewhere (a partner's site, a cloud drive) are recorded, never fetched.
        if url in seen or not site.is_site_host(urlsplit(url).netloc, page_host):
            continue
        seen.add(url)
        kept.append((url, role, name))
    return kept


def on_base(url: str, base_url: str) -> str:
    """The file's path and query on UNPOG_BASE_URL's scheme, host and port: a file on one of
    the site's hosts (www.unpog.org, another port) is fetched where the crawl is pointed,
    never from an origin a page chose (issue 18). Its recorded URL stays as linked."""
    parts = urlsplit(url)
    return site.absolute_url(
        base_url, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    )


def extension(url: str, content_type: str = "") -> str:
    """A file extension for storage: from a file name in the query or path, else the type."""
    parts = urlsplit(url)
    for candidate in [*(v for _, v in parse_qsl(parts.query)), parts.path]:
        suffix = Path(candidate).suffix.lower()
        if suffix and suffix != ".asp" and suffix in mimetypes.types_map:
            return suffix
    guessed = mimetypes.guess_extension(content_type.split(";")[0].strip()) if content_type else ""
    return guessed or ""


def _content_type(response: Response) -> str:
    return (response.headers.get(b"Content-Type") or b"").decode("latin-1")


class ArchiveFilesPipeline(FilesPipeline):
    """Scrapy's FilesPipeline, storing by content hash and feeding `ArticleRecord.downloads`."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchiveFilesPipeline:
        settings = crawler.settings
        if not settings.getbool("UNPOG_DOWNLOAD_FILES"):
            raise NotConfigured("UNPOG_DOWNLOAD_FILES is off")
        pipeline = cls(str(files_dir(settings)), crawler=crawler)
        pipeline.max_size = settings.getint("UNPOG_FILES_MAX_SIZE")
        pipeline.base_url = settings.get("UNPOG_BASE_URL")
        if not settings.get("UNPOG_FILES_DIR"):
            crawler.signals.connect(pipeline.adopt_legacy_files, signal=archive_opened)
        return pipeline

    def adopt_legacy_files(self, archive: Archive, crawl_id: int) -> None:
        """An archive made before it had a folder of its own: its downloads join it there."""
        store = Path(self.store.basedir)
        try:
            folders.adopt_legacy_files(archive.path, archive.stored_file_paths(), store)
        except (OSError, ArchiveError, sqlite3.Error) as error:  # the crawl goes on without
            logger.warning("Earlier downloads not linked into %s (%s)", store, error)

    def get_media_requests(self, item: Any, info: Any) -> list[Request]:
        if not isinstance(item, ArticleRecord):
            return []
        # Scrapy cancels a download past download_maxsize: the file is recorded, not stored.
        meta = {"download_maxsize": self.max_size, "download_warnsize": 0}
        return [
            Request(on_base(url, self.base_url), meta=dict(meta))
            for url, _, _ in linked_files(item)
        ]

    def media_to_download(self, request: Request, info: Any, *, item: Any = None) -> None:
        return None  # always fetch: only the bytes can say whether a file changed

    def file_path(
        self,
        request: Request,
        response: Response | None = None,
        info: Any = None,
        *,
        item: Any = None,
    ) -> str:
        if response is None:  # asked before the download: no content, no address yet
            return "pending/" + hashlib.sha1(request.url.encode()).hexdigest()  # noqa: S324
        digest = hashlib.sha256(response.body).hexdigest()
        return f"{digest[:2]}/{digest}{extension(request.url, _content_type(response))}"

    async def file_downloaded(
        self, response: Response, request: Request, info: Any, *, item: Any = None
    ) -> str:
        path = self.file_path(request, response=response, info=info, item=item)
        # Content-addressed: bytes already stored under their hash are not written again.
        if not (Path(self.store.basedir) / path).exists():
            self.store.persist_file(path, BytesIO(response.body), info)
        return hashlib.sha256(response.body).hexdigest()

    async def media_downloaded(
        self, response: Response, request: Request, info: Any, *, item: Any = None
    ) -> dict[str, Any]:
        result = await super().media_downloaded(response, request, info, item=item)
        return {**result, "size": len(response.body), "content_type": _content_type(response)}

    def item_completed(self, results: list[Any], item: Any, info: Any) -> Any:
        if not isinstance(item, ArticleRecord):
            return item
        stored = []
        # Results come back in the order of get_media_requests.
        for (ok, value), (url, role, name) in zip(results, linked_files(item), strict=True):
            if ok:
                stored.append(
                    StoredFile(url, role, name, value["checksum"], value["size"],
                               value["content_type"], value["path"])
                )  # fmt: skip
        return dataclasses.replace(item, downloads=tuple(stored))
