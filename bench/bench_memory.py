"""Benchmark 5: peak RSS of a crawl of 1,000 and of 10,000 articles (wait4() of the crawl
process, so the replica server is not counted).

    .venv/bin/python bench/bench_memory.py [--sizes 1000 10000] [--paging all]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ChildRun,
    archive_counts,
    crawl_once,
    fresh_db,
    print_header,
    print_table,
    start_server,
    verdict,
)

TARGET = 1.5


def crawl(articles: int, paging: str, workdir: Path) -> tuple[ChildRun, int]:
    server = start_server(articles, workdir, paging=paging)
    db = fresh_db(workdir / f"memory-{articles}.db")
    try:
        run = crawl_once(server, db, workdir, f"memory-{articles}")
    finally:
        server.stop()
    return run, archive_counts(db)["articles"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 10000])
    parser.add_argument("--paging", choices=("all", "window"), default="all")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/unpog-bench/memory"))
    args = parser.parse_args()
    print_header(f"Benchmark 5: memory (paging={args.paging})")
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows, peaks = [], []
    for size in args.sizes:
        run, archived = crawl(size, args.paging, args.workdir)
        pages = int(run.stats.get("downloader/response_count", 0))
        peaks.append(run.max_rss_mb)
        rows.append([size, archived, pages, run.max_rss_mb, run.wall_s, run.returncode])
        print(f"  {size} articles: peak RSS {run.max_rss_mb:.0f} MiB", flush=True)
    print()
    print_table(["articles", "archived", "pages", "peak RSS MiB", "wall s", "exit"], rows)
    ratio = peaks[1] / peaks[0]
    print_table(
        ["ratio larger/smaller", "target", "verdict"],
        [[f"{ratio:.2f}", f"< {TARGET}", verdict(ratio < TARGET)]],
    )


if __name__ == "__main__":
    main()
