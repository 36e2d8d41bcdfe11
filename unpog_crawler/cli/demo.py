"""`unpog demo`: the built-in replica of the site, crawled, changed and crawled again.

What makes an archive of versions worth having can only be seen on a second crawl, so the demo
makes two: between them it edits, deletes and adds articles on the replica, replaces an
attachment and changes one page's markup only, then prints what the second crawl found and
the commands that explore it. Nothing reaches the live site.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import click
from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_from_coro

from unpog_crawler import runlog
from unpog_crawler.archive import Archive, ArchiveError
from unpog_crawler.cli.crawl import (
    ArchiveProblem,
    check_archive,
    crawl_row,
    exit_status,
    project_settings,
    spider_names,
    summary_line,
)
from unpog_crawler.replica.boards import Post
from unpog_crawler.replica.server import ReplicaSite, serve

DEMO_DB = "archive/demo.db"
BROWSE_INSTALL = "pip install -e '.[browse]'"

# The changes the demo makes to the replica between its two crawls.
EDITED_SN = 20  # Quarterly: "Regional Workshop on Open Government Data"
DELETED_SN = 83  # Quarterly: "Voluntary National Reviews: Lessons from the Region"
MARKUP_SN = 72  # Quarterly: a Welcome Note
REPLACED_FILE = "publication_40.pdf"  # Publications, post 40
NEW_TITLE = "Regional Workshop on Open Government Data and Trust"
NEW_PARAGRAPH = (
    "A follow-up clinic on metadata standards was announced. "
    "참가자들은 열린 정부 데이터와 신뢰에 대해 논의했다."
)
NEW_POST = Post(
    "0010",
    713,
    "UNPOG Opens a Digital Government Capacity Toolkit",
    "2024-06-12",
    (
        "The Project Office opened a toolkit of self-assessment guides for ministries that "
        "plan their digital government capacity, drawn from three years of country work.",
        "The toolkit is free to use; a first cohort of twelve institutions will test it and "
        "report back before the end of the year.",
    ),
    dateline="INCHEON, 12 June 2024 -",
    place="INCHEON",
)


@dataclass(frozen=True)
class SiteChange:
    what: str  # edited, deleted, added, new file, markup only
    url: str  # canonical URL of the article it touches
    note: str = ""


def change_replica(site: ReplicaSite) -> list[SiteChange]:
    """Edit, delete and add articles, replace an attachment, change one page's markup."""
    original = site.article(EDITED_SN)
    assert original is not None  # the replica's own content
    site.edit(EDITED_SN, title=NEW_TITLE, body=(*original.body, NEW_PARAGRAPH))
    site.delete(DELETED_SN)
    site.boards.add(NEW_POST)
    site.boards.revise_file(REPLACED_FILE)
    site.touch_markup(MARKUP_SN)
    quarterly = "/page/sub4_3_view.asp?sn={}"
    return [
        SiteChange("edited", quarterly.format(EDITED_SN), "a new title and a new paragraph"),
        SiteChange("deleted", quarterly.format(DELETED_SN)),
        SiteChange("added", f"/page/sub3_1_view.asp?BoardID=0010&sn={NEW_POST.sn}"),
        SiteChange(
            "new file",
            "/page/sub5_1_view.asp?BoardID=0007&sn=40",
            "its PDF replaced at the same link",
        ),
        SiteChange("markup only", quarterly.format(MARKUP_SN), "other tags, the same words"),
    ]


@click.command()
@click.option(
    "--db",
    "db_path",
    default=DEMO_DB,
    show_default=True,
    metavar="PATH",
    help="Archive file for the demo (a new one).",
)
@click.option("--port", default=0, show_default=True, help="Port for the replica (0: any free).")
def demo(db_path: str, port: int) -> None:
    """Crawl the built-in replica of the site, change it, crawl it again, show what changed.

    The replica is served on 127.0.0.1 only; nothing reaches the live site. Between the two
    crawls an article is edited, one deleted and one added, an attachment replaced and one
    page's markup changed (its words stay: no new version). The archive must be new: the
    demo's story starts from an empty archive.

    \b
    Example:
      unpog demo && unpog changes --db archive/demo.db
    """
    check_new_archive(db_path)
    check_archive(db_path)
    with serve(port=port) as server:
        click.echo(f"Replica of the site serving at {server.base_url}")
        overrides = demo_settings(server.base_url, db_path)
        overrides["UNPOG_PROGRESS"] = sys.stderr.isatty()
        settings = project_settings(overrides)
        story = DemoStory(server.site)
        first, second = crawl_twice(settings, spider_names(settings), story.between)
    if not second:
        click.echo("The demo stopped before its second crawl.", err=True)
        sys.exit(1)
    click.echo("\nSecond crawl (every post fetched again, as `unpog crawl --full` does):")
    echo_rows(second)
    click.echo(found_text(db_path, story))
    click.echo(explore_hint(db_path, story.moment))
    sys.exit(exit_status([*first, *second]))


def check_new_archive(db_path: str) -> None:
    """Refuse an archive that holds crawls: a third crawl would tell another story (the
    replica starts again from its first state), and a real archive must not get a demo."""
    if not Path(db_path).exists():
        return
    try:
        with Archive.open_read_only(db_path) as archive:
            crawls = archive.stats()["crawls"]
    except ArchiveError as error:
        raise ArchiveProblem(str(error)) from error
    if crawls:
        raise ArchiveProblem(
            f"{db_path} already holds {crawls} crawls: the demo needs a new archive "
            "(give another --db, or delete that one)"
        )


