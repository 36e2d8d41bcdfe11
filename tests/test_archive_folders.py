"""Each archive keeps its WARC files, downloads and logs in a folder of its own, named after its
database; WARC names never collide; an archive made before keeps finding what it has; and
the records a killed crawl wrote but did not index are indexed by the next crawl or by
`unpog verify --repair`. Real `unpog` subprocesses against the replica, real SIGKILLs."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import query
from warcio.archiveiterator import ArchiveIterator

REPO = Path(__file__).resolve().parent.parent
UNPOG = [sys.executable, "-m", "unpog_crawler.cli"]
# Every post fetched on each crawl (the revisit policy would hold archived posts back).
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-L", "WARNING", "--full"]
LEGACY_NAME = "unpog-crawl{crawl}-{stamp}-{serial}.warc.gz"  # as written before the token


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*UNPOG, *args], cwd=REPO, capture_output=True, text=True, timeout=180, **kwargs
    )


def crawl(replica, db: Path, *extra: str, spider: str = "publications"):
    result = run("crawl", "--base-url", replica.base_url, "--db", str(db), "--spider", spider,
                 *FAST, *extra)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def verify(db: Path, *extra: str) -> subprocess.CompletedProcess:
    result = run("verify", "--db", str(db), *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def records_in(path: Path) -> list[str]:
    """WARC-Record-IDs of the complete records of a file, read by warcio."""
    ids = []
    with path.open("rb") as handle:
        try:
            for record in ArchiveIterator(handle):
                ids.append(record.rec_headers.get_header("WARC-Record-ID"))
        except Exception:  # an incomplete last record (killed while writing it)
            pass
    return ids


def test_two_archives_in_one_folder_keep_their_own_captures_files_and_logs(replica, tmp_path):
    folder = tmp_path / "archive"
    demo, real = folder / "demo.db", folder / "unpog.db"

    crawl(replica, demo)
    crawl(replica, real)

    for db, name in ((demo, "demo"), (real, "unpog")):
        own = folder / name
        warcs = sorted((own / "warc").glob("*.warc.gz"))
        assert warcs and all(p.name.startswith(f"{name}-crawl1-") for p in warcs)
        assert any((own / "files").rglob("*.pdf"))  # the publications' attachments
        assert len(list((own / "logs").glob("unpog-*-publications.log"))) == 1
        stored = query(db, "SELECT DISTINCT warc_file FROM captures")
        assert {Path(n).parent for (n,) in stored} == {Path(name) / "warc"}
        assert "warning" not in verify(db).stderr
    for shared in ("warc", "files", "logs"):
        assert not (folder / shared).exists()
    demo_names = {p.name for p in (folder / "demo" / "warc").iterdir()}
    assert not demo_names & {p.name for p in (folder / "unpog" / "warc").iterdir()}


def test_an_archive_made_again_under_the_same_name_writes_new_warc_names(replica, tmp_path):
    db = tmp_path / "archive" / "unpog.db"
    crawl(replica, db, spider="youth")
    first = {p.name for p in (tmp_path / "archive/unpog/warc").iterdir()}
    for path in db.parent.glob("unpog.db*"):
        path.unlink()  # a new archive: its crawl ids start at 1 again, in the same second

    crawl(replica, db, spider="youth")

    both = {p.name for p in (tmp_path / "archive/unpog/warc").iterdir()}
    assert first < both and all("-crawl1-" in name for name in both)
    # The old archive's file is not this one's: no warning about it.
    assert "warning" not in verify(db).stderr


def make_legacy(db: Path) -> None:
    """Turn a fresh archive into one an older version wrote: its WARC files (legacy names)
    and downloads in warc/ and files/ beside the database, shared with other archives."""
    own, folder = db.with_suffix(""), db.parent
    (own / "warc").rename(folder / "warc")
    (own / "files").rename(folder / "files")
    connection = sqlite3.connect(db)
    with connection:
        for (name,) in connection.execute("SELECT DISTINCT warc_file FROM captures").fetchall():
            parts = Path(name).name.split("-")  # unpog, crawlN, stamp, token, serial.warc.gz
            old = LEGACY_NAME.format(
                crawl=parts[1][5:], stamp=parts[2], serial=parts[4].split(".")[0]
            )
            (folder / "warc" / Path(name).name).rename(folder / "warc" / old)
            connection.execute(
                "UPDATE captures SET warc_file = ? WHERE warc_file = ?", (f"warc/{old}", name)
            )
    connection.close()


def test_an_archive_made_before_keeps_finding_its_captures_and_files(replica, tmp_path):
    db = tmp_path / "archive" / "unpog.db"
    crawl(replica, db)
    make_legacy(db)
    # Another archive's file in the shared folder (the demo's, an earlier year).
    foreign = (
        tmp_path
        / "archive/warc"
        / LEGACY_NAME.format(crawl=1, stamp="20200101000000", serial="00000")
    )
    shutil.copy(next((tmp_path / "archive/warc").glob("*.warc.gz")), foreign)
    assert "warning" not in verify(db).stderr  # its records found, the other's left alone
    stored = [p for (p,) in query(db, "SELECT path FROM files WHERE path IS NOT NULL")]
    assert stored

    crawl(replica, db)

    result = verify(db)
    assert "all intact" in result.stdout and "warning" not in result.stderr
    own_files = tmp_path / "archive/unpog/files"
    assert all((own_files / path).is_file() for path in stored)  # linked into its folder
    assert all((tmp_path / "archive/files" / path).is_file() for path in stored)  # kept
    new_warcs = query(db, "SELECT DISTINCT warc_file FROM captures WHERE crawl_id = 2")
    assert all(name.startswith("unpog/warc/unpog-crawl2-") for (name,) in new_warcs)


def start_crawl(replica, db: Path, *extra: str) -> subprocess.Popen:
    slow = ["-s", "DOWNLOAD_DELAY=0.1", "-s", "DOWNLOAD_DELAY_JITTER=0", "--spider", "quarterly"]
    return subprocess.Popen(
        [*UNPOG, "crawl", "--base-url", replica.base_url, "--db", str(db), *FAST, *slow, *extra],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_when(process: subprocess.Popen, ready, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, "the crawl ended before it could be killed"
        assert time.monotonic() < deadline, "the crawl never reached the moment"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def crawl_files(db: Path, crawl_id: int) -> list[Path]:
    return sorted((db.with_suffix("") / "warc").glob(f"unpog-crawl{crawl_id}-*.warc.gz"))


def indexed_ids(db: Path, crawl_id: int) -> set[str]:
    rows = query(db, "SELECT record_id FROM captures WHERE crawl_id = ?", crawl_id)
    return {record_id for (record_id,) in rows}


def test_a_killed_crawls_unindexed_file_is_indexed_by_the_next_crawl(replica, tmp_path):
    db = tmp_path / "archive" / "unpog.db"
    crawl(replica, db, spider="quarterly")
    # The crawl's index rows are committed only at its end: killed before, none are.
    process = start_crawl(replica, db, "-s", "UNPOG_COMMIT_INTERVAL=3600")
    # Past the list pages (archived posts wait until the listing is read): articles too.
    kill_when(process, lambda: any(len(records_in(p)) >= 16 for p in crawl_files(db, 2)))
    written = [record_id for path in crawl_files(db, 2) for record_id in records_in(path)]
    assert indexed_ids(db, 2) == set()
    assert "records in a file the index lacks not indexed" in verify(db).stderr

    crawl(replica, db, spider="quarterly")

    assert indexed_ids(db, 2) == set(written)
    rows = set(
        query(
            db,
            "SELECT record_type, page_type, status, concurrent_to IS NOT NULL, "
            "revisit_of IS NOT NULL FROM captures WHERE crawl_id = 2",
        )
    )
    # Indexed as the crawl would have: what each page was, its status, the pairs, revisits.
    assert ("warcinfo", None, None, 0, 0) in rows
    assert ("revisit", "robots", 200, 0, 1) in rows  # the same robots.txt as crawl 1
    assert ("request", "robots", None, 1, 0) in rows
    assert ("response", "list", 304, 0, 0) in rows  # conditional requests: 304 answers
    assert ("request", "article", None, 1, 0) in rows
    result = verify(db)
    assert "all intact" in result.stdout and "warning" not in result.stderr


def test_records_after_the_last_indexed_one_are_indexed_by_verify_repair(replica, tmp_path):
    db = tmp_path / "archive" / "unpog.db"
    db.parent.mkdir(parents=True)

    def tail_written() -> bool:
        """Some of the crawl's records are indexed (committed) and more were written since."""
        if not db.exists():
            return False
        try:
            extents = query(
                db, "SELECT warc_file, MAX(offset + record_length) FROM captures GROUP BY 1"
            )
        except sqlite3.OperationalError:  # the schema is not there yet
            return False
        return any((db.parent / name).stat().st_size > end + 4000 for name, end in extents if name)

    for _attempt in range(3):  # the kill may land right after a commit: then try again
        process = start_crawl(replica, db, "-s", "UNPOG_COMMIT_INTERVAL=0.5")
        kill_when(process, tail_written)
        written = {i for path in crawl_files(db, 1) for i in records_in(path)}
        if written - indexed_ids(db, 1):
            break
        for path in db.parent.glob("unpog.db*"):
            path.unlink()
        shutil.rmtree(db.with_suffix(""))
    missing = written - indexed_ids(db, 1)
    assert missing and indexed_ids(db, 1)
    warned = verify(db).stderr
    assert f"{len(missing)} records not indexed" in warned and "--repair" in warned

    result = verify(db, "--repair")

    assert f"indexed {len(missing)} records" in result.stderr
    assert indexed_ids(db, 1) == written
    assert "all intact" in result.stdout and "warning" not in result.stderr
    assert "warning" not in verify(db).stderr
