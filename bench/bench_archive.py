"""Benchmark 3: the archive at scale. Builds an archive of N articles x V versions through
`Archive.record_article` (one crawl per version), then times the read queries users run.

    .venv/bin/python bench/bench_archive.py [--articles 100000] [--versions 5]
        [--each 5000] [--db PATH] [--reuse]

The first `--each` calls commit one by one, as the crawl pipeline does (its real rate);
the rest run the same `record_article` inside one transaction per 1,000 calls (a bulk
load: the code path is the same, only the commits are batched).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    WORDS,
    print_header,
    print_table,
    sentence,
    verdict,
    view_target,
)
from unpog_crawler.archive import Archive  # noqa: E402
from unpog_crawler.items import ArticleRecord  # noqa: E402
from unpog_crawler.parse import parse_article  # noqa: E402
from unpog_crawler.replica.content import ARTICLES  # noqa: E402
from unpog_crawler.replica.server import ReplicaSite  # noqa: E402

SPIDER = "quarterly"
BASE = "https://unpog.org"
FIRST_CRAWL = datetime(2024, 1, 1, tzinfo=timezone.utc)
BATCH = 1000
AS_OF_PAGE = 100


# ---- generating records ------------------------------------------------------------------


def templates() -> list[ArticleRecord]:
    """The replica's 17 articles as the parser reads them (realistic text and HTML)."""
    site = ReplicaSite()
    out = []
    for article in ARTICLES:
        response = site.handle("GET", view_target(article.sn))
        record = parse_article(
            response.body, BASE + view_target(article.sn), {"Content-Type": response.content_type}
        )
        assert isinstance(record, ArticleRecord)
        out.append(record)
    return out


def lengthened(bases: list[ArticleRecord], length: int) -> list[ArticleRecord]:
    """Templates whose body is `length` replica articles' bodies in a row (different prose):
    replica articles are short (~600 characters); a Quarterly article is several times that."""
    if length <= 1:
        return bases
    out = []
    for i, base in enumerate(bases):
        parts = [bases[(i + k) % len(bases)] for k in range(length)]
        out.append(
            dataclasses.replace(
                base,
                body_text="\n\n".join(p.body_text for p in parts),
                body_html="".join(p.body_html for p in parts),
            )
        )
    return out


def record(base: ArticleRecord, sn: int, version: int) -> ArticleRecord:
    extra = sentence(sn) + (f" Revised text {version}." if version > 1 else "")
    url = view_target(sn)
    return dataclasses.replace(
        base,
        url=url,
        fetched_url=BASE + url,
        source_id=str(sn),
        body_text=f"{base.body_text}\n\n{extra}",
        body_html=f"{base.body_html}<p>{extra}</p>",
        page_sha256=f"{sn:032x}{version:032x}",
    )


