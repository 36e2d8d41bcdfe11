"""`unpog doctor`: check the parser against the live site before trusting a crawl.

It fetches the first list page and a few articles, and prints per page what each field
parsed to, which selector or rule produced it, and what looks wrong, then a verdict. Exit
status 0 when every page parsed cleanly, 1 otherwise.

The pages are fetched by Scrapy with the crawl's own settings (nothing is archived): the
same robots.txt rules, User-Agent, size caps (body and headers), total time per request
and host rule (nothing off UNPOG_BASE_URL's scheme, host and port, redirects included),
one request at a time with a pause between them, and a time limit on the whole run.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import click
import scrapy
from scrapy.crawler import AsyncCrawlerProcess
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from unpog_crawler import health, reach, site
from unpog_crawler import settings as defaults
from unpog_crawler.cli.options import parse_setting_options, setting_option
from unpog_crawler.items import ArticleRecord, NotAnArticle
from unpog_crawler.parse import find_links, parse_article
from unpog_crawler.spiders.boards import response_headers

# Seconds a request may take in all (Scrapy's DOWNLOAD_TIMEOUT is per request, not per
# read: a server that drips a byte now and then cannot stretch it), and the whole run.
TIMEOUT = 30
RUN_TIMEOUT = 300
PREVIEW_CHARS = 70
UNREACHABLE = "cannot reach"


@dataclass
class Page:
    """One fetched page, or why it could not be fetched."""

    url: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def doctor_settings(
    base_url: str, delay: float, overrides: dict[str, str] | None = None
) -> Settings:
    """The crawl's settings, minus the archive: what the doctor fetches with; `overrides`
    (`-s NAME=value`) last."""
    settings = Settings()
    settings.setmodule(defaults, priority="project")
    doctor = {
        "UNPOG_BASE_URL": base_url,
        "ITEM_PIPELINES": {},  # nothing is archived, no file downloaded
        "UNPOG_WARC_ENABLED": False,
        "DOWNLOAD_DELAY": delay,
        "DOWNLOAD_DELAY_JITTER": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 1,
        "DOWNLOAD_TIMEOUT": min(TIMEOUT, settings.getfloat("DOWNLOAD_TIMEOUT")),
        "RETRY_TIMES": 0,  # one request per page: a diagnosis, not a harvest
        "CLOSESPIDER_TIMEOUT": RUN_TIMEOUT,
        # The report says what failed; Scrapy's own lines would only repeat it.
        "LOG_LEVEL": "CRITICAL",
    }
    settings.update({**doctor, **(overrides or {})}, priority="cmdline")
    return settings


class DoctorSpider(scrapy.Spider):
    """Fetches the list page, then the first `articles` articles it links, in turn."""

    name = "doctor"
    custom_settings = {"METAREFRESH_ENABLED": False}  # as the crawl: 3xx only

    def __init__(self, base_url: str, articles: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url
        self.articles = articles
        self.list_page: Page | None = None
        self.article_urls: list[str] = []
        self.article_pages: dict[str, Page] = {}

    async def start(self) -> Any:
        list_url = site.list_page_url(self.base_url, defaults.UNPOG_QUARTERLY_LIST_PATH, 1)
        self.list_page = Page(list_url, error=f"no answer within {RUN_TIMEOUT} s")
        yield self._request(list_url, self.list_read)

    def _request(self, url: str, callback: Any, priority: int = 0) -> scrapy.Request:
        return scrapy.Request(
            url, callback=callback, errback=self.failed, meta={"asked": url}, priority=priority
        )

    def list_read(self, response: Response) -> Any:
        self.list_page = _page(response)
        links = find_links(self.list_page.body, self.list_page.url, self.list_page.headers)
        views = links.views[: self.articles]
        self.article_urls = [site.absolute_url(self.base_url, view) for view in views]
        for index, url in enumerate(self.article_urls):
            self.article_pages[url] = Page(url, error=f"no answer within {RUN_TIMEOUT} s")
            yield self._request(url, self.article_read, priority=-index)  # in list order

    def article_read(self, response: Response) -> None:
        self.article_pages[response.meta["asked"]] = _page(response)

    def failed(self, failure: Failure) -> None:
        asked = failure.request.meta["asked"]
        page = Page(asked, error=_why_not_fetched(failure))
        if asked in self.article_pages:
            self.article_pages[asked] = page
        else:
            self.list_page = page


def _page(response: Response) -> Page:
    return Page(response.url, response.body, response_headers(response))


def _why_not_fetched(failure: Failure) -> str:
    if failure.check(HttpError):
        return f"HTTP {failure.value.response.status}"
    message = failure.getErrorMessage() or type(failure.value).__name__
    if message == "Forbidden by robots.txt":
        return "disallowed by robots.txt (not fetched)"
    if message.startswith(("not fetched", "redirected off the site")):
        return message
    return f"cannot fetch ({message})"


def fetch_pages(settings: Settings, articles: int) -> tuple[Page, list[Page]]:
    """The list page and up to `articles` of the articles it links, fetched by Scrapy.

    Runs a reactor: once per process, as `unpog doctor` does.
    """
    base_url = settings.get("UNPOG_BASE_URL")
    process = AsyncCrawlerProcess(settings)
    crawler = process.create_crawler(DoctorSpider)
    process.crawl(crawler, base_url=base_url, articles=articles)
    process.start()
    spider = crawler.spider
    assert spider.list_page is not None
    unreachable = crawler.stats.get_value(reach.UNREACHABLE_STAT)
    if unreachable:  # nothing was read: not a verdict on the parser (reach.py)
        spider.list_page.error = f"{UNREACHABLE} {base_url}: {unreachable}"
    return spider.list_page, [spider.article_pages[url] for url in spider.article_urls]


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    broken_fields: dict[str, int] = field(default_factory=dict)  # field -> pages
    articles_ok: int = 0
    pages: int = 0
    # The crawl's rules across articles (furniture leaking into every body, ...).
    detectors: health.ContentDetectors = field(default_factory=health.ContentDetectors)
    broken_rules: list[dict[str, str]] = field(default_factory=list)
    unreachable: str | None = None  # the site could not be reached: nothing was checked

    def add(self, line: str = "") -> None:
        self.lines.append(line)

    def broken(self, field_name: str) -> None:
        self.broken_fields[field_name] = self.broken_fields.get(field_name, 0) + 1

    @property
    def healthy(self) -> bool:
        return not self.broken_fields and not self.broken_rules and self.articles_ok > 0


def preview(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…")


def check_list(report: Report, page: Page) -> list[str]:
    """Report on the list page; return the article URLs it links (absolute)."""
    report.add(f"List page {page.url}")
    report.pages += 1
    if page.error:
        report.add(f"  PROBLEM  list page: {page.error}")
        report.broken("list page")
        if page.error.startswith(UNREACHABLE):
            report.unreachable = page.error
        return []
    links = find_links(page.body, page.url, page.headers)
    report.add(f"  article links   {len(links.views)}  e.g. {', '.join(links.views[:3]) or '-'}")
    report.add(f"  issue pages     {len(links.issue_pages)}")
    report.add(f"  list pages      {len(links.list_pages)}")
    for note in links.notes:
        report.add(f"  note            {note}")
    if not links.views:
        report.add("  PROBLEM  list links: no article links found (site.JS_VIEW_RE, hrefs)")
        report.broken("list links")
    return list(links.views)


def field_lines(record: ArticleRecord) -> list[tuple[str, str]]:
    """(field, what it parsed to) in the order a reader checks them."""
    event = (
        f"{record.event_start} .. {record.event_end}, {record.event_place or '-'}"
        if record.event_start
        else "none (only event reports print a date line)"
    )
    return [
        ("kind", record.kind),
        ("title", preview(record.title) if record.title else "(none)"),
        ("body", f"{len(record.body_text.split())} words: {preview(record.body_text)}"),
        ("event date", event),
        ("authors", "; ".join(record.authors) or "none"),
        ("footnotes", str(len(record.footnotes))),
        ("images", str(len(record.images))),
        ("attachments", ", ".join(a.name for a in record.attachments) or "none"),
        ("issue", record.issue or "none stated"),
        ("encoding", record.encoding),
    ]


def check_article(report: Report, page: Page) -> None:
    report.add("")
    report.add(f"Article {page.url}")
    report.pages += 1
    if page.error:
        report.add(f"  PROBLEM  page: {page.error}")
        report.broken("page")
        return
    result = parse_article(page.body, page.url, page.headers)
    if isinstance(result, NotAnArticle):
        report.add(f"  PROBLEM  reading order: {result.reason}")
        report.broken("reading order")
        return
    for name, value in field_lines(result):
        report.add(f"  {name:<14}  {value}")
    report.add(f"  rules           {'; '.join(result.parser_notes)}")
    for name in result.missing_landmarks:
        report.add(f"  note            landmark not found: {name}")
    problems = health.record_problems(result)
    for problem in problems:
        report.add(f"  PROBLEM  {problem}")
        report.broken(problem.split(":", 1)[0])
    if not problems:
        report.articles_ok += 1
        report.detectors.add(result)


def check_across(report: Report) -> None:
    """The crawl's rules over every article read: what leaks into every body shows here."""
    report.broken_rules = report.detectors.broken()
    if not report.broken_rules:
        return
    report.add("")
    report.add("Across the articles")
    for rule in report.broken_rules:
        report.add(f"  PROBLEM  {rule['rule']}: {rule['message']}")


