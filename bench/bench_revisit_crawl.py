"""Benchmark 10: the revisit policy (issue 16) in real crawls of a large replica without
validators: what an unchanged nightly re-crawl asks of the site, against `--full`.

A replica of 3,000 posts over five boards (the Quarterly, three Theme boards, Publications,
Youth), 10 a list page, published over six years, served on 127.0.0.1 from this process
with no ETag (every request a full download, as from a classic ASP server). Three
`unpog crawl` runs (every spider, politeness off) into one archive:

1. the first crawl (every post is new);
2. a night later, nothing changed: the nightly re-crawl (the revisit policy);
3. another night later, `unpog crawl --full` (every post, as before the policy).

"A night later" is written into the archive (its times moved 24 h back), never waited for:
the policy plans from the crawl's start and the archive's history. Requests are counted by
the replica: list pages, article pages, files (attachments, images), robots.txt. Hours are
what the requests would take at the live site's pace (`--delay-s`, 2 s a request).

    .venv/bin/python bench/bench_revisit_crawl.py [--posts 3000] [--page-size 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    PYTHON,
    ROOT,
    LargeSite,
    fresh_db,
    generate_articles,
    print_header,
    print_table,
    verdict,
)
from bench.serve_large import window_paging  # noqa: E402
from unpog_crawler.replica import boards, templates  # noqa: E402
from unpog_crawler.replica.boards import BoardFile, BoardState, Post  # noqa: E402
from unpog_crawler.replica.nights import ARTICLE_PAGE, NIGHT, age_archive  # noqa: E402
from unpog_crawler.replica.server import serve  # noqa: E402

# Share of the posts each board holds (the Theme board 0003 is not crawled by default).
BOARDS = {
    "0004": 0.32, "0002": 0.22, "quarterly": 0.16, "0010": 0.16, "0007": 0.09, "youth": 0.05,
}  # fmt: skip
FILES = ("/common/download.asp", "/upload/")
WORK = Path("/tmp/unpog-bench/revisit-crawl")


# ---- the site ---------------------------------------------------------------------------------


def board_posts(board: str, count: int, first_sn: int) -> list[Post]:
    """`count` posts of a board, oldest first, published evenly over six years to today."""
    today = date.today().toordinal()
    posts = []
    for i in range(count):
        sn = first_sn + i
        day = date.fromordinal(today - (count - 1 - i) * 6 * 365 // max(1, count - 1))
        title = f"Board {board} item {sn}: governance note"
        body = (
            f"The item {title} summarises work of the Project Office with its partners in the "
            f"Asia-Pacific region, with attention to practical lessons, note {sn}.",
            f"Participants discussed next steps; this is note number {sn} of board {board}, "
            "written so that every page has its own words and no line repeats.",
        )
        files = (BoardFile(f"bench_{board}_{sn}.pdf"),) if sn % 3 == 0 else ()
        posts.append(Post(board, sn, title, day.isoformat(), body, files=files))
    return posts


class BenchSite(LargeSite):
    """The large replica: generated Quarterly articles and board posts, no validators."""

    def __init__(self, posts: int) -> None:
        counts = {board: round(posts * share) for board, share in BOARDS.items()}
        self._board_posts = tuple(
            post
            for board, count in counts.items()
            if board != "quarterly"
            for post in board_posts(board, count, first_sn=100)
        )
        super().__init__(generate_articles(counts["quarterly"]))
        self.validators = False

    def reset(self) -> None:
        super().reset()
        self.boards = CachedBoards(self._board_posts)


class CachedBoards(BoardState):
    """BoardState with each board's sorted posts kept (the stock one sorts per request)."""

    def __init__(self, posts: tuple[Post, ...]) -> None:
        super().__init__(posts)
        self._sorted: dict[tuple[str, bool], list[Post]] = {}

    def posts(self, board: str, *, listed_only: bool = False) -> list[Post]:
        key = (board, listed_only)
        if key not in self._sorted:
            self._sorted[key] = super().posts(board, listed_only=listed_only)
        return self._sorted[key]


# ---- crawls -------------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    name: str
    lists: int
    articles: int
    files: int
    other: int
    seconds: float
    summary: list[str]
    rows: list[dict]

    @property
    def pages(self) -> int:
        return self.lists + self.articles


