"""The reading commands against hostile archive text and careless input (issue 18, items 11
and 12): a page's control characters never reach a terminal, a feed or a spreadsheet as they
are, ids beyond SQLite's integers are usage errors, and a read-only archive can be read.

The hostile texts come through real crawls of the replica (a page carrying terminal escape
sequences and a spreadsheet formula); read-only archives are read by real `unpog`
subprocesses.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_twisted
from click.testing import CliRunner
from conftest import FIXTURES, crawl
from lxml import etree

from unpog_crawler.archive import SQLITE_MAX_INTEGER
from unpog_crawler.cli import main
from unpog_crawler.cli.output_safety import FORMULA_PREFIXES, csv_cell, terminal_line
from unpog_crawler.replica.server import serve

REPO = Path(__file__).resolve().parent.parent
UNPOG = [sys.executable, "-m", "unpog_crawler.cli"]
ATOM = "{http://www.w3.org/2005/Atom}"

HOSTILE_SN = 20  # its title and first paragraph carry terminal escape sequences
FORMULA_SN = 72  # its title and first paragraph are spreadsheet formulas
HOSTILE_URL = f"/page/sub4_3_view.asp?sn={HOSTILE_SN}"
FORMULA_URL = f"/page/sub4_3_view.asp?sn={FORMULA_SN}"
# An OSC 8 hyperlink, a window title, clear-screen, a bell and an 8-bit CSI (C1 control):
# click strips none of the first two when output is not a terminal, and a terminal obeys all.
HOSTILE_TITLE = (
    "Open Data \x1b]8;;http://evil.example/\x1b\\Workshop\x1b]8;;\x1b\\ \x1b[2J\x07\x9b31mred"
)
HOSTILE_PARAGRAPH = (
    "\x1b]0;owned\x07Participants compared open data portals and their licences in detail."
)
FORMULA_TITLE = '=HYPERLINK("http://evil.example","Open")'
FORMULA_PARAGRAPH = "@SUM(1+1) Participants compared the budgets of the national data portals."
# Characters no output may carry: C0 controls but tab and newline, DEL, C1 controls.
UNSAFE = {chr(c) for c in (*range(0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))}


@dataclass(frozen=True)
class Hostile:
    db: Path
    second: dict  # the crawl that found the hostile texts


@pytest_twisted.async_fixture(scope="module")
async def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    """An archive of two crawls; before the second, two articles turned hostile."""
    db = tmp_path_factory.mktemp("hostile") / "archive" / "unpog.db"
    with serve() as server:
        await crawl(server.base_url, db)
        time.sleep(1.05)  # the second crawl's captures fall in a later second
        for sn, title, paragraph in (
            (HOSTILE_SN, HOSTILE_TITLE, HOSTILE_PARAGRAPH),
            (FORMULA_SN, FORMULA_TITLE, FORMULA_PARAGRAPH),
        ):
            body = server.site.article(sn).body
            server.site.edit(sn, title=title, body=(paragraph, *body))
        second = await crawl(server.base_url, db)
    assert second["changed"] == 2, second
    # The archive keeps the text as captured: only output changes it.
    with sqlite3.connect(db) as connection:
        titles = dict(connection.execute("SELECT url, title FROM articles").fetchall())
    assert (titles[HOSTILE_URL], titles[FORMULA_URL]) == (HOSTILE_TITLE, FORMULA_TITLE)
    return Hostile(db, second)


def run(*args: str) -> str:
    """The real `unpog` command; color=True: click strips no escape sequence, as on a tty."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, color=True)
    assert result.exit_code == 0, result.output
    return result.output


def unsafe_in(text: str) -> set[str]:
    return {char for char in text if char in UNSAFE}


