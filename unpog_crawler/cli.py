"""The `unpog` command: crawl UNPOG into the archive without knowing Scrapy.

Each command is a thin layer: it checks its arguments, opens what it needs and calls the
library. Exit status: 0 healthy, 1 when a crawl failed, was incomplete or hit errors,
2 on a usage error (bad option, unreadable archive).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import click
from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import Settings
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.defer import deferred_from_coro

from unpog_crawler import __version__
from unpog_crawler import settings as default_settings
from unpog_crawler.archive import Archive, ArchiveError
from unpog_crawler.pipelines import summary_counts

DEMO_DB = "archive/demo.db"


def project_settings(overrides: dict[str, Any]) -> Settings:
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    settings.update(overrides, priority="cmdline")
    return settings


def parse_setting_options(values: tuple[str, ...]) -> dict[str, str]:
    """`-s NAME=value` pairs, as `scrapy crawl` takes them."""
    parsed = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=value, got {value!r}", param_hint="-s")
        parsed[name.strip()] = setting
    return parsed


class ArchiveProblem(click.ClickException):
    """The archive cannot be used as given: a usage error (exit 2), nothing was written."""

    exit_code = 2


def check_archive(db_path: str) -> None:
    """Open (creating if needed) and lock-test the archive before Scrapy starts, so that a
    bad path, a foreign file or a running crawl is one clear line, not a traceback."""
    try:
        archive = Archive(db_path)
        try:
            with archive.lock():
                pass
        finally:
            archive.close()
    except ArchiveError as error:
        raise ArchiveProblem(str(error)) from error


def spider_names(settings: Settings) -> list[str]:
    return sorted(SpiderLoader.from_settings(settings).list())


def run_crawls(settings: Settings, names: list[str]) -> list[dict[str, Any]]:
    """Run the spiders one after another (one archive has one writer); return their rows."""
    process = AsyncCrawlerProcess(settings)
    crawlers = [process.create_crawler(name) for name in names]

    async def crawl_in_turn() -> None:
        from twisted.internet import reactor  # installed by AsyncCrawlerProcess

        try:
            for crawler in crawlers:
                await process.crawl(crawler)
                if crawler.stats.get_value("finish_reason") == "shutdown":
                    break  # Ctrl-C: do not start the next spider
        finally:
            if reactor.running:
                reactor.stop()

    deferred_from_coro(crawl_in_turn())
    process.start(stop_after_crawl=False)
    return [
        crawl_row(settings, name, crawler) for name, crawler in zip(names, crawlers, strict=True)
    ]


def crawl_row(settings: Settings, name: str, crawler: Any) -> dict[str, Any]:
    crawl_id = crawler.stats.get_value("unpog/crawl_id")
    if not crawl_id:
        return {"spider": name, "status": "failed", "id": None}
    with Archive(settings.get("UNPOG_ARCHIVE_DB"), create=False) as archive:
        return archive.crawl(crawl_id)


def crawl_is_healthy(row: dict[str, Any]) -> bool:
    return row.get("status") == "finished" and bool(row.get("complete")) and not row.get("errors")


def summary_line(row: dict[str, Any]) -> str:
    if row.get("id") is None:
        return f"{row['spider']}: did not start (see the log above)"
    return f"{row['spider']}: crawl {row['id']} {row['status']}, {summary_counts(row)}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="unpog")
def main() -> None:
    """Crawl UNPOG's news pages into a versioned SQLite archive.

    \b
    Examples:
      unpog crawl                          # crawl https://unpog.org into archive/unpog.db
      unpog crawl --base-url http://127.0.0.1:8000 --db /tmp/test.db
      unpog demo                           # try it all on a local replica of the site
    """


@main.command()
@click.option("--base-url", help="Site to crawl (default https://unpog.org).", metavar="URL")
@click.option("--db", "db_path", help="Archive file (default archive/unpog.db).", metavar="PATH")
@click.option(
    "--spider",
    "spiders",
    multiple=True,
    metavar="NAME",
    help="Spider to run (repeatable; default: every spider).",
)
@click.option(
    "-s",
    "--set",
    "setting_options",
    multiple=True,
    metavar="NAME=VALUE",
    help="Any Scrapy setting, as with `scrapy crawl -s`.",
)
@click.option("-L", "--log-level", default=None, help="Log level (default INFO).")
def crawl(
    base_url: str | None,
    db_path: str | None,
    spiders: tuple[str, ...],
    setting_options: tuple[str, ...],
    log_level: str | None,
) -> None:
    """Crawl the site into the archive and print one summary line per spider.

    \b
    Exit status: 0 healthy; 1 failed, incomplete listing or errors; 2 usage error.
    Example:
      unpog crawl --base-url https://unpog.gabia.io -s DOWNLOAD_DELAY=5
    """
    overrides: dict[str, Any] = parse_setting_options(setting_options)
    if base_url:
        overrides["UNPOG_BASE_URL"] = validate_base_url(base_url)
    if db_path:
        overrides["UNPOG_ARCHIVE_DB"] = db_path
    if log_level:
        overrides["LOG_LEVEL"] = log_level.upper()
    settings = project_settings(overrides)
    names = choose_spiders(settings, spiders)
    check_archive(settings.get("UNPOG_ARCHIVE_DB"))
    rows = run_crawls(settings, names)
    for row in rows:
        click.echo(summary_line(row))
    sys.exit(0 if all(crawl_is_healthy(row) for row in rows) else 1)


def validate_base_url(base_url: str) -> str:
    if not base_url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="--base-url")
    return base_url.rstrip("/")


def choose_spiders(settings: Settings, requested: tuple[str, ...]) -> list[str]:
    available = spider_names(settings)
    unknown = [name for name in requested if name not in available]
    if unknown:
        raise click.BadParameter(
            f"unknown spider {unknown[0]!r}; choose from {', '.join(available)}",
            param_hint="--spider",
        )
    return list(requested) or available


@main.command()
@click.option(
    "--db",
    "db_path",
    default=DEMO_DB,
    show_default=True,
    metavar="PATH",
    help="Archive file for the demo.",
)
@click.option("--port", default=0, show_default=True, help="Port for the replica (0: any free).")
def demo(db_path: str, port: int) -> None:
    """Serve the built-in replica of the site on 127.0.0.1 and crawl it.

    Nothing reaches the live site. Run it twice to see that an unchanged site
    writes no new versions.

    \b
    Example:
      unpog demo && sqlite3 archive/demo.db "select source_id, kind, title from articles"
    """
    from unpog_crawler.replica.server import serve

    check_archive(db_path)
    with serve(port=port) as server:
        click.echo(f"Replica of the site serving at {server.base_url}")
        settings = project_settings(demo_settings(server.base_url, db_path))
        rows = run_crawls(settings, ["quarterly"])
    for row in rows:
        click.echo(summary_line(row))
    click.echo(explore_hint(db_path))
    sys.exit(0 if all(crawl_is_healthy(row) for row in rows) else 1)


def demo_settings(base_url: str, db_path: str) -> dict[str, Any]:
    """A local replica needs no politeness: crawl it at full speed, quietly."""
    return {
        "UNPOG_BASE_URL": base_url,
        "UNPOG_ARCHIVE_DB": db_path,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 8,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
        "LOG_LEVEL": "WARNING",
    }


def explore_hint(db_path: str) -> str:
    path = Path(db_path)
    return (
        "\nExplore the archive:\n"
        f'  sqlite3 {path} "select source_id, kind, title from articles"\n'
        f'  sqlite-utils {path} "select version, changed_fields from versions" --table\n'
        f"  datasette {path}\n"
    )


# Commands beyond crawling live in their own modules, each with `register(group)`.
SUBCOMMAND_MODULES = ("research_cli", "doctor_cli", "capture_cli")


def register_subcommands() -> None:
    for name in SUBCOMMAND_MODULES:
        if importlib.util.find_spec(f"unpog_crawler.{name}") is None:
            continue  # not part of this installation
        importlib.import_module(f"unpog_crawler.{name}").register(main)


register_subcommands()

if __name__ == "__main__":
    main()
