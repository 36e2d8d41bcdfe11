"""What the search limits prevent (issue 18, item 12): seconds of full-text queries at the
limits of `unpog search` and beyond them, on an archive built by bench_archive.py.

    .venv/bin/python bench/bench_archive.py --articles 10000   # builds the archive once
    .venv/bin/python bench/bench_search_limits.py [--db /tmp/unpog-bench/archive-scale.db]

Each query runs through Archive.search (50 hits with their snippets: each snippet matches
the query again), the refused ones with the limits lifted: the figures show what a refused
query would cost. FTS5 cannot be interrupted: the longest rows take minutes on a large
archive.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_header, print_table  # noqa: E402
from unpog_crawler.archive import Archive, search_query_problem  # noqa: E402
from unpog_crawler.archive import reads as archive_reads  # noqa: E402


@contextlib.contextmanager
def limits_lifted() -> Iterator[None]:
    """Archive.search without its query limits (a bench measures what they prevent)."""
    archive_reads.search_query_problem = lambda query, raw: None
    try:
        yield
    finally:
        archive_reads.search_query_problem = search_query_problem


def common_terms(archive: Archive, count: int) -> list[str]:
    """The archive's most frequent words (fts5vocab, in a temporary table of this session)."""
    archive.db.conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, 'versions_fts', 'row')"
    )
    sql = "SELECT term FROM temp.vocab WHERE term GLOB '[a-z]*' ORDER BY doc DESC LIMIT ?"
    return [row[0] for row in archive.db.conn.execute(sql, [count])]


def timed(archive: Archive, query: str, raw: bool, all_versions: bool) -> tuple[float, int]:
    start = time.perf_counter()
    with limits_lifted():
        hits = archive.search(query, raw=raw, all_versions=all_versions, limit=50)
    return time.perf_counter() - start, len(hits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/unpog-bench/archive-scale.db"))
    args = parser.parse_args()
    if not args.db.exists():
        sys.exit(f"no archive at {args.db}: build one with bench/bench_archive.py --db {args.db}")
    archive = Archive.open_read_only(args.db)  # the vocabulary table is a temporary one
    versions = archive.db.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
    print_header(f"Search limits: {versions:,} versions in {args.db.name}")
    words = common_terms(archive, 2000)
    letters = list(dict.fromkeys(word[:1] for word in words))[:10]
    longest = words[:1]  # as many common words OR'd as 500 characters hold
    while len(" OR ".join([*longest, words[len(longest)]])) <= 500:
        longest.append(words[len(longest)])
    cases = [
        ("2 common words", " ".join(words[:2]), False),
        ("4 prefixes of 3 letters", " OR ".join(f"{w[:3]}*" for w in words[:4]), True),
        ("4 prefixes of 1 letter", " OR ".join(f"{c}*" for c in letters[:4]), True),
        (f"{len(longest)} common words OR'd", " OR ".join(longest), True),
        (f"{len(letters)} prefixes of 1 letter", " OR ".join(f"{c}*" for c in letters), True),
        ("300 common words OR'd", " OR ".join(words[:300]), True),
        (f"{len(words):,} common words OR'd", " OR ".join(words), True),
    ]
    rows = []
    for label, query, raw in cases:
        verdict = "refused" if search_query_problem(query, raw=raw) else "allowed"
        for scope, all_versions in (("latest, ranked", False), ("every version", True)):
            seconds, hits = timed(archive, query, raw, all_versions)
            rows.append([label, len(query), scope, f"{seconds:.2f}", hits, verdict])
            print(f"  {label}, {scope}: {seconds:.2f} s", file=sys.stderr)
    print_table(["query", "chars", "search", "seconds", "hits", "unpog search"], rows)
    archive.close()


if __name__ == "__main__":
    main()