def verdict(report: Report) -> str:
    if report.unreachable:
        return (
            f"Verdict: NOT CHECKED: {report.unreachable}. Nothing was read, so nothing is known "
            "about the parser yet. Offline? `unpog demo` crawls a local replica of the site."
        )
    if report.healthy:
        return (
            f"Verdict: HEALTHY: {report.articles_ok} articles parsed cleanly "
            f"({report.pages} pages checked)"
        )
    if not report.broken_fields and not report.broken_rules:
        return "Verdict: UNHEALTHY: no article could be checked"
    found = [f"{name} ({count} pages)" for name, count in report.broken_fields.items()]
    found += [rule["rule"] for rule in report.broken_rules]
    return (
        f"Verdict: UNHEALTHY: {', '.join(found)}. The pages do not read as the parser "
        "expects: see docs/when-doctor-disagrees.md before crawling."
    )


def diagnose(
    base_url: str, articles: int, delay: float, overrides: dict[str, str] | None = None
) -> Report:
    """Fetch the first list page and up to `articles` articles; report on each."""
    list_page, article_pages = fetch_pages(doctor_settings(base_url, delay, overrides), articles)
    report = Report()
    check_list(report, list_page)
    for page in article_pages:
        check_article(report, page)
    check_across(report)
    report.add("")
    report.add(verdict(report))
    return report


