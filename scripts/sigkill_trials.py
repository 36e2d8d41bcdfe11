#!/usr/bin/env python
"""Kill `unpog crawl` with SIGKILL at many moments and check that the archive survives.

    python scripts/sigkill_trials.py [--trials 24] [--keep DIR]

Each trial copies an archive that already holds one crawl of the local replica, changes the
replica (edits, a deletion, a new article), starts `unpog crawl`, and SIGKILLs it after a
delay that differs from trial to trial (from process start-up to the final commit). Then:

- `PRAGMA integrity_check` is ok and no foreign key dangles;
- no partial rows: every article has its current version, versions count 1..n without gaps,
  every new/changed version has its change row and every change row its version;
- nothing is falsely removed: at most the article the site really deleted, and only by a
  finished crawl;
- the next crawl completes, and the archive's content (articles, versions, changes, ignoring
  ids and times) equals that of an archive whose crawl was never interrupted.

Exit status 0 when every trial holds. The test suite runs a short form (3 trials).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from unpog_crawler.replica.server import ReplicaServer, serve

# One spider: the site changes are on the Quarterly, so every kill lands in its writes.
UNPOG = [sys.executable, "-m", "unpog_crawler.cli", "crawl", "--spider", "quarterly"]
# A small delay between requests stretches the crawl over a second or so, so that the kill
# moments spread over fetching, writing and finishing rather than all landing in start-up.
CRAWL_SETTINGS = [
    "-s", "DOWNLOAD_DELAY=0.03",
    "-s", "DOWNLOAD_DELAY_JITTER=0",
    "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "CONCURRENT_REQUESTS=2",
    "-s", "UNPOG_WARC_ENABLED=False",
    "-L", "WARNING",
]  # fmt: skip


@dataclasses.dataclass
class Trial:
    number: int
    kill_after: float  # seconds after the process started
    killed: bool  # False when the crawl had already finished
    rows_at_kill: int  # versions + changes rows present when it was killed


def crawl(base_url: str, db_path: Path) -> subprocess.Popen:
    args = [*UNPOG, "--base-url", base_url, "--db", str(db_path), *CRAWL_SETTINGS]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def crawl_to_end(base_url: str, db_path: Path) -> None:
    code = crawl(base_url, db_path).wait(timeout=300)
    if code not in (0, 1):  # 1: unhealthy but finished (the site has a deleted article)
        raise AssertionError(f"crawl of {db_path} exited {code}")


def change_the_site(server: ReplicaServer) -> None:
    """Between the base crawl and the trial crawl: something to version, remove and add."""
    site = server.site
    site.edit(53, title="Policy Dialogue on Frontier Technologies (revised)")
    site.edit(72, body=(*site.article(72).body, "A paragraph added after publication."))
    site.delete(18)
    template = site.article(80)
    site.add(dataclasses.replace(template, sn=90, title="A Newly Published Report"))


def rows(db_path: Path, sql: str) -> list[tuple]:
    connection = sqlite3.connect(db_path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def content(db_path: Path) -> dict[str, object]:
    """The archive's content without ids or times: what an interrupted crawl must not alter."""
    return {
        "articles": rows(
            db_path,
            "select url, source_id, kind, title, status, current_version, issue, issue_basis "
            "from articles order by url",
        ),
        "versions": rows(
            db_path,
            "select a.url, v.version, v.content_hash, v.changed_fields, v.title, v.body_text "
            "from versions v join articles a on a.id = v.article_id order by a.url, v.version",
        ),
        "changes": sorted(
            Counter(
                rows(
                    db_path,
                    "select a.url, c.kind, c.from_version, c.to_version, c.changed_fields "
                    "from changes c join articles a on a.id = c.article_id",
                )
            ).items()
        ),
    }


