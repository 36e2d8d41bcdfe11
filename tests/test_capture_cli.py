"""`unpog verify`, `unpog reparse` and `unpog cdx` as a user runs them, on real crawls."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import pytest_twisted
from conftest import crawl, query
from warcio.archiveiterator import ArchiveIterator

from unpog_crawler.archive import Archive, capture_time
from unpog_crawler.archive.content import _hash_content, _row_content
from unpog_crawler.capture.write import GZIP_LEVEL
from unpog_crawler.cli import capture as capture_cli
from unpog_crawler.replica import faults
from unpog_crawler.replica.faults import Fault
from unpog_crawler.replica.server import ReplicaSite, Response, serve

REPO = Path(__file__).resolve().parent.parent
UNPOG = [sys.executable, "-m", "unpog_crawler.cli"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*UNPOG, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def response_capture(db_path: Path, url_part: str) -> tuple[str, int, int]:
    """(file, offset, length) of the first full response whose URL has url_part."""
    (row,) = query(
        db_path,
        "SELECT warc_file, offset, record_length FROM captures "
        "WHERE record_type = 'response' AND url LIKE ? ORDER BY id LIMIT 1",
        f"%{url_part}%",
    )
    return row


# --- verify --------------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_verify_passes_an_intact_archive_and_logs_plainly_without_a_terminal(
    replica, db_path
):
    await crawl(replica.base_url, db_path)
    await crawl(replica.base_url, db_path)
    (count,) = query(db_path, "SELECT COUNT(*) FROM captures")[0]

    result = run("verify", "--db", str(db_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"verified {count} records: all intact" in result.stdout
    assert f"verify: {count}/{count} records" in result.stderr  # the plain closing line
    assert "\r" not in result.stderr
    assert "warning" not in result.stderr  # every record written is indexed


@pytest_twisted.ensureDeferred
async def test_verify_catches_a_flipped_byte(replica, db_path):
    await crawl(replica.base_url, db_path)
    name, offset, length = response_capture(db_path, "sn=72")
    path = db_path.parent / name
    data = bytearray(path.read_bytes())
    data[offset + length // 2] ^= 0x01
    path.write_bytes(bytes(data))

    result = run("verify", "--db", str(db_path))

    assert result.returncode == 1
    problems = [line for line in result.stdout.splitlines() if line.startswith("PROBLEM")]
    assert len(problems) == 1
    assert f"{name}@{offset}" in problems[0] and "sn=72" in problems[0]


@pytest_twisted.ensureDeferred
async def test_verify_catches_a_truncated_file_and_a_missing_one(replica, db_path):
    await crawl(replica.base_url, db_path, UNPOG_WARC_MAX_SIZE=20_000)
    files = sorted((db_path.parent / "unpog" / "warc").glob("*.warc.gz"))
    assert len(files) >= 2
    with files[0].open("r+b") as handle:
        handle.truncate(files[0].stat().st_size - 100)
    files[-1].unlink()

    result = run("verify", "--db", str(db_path))

    assert result.returncode == 1
    assert "truncated" in result.stdout
    assert f"unpog/warc/{files[-1].name}: missing (" in result.stdout


@pytest_twisted.ensureDeferred
async def test_verify_catches_an_edited_payload_with_recomputed_gzip(replica, db_path):
    """An edit made by someone who re-gzipped the record: only the digests can tell."""
    await crawl(replica.base_url, db_path)
    name, offset, length = response_capture(db_path, "sn=72")
    path = db_path.parent / name
    data = path.read_bytes()
    record = gzip.decompress(data[offset : offset + length])
    forged = same_size_forgery(record, length)
    path.write_bytes(data[:offset] + forged + data[offset + length :])

    result = run("verify", "--db", str(db_path))

    assert result.returncode == 1
    assert "payload digest does not match the payload" in result.stdout


def same_size_forgery(record: bytes, length: int) -> bytes:
    """The record with one letter of its page changed, gzipped as the crawl does and the same
    size as the original member, so that every other record stays where the index says."""
    body_start = record.index(b"<html")
    for position in range(body_start, len(record)):
        if not chr(record[position]).islower():
            continue
        for letter in b"etaoinsrhl":
            if letter == record[position]:
                continue
            text = record[:position] + bytes([letter]) + record[position + 1 :]
            packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
            forged = packer.compress(text) + packer.flush()
            if len(forged) == length:
                return forged
    raise AssertionError("no same-size forgery found")


# --- reparse -------------------------------------------------------------------------------------


def make_older_parser_output(db_path: Path, urls: list[str]) -> dict[str, str]:
    """Rewrite the version rows of `urls` as an older parser would have written them (the
    last paragraph of the body lost); returns each URL's correct body text."""
    correct = {}
    with Archive(db_path, create=False) as archive:
        for url in urls:
            row = next(archive.db.query("SELECT * FROM versions WHERE url = ?", [url]))
            correct[url] = row["body_text"]
            older = dict(row, body_text=row["body_text"].rsplit("\n\n", 1)[0])
            assert older["body_text"] != row["body_text"]
            archive.db.execute(
                "UPDATE versions SET body_text = ?, content_hash = ? WHERE id = ?",
                [older["body_text"], _hash_content(_row_content(older)), row["id"]],
            )
    return correct


