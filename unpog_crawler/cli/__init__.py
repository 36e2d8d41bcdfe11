"""The `unpog` command: crawl UNPOG into the archive without knowing Scrapy.

Each command is a thin layer: it checks its arguments, opens what it needs and calls the
library (it never holds SQL: the archive does). One module per command group: `crawl`,
`demo`, `browse` (Datasette), `research` (history, diff, search, changes, as-of, export,
feed, stats), `capture` (verify, reparse, cdx) and `doctor`; `options` holds the options
they share. Exit status: 0 healthy, 1 when a crawl failed, was incomplete or hit errors, 2 on
a usage error (bad option, unreadable archive).
"""

from __future__ import annotations

import click

from unpog_crawler import __version__
from unpog_crawler.cli import browse, capture, crawl, demo, doctor, research


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


# Each command group lives in its own module, with `register(group)`.
for _module in (crawl, demo, browse, research, doctor, capture):
    _module.register(main)