def check_consistent(db_path: Path, deleted_url: str) -> None:
    """Integrity, no partial rows, no false removal: raise AssertionError naming what broke."""
    problems = []
    if rows(db_path, "PRAGMA integrity_check") != [("ok",)]:
        problems.append("integrity_check failed")
    if rows(db_path, "PRAGMA foreign_key_check"):
        problems.append("dangling foreign keys")
    checks = {
        "article without its current version": (
            "select url from articles a where not exists (select 1 from versions v "
            "where v.article_id = a.id and v.version = a.current_version)"
        ),
        "gap in version numbers": (
            "select article_id from versions group by article_id "
            "having max(version) != count(*) or min(version) != 1"
        ),
        "version without its change": (
            "select v.id from versions v where not exists (select 1 from changes c "
            "where c.article_id = v.article_id and c.to_version = v.version "
            "and c.crawl_id = v.crawl_id and c.kind in ('new', 'changed', 'restored'))"
        ),
        "change without its version": (
            "select c.id from changes c where c.to_version is not null and not exists "
            "(select 1 from versions v where v.article_id = c.article_id "
            "and v.version = c.to_version)"
        ),
        "removal by a crawl that did not finish": (
            "select c.id from changes c join crawls r on r.id = c.crawl_id "
            "where c.kind = 'removed' and r.status != 'finished'"
        ),
    }
    for name, sql in checks.items():
        if rows(db_path, sql):
            problems.append(name)
    removed = {url for (url,) in rows(db_path, "select url from articles where status='removed'")}
    if removed - {deleted_url}:
        problems.append(f"falsely removed: {sorted(removed - {deleted_url})}")
    if problems:
        raise AssertionError(f"{db_path}: " + "; ".join(problems))


def kill_at(base_url: str, db_path: Path, delay: float) -> tuple[bool, int]:
    process = crawl(base_url, db_path)
    time.sleep(delay)
    killed = process.poll() is None
    if killed:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    written = rows(
        db_path, "select (select count(*) from versions) + (select count(*) from changes)"
    )
    return killed, written[0][0]


def run_trials(count: int, workdir: Path) -> list[Trial]:
    """Run `count` trials in `workdir`; raise AssertionError at the first that fails."""
    deleted_url = "/page/sub4_3_view.asp?sn=18"
    with serve() as server:
        base = workdir / "base" / "unpog.db"
        crawl_to_end(server.base_url, base)
        change_the_site(server)
        reference = workdir / "reference" / "unpog.db"
        copy_archive(base, reference)
        started = time.monotonic()
        crawl_to_end(server.base_url, reference)
        duration = time.monotonic() - started
        expected = content(reference)
        check_consistent(reference, deleted_url)

        trials = []
        for number in range(count):
            # From just after start-up to the last commits of an uninterrupted crawl.
            delay = 0.2 + (duration * 0.92 - 0.2) * number / max(1, count - 1)
            db_path = workdir / f"trial-{number:02d}" / "unpog.db"
            copy_archive(base, db_path)
            killed, written = kill_at(server.base_url, db_path, delay)
            check_consistent(db_path, deleted_url)
            crawl_to_end(server.base_url, db_path)
            check_consistent(db_path, deleted_url)
            if content(db_path) != expected:
                raise AssertionError(f"trial {number}: archive differs from the reference")
            trials.append(Trial(number, round(delay, 2), killed, written))
    return trials


def copy_archive(source: Path, target: Path) -> None:
    """Copy a closed archive (WAL already checkpointed by its last close)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=24, help="number of kills (default 24)")
    parser.add_argument("--keep", type=Path, help="keep the trial archives in this directory")
    args = parser.parse_args(argv)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="sigkill-trials-"))
    try:
        trials = run_trials(args.trials, workdir)
    except AssertionError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    for trial in trials:
        state = "killed" if trial.killed else "had finished"
        print(
            f"trial {trial.number:2d}: {state} at {trial.kill_after:.2f}s "
            f"({trial.rows_at_kill} version+change rows): archive intact, recrawl equal"
        )
    print(f"{len(trials)} trials: all intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