@pytest_twisted.ensureDeferred
async def test_reparse_rederives_exactly_the_versions_an_older_parser_got_wrong(replica, db_path):
    await crawl(replica.base_url, db_path)
    urls = ["/page/sub4_3_view.asp?sn=72", "/page/sub4_3_view.asp?sn=52"]
    correct = make_older_parser_output(db_path, urls)
    before = query(db_path, "SELECT id, article_id, version, content_hash FROM versions")

    result = run("reparse", "--db", str(db_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 re-derived versions" in result.stdout
    new = query(
        db_path,
        "SELECT v.url, v.version, v.rederived, v.changed_fields, v.body_text, v.captured_at, "
        "c.fetched_at, c.canonical_url, a.current_version "
        "FROM versions v JOIN captures c ON c.id = v.capture_id "
        "JOIN articles a ON a.id = v.article_id WHERE v.id > ? ORDER BY v.url",
        max(row[0] for row in before),
    )
    assert [row[0] for row in new] == sorted(urls)
    for url, version, rederived, changed, body, captured_at, fetched_at, canonical, current in new:
        assert (version, rederived, json.loads(changed), current) == (2, 1, ["body_text"], 2)
        assert body == correct[url] and canonical == url
        assert captured_at == capture_time(fetched_at)  # the capture's time, not now
    changes = query(
        db_path,
        "SELECT kind, from_version, to_version, reason FROM changes WHERE reason LIKE 're-%'",
    )
    assert sorted(row[:3] for row in changes) == [("changed", 1, 2)] * 2
    # The untouched articles kept their single version.
    assert query(db_path, "SELECT COUNT(*) FROM versions")[0][0] == len(before) + 2

    again = run("reparse", "--db", str(db_path))

    assert again.returncode == 0
    assert "0 new, 0 re-derived versions" in again.stdout
    assert query(db_path, "SELECT COUNT(*) FROM versions")[0][0] == len(before) + 2
    assert query(db_path, "SELECT COUNT(*) FROM changes WHERE reason LIKE 're-%'")[0][0] == 2


def linked_files(db_path: Path, url: str) -> list[dict]:
    """The files each version of `url` links, oldest version first."""
    with Archive(db_path, create=False) as archive:
        return list(
            archive.db.query(
                "SELECT v.version, v.crawl_id, v.rederived, f.id AS file_id, f.role, "
                "f.first_crawl_id FROM versions v "
                "JOIN version_files vf ON vf.version_id = v.id "
                "JOIN files f ON f.id = vf.file_id WHERE v.url = ? ORDER BY v.version, f.id",
                [url],
            )
        )


@pytest_twisted.ensureDeferred
async def test_a_rederived_version_links_the_files_its_page_links(replica, db_path):
    await crawl(replica.base_url, db_path)
    url = "/page/sub4_3_view.asp?sn=53"  # links an attachment and an image
    make_older_parser_output(db_path, [url])
    files_before = query(db_path, "SELECT id, url, sha256 FROM files ORDER BY id")

    result = run("reparse", "--db", str(db_path))

    assert result.returncode == 0, result.stdout + result.stderr
    linked = linked_files(db_path, url)
    crawled = [row["file_id"] for row in linked if row["version"] == 1]
    rederived = [row["file_id"] for row in linked if row["version"] == 2 and row["rederived"]]
    assert len(crawled) == 2
    assert rederived == crawled  # the same downloaded files; a reparse downloads nothing
    assert query(db_path, "SELECT id, url, sha256 FROM files ORDER BY id") == files_before


@pytest_twisted.ensureDeferred
async def test_a_rederived_version_links_the_file_bytes_of_its_own_crawl(replica, db_path):
    url = "/page/sub4_3_view.asp?sn=53"
    await crawl(replica.base_url, db_path)
    make_older_parser_output(db_path, [url])
    replica.site.boards.revise_file("policy_dialogue_summary_2018.pdf")  # new bytes, same URL
    await crawl(replica.base_url, db_path, UNPOG_CONDITIONAL_REQUESTS=False)

    result = run("reparse", "--db", str(db_path), "--crawl", "1")

    assert result.returncode == 0, result.stdout + result.stderr
    pdfs = [
        (row["version"], row["crawl_id"], row["rederived"], row["first_crawl_id"])
        for row in linked_files(db_path, url)
        if row["role"] == "attachment"
    ]
    # v2: crawl 2 found the new bytes; v3 re-derives crawl 1's page, with crawl 1's file.
    assert pdfs == [(1, 1, 0, 1), (2, 2, 0, 2), (3, 1, 1, 1)]


@pytest_twisted.ensureDeferred
async def test_reparse_of_an_old_crawl_does_not_roll_back_later_versions(replica, db_path):
    await crawl(replica.base_url, db_path)
    url = "/page/sub4_3_view.asp?sn=72"
    correct = make_older_parser_output(db_path, [url])
    # Crawl 2 downloads the page again (no conditional request, which would get a 304) and
    # runs the current parser: the fix shows up as a change it finds.
    await crawl(replica.base_url, db_path, UNPOG_CONDITIONAL_REQUESTS=False)

    only_two = run("reparse", "--db", str(db_path), "--crawl", "2")
    everything = run("reparse", "--db", str(db_path))

    assert "0 re-derived versions" in only_two.stdout
    assert "1 re-derived versions" in everything.stdout
    versions = query(
        db_path,
        "SELECT v.version, v.crawl_id, v.rederived, v.body_text = ? FROM versions v "
        "WHERE v.url = ? ORDER BY v.version",
        correct[url],
        url,
    )
    # v3 re-derives crawl 1's capture; v2, from crawl 2, stays the current version.
    assert versions == [(1, 1, 0, 0), (2, 2, 0, 1), (3, 1, 1, 1)]
    assert query(db_path, "SELECT current_version FROM articles WHERE url = ?", url) == [(2,)]


@pytest_twisted.ensureDeferred
async def test_reparse_needs_no_network_and_refuses_an_unknown_crawl(replica, db_path):
    await crawl(replica.base_url, db_path)
    make_older_parser_output(db_path, ["/page/sub4_3_view.asp?sn=72"])
    replica.site.requests.clear()

    result = run("reparse", "--db", str(db_path))
    unknown = run("reparse", "--db", str(db_path), "--crawl", "99")

    assert result.returncode == 0 and "1 re-derived versions" in result.stdout
    assert len(replica.site.requests) == 0  # the site was there, and never asked
    assert unknown.returncode == 1 and "no crawl 99" in unknown.stderr


# --- cdx -----------------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_cdx_lists_every_response_and_revisit_at_its_offset_but_304s(
    replica, db_path, tmp_path
):
    await crawl(replica.base_url, db_path)
    await crawl(replica.base_url, db_path)  # conditional: 304 answers, kept in the WARC files
    output = tmp_path / "index.cdxj"

    result = run("cdx", "--db", str(db_path), "-o", str(output))

    assert result.returncode == 0, result.stderr
    lines = output.read_text().splitlines()
    counts = "SELECT COUNT(*) FROM captures WHERE record_type IN ('response', 'revisit') AND "
    expected = query(db_path, counts + "status != 304")[0][0]
    assert query(db_path, counts + "status = 304")[0][0] > 0
    assert len(lines) == expected and lines == sorted(lines)
    for line in lines:
        key, timestamp, fields = line.split(" ", 2)
        entry = json.loads(fields)
        assert key.startswith("1,0,0,127:") and len(timestamp) == 14
        path = db_path.parent / "unpog" / "warc" / entry["filename"]
        with path.open("rb") as handle:
            handle.seek(int(entry["offset"]))
            record = next(iter(ArchiveIterator(handle)))
            assert record.rec_headers.get_header("WARC-Target-URI") == entry["url"]
            kind = "revisit" if entry["mime"] == "warc/revisit" else "response"
            assert record.rec_type == kind


# --- Reading only, and crawl numbers ---------------------------------------------------------


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file below `folder`, by relative path, with the SHA-256 of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("command", ["verify", "cdx"])
@pytest_twisted.ensureDeferred
async def test_verify_and_cdx_read_a_read_only_archive_and_leave_it_as_it_was(
    replica, db_path, make_read_only, command
):
    """They only read: like the research commands, a read-only file and folder are fine."""
    await crawl(replica.base_url, db_path)
    (responses,) = query(
        db_path, "SELECT COUNT(*) FROM captures WHERE record_type IN ('response', 'revisit')"
    )[0]
    before = tree_digest(db_path.parent)
    make_read_only(db_path)
    make_read_only(db_path.parent)

    result = run(command, "--db", str(db_path))

    assert result.returncode == 0, result.stderr
    if command == "verify":
        assert "all intact" in result.stdout
    else:
        assert len(result.stdout.splitlines()) == responses
    assert tree_digest(db_path.parent) == before  # no byte written, no -wal or -shm left


@pytest.mark.parametrize("command", ["cdx", "reparse"])
def test_a_crawl_number_beyond_sqlite_integers_is_a_one_line_usage_error(db_path, command):
    Archive(db_path).close()  # an archive to read: the number must be refused, not bound

    result = run(command, "--crawl", str(2**63), "--db", str(db_path))

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "Invalid value for '--crawl'" in errors[0], result.stderr


def test_surt_keys_match_pywbs_for_the_urls_we_crawl():
    from unpog_crawler.capture.cdx import surt

    # Expected values written by the `surt` package that pywb uses (checked by hand).
    assert surt("http://127.0.0.1:8000/page/sub4_3_view.asp?sn=72&b=1&A=2") == (
        "1,0,0,127:8000)/page/sub4_3_view.asp?a=2&b=1&sn=72"
    )
    assert surt("https://www.unpog.org/page/Sub4_3_list.asp?page=2") == (
        "org,unpog)/page/sub4_3_list.asp?page=2"
    )
    assert surt("http://unpog.org:80/x") == "org,unpog)/x"


# --- progress ------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_line_on_a_terminal_with_rate_and_time_left(monkeypatch):
    clock = iter([0.0, 1.0, 2.0, 3.0])
    monkeypatch.setattr(capture_cli.time, "monotonic", lambda: next(clock))
    stream = Terminal()
    progress = capture_cli.Progress("verify", total=40, stream=stream)

    progress.step(10)  # t=1: 10 records/s, 30 left -> 3 s
    progress.step(10)
    progress.finish()

    shown = stream.getvalue()
    assert shown.startswith("\r\x1b[Kverify: 10/40 records, 10/s, 0:00:03 left")
    assert shown.endswith("verify: 20/40 records, 7/s, 0:00:03 left\n")
    assert shown.count("\n") == 1


def test_progress_logs_plain_lines_now_and_then_without_a_terminal(monkeypatch):
    clock = iter([0.0, 1.0, 11.0, 12.0])
    monkeypatch.setattr(capture_cli.time, "monotonic", lambda: next(clock))
    stream = io.StringIO()
    progress = capture_cli.Progress("reparse", total=3, stream=stream)

    progress.step()  # 1 s after the start: too soon for a line
    progress.step()  # 11 s: one line
    progress.finish()

    assert stream.getvalue().splitlines() == [
        "reparse: 2/3 records, 0/s, 0:00:06 left",
        "reparse: 2/3 records, 0/s, 0:00:06 left",
    ]


# --- reparse judges a page as the crawl does, and decodes within the crawl's cap (issue 18) ----


@pytest.mark.parametrize("rejected", ["no article", "health check"])
@pytest_twisted.ensureDeferred
async def test_reparse_never_archives_a_page_the_crawl_rejected(replica, db_path, rejected):
    """A maintenance page served with 200 is a parse failure for the crawl, never a version;
    re-parsing its capture must not make it one (nor, later, the current version). Either
    the page holds no article at all, or it reads as one that the health checks reject."""
    url = "/page/sub4_3_view.asp?sn=72"
    await crawl(replica.base_url, db_path)
    if rejected == "no article":
        replica.site.inject(url, Fault("maintenance"))
        why = "error page (under maintenance)"
    else:
        replica.site.edit(72, body=(faults.MAINTENANCE_TEXT,))
        why = "does not look like an article"
    second = await crawl(replica.base_url, db_path, UNPOG_CONDITIONAL_REQUESTS=False)
    (reason,) = query(
        db_path, "SELECT reason FROM crawl_problems WHERE crawl_id = ? AND url = ?",
        second["id"], url,
    )[0]  # fmt: skip
    assert reason.startswith(why)
    before = query(db_path, "SELECT id, article_id, version, content_hash FROM versions")

    result = run("reparse", "--db", str(db_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 new, 0 re-derived versions" in result.stdout
    assert "1 not an article" in result.stdout
    assert query(db_path, "SELECT id, article_id, version, content_hash FROM versions") == before


class BombSite(ReplicaSite):
    """The replica, but one article answers with a body gzipped twice that decodes to far
    more than the crawl's DOWNLOAD_MAXSIZE (a few hundred bytes on the wire)."""

    BOMB_URL = "/page/sub4_3_view.asp?sn=72"

    def __init__(self, decoded_size: int) -> None:
        super().__init__()
        page = b"<html><body><p>" + b"A" * decoded_size + b"</p></body></html>"
        self.bomb = gzip.compress(gzip.compress(page))

    def handle(self, method: str, target: str, if_none_match: str | None = None) -> Response:
        if target.lower() != self.BOMB_URL:
            return super().handle(method, target, if_none_match)
        self.requests.append(method, target, 200)
        return Response(200, self.bomb, headers={"Content-Encoding": "gzip, gzip"})


@pytest_twisted.ensureDeferred
async def test_reparse_reports_a_compression_bomb_unreadable_and_goes_on(db_path):
    site = BombSite(decoded_size=20_000_000)
    cap = 1_000_000
    with serve(site) as server:
        row = await crawl(server.base_url, db_path, DOWNLOAD_MAXSIZE=cap, DOWNLOAD_WARNSIZE=0)
    assert row["errors"] == 1  # the crawl refused it at the cap
    assert len(site.bomb) < 2_000
    make_older_parser_output(db_path, ["/page/sub4_3_view.asp?sn=52"])

    result = run("reparse", "--db", str(db_path))

    assert result.returncode == 1, result.stdout + result.stderr
    (problem,) = [line for line in result.stdout.splitlines() if line.startswith("PROBLEM")]
    assert "sn=72" in problem and f"over {cap} bytes once decoded" in problem
    assert "1 re-derived versions" in result.stdout and "1 unreadable" in result.stdout