def demo_settings(base_url: str, db_path: str) -> dict[str, Any]:
    """A local replica needs no politeness: crawl it at full speed, quietly (the deleted
    page's "Not an article" warning is part of the story, which the demo tells itself)."""
    return {
        "UNPOG_BASE_URL": base_url,
        "UNPOG_ARCHIVE_DB": db_path,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 8,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
        "LOG_LEVEL": "ERROR",
        # Minutes apart, the second crawl would re-fetch only the posts due (the revisit
        # policy: docs/revisit-policy.md); like `unpog crawl --full`, it fetches them all.
        "UNPOG_REVISIT": "all",
    }


class DemoStory:
    """What happens between the crawls: the first crawl's lines, the changes, and a moment
    that lies between the two crawls (for `unpog as-of` and `unpog changes --since`)."""

    def __init__(self, site: ReplicaSite) -> None:
        self.site = site
        self.changes: list[SiteChange] = []
        self.moment = ""

    def between(self, first: list[dict[str, Any]], spiders: int) -> bool:
        """Print the first crawl, change the replica; False when the first crawl did not run
        whole (Ctrl-C, a spider that did not start): then there is no second."""
        click.echo("\nFirst crawl:")
        echo_rows(first)
        ran = len(first) == spiders and all(row.get("id") for row in first)
        if not ran or any(row.get("status") == "interrupted" for row in first):
            return False
        self.changes = change_replica(self.site)
        click.echo("\nChanged on the replica:")
        for change in self.changes:
            click.echo(
                f"  {change.what:<12} {change.url}" + (f"  ({change.note})" if change.note else "")
            )
        self.moment = quiet_second()
        return True


def quiet_second() -> str:
    """A whole second in which nothing is captured, as `unpog as-of` reads it (UTC, to the
    second): the next one, which is waited out, so the second crawl starts after it."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    moment = now + timedelta(seconds=1)
    time.sleep(
        max(0.0, (moment + timedelta(seconds=1) - datetime.now(timezone.utc)).total_seconds())
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def crawl_twice(
    settings: Settings, names: list[str], between: Callable[[list[dict[str, Any]], int], bool]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run the spiders one after another, then `between` (with their rows), then the spiders
    again if it says so: all in one Scrapy process, whose reactor starts only once."""
    process = AsyncCrawlerProcess(settings)
    rounds: list[list[dict[str, Any]]] = [[], []]

    async def both_rounds() -> None:
        from twisted.internet import reactor  # installed by AsyncCrawlerProcess

        try:
            rounds[0] = await crawl_round(process, settings, names)
            if between(rounds[0], len(names)):
                rounds[1] = await crawl_round(process, settings, names)
        finally:
            if reactor.running:
                reactor.stop()

    deferred_from_coro(both_rounds())
    process.start(stop_after_crawl=False)
    return rounds[0], rounds[1]


async def crawl_round(
    process: AsyncCrawlerProcess, settings: Settings, names: list[str]
) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        crawler = process.create_crawler(name)
        with runlog.spider_log_file(settings, name):
            await process.crawl(crawler)
        rows.append(crawl_row(settings, name, crawler))
        if crawler.stats.get_value("finish_reason") == "shutdown":
            break  # Ctrl-C: do not start the next spider
    return rows


def echo_rows(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        click.echo(f"  {summary_line(row)}")


def found_text(db_path: str, story: DemoStory) -> str:
    """What the second crawl wrote, from the archive: one line per change, and the page whose
    markup alone changed, which got no new version."""
    if not story.moment:
        return ""
    with Archive.open_read_only(db_path) as archive:
        changes = archive.changes(since=story.moment)
        markup = next(c for c in story.changes if c.what == "markup only")
        unchanged = archive.find_article(markup.url)
    lines = ["\nWhat the second crawl found:"]
    for change in changes:
        detail = {
            "changed": ", ".join(change["changed_fields"]),
            "removed": change["reason"],
            "new": change["title"],
        }.get(change["kind"], "")
        lines.append(f"  {change['kind']:<8} {change['url']}  {detail}")
    lines.append(
        f"  {'same':<8} {markup.url}  markup only: still version {unchanged['current_version']}"
    )
    return "\n".join(lines)


def explore_hint(db_path: str, moment: str) -> str:
    path = Path(db_path)
    db = f"--db {path}"
    lines = [
        f"\nExplore it (times in UTC; {moment or 'the moment'} lies between the two crawls):",
        f"  unpog changes --since {moment} {db}",
        f"  unpog diff /page/sub4_3_view.asp?sn={EDITED_SN} {db}",
        f"  unpog history /page/sub4_3_view.asp?sn={DELETED_SN} {db}",
        f"  unpog as-of {moment} {db}",
        f'  sqlite3 {path} "select source_id, kind, title from articles"',
        f"  unpog browse {db}   (Datasette; install it first with {BROWSE_INSTALL})",
    ]
    return "\n".join(lines)


def register(group: click.Group) -> None:
    """Add `unpog demo` to the `unpog` group."""
    group.add_command(demo)