def moment(version: int, index: int) -> str:
    """Crawl `version` starts a week after the previous one; one article per 0.5 s."""
    at = FIRST_CRAWL + timedelta(weeks=version - 1, seconds=index // 2)
    return at.isoformat(timespec="seconds")


def raw_text_bytes(rec: ArticleRecord) -> tuple[int, int]:
    """(text bytes, body_html bytes) of one version."""
    parts = [rec.title, rec.body_text, *rec.authors, *rec.footnotes, rec.event_place or ""]
    return sum(len(p.encode()) for p in parts), len(rec.body_html.encode())


# ---- writing -------------------------------------------------------------------------------


@dataclasses.dataclass
class WriteStats:
    each_calls: int = 0
    each_s: float = 0.0
    batch_calls: int = 0
    batch_s: float = 0.0
    finish_s: float = 0.0
    text_bytes: int = 0
    html_bytes: int = 0


def write_crawl(
    archive: Archive, bases: list[ArticleRecord], articles: int, version: int, each: int,
    stats: WriteStats,
) -> None:  # fmt: skip
    with archive.lock():
        crawl_id = archive.start_crawl(SPIDER, BASE, moment(version, 0), {})
        index = 0
        while index < articles:
            size = 1 if stats.each_calls < each else min(BATCH, articles - index)
            started = time.perf_counter()
            with archive.db.atomic() if size > 1 else _nothing():
                for i in range(index, index + size):
                    rec = record(bases[i % len(bases)], i + 1, version)
                    archive.record_article(crawl_id, rec, moment(version, i), SPIDER)
                    text, html = raw_text_bytes(rec)
                    stats.text_bytes += text
                    stats.html_bytes += html
            elapsed = time.perf_counter() - started
            if size == 1:
                stats.each_calls, stats.each_s = stats.each_calls + 1, stats.each_s + elapsed
            else:
                stats.batch_calls, stats.batch_s = stats.batch_calls + size, stats.batch_s + elapsed
            index += size
        started = time.perf_counter()
        archive.finish_crawl(
            crawl_id, status="finished", complete=True, finished_at=moment(version, articles)
        )
        stats.finish_s += time.perf_counter() - started


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def build(db: Path, articles: int, versions: int, each: int, length: int = 1) -> WriteStats:
    for path in db.parent.glob(db.name + "*"):
        path.unlink()
    bases, stats = lengthened(templates(), length), WriteStats()
    with Archive(db) as archive:
        for version in range(1, versions + 1):
            started = time.perf_counter()
            write_crawl(archive, bases, articles, version, each, stats)
            print(
                f"  crawl {version}: {articles:,} record_article calls in "
                f"{time.perf_counter() - started:,.1f}s",
                flush=True,
            )
            if version == 1:
                print_estimate(stats, articles * versions)
        archive.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return stats


def print_estimate(stats: WriteStats, total: int) -> None:
    each = stats.each_calls / stats.each_s if stats.each_s else 0
    batch = stats.batch_calls / stats.batch_s if stats.batch_s else 0
    if each:
        print(
            f"  record_article, one commit each: {each:,.0f}/s -> {total:,} calls would take "
            f"{total / each / 60:,.1f} min",
            flush=True,
        )
    if batch:
        print(
            f"  record_article, batched commits: {batch:,.0f}/s -> {total:,} calls take "
            f"~{total / batch / 60:,.1f} min",
            flush=True,
        )


# ---- reading -------------------------------------------------------------------------------


def timed(call: Callable[[], Any], repeat: int) -> tuple[list[float], int]:
    """Milliseconds of each call, and the rows the last call returned."""
    samples, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - started) * 1000)
        rows = len(result) if isinstance(result, list) else 1
    return samples, rows


def rng_urls(articles: int, seed: int = 7) -> Iterator[str]:
    rnd = random.Random(seed)
    while True:
        yield view_target(rnd.randint(1, articles))


def latest(archive: Archive, urls: Iterator[str]) -> Callable[[], Any]:
    def call() -> Any:
        found = archive.find_article(next(urls))
        return archive.version(found["id"], found["current_version"])

    return call


def history(archive: Archive, urls: Iterator[str]) -> Callable[[], Any]:
    def call() -> Any:
        return archive.history(archive.find_article(next(urls))["id"])

    return call


def search(archive: Archive, terms: list[str], **options: Any) -> Callable[[], Any]:
    queue = iter(terms * 1000)
    return lambda: archive.search(next(queue), **options)


def as_of_page(archive: Archive, moment: str, articles: int) -> Callable[[], Any]:
    """One page of AS_OF_PAGE rows after a random article id (keyset pagination)."""
    rnd = random.Random(11)
    return lambda: archive.as_of(
        moment, limit=AS_OF_PAGE, after=rnd.randint(0, max(0, articles - AS_OF_PAGE))
    )


def as_of_stream(archive: Archive, moment: str) -> list[Any]:
    """The whole archive at a moment, streamed page by page as `unpog as-of` reads it."""
    started = time.perf_counter()
    rows = sum(1 for _ in archive.iter_as_of(moment))
    elapsed = time.perf_counter() - started
    return [["as-of, whole archive streamed (info, no target)", f"{elapsed:,.2f} s",
             f"{rows:,}", f"{rows / elapsed:,.0f} rows/s"]]  # fmt: skip


