"""Make an archive look older, so that a re-crawl of the replica seconds later plays as the
next night's (or the next month's): the revisit tests and benchmarks need days to pass."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

NIGHT = timedelta(days=1)
# The replica's article pages, by their URL (board views and the Quarterly's issue pages).
ARTICLE_PAGE = re.compile(r"_view\.asp|/sub4_3_\d{4}_[a-z]+\.asp")
# (table, column) of every time the archive keeps about its crawls and posts.
TIMES = (
    ("articles", "first_seen"),
    ("articles", "last_seen"),
    ("versions", "captured_at"),
    ("changes", "at"),
    ("crawls", "started_at"),
    ("crawls", "finished_at"),
    ("list_rows", "recorded_at"),
)


def age_archive(db_path: Path, by: timedelta, urls: tuple[str, ...] | None = None) -> None:
    """Move times `by` into the past: the whole history (as if its crawls ran then), or
    only when the posts at `urls` were last fetched."""
    connection = sqlite3.connect(db_path)
    try:
        columns = TIMES if urls is None else (("articles", "last_seen"),)
        for table, column in columns:
            where = "" if urls is None else f" WHERE url IN ({', '.join('?' * len(urls))})"
            rows = connection.execute(
                f"SELECT rowid, {column} FROM {table}{where}", urls or ()
            ).fetchall()
            connection.executemany(
                f"UPDATE {table} SET {column} = ? WHERE rowid = ?",
                [(earlier(value, by), rowid) for rowid, value in rows if value],
            )
        connection.commit()
    finally:
        connection.close()


def earlier(iso: str, by: timedelta) -> str:
    return (datetime.fromisoformat(iso) - by).isoformat(timespec="seconds")