def strings(value: object) -> list[str]:
    """Every string in a JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [text for item in value for text in strings(item)] if isinstance(value, list) else []


# --- Terminal output ---------------------------------------------------------------------------

SHOWN_TITLE = terminal_line(HOSTILE_TITLE)  # "Open Data \x1b]8;;http://evil.example/..."

TEXT_COMMANDS = {
    "history": ["history", HOSTILE_URL],
    "diff": ["diff", HOSTILE_URL],
    "search": ["search", "licences"],
    "search --all-versions": ["search", "--all-versions", "licences"],
    "changes": ["changes"],
    "as-of": ["as-of", "2999-01-01"],
}


@pytest.mark.parametrize("name", TEXT_COMMANDS)
def test_text_output_shows_control_characters_instead_of_sending_them(hostile, name):
    output = run(*TEXT_COMMANDS[name], "--db", str(hostile.db))

    assert not unsafe_in(output), name
    assert SHOWN_TITLE in output, output
    assert "\\x1b]8;;http://evil.example/" in SHOWN_TITLE


def test_diff_shows_control_characters_of_a_body_line(hostile):
    output = run("diff", HOSTILE_URL, "--db", str(hostile.db))
    assert f"+{terminal_line(HOSTILE_PARAGRAPH)}" in output.splitlines()


def test_changes_of_one_crawl_show_control_characters_instead_of_sending_them(hostile):
    changes = run("changes", "--crawl", str(hostile.second["id"]), "--db", str(hostile.db))
    assert SHOWN_TITLE in changes and not unsafe_in(changes)


JSON_COMMANDS = {
    "history": ["history", HOSTILE_URL, "--json"],
    "diff": ["diff", HOSTILE_URL, "--json"],
    "search": ["search", "licences", "--json"],
    "changes": ["changes", "--json"],
    "as-of": ["as-of", "2999-01-01", "--json"],
    "export json": ["export", "--format", "json"],
}


@pytest.mark.parametrize("name", JSON_COMMANDS)
def test_json_output_escapes_control_characters_and_keeps_the_text(hostile, name):
    output = run(*JSON_COMMANDS[name], "--db", str(hostile.db))

    assert not unsafe_in(output), name
    assert HOSTILE_TITLE in strings(json.loads(output)), name


def test_ndjson_export_escapes_control_characters_and_keeps_the_text(hostile):
    output = run("export", "--format", "ndjson", "--db", str(hostile.db))

    assert not unsafe_in(output)
    rows = {row["url"]: row for row in map(json.loads, output.splitlines())}
    assert rows[HOSTILE_URL]["title"] == HOSTILE_TITLE
    assert rows[HOSTILE_URL]["body_text"].startswith(HOSTILE_PARAGRAPH)


# --- CSV and the feed ----------------------------------------------------------------------------


def test_csv_export_neutralises_formulas_and_control_characters(hostile):
    output = run("export", "--format", "csv", "--all-versions", "--db", str(hostile.db))

    assert not unsafe_in(output.replace("\r\n", "\n"))  # \r\n: the CSV dialect's line end
    rows = list(csv.DictReader(io.StringIO(output, newline="")))
    cells = [cell for row in rows for cell in row.values()]
    assert not [cell for cell in cells if cell.startswith(FORMULA_PREFIXES)]
    formula = [row for row in rows if row["url"] == FORMULA_URL][-1]
    assert formula["title"] == f"'{FORMULA_TITLE}"
    assert formula["body_text"].startswith(f"'{FORMULA_PARAGRAPH}\n")
    assert [row for row in rows if row["url"] == HOSTILE_URL][-1]["title"] == SHOWN_TITLE


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+33 1 23", "'+33 1 23"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\r=1", "'\\x0d=1"),
        ("a = b\nline two", "a = b\nline two"),
        (" =1", " =1"),
        (7, 7),
        (None, None),
    ],
)
def test_csv_cell(value, cell):
    assert csv_cell(value) == cell


def test_feed_is_written_and_valid_with_control_characters_in_titles(hostile, tmp_path):
    target = tmp_path / "changes.atom"
    run("feed", "-o", str(target), "--db", str(hostile.db))

    document = etree.parse(str(target))
    schema = etree.RelaxNG(etree.parse(str(FIXTURES / "atom.rng")))
    assert schema.validate(document), schema.error_log
    titles = [entry.findtext(f"{ATOM}title") for entry in document.iter(f"{ATOM}entry")]
    assert f"Changed: {SHOWN_TITLE}" in titles
    assert not unsafe_in(target.read_text(encoding="utf-8"))


# --- Ids beyond SQLite's integers ------------------------------------------------------------

TOO_BIG = str(2**64)


@pytest.mark.parametrize(
    "args",
    [
        ["history", TOO_BIG],
        ["history", str(SQLITE_MAX_INTEGER + 1)],
        ["history", "9" * 5000],  # beyond the digits int() reads
        ["diff", HOSTILE_URL, TOO_BIG],
        ["diff", HOSTILE_URL, "1", TOO_BIG],
        ["changes", "--crawl", TOO_BIG],
        ["search", "--limit", TOO_BIG, "licences"],
        ["feed", "--limit", TOO_BIG],
    ],
    ids=lambda args: " ".join(arg[:22] for arg in args),
)
def test_a_number_beyond_sqlite_integers_is_a_one_line_usage_error(hostile, args):
    result = CliRunner().invoke(main, [*args, "--db", str(hostile.db)], catch_exceptions=False)

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "Invalid value" in errors[0], result.output


def test_the_largest_sqlite_integer_is_an_unknown_article_not_an_error(hostile):
    result = CliRunner().invoke(main, ["history", str(SQLITE_MAX_INTEGER), "--db", str(hostile.db)])
    assert result.exit_code == 1 and "no article" in result.output


# --- A read-only archive -----------------------------------------------------------------------


def read(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*UNPOG, *args, "--db", str(db)], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_archive(hostile: Hostile, folder: Path) -> Path:
    folder.mkdir()
    shutil.copyfile(hostile.db, folder / "unpog.db")
    return folder / "unpog.db"


@contextlib.contextmanager
def changed_in_the_log(db: Path, title: str) -> Iterator[None]:
    """A writer (as a running crawl) whose committed change is still only in the -wal file."""
    writer = sqlite3.connect(db)
    try:
        writer.execute("PRAGMA journal_mode = WAL")
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("UPDATE articles SET title = ? WHERE url = ?", [title, HOSTILE_URL])
        writer.commit()
        yield
    finally:
        writer.close()


READING = [
    ["stats", "--json"],
    ["history", HOSTILE_URL, "--json"],
    ["search", "licences", "--json"],
    ["as-of", "2999-01-01", "--json"],
    ["export", "--format", "csv"],
    ["feed"],
]


@pytest.mark.parametrize("folder_too", [False, True], ids=["read-only file", "read-only folder"])
def test_reading_commands_read_a_read_only_archive_and_leave_it_as_it_was(
    hostile, tmp_path, make_read_only, folder_too
):
    db = copy_archive(hostile, tmp_path / "archive")
    before = digest(db)
    make_read_only(db)
    if folder_too:
        make_read_only(db.parent)

    for args in READING:
        result = read(db, *args)
        assert result.returncode == 0, (args, result.stderr)
    history = json.loads(read(db, "history", HOSTILE_URL, "--json").stdout)
    assert history["article"]["title"] == HOSTILE_TITLE

    assert digest(db) == before
    # No -wal/-shm left: made as read-only as the archive, they would block its next writer.
    assert sorted(path.name for path in db.parent.iterdir()) == ["unpog.db"]


def test_a_live_archive_in_a_folder_the_reader_cannot_write_is_read_with_its_log(
    hostile, tmp_path, make_read_only
):
    db = copy_archive(hostile, tmp_path / "archive")
    with changed_in_the_log(db, "Seen in the log"):
        make_read_only(db.parent)
        result = read(db, "history", HOSTILE_URL, "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["article"]["title"] == "Seen in the log"


def test_a_log_without_its_shm_file_in_a_read_only_folder_is_one_clear_line(
    hostile, tmp_path, make_read_only
):
    source = copy_archive(hostile, tmp_path / "source")
    copy = tmp_path / "copy"
    copy.mkdir()
    with changed_in_the_log(source, "Only in the log"):
        for name in ("unpog.db", "unpog.db-wal"):  # copied without its -shm
            shutil.copyfile(source.parent / name, copy / name)
    make_read_only(copy / "unpog.db")
    make_read_only(copy)

    result = read(copy / "unpog.db", "stats")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("Error") == 1 and "unpog.db-wal" in result.stderr, result.stderr