def register(group: click.Group) -> None:
    """Add `doctor` to the `unpog` command group."""

    @group.command()
    @click.option(
        "--base-url",
        default=defaults.UNPOG_BASE_URL,
        show_default=True,
        metavar="URL",
        help="Site to check.",
    )
    @click.option("--articles", default=3, show_default=True, help="Articles to fetch.")
    @click.option(
        "--delay", default=1.0, show_default=True, help="Seconds between requests (politeness)."
    )
    @setting_option(
        "A crawl setting to fetch with, as `unpog crawl -s` (e.g. DOWNLOAD_TIMEOUT=10)."
    )
    def doctor(
        base_url: str, articles: int, delay: float, setting_options: tuple[str, ...]
    ) -> None:
        """Check that the parser still reads the site: run it before the first crawl.

        \b
        Prints, for the first list page and a few articles, what each field parsed to,
        which selector or rule produced it and what looks wrong, then a verdict.
        Fetched with the crawl's settings: robots.txt, size caps, time limits, and
        nothing off the site's scheme, host and port (redirects included).
        Exit status: 0 healthy, 1 unhealthy, 2 usage error.
        Example:
          unpog doctor --base-url https://unpog.org
        """
        if not base_url.startswith(("http://", "https://")):
            raise click.BadParameter("must start with http:// or https://", param_hint="--base-url")
        if articles < 1 or delay < 0:
            raise click.UsageError("--articles must be at least 1 and --delay not negative")
        overrides = parse_setting_options(setting_options)
        try:
            health.check_settings(doctor_settings(base_url, delay, overrides))
        except health.BadSetting as error:
            raise click.BadParameter(str(error), param_hint="-s") from error
        report = diagnose(base_url.rstrip("/"), articles, delay, overrides)
        click.echo("\n".join(report.lines))
        sys.exit(0 if report.healthy else 1)
