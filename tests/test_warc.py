"""WARC capture during real crawls of the replica: files, records, index, revisits, raw bytes."""

from __future__ import annotations

import gzip
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest_twisted
from conftest import crawl, wait_for_rows
from warcio.archiveiterator import ArchiveIterator

from unpog_crawler.archive import Archive
from unpog_crawler.capture.write import WarcFiles
from unpog_crawler.replica.server import ReplicaHandler, serve

REPO = Path(__file__).resolve().parent.parent
WARCIO = [sys.executable, "-m", "warcio.cli"]


def warc_files(db_path: Path) -> list[Path]:
    return sorted((db_path.parent / "unpog" / "warc").glob("*.warc.gz"))  # the archive's own


def read_all(path: Path) -> list[dict[str, Any]]:
    """Every record of a file through warcio's own reader, digests checked."""
    records = []
    with path.open("rb") as handle:
        iterator = ArchiveIterator(handle, check_digests=True)
        for record in iterator:
            payload = record.content_stream().read()
            assert record.digest_checker.passed is not False, record.digest_checker.problems
            records.append(
                {
                    "file": path.name,
                    "offset": iterator.get_record_offset(),
                    "type": record.rec_type,
                    "id": record.rec_headers.get_header("WARC-Record-ID"),
                    "url": record.rec_headers.get_header("WARC-Target-URI"),
                    "headers": record.rec_headers,
                    "http": record.http_headers,
                    "payload": payload,
                }
            )
    return records


def captures(db_path: Path) -> list[dict[str, Any]]:
    with Archive(db_path, create=False) as archive:
        return list(archive.captures())


def warcio_check(paths: list[Path]) -> subprocess.CompletedProcess:
    args = [*WARCIO, "check", *map(str, paths)]
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


@pytest_twisted.ensureDeferred
async def test_every_file_of_a_crawl_is_valid_warc_1_1_with_a_warcinfo_record(replica, db_path):
    # A small size limit makes the crawl roll over to several files.
    row = await crawl(replica.base_url, db_path, UNPOG_WARC_MAX_SIZE=20_000)

    files = warc_files(db_path)
    assert len(files) >= 3
    assert all(p.name.startswith(f"unpog-crawl{row['id']}-") for p in files)
    check = warcio_check(files)
    assert check.returncode == 0, check.stdout + check.stderr
    for path in files:
        records = read_all(path)
        assert records[0]["type"] == "warcinfo"
        info = records[0]["payload"].decode()
        assert "software: unpog-crawler/" in info and "crawl-settings: {" in info
        assert f"isPartOf: unpog crawl {row['id']}" in info
        assert replica.base_url in info
        assert all(r["headers"].protocol == "WARC/1.1" for r in records)
        assert all(r["headers"].get_header("WARC-Block-Digest") for r in records)
        # Rolled over at the limit: only a single exchange may push a file past it.
        assert path.stat().st_size < 20_000 + 20_000


@pytest_twisted.ensureDeferred
async def test_captures_table_indexes_every_record_one_to_one(replica, db_path):
    await crawl(replica.base_url, db_path)

    written = [record for path in warc_files(db_path) for record in read_all(path)]
    indexed = captures(db_path)

    def key(file: str, offset: int, record_id: str, kind: str, url: str | None) -> tuple:
        return (Path(file).name, offset, record_id, kind, url)

    assert sorted(key(r["file"], r["offset"], r["id"], r["type"], r["url"]) for r in written) == (
        sorted(
            key(c["warc_file"], c["offset"], c["record_id"], c["record_type"], c["url"])
            for c in indexed
        )
    )
    by_type = {c["record_type"] for c in indexed}
    assert {"warcinfo", "request", "response"} <= by_type
    pages = {c["page_type"] for c in indexed if c["record_type"] == "response"}
    assert {"robots", "list", "article"} <= pages
    for capture in indexed:
        if capture["record_type"] == "response":
            assert capture["payload_digest"].startswith("sha1:")
            assert capture["status"] == 200 and capture["content_type"]
        if capture["record_type"] == "request":  # paired with its response
            partner = next(c for c in indexed if c["id"] == capture["concurrent_to"])
            assert partner["record_type"] == "response" and partner["url"] == capture["url"]


@pytest_twisted.ensureDeferred
async def test_each_version_links_to_the_response_it_was_parsed_from(replica, db_path):
    await crawl(replica.base_url, db_path)

    connection = sqlite3.connect(db_path)
    try:
        rows = connection.execute(
            "SELECT v.url, v.page_sha256, c.canonical_url, c.record_type, c.page_type "
            "FROM versions v JOIN captures c ON c.id = v.capture_id"
        ).fetchall()
        versions = connection.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
    finally:
        connection.close()
    assert len(rows) == versions == len(replica.site.articles()) + 1
    for url, _sha, canonical, record_type, page_type in rows:
        assert (canonical, record_type, page_type) == (url, "response", "article")


