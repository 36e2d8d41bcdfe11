"""`unpog verify`, `unpog reparse` and `unpog cdx`: working from the stored WARC captures.

None of them touches the network. `verify` and `reparse` show progress on a terminal
(records done, rate, time left) and log plain lines without one (cron, CI).
Exit status: 0 all well, 1 problems found (verify) or records unreadable (reparse),
2 usage error (no archive).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import click

from unpog_crawler.archive import Archive, ArchiveError, CurrentParser
from unpog_crawler.capture.cdx import cdxj_lines
from unpog_crawler.capture.read import RecordProblem, check_capture
from unpog_crawler.capture.recover import index_leftovers, leftovers, record_spans
from unpog_crawler.capture.reread import WarcReader, crawl_max_size, judge_page, stored_page
from unpog_crawler.capture.write import resolve_stored, warc_dir_for
from unpog_crawler.cli import options as cli_options
from unpog_crawler.parse import article as article_parser

PLAIN_LOG_SECONDS = 10.0  # without a terminal: one progress line this often
TTY_REFRESH_SECONDS = 0.1


class ArchiveProblem(click.ClickException):
    exit_code = 2


@contextlib.contextmanager
def open_archive(db_path: str, *, read_only: bool = False) -> Iterator[Archive]:
    """The archive at db_path (never created); `read_only` for the commands that only read it,
    so that a read-only file, folder or mount is fine, as for the research commands."""
    try:
        archive = Archive.open_read_only(db_path) if read_only else Archive(db_path, create=False)
    except ArchiveError as error:
        raise ArchiveProblem(str(error)) from None
    try:
        yield archive
    except ArchiveError as error:
        raise click.ClickException(str(error)) from None
    finally:
        archive.close()


@contextlib.contextmanager
def crawl_lock(archive: Archive) -> Iterator[None]:
    """Reparse writes versions: no crawl may write at the same time."""
    try:
        lock = archive.lock()
        lock.__enter__()
    except ArchiveError as error:
        raise ArchiveProblem(str(error)) from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


db_option = cli_options.db_option(
    "Archive file (its WARC files are found through its captures table)."
)


crawl_option = cli_options.crawl_option("Only the captures of crawl N.")


# --- Progress ----------------------------------------------------------------------------------


def format_seconds(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class Progress:
    """Records done, rate and time left: one rewritten line on a terminal, else a plain line
    every PLAIN_LOG_SECONDS (and one at the end), so cron mail stays short."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.done = 0
        self.started = self._last = time.monotonic()

    def step(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        interval = TTY_REFRESH_SECONDS if self.tty else PLAIN_LOG_SECONDS
        if now - self._last >= interval:
            self._last = now
            self._show(now)

    def finish(self) -> None:
        self._show(time.monotonic(), final=True)

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0.0
        return (
            f"{self.label}: {self.done}/{self.total} records, {rate:.0f}/s, "
            f"{format_seconds(left)} left"
        )

    def _show(self, now: float, final: bool = False) -> None:
        text = self.line(now)
        if self.tty:
            end = "\n" if final else ""
            self.stream.write(f"\r\x1b[K{text}{end}")
        else:
            self.stream.write(f"{text}\n")
        self.stream.flush()


# --- verify --------------------------------------------------------------------------------------


def verify_captures(archive: Archive, progress: Progress) -> tuple[list[str], list[str]]:
    """(problems, warnings) of every indexed record and every WARC file."""
    reader = WarcReader(archive.path)
    problems: list[str] = []
    missing: Counter[str] = Counter()
    try:
        for capture in archive.captures():
            name = capture["warc_file"]
            if name in missing or not reader.path(name).is_file():
                missing[name] += 1
            else:
                problems += [
                    f"{name}@{capture['offset']} (capture {capture['id']}, "
                    f"{capture['record_type']} {capture['url'] or ''}): {problem}"
                    for problem in _capture_problems(reader, archive, capture)
                ]
            progress.step()
    finally:
        reader.close()
    problems += [f"{name}: missing ({count} records indexed)" for name, count in missing.items()]
    return problems, _file_warnings(archive)


def _capture_problems(
    reader: WarcReader, archive: Archive, capture: Mapping[str, Any]
) -> list[str]:
    try:
        found = check_capture(reader.record(capture), capture)
    except RecordProblem as problem:
        return [str(problem)]
    if capture["record_type"] == "revisit":
        target = capture["revisit_of"] and archive.capture(capture["revisit_of"])
        if not target or target["payload_digest"] != capture["payload_digest"]:
            found.append("revisit target is not indexed with the same payload digest")
    return found


def _file_warnings(archive: Archive) -> list[str]:
    """What the index misses: records after the last indexed one of a file, or whole files,
    that a crawl of this archive wrote (killed before indexing them: `--repair`, or the next
    crawl, indexes them), and bytes after the last complete record (killed while writing it).
    Worth knowing; not damage to what is indexed. Other archives' files are none of its
    business (archives made before each had its own folder shared one)."""
    warnings = []
    repair = "a crawl was killed before indexing them (or one is running): `unpog verify "
    repair += "--repair` or the next crawl indexes them"
    for leftover in leftovers(archive, [warc_dir_for(archive.path, None)]):
        spans = list(record_spans(leftover.path, leftover.start))
        if spans:
            what = "records" if leftover.start else "records in a file the index lacks"
            warnings.append(f"{leftover.name}: {len(spans)} {what} not indexed: {repair}")
        end = spans[-1][0] + spans[-1][1] if spans else leftover.start
        if leftover.path.stat().st_size > end:
            extra = leftover.path.stat().st_size - end
            warnings.append(f"{leftover.name}: {extra} bytes of an incomplete last record")
    return warnings


@click.command()
@db_option
@click.option(
    "--repair",
    is_flag=True,
    help="First index the records a killed crawl wrote but did not index (takes the crawl lock).",
)
def verify(db_path: str, repair: bool) -> None:
    """Re-read every WARC record the archive indexes and check it against the index.

    Checks that each file exists, that each record's gzip member lies exactly at its
    indexed offset and length, that its id, type and URL are the indexed ones, and that its
    block and payload digests match its bytes. Prints one line per problem, and a warning
    for records this archive's crawls wrote that the index lacks (a crawl killed between
    writing and indexing them): --repair, or the next crawl, indexes them.

    \b
    Exit status: 0 all records intact; 1 a file is missing or a record altered; 2 no archive.
    Examples:
      unpog verify --db archive/unpog.db
      unpog verify --repair
    """
    if repair:
        with open_archive(db_path) as archive, crawl_lock(archive):
            indexed = index_leftovers(archive, [warc_dir_for(archive.path, None)])
        click.echo(f"indexed {indexed} records the index lacked", err=True)
    with open_archive(db_path, read_only=True) as archive:
        progress = Progress("verify", archive.count_captures())
        problems, warnings = verify_captures(archive, progress)
        progress.finish()
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    for problem in problems:
        click.echo(f"PROBLEM {problem}")
    files = len({line.split("@")[0] for line in problems})
    verdict = f"{len(problems)} problems" if problems else "all intact"
    click.echo(f"verified {progress.done} records: {verdict}" + (f" ({files} files)" * bool(files)))
    sys.exit(1 if problems else 0)


# --- reparse -------------------------------------------------------------------------------------


def reparse_captures(
    archive: Archive, crawl_id: int | None, progress: Progress
) -> tuple[Counter[str], list[str]]:
    """Re-derive articles from the stored article pages, oldest capture first.

    Each page is judged as the crawl judges a page it fetched (`reread.judge_page`): one the
    crawl would not archive (a maintenance page, navigation text) is never a version."""
    archive.parser = CurrentParser(article_parser.PARSER_VERSION)
    reader = WarcReader(archive.path)
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    crawls: dict[int, dict[str, Any]] = {}
    try:
        for capture in stored_pages(archive, crawl_id):
            progress.step()
            crawl = capture["crawl_id"]
            if crawl not in crawls:
                crawls[crawl] = archive.crawl(crawl)
            try:
                page = stored_page(reader, archive, capture, crawl_max_size(crawls[crawl]))
            except RecordProblem as problem:
                problems.append(f"capture {capture['id']} ({capture['url']}): {problem}")
                continue
            verdict = judge_page(page)
            if isinstance(verdict, str):
                outcomes["not an article"] += 1
                continue
            outcomes[archive.rederive(capture, verdict, crawls[crawl]["spider"])] += 1
        archive.finish_reparse()
    finally:
        reader.close()
    return outcomes, problems


def stored_pages(archive: Archive, crawl_id: int | None) -> list[dict[str, Any]]:
    """Article pages fetched with status 200 (responses and revisits), oldest first."""
    return [
        capture
        for capture in archive.captures(crawl_id=crawl_id, page_type="article")
        if capture["record_type"] in ("response", "revisit") and capture["status"] == 200
    ]


@click.command()
@db_option
@crawl_option
def reparse(db_path: str, crawl_id: int | None) -> None:
    """Rebuild articles from the stored captures with the current parser, offline.

    Each stored article page is parsed again and compared with what the archive held when
    it was captured; a difference becomes a new version marked re-derived, timed at the
    capture. Running it again changes nothing. Crawls must not run meanwhile (it takes the
    crawl lock).

    \b
    Exit status: 0 done; 1 some captures could not be read (run `unpog verify`); 2 usage.
    Examples:
      unpog reparse                  # every capture
      unpog reparse --crawl 12       # only what crawl 12 fetched
    """
    with open_archive(db_path) as archive, crawl_lock(archive):
        if crawl_id is not None:
            archive.crawl(crawl_id)  # an unknown crawl is one clear line
        progress = Progress("reparse", len(stored_pages(archive, crawl_id)))
        outcomes, problems = reparse_captures(archive, crawl_id, progress)
        progress.finish()
    for problem in problems:
        click.echo(f"PROBLEM {problem}")
    click.echo(
        f"reparsed {sum(outcomes.values())} article captures: {outcomes['new']} new, "
        f"{outcomes['changed']} re-derived versions, {outcomes['unchanged']} unchanged, "
        f"{outcomes['not an article']} not an article, {len(problems)} unreadable"
    )
    sys.exit(1 if problems else 0)


# --- cdx -----------------------------------------------------------------------------------------


@click.command()
@db_option
@crawl_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE.")
@click.option(
    "--collection",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="A pywb collection (`wb-manager init NAME` makes collections/NAME): write its index "
    "and link this archive's WARC files into its archive/ folder.",
)
def cdx(db_path: str, crawl_id: int | None, output: str | None, collection: Path | None) -> None:
    """Write a CDXJ index of the captured responses and revisits, for replay tools.

    Filenames are bare names, as pywb expects for a collection's archive/ folder. 304 Not
    Modified answers stay in the WARC files but not in the index: a replay tool would serve
    the empty 304 at that time and every later one, where the content is the last full
    answer's. For the same reason, let pywb read this index, not its own (`wb-manager add`
    indexes the 304s): --collection sets a collection up that way.

    \b
    Examples:
      unpog cdx -o index.cdxj
      wb-manager init unpog && unpog cdx --collection collections/unpog && wayback
    """
    with open_archive(db_path, read_only=True) as archive:
        captures = list(archive.captures(crawl_id=crawl_id))
        lines = list(cdxj_lines(captures))
        files = sorted({resolve_stored(c["warc_file"], archive.path) for c in captures})
    if collection is not None:
        output = str(collection_index(collection, files))
    text = "".join(f"{line}\n" for line in lines)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"{len(lines)} CDXJ lines written to {output}", err=True)
    else:
        click.echo(text, nl=False)


def collection_index(collection: Path, warc_files: list[Path]) -> Path:
    """Link the WARC files into a pywb collection's archive/ folder; return where its index
    goes. Only this archive's files: another archive's (the demo's) stay out of it."""
    folder = collection / "archive"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (collection / "indexes").mkdir(exist_ok=True)
        for path in warc_files:
            link = folder / path.name
            if link.is_symlink() and link.resolve() == path.resolve():
                continue
            if link.exists() or link.is_symlink():
                raise click.ClickException(f"{link} exists and is not {path}: not replaced")
            link.symlink_to(path.resolve())
    except OSError as error:
        raise click.ClickException(f"cannot set up {collection}: {error}") from None
    return collection / "indexes" / "unpog.cdxj"


COMMANDS = (verify, reparse, cdx)


def register(group: click.Group) -> None:
    """Add the capture commands to the `unpog` group."""
    for command in COMMANDS:
        group.add_command(command)
