"""Benchmark 4: pages per second of parse + normalise on one core over the replica's pages.

.venv/bin/python bench/bench_parse.py [--articles 1000] [--seconds 5] [--profile]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    LargeSite,
    generate_articles,
    print_header,
    print_table,
    verdict,
    view_target,
)
from unpog_crawler.items import ArticleRecord  # noqa: E402
from unpog_crawler.parse import find_links, parse_article, parse_page  # noqa: E402

TARGET = 500.0
Page = tuple[bytes, str, dict[str, str]]


def rendered_pages(count: int) -> list[Page]:
    """(body, url, headers) of `count` article pages, rendered by ReplicaSite.handle()."""
    site = LargeSite(generate_articles(count))
    pages = []
    for article in site.articles():
        target = view_target(article.sn)
        response = site.handle("GET", target)
        pages.append(
            (response.body, f"http://127.0.0.1{target}", {"Content-Type": response.content_type})
        )
    return pages


def rate(pages: list[Page], work: Callable[[Page], object], seconds: float) -> float:
    """Pages per second of `work`, over whole passes, for at least `seconds`."""
    done, started = 0, time.perf_counter()
    while True:
        for page in pages:
            work(page)
        done += len(pages)
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return done / elapsed


def parse_only(page: Page) -> object:
    return parse_article(*page)


def parse_and_links(page: Page) -> object:
    """What the spider did with each article page before parse_page: two parses."""
    return parse_article(*page), find_links(*page)


def parse_once(page: Page) -> object:
    """What the spider does with each article page: record and prev/next links, one parse."""
    return parse_page(*page)


def check(pages: list[Page]) -> int:
    return sum(isinstance(parse_article(*p), ArticleRecord) for p in pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--profile", action="store_true", help="pyinstrument the parse loop")
    args = parser.parse_args()
    print_header("Benchmark 4: parsing (one core)")
    pages = rendered_pages(args.articles)
    size = sum(len(p[0]) for p in pages) / len(pages)
    print(
        f"{len(pages)} distinct article pages, {size:,.0f} bytes on average; "
        f"{check(pages)} parse as articles\n"
    )
    if args.profile:
        from pyinstrument import Profiler

        with Profiler() as profiler:
            rate(pages, parse_only, args.seconds)
        print(profiler.output_text(unicode=True, color=False))
    only = rate(pages, parse_only, args.seconds)
    both = rate(pages, parse_and_links, args.seconds)
    once = rate(pages, parse_once, args.seconds)
    print_table(
        ["measure", "pages/s", "ms/page", "target", "verdict"],
        [
            ["parse_article", only, 1000 / only, f">= {TARGET:.0f}/s", verdict(only >= TARGET)],
            ["parse_article + find_links (two parses)", both, 1000 / both, "-", "-"],
            ["parse_page (per spider page, one parse)", once, 1000 / once, "-", "-"],
        ],
    )


if __name__ == "__main__":
    main()