@pytest_twisted.ensureDeferred
async def test_an_unchanged_payload_is_a_revisit_of_the_earlier_capture(replica, db_path):
    await crawl(replica.base_url, db_path)
    await crawl(replica.base_url, db_path)

    indexed = captures(db_path)
    revisits = [c for c in indexed if c["record_type"] == "revisit"]
    robots = [c for c in revisits if c["page_type"] == "robots"]
    assert len(robots) == 1 and robots[0]["crawl_id"] == 2
    original = next(c for c in indexed if c["id"] == robots[0]["revisit_of"])
    assert (original["crawl_id"], original["record_type"]) == (1, "response")
    assert original["payload_digest"] == robots[0]["payload_digest"]
    record = next(
        r
        for path in warc_files(db_path)
        for r in read_all(path)
        if r["id"] == robots[0]["record_id"]
    )
    headers = record["headers"]
    assert headers.get_header("WARC-Profile").endswith("/warc/1.1/revisit/identical-payload-digest")
    assert headers.get_header("WARC-Refers-To") == original["record_id"]
    assert headers.get_header("WARC-Refers-To-Target-URI") == original["url"]
    assert headers.get_header("WARC-Refers-To-Date") == original["fetched_at"]
    assert record["payload"] == b""  # headers only: the payload stays in crawl 1's file
    # Article pages count their hits, so every fetch differs: full responses, not revisits.
    article_responses = [
        c for c in indexed if c["crawl_id"] == 2 and c["page_type"] == "article"
        and "sn=" in c["url"] and c["record_type"] != "request"
    ]  # fmt: skip
    assert article_responses and all(c["record_type"] == "response" for c in article_responses)


@pytest_twisted.ensureDeferred
async def test_http_errors_and_failed_downloads_are_captured(replica, db_path):
    article = replica.site.articles()[3]
    replica.site.fail(f"/page/sub4_3_view.asp?sn={article.sn}", status=500)
    # Pages over 6 kB (a few long articles) are cut off by Scrapy: no response, only the
    # request and a fetch-error note.
    await crawl(replica.base_url, db_path, DOWNLOAD_MAXSIZE=6_000, DOWNLOAD_WARNSIZE=0)

    indexed = captures(db_path)
    failed = [
        (c["record_type"], c["status"]) for c in indexed
        if c["record_type"] in ("response", "revisit") and c["url"].endswith(f"sn={article.sn}")
    ]  # fmt: skip
    # The first try and two retries; the same error page twice more is a revisit.
    assert failed == [("response", 500), ("revisit", 500), ("revisit", 500)]
    notes = [c for c in indexed if c["record_type"] == "metadata"]
    assert len(notes) >= 2
    records = {r["id"]: r for path in warc_files(db_path) for r in read_all(path)}
    for note in notes:
        assert records[note["record_id"]]["payload"].startswith(b"fetch-error: ")
        request = next(c for c in indexed if c["id"] == note["concurrent_to"])
        assert (request["record_type"], request["url"]) == ("request", note["url"])
    assert warcio_check(warc_files(db_path)).returncode == 0


class GzipHandler(ReplicaHandler):
    """The replica as many servers answer: gzip-encoded bodies when the client accepts it."""

    def _answer(self, send_body: bool) -> None:
        response = self.server.site.handle(self.command, self.path)
        body = response.body
        accepts = self.headers.get("Accept-Encoding") or ""
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        if "gzip" in accepts:
            body = gzip.compress(body, mtime=0)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


@pytest_twisted.ensureDeferred
async def test_bodies_are_stored_as_received_before_decompression(db_path):
    with serve() as server:
        server.RequestHandlerClass = GzipHandler
        row = await crawl(server.base_url, db_path)
    assert row["new"] == len(server.site.articles()) + 1  # the spider read decoded pages

    records = [r for path in warc_files(db_path) for r in read_all(path)]
    requests = [r for r in records if r["type"] == "request"]
    assert requests and all("gzip" in r["http"].get_header("Accept-Encoding", "") for r in requests)
    responses = [r for r in records if r["type"] == "response"]
    assert all(r["http"].get_header("Content-Encoding") == "gzip" for r in responses)
    raw = [c for c in captures(db_path) if c["record_type"] == "response"]
    with (db_path.parent / raw[0]["warc_file"]).open("rb") as handle:
        handle.seek(raw[0]["offset"])
        member = gzip.decompress(handle.read(raw[0]["record_length"]))
    stored_body = member.split(b"\r\n\r\n", 2)[2]
    assert stored_body.startswith(b"\x1f\x8b")  # still gzip-encoded, as received
    assert raw[0]["length"] == len(stored_body.removesuffix(b"\r\n\r\n"))


def test_killing_a_crawl_mid_write_leaves_every_warc_file_readable(replica, db_path):
    slow = ["-s", "DOWNLOAD_DELAY=0.05", "-s", "AUTOTHROTTLE_ENABLED=False", "-L", "WARNING"]
    args = [sys.executable, "-m", "unpog_crawler.cli", "crawl", "--base-url", replica.base_url]
    # Small files: the kill may also land during a rollover.
    args += ["--db", str(db_path), "-s", "UNPOG_WARC_MAX_SIZE=8000", *slow]
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_rows(db_path, "captures", at_least=25)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)

    files = warc_files(db_path)
    assert files
    check = warcio_check(files)
    assert check.returncode == 0, check.stdout + check.stderr
    read = {r["id"] for path in files for r in read_all(path)}
    indexed = {c["record_id"] for c in captures(db_path)}
    assert indexed <= read  # every indexed record is there, whole
    verify = subprocess.run(
        [sys.executable, "-m", "unpog_crawler.cli", "verify", "--db", str(db_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_two_writers_of_the_same_crawl_id_in_one_folder_never_share_a_file(tmp_path):
    """Two archives' crawl 1 (a shared UNPOG_WARC_DIR), or an archive made again under the
    same name, open files in the same second: each gets its own, named after its archive."""
    writers = [
        WarcFiles(tmp_path, 1, 1024**2, {"software": "test"}, prefix)
        for prefix in ("unpog", "unpog", "demo")
    ]
    placed = [writer.write([])[0] for writer in writers]  # each opens its file: a warcinfo
    for writer in writers:
        writer.close()

    paths = [written.path for written in placed]
    assert len(set(paths)) == 3
    assert [p.name.split("-crawl1-")[0] for p in paths] == ["unpog", "unpog", "demo"]
    assert all(len(read_all(path)) == 1 for path in paths)
