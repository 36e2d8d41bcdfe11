"""`unpog demo`: the built-in replica of the site, crawled by every spider, on this machine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from unpog_crawler.cli.crawl import (
    check_archive,
    exit_status,
    project_settings,
    run_crawls,
    spider_names,
    summary_line,
)

DEMO_DB = "archive/demo.db"


@click.command()
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
    """Serve the built-in replica of the site on 127.0.0.1 and crawl it with every spider.

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
        overrides = demo_settings(server.base_url, db_path)
        overrides["UNPOG_PROGRESS"] = sys.stderr.isatty()
        settings = project_settings(overrides)
        rows = run_crawls(settings, spider_names(settings))
    for row in rows:
        click.echo(summary_line(row))
    click.echo(explore_hint(db_path))
    sys.exit(exit_status(rows))


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


def register(group: click.Group) -> None:
    """Add `unpog demo` to the `unpog` group."""
    group.add_command(demo)
