"""Command-line options that the archive's reading commands share (research, capture)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

DEFAULT_DB = "archive/unpog.db"


def db_option(help_text: str) -> Callable[[Any], Any]:
    """`--db PATH`, the archive a command reads; defaults to the one `unpog crawl` writes."""
    return click.option(
        "--db", "db_path", default=DEFAULT_DB, show_default=True, metavar="PATH", help=help_text
    )