def queries(archive: Archive, articles: int, versions: int, repeat: int) -> list[list[Any]]:
    """(name, p50, p95, rows, target ms) of each read a user runs."""
    urls = rng_urls(articles)
    rare = [f'"{sentence(n)}"' for n in random.Random(3).sample(range(1, articles + 1), 20)]
    common = list(WORDS[:5])
    since = moment(versions, max(0, articles - articles // 100))  # the last 1% of changes
    last = moment(versions, articles)
    plan: list[tuple[str, Callable[[], Any], int, float]] = [
        ("latest version of one article", latest(archive, urls), repeat, 20),
        ("history of one article", history(archive, urls), repeat, 20),
        ("FTS latest, common word", search(archive, common), max(5, repeat // 10), 100),
        ("FTS latest, rare phrase", search(archive, rare), max(5, repeat // 10), 100),
        ("FTS all versions (newest first), common word", search(archive, common, all_versions=True),
         max(5, repeat // 10), 100),
        ("FTS all versions (newest first), rare phrase", search(archive, rare, all_versions=True),
         max(5, repeat // 10), 100),
        ("FTS all versions ranked (--order rank), common word",
         search(archive, common, all_versions=True, order="rank"), max(5, repeat // 10), 100),
        ("FTS all versions ranked (--order rank), rare phrase",
         search(archive, rare, all_versions=True, order="rank"), max(5, repeat // 10), 100),
        (f"as-of, one page ({AS_OF_PAGE} rows)", as_of_page(archive, last, articles), repeat,
         100),
        ("changes since a date (last 1%)", lambda: archive.changes(since=since), 5, 100),
    ]  # fmt: skip
    rows = []
    for name, call, count, target in plan:
        call()  # warm the page cache as a user's second query would find it
        samples, returned = timed(call, count)
        p50, p95 = (sorted(samples)[len(samples) // 2], percentile95(samples))
        rows.append([name, p50, p95, returned, count, f"< {target:.0f}", verdict(p95 < target)])
    return rows


def percentile95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# ---- report --------------------------------------------------------------------------------


def db_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.suffix != ".lock")


def table_sizes(archive: Archive) -> list[list[Any]]:
    try:
        rows = archive.db.execute(
            "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8"
        ).fetchall()
    except Exception:  # dbstat is a compile-time option
        return []
    return [[name, size / 2**20] for name, size in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--versions", type=int, default=5)
    parser.add_argument("--each", type=int, default=5000, help="calls committed one by one")
    parser.add_argument("--repeat", type=int, default=200, help="samples per 1-article query")
    parser.add_argument("--db", type=Path, default=Path("/tmp/unpog-bench/archive-scale.db"))
    parser.add_argument("--reuse", action="store_true", help="query an archive built before")
    parser.add_argument(
        "--length", type=int, default=1, help="body = this many replica bodies (default 1)"
    )
    args = parser.parse_args()
    longer = f", bodies x{args.length}" if args.length > 1 else ""
    print_header(
        f"Benchmark 3: archive at scale ({args.articles:,} articles x {args.versions}{longer})"
    )
    args.db.parent.mkdir(parents=True, exist_ok=True)
    total = args.articles * args.versions
    if not args.reuse:
        stats = build(args.db, args.articles, args.versions, args.each, args.length)
        each = stats.each_calls / stats.each_s
        batch = stats.batch_calls / stats.batch_s if stats.batch_s else float("nan")
        size = db_bytes(args.db)
        text = stats.text_bytes
        print_table(
            ["write", "value", "note"],
            [
                ["record_article, one commit each (pipeline)", f"{each:,.0f} versions/s",
                 f"{stats.each_calls:,} calls; {total:,} would take {total / each / 60:,.1f} min"],
                ["record_article, 1,000 per commit (bulk)", f"{batch:,.0f} versions/s",
                 f"{stats.batch_calls:,} calls"],
                [f"finish_crawl (x{args.versions})", f"{stats.finish_s:,.1f} s", "total"],
                ["database size", f"{size / 2**20:,.0f} MiB", f"{size / text:.2f}x raw text"],
                ["raw text (title, body, authors, footnotes)", f"{text / 2**20:,.0f} MiB",
                 f"target DB < 2x: {verdict(size < 2 * text)}"],
                ["body_html (sanitised markup, stored too)", f"{stats.html_bytes / 2**20:,.0f} MiB",
                 f"DB / (text + html) = {size / (text + stats.html_bytes):.2f}x"],
            ],
        )  # fmt: skip
    with Archive(args.db) as archive:
        sizes = table_sizes(archive)
        if sizes:
            print_table(["table or index", "MiB"], sizes)
        print_table(
            ["query (archive.py)", "p50 ms", "p95 ms", "rows", "runs", "target p95", "verdict"],
            queries(archive, args.articles, args.versions, args.repeat),
        )
        last = moment(args.versions, args.articles)
        print_table(["stream", "total", "rows", "rate"], as_of_stream(archive, last))


if __name__ == "__main__":
    main()
