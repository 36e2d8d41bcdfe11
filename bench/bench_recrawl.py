"""Benchmark 2: re-crawl cost. A full crawl, an unchanged re-crawl and a re-crawl after 1%
of articles were edited: requests, bytes downloaded, 304s, versions written, wall time.

The replica answers If-None-Match / If-Modified-Since with 304 (see serve_large.py) and the
crawler sends them for article pages; list pages are always fetched in full, so the table
gives their share of the response bodies (from the crawl's WARC capture index).

    .venv/bin/python bench/bench_recrawl.py [--articles 5000] [--edit-share 0.01]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    archive_counts,
    crawl_once,
    edited_sns,
    fresh_db,
    print_header,
    print_table,
    start_server,
    verdict,
)


def body_bytes_by_type(db: Path) -> dict[str, int]:
    """Response body bytes of the latest crawl by page type, from its WARC capture index."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT COALESCE(page_type, '?'), SUM(length) FROM captures "
            "WHERE crawl_id = (SELECT MAX(id) FROM crawls) AND record_type IN "
            "('response', 'revisit') GROUP BY 1"
        ).fetchall()
    conn.close()
    return {kind: int(total or 0) for kind, total in rows}


def crawl_row(
    name: str, articles: int, edit_share: float, db: Path, workdir: Path, paging: str
) -> dict:
    server = start_server(articles, workdir, edit_share=edit_share, paging=paging)
    try:
        run = crawl_once(server, db, workdir, name.split()[0])
    finally:
        server.stop()
    stats = run.stats
    by_type = body_bytes_by_type(db)
    return {
        "name": name,
        "requests": int(stats.get("downloader/request_count", 0)),
        "bytes": int(stats.get("downloader/response_bytes", 0)),
        "not_modified": int(stats.get("downloader/response_status_count/304", 0)),
        "written": archive_counts(db)["written"],
        "wall": run.wall_s,
        "rc": run.returncode,
        # List pages are fetched in full on every crawl: their share of the body bytes.
        "list_share": by_type.get("list", 0) / (sum(by_type.values()) or 1),
    }


def targets(rows: list[dict[str, Any]], edited: int) -> list[list[Any]]:
    full, same, edit = rows
    share = same["bytes"] / full["bytes"] if full["bytes"] else 0.0
    return [
        ["unchanged re-crawl writes 0 versions", same["written"], verdict(same["written"] == 0)],
        ["unchanged re-crawl bytes <= 10% of full", f"{share:.0%}", verdict(share <= 0.10)],
        [f"1% edit writes exactly {edited} versions", edit["written"],
         verdict(edit["written"] == edited)],
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--edit-share", type=float, default=0.01)
    parser.add_argument("--paging", choices=("all", "window"), default="all")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/unpog-bench/recrawl"))
    args = parser.parse_args()
    print_header(f"Benchmark 2: re-crawl cost ({args.articles:,} articles, paging={args.paging})")
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = fresh_db(args.workdir / "recrawl.db")
    edited = len(edited_sns(args.articles, args.edit_share))
    plan = [("full crawl", 0.0), ("unchanged re-crawl", 0.0), (f"re-crawl, {edited} edited",
            args.edit_share)]  # fmt: skip
    rows = []
    for name, share in plan:
        rows.append(crawl_row(name, args.articles, share, db, args.workdir, args.paging))
        print(f"  {name}: done in {rows[-1]['wall']:.1f}s", flush=True)
    print()
    print_table(
        ["crawl", "requests", "MiB downloaded", "304s", "list pages' share of bodies",
         "versions written", "wall s", "exit"],
        [[r["name"], r["requests"], r["bytes"] / 2**20, r["not_modified"],
          f"{r['list_share']:.0%}", r["written"], r["wall"], r["rc"]] for r in rows],
    )  # fmt: skip
    print_table(["target", "value", "verdict"], targets(rows, edited))


if __name__ == "__main__":
    main()