def crawl(name: str, server, db: Path, args: argparse.Namespace, *extra: str) -> Run:
    server.site.requests.clear()
    command = [
        PYTHON, "-m", "unpog_crawler.cli", "crawl", "--base-url", server.base_url,
        "--db", str(db), "-L", "WARNING", *extra,
        "-s", f"DOWNLOAD_DELAY={args.delay_crawl}", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", f"CONCURRENT_REQUESTS={args.concurrency}",
        "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={args.concurrency}",
        "-s", "UNPOG_MAX_LIST_PAGES=100000", "-s", "UNPOG_LOG_KEEP=0",
    ]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        print(result.stdout, result.stderr, file=sys.stderr)
        raise SystemExit(f"{name}: unpog crawl exited {result.returncode}")
    targets = [target for _, target, _ in server.site.requests]
    lists = sum("_list.asp" in t for t in targets)
    articles = sum(bool(ARTICLE_PAGE.search(t)) for t in targets)
    files = sum(t.startswith(FILES) for t in targets)
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        rows = [dict(r) for r in connection.execute("SELECT * FROM crawls ORDER BY id")]
    connection.close()
    summary = [line for line in result.stdout.splitlines() if line.strip()]
    other = len(targets) - lists - articles - files
    return Run(name, lists, articles, files, other, seconds, summary, rows[-len(summary) :])


def report(args: argparse.Namespace) -> None:
    templates.PAGE_SIZE = boards.PAGE_SIZE = args.page_size  # this process only
    templates.paging = window_paging  # the Quarterly's paging in blocks of 10, as ASP boards
    WORK.mkdir(parents=True, exist_ok=True)
    db = fresh_db(WORK / "unpog.db")
    site = BenchSite(args.posts)
    print_header("Revisit policy in real crawls: an unchanged nightly re-crawl (issue 16)")
    print(
        f"{args.posts:,} posts over {len(BOARDS)} boards ({', '.join(BOARDS)}), "
        f"{args.page_size} a list page, no validators; `unpog crawl` (every spider), "
        f"concurrency {args.concurrency}, DOWNLOAD_DELAY={args.delay_crawl:g}; "
        f"hours at {args.delay_s:g} s a request. Defaults: UNPOG_REVISIT_MAX_AGE=14, "
        "UNPOG_REVISIT_BUDGET=auto."
    )
    print()
    with serve(site) as server:
        first = crawl("first crawl (all new)", server, db, args)
        age_archive(db, NIGHT)
        nightly = crawl("unchanged re-crawl a night later", server, db, args)
        age_archive(db, NIGHT)
        full = crawl("unpog crawl --full, a night later", server, db, args, "--full")
    posts = sum(row["articles_seen"] for row in first.rows)
    runs = (first, nightly, full)
    print_table(
        ["crawl", "list pages", "article pages", "files", "other", "pages", "hours at pace",
         "wall s"],
        [[r.name, r.lists, r.articles, r.files, r.other, r.pages,
          f"{(r.pages + r.files) * args.delay_s / 3600:.2f}", f"{r.seconds:.0f}"]
         for r in runs],
    )  # fmt: skip
    target = nightly.lists + round(0.10 * posts)
    print_table(
        ["figure", "value", "target"],
        [
            ["posts archived by the first crawl", f"{posts:,}", ""],
            ["nightly re-crawl: pages asked for",
             f"{nightly.pages:,} ({nightly.lists:,} list + {nightly.articles:,} article)",
             f"<= list pages + 10% = {target:,} {verdict(nightly.pages <= target)}"],
            ["... article pages, share of the posts", f"{nightly.articles / posts:.1%}", ""],
            ["... pages against --full", f"{nightly.pages / full.pages:.1%}", ""],
            ["... requests with files against --full",
             f"{(nightly.pages + nightly.files) / (full.pages + full.files):.1%}", ""],
            ["nightly: versions written, posts removed",
             f"{sum(r['changed'] + r['new'] for r in nightly.rows)}, "
             f"{sum(r['removed'] for r in nightly.rows)}", "0, 0"],
            ["nightly: due / re-fetched / skipped (listed archived posts)",
             " / ".join(f"{sum(r[k] or 0 for r in nightly.rows):,}" for k in
                        ("revisit_due", "revisit_fetched", "revisit_skipped")), ""],
        ],
    )  # fmt: skip
    print("`unpog crawl` summary lines of the nightly re-crawl:")
    print()
    for line in nightly.summary:
        print(f"    {line}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--page-size", type=int, default=10, help="posts a list page")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--delay-crawl", type=float, default=0.0, help="DOWNLOAD_DELAY")
    parser.add_argument("--delay-s", type=float, default=2.0, help="the live pace, s/request")
    report(parser.parse_args())


if __name__ == "__main__":
    main()
