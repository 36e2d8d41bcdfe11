"""`unpog doctor`: check the parser against the live site before trusting a crawl.

It fetches the first list page and a few articles (politely: robots.txt, the project's
User-Agent, a delay between requests; plain urllib, nothing is archived), and prints per
page what each field parsed to, which selector or rule produced it, and what looks wrong,
then a verdict. Exit status 0 when every page parsed cleanly, 1 otherwise.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
import urllib.robotparser
from dataclasses import dataclass, field

import click

from unpog_crawler import health, site
from unpog_crawler import settings as defaults
from unpog_crawler.items import ArticleRecord, NotAnArticle
from unpog_crawler.parsing import find_links, parse_article

TIMEOUT = 30
PREVIEW_CHARS = 70


@dataclass
class Page:
    """One fetched page, or why it could not be fetched."""

    url: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None


class Fetcher:
    """urllib with the crawler's manners: robots.txt, User-Agent, a pause between requests."""

    def __init__(self, base_url: str, delay: float) -> None:
        self.delay = delay
        self.user_agent = defaults.USER_AGENT
        self.robots = urllib.robotparser.RobotFileParser(f"{base_url}/robots.txt")
        self._last = 0.0
        try:
            self.robots.read()
        except (OSError, UnicodeDecodeError):
            self.robots.allow_all = True  # no robots.txt: nothing is disallowed

    def get(self, url: str) -> Page:
        if not self.robots.can_fetch(self.user_agent, url):
            return Page(url, error="disallowed by robots.txt (not fetched)")
        time.sleep(max(0.0, self._last + self.delay - time.monotonic()))
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                page = Page(response.geturl(), response.read(), dict(response.headers.items()))
        except urllib.error.HTTPError as error:
            page = Page(url, error=f"HTTP {error.code}")
        except (urllib.error.URLError, OSError) as error:
            page = Page(url, error=f"cannot fetch ({getattr(error, 'reason', error)})")
        self._last = time.monotonic()
        return page


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    broken_fields: dict[str, int] = field(default_factory=dict)  # field -> pages
    articles_ok: int = 0
    pages: int = 0
    # The crawl's rules across articles (furniture leaking into every body, ...).
    detectors: health.ContentDetectors = field(default_factory=health.ContentDetectors)
    broken_rules: list[dict[str, str]] = field(default_factory=list)

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


def diagnose(base_url: str, articles: int, delay: float) -> Report:
    """Fetch the first list page and up to `articles` articles; report on each."""
    fetcher = Fetcher(base_url, delay)
    report = Report()
    list_url = site.list_page_url(base_url, defaults.UNPOG_QUARTERLY_LIST_PATH, 1)
    views = check_list(report, fetcher.get(list_url))
    for canonical in views[:articles]:
        check_article(report, fetcher.get(site.absolute_url(base_url, canonical)))
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
    def doctor(base_url: str, articles: int, delay: float) -> None:
        """Check that the parser still reads the site: run it before the first crawl.

        \b
        Prints, for the first list page and a few articles, what each field parsed to,
        which selector or rule produced it and what looks wrong, then a verdict.
        Exit status: 0 healthy, 1 unhealthy, 2 usage error.
        Example:
          unpog doctor --base-url https://unpog.org
        """
        if not base_url.startswith(("http://", "https://")):
            raise click.BadParameter("must start with http:// or https://", param_hint="--base-url")
        if articles < 1 or delay < 0:
            raise click.UsageError("--articles must be at least 1 and --delay not negative")
        report = diagnose(base_url.rstrip("/"), articles, delay)
        click.echo("\n".join(report.lines))
        sys.exit(0 if report.healthy else 1)
