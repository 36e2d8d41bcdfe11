"""Command-line options that commands share: the archive's (research, capture), `-s`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from unpog_crawler.archive import SQLITE_MAX_INTEGER

DEFAULT_DB = "archive/unpog.db"

# An archive id or count: SQLite integers are signed 64-bit, so a larger number is a usage
# error here, not an OverflowError when it is bound to a query.
ARCHIVE_NUMBER = click.IntRange(min=1, max=SQLITE_MAX_INTEGER)


def db_option(help_text: str) -> Callable[[Any], Any]:
    """`--db PATH`, the archive a command reads; defaults to the one `unpog crawl` writes."""
    return click.option(
        "--db", "db_path", default=DEFAULT_DB, show_default=True, metavar="PATH", help=help_text
    )


def crawl_option(help_text: str) -> Callable[[Any], Any]:
    """`--crawl N`, one crawl's id."""
    return click.option("--crawl", "crawl_id", type=ARCHIVE_NUMBER, metavar="N", help=help_text)


def setting_option(help_text: str) -> Callable[[Any], Any]:
    """`-s NAME=VALUE` (repeatable), a Scrapy setting as `scrapy crawl -s` takes it."""
    return click.option(
        "-s", "--set", "setting_options", multiple=True, metavar="NAME=VALUE", help=help_text
    )


def parse_setting_options(values: tuple[str, ...]) -> dict[str, str]:
    """`-s NAME=value` pairs, as `scrapy crawl` takes them."""
    parsed = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=value, got {value!r}", param_hint="-s")
        parsed[name.strip()] = setting
    return parsed
