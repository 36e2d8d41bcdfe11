"""`unpog` commands for researchers and archivists: they read the archive, never crawl.

Each command parses its arguments, opens the archive (never creating one), calls one query
of `unpog_crawler.archive` and formats the rows. Lists can be printed as JSON (`--json`).
Exit status: 0 on success, 1 on a runtime error (missing or foreign archive, unknown article,
version out of range), 2 on a usage error (bad date, bad option).

Text from the archive is printed through `output_safety`: a page's control characters
(terminal escape sequences) are shown, never sent to the terminal as they are.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import json
import sys
import textwrap
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime, time, timezone
from typing import Any

import click

from unpog_crawler.archive import (
    SEARCH_ORDERS,
    SQLITE_MAX_INTEGER,
    Archive,
    ArchiveError,
    beyond_sqlite_integer,
)
from unpog_crawler.cli import options as cli_options
from unpog_crawler.cli.output_safety import csv_cell, json_text, terminal_line, terminal_text
from unpog_crawler.items import CONTENT_FIELDS

EXPORT_FORMATS = ("csv", "json", "ndjson")
# The fields compared field by field in a diff; body_text gets a unified diff of its own.
OTHER_FIELDS = tuple(name for name in CONTENT_FIELDS if name != "body_text")


# --- Arguments ---------------------------------------------------------------------------------


class Moment(click.ParamType):
    """An ISO date or date-time, read as UTC, normalised to the archive's timestamp format.

    A bare date means the start of that day, or its last second with `end_of_day` (so that
    "as of 2024-05-02" includes what was captured on the 2nd).
    """

    name = "DATE"

    def __init__(self, *, end_of_day: bool = False) -> None:
        self.end_of_day = end_of_day

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        try:
            if len(text) == 10:
                day = datetime.strptime(text, "%Y-%m-%d").date()
                moment = datetime.combine(day, time.max if self.end_of_day else time.min)
            else:
                # Python 3.10's fromisoformat does not read "Z".
                moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
        except ValueError:
            self.fail(
                f"{text!r} is not an ISO date or date-time (e.g. 2024-05-01 or "
                "2024-05-01T09:30:00Z)",
                param,
                ctx,
            )
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()


class ArticleRef(click.ParamType):
    """An article's URL, in any form, or its archive id (a number SQLite can hold)."""

    name = "ARTICLE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if text.isascii() and text.isdigit() and beyond_sqlite_integer(text):
            shown = text if len(text) <= 30 else text[:29] + "…"
            message = f"{shown} is not an archive id: ids go up to {SQLITE_MAX_INTEGER}"
            self.fail(message, param, ctx)
        return text


db_option = cli_options.db_option("Archive file to read (opened read-only).")


def json_option(function: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(
        function
    )


@contextlib.contextmanager
def open_archive(db_path: str) -> Iterator[Archive]:
    """The archive at db_path, read-only; any archive error becomes one line and exit 1."""
    try:
        archive = Archive.open_read_only(db_path)
    except ArchiveError as error:
        raise click.ClickException(str(error)) from None
    try:
        yield archive
    except ArchiveError as error:
        raise click.ClickException(str(error)) from None
    finally:
        archive.close()


# --- Output ------------------------------------------------------------------------------------


def emit(text: str) -> None:
    """Print text, through a pager when a person reads it in a terminal."""
    if sys.stdout.isatty():
        click.echo_via_pager(text)
    else:
        click.echo(text)


def to_json(value: Any) -> str:
    # Hangul and other non-ASCII text stay readable, not \\u-escaped (control characters are).
    return json_text(value, indent=2)


def fields_text(fields: Iterable[str]) -> str:
    return ", ".join(fields) or "-"


def short(value: Any) -> str:
    """A field value on one line, at most 200 characters before its controls are shown."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return terminal_line(text if len(text) <= 200 else text[:199] + "…")


def body_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Unified diff of the body text of two versions (empty when it is the same)."""
    return list(
        difflib.unified_diff(
            old["body_text"].splitlines(),
            new["body_text"].splitlines(),
            fromfile=f"version {old['version']} body_text",
            tofile=f"version {new['version']} body_text",
            lineterm="",
        )
    )


def field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """The content fields other than body_text whose stored values differ."""
    return [
        {"field": name, "old": old[name], "new": new[name]}
        for name in OTHER_FIELDS
        if old[name] != new[name]
    ]


def files_changed(versions: tuple[dict[str, Any], dict[str, Any]]) -> bool:
    """The newer version was written because a linked file's bytes changed (a version
    whose only change is its files shows no field difference)."""
    old, new = versions
    return new["version"] == old["version"] + 1 and "files" in (new["changed_fields"] or [])


def diff_counts(lines: list[str]) -> tuple[int, int]:
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return added, removed


# --- Commands ----------------------------------------------------------------------------------


@click.command()
@click.argument("article", type=ArticleRef())
@db_option
@json_option
def history(article: str, db_path: str, as_json: bool) -> None:
    """Every version of ARTICLE (its URL, in any form, or its archive id), with the time,
    the crawl and the fields that changed, and its removals and restorations.

    \b
    Example:
      unpog history https://unpog.org/page/sub4_3_view.asp?sn=72
    """
    with open_archive(db_path) as archive:
        found = archive.find_article(article)
        events = archive.history(found["id"])
    if as_json:
        click.echo(to_json({"article": found, "history": events}))
        return
    lines = [
        f"Article {found['id']}: {terminal_line(found['url'])} ({found['status']})",
        f"  {terminal_line(found['title'])}",
    ]
    for event in events:
        detail = {
            "new": "new",
            "changed": f"changed: {fields_text(event['changed_fields'])}",
            "removed": f"removed: {terminal_line(event['reason'])}",
            "restored": "restored"
            + (
                f", changed: {fields_text(event['changed_fields'])}"
                if event["changed_fields"]
                else ""
            ),
        }[event["kind"]]
        lines.append(
            f"  v{event['version']:<3} {event['at']}  crawl {event['crawl_id']:<4} {detail}"
        )
    emit("\n".join(lines))


@click.command()
@click.argument("article", type=ArticleRef())
@click.argument("v1", type=cli_options.ARCHIVE_NUMBER, required=False)
@click.argument("v2", type=cli_options.ARCHIVE_NUMBER, required=False)
@db_option
@json_option
def diff(article: str, v1: int | None, v2: int | None, db_path: str, as_json: bool) -> None:
    """Unified diff of the body text of two versions of ARTICLE, and the other fields that
    changed. Default: the last two versions; with V1 only: V1 against the latest.

    \b
    Example:
      unpog diff /page/sub4_3_view.asp?sn=72        # last two versions
      unpog diff 5 1 3                               # article id 5, version 1 against 3
    """
    with open_archive(db_path) as archive:
        found = archive.find_article(article)
        old, new = archive.version_pair(found["id"], v1, v2)
    body = body_diff(old, new)
    others = field_changes(old, new)
    files = files_changed((old, new))
    if as_json:
        click.echo(
            to_json(
                {
                    "article_id": found["id"],
                    "url": found["url"],
                    "from": {k: old[k] for k in ("version", "captured_at", "crawl_id")},
                    "to": {k: new[k] for k in ("version", "captured_at", "crawl_id")},
                    "fields": others,
                    "files_changed": files,
                    "body_diff": body,
                }
            )
        )
        return
    lines = [
        f"Article {found['id']}: {terminal_line(found['url'])}",
        f"version {old['version']} ({old['captured_at']}, crawl {old['crawl_id']}) -> "
        f"version {new['version']} ({new['captured_at']}, crawl {new['crawl_id']})",
    ]
    lines += [f"{c['field']}: {short(c['old'])} -> {short(c['new'])}" for c in others]
    if files:
        lines.append("files: a linked file's bytes changed (see `unpog history`, table files)")
    lines += [terminal_text(line) for line in body] or ["body_text: unchanged"]
    emit("\n".join(lines))


@click.command()
@click.argument("query")
@click.option("--all-versions", is_flag=True, help="Search every version ever captured.")
@click.option("--raw", is_flag=True, help="QUERY is FTS5 syntax (OR, NEAR, prefix*).")
@click.option(
    "--order",
    type=click.Choice(SEARCH_ORDERS),
    help="rank: best match first (default for latest versions); newest: most recently "
    "archived first (default with --all-versions).",
)
@click.option("--limit", default=50, show_default=True, type=cli_options.ARCHIVE_NUMBER)
@db_option
@json_option
def search(
    query: str,
    all_versions: bool,
    raw: bool,
    order: str | None,
    limit: int,
    db_path: str,
    as_json: bool,
) -> None:
    """Full-text search of titles and body texts, with snippets: the latest versions, best
    match first, or --all-versions, most recently archived first (a history of the words;
    --order rank ranks them instead, slower on common words). Every word must match.

    \b
    Example:
      unpog search "open government data"
      unpog search --all-versions --raw 'innovat* OR reform'
    """
    with open_archive(db_path) as archive:
        hits = archive.search(query, all_versions=all_versions, raw=raw, limit=limit, order=order)
    if as_json:
        click.echo(to_json(hits))
        return
    if not hits:
        click.echo(f"No match for {query!r}.")
        return
    lines = []
    for hit in hits:
        removed = " (removed)" if hit["status"] == "removed" else ""
        title, url = terminal_line(hit["title"]), terminal_line(hit["url"])
        lines.append(f"[{hit['article_id']}] v{hit['version']} {title}{removed}")
        lines.append(f"    {url}  captured {hit['captured_at']}")
        lines.append(f"    {terminal_line(' '.join(hit['snippet'].split()))}")
    emit("\n".join(lines))


@click.command()
@click.option("--since", type=Moment(), help="Only changes at or after DATE (UTC).")
@cli_options.crawl_option("Only changes found by crawl N.")
@db_option
@json_option
def changes(since: str | None, crawl_id: int | None, db_path: str, as_json: bool) -> None:
    """What changed (new, changed, removed, restored articles), grouped by kind.

    \b
    Example:
      unpog changes --since 2024-05-01
      unpog changes --crawl 3 --json
    """
    with open_archive(db_path) as archive:
        rows = archive.changes(since=since, crawl_id=crawl_id)
    if as_json:
        click.echo(to_json(rows))
        return
    if not rows:
        click.echo("No changes.")
        return
    lines = []
    for kind in ("new", "changed", "removed", "restored"):
        group = [row for row in rows if row["kind"] == kind]
        if not group:
            continue
        lines.append(f"{kind} ({len(group)})")
        for row in group:
            detail = {
                "changed": f": {fields_text(row['changed_fields'])}",
                "removed": f" ({terminal_line(row['reason'])})",
            }.get(kind, "")
            lines.append(
                f"  {row['at']}  crawl {row['crawl_id']:<4} [{row['article_id']}] "
                f"{terminal_line(row['title'])}{detail}"
            )
    emit("\n".join(lines))


@click.command(name="as-of")
@click.argument("date", type=Moment(end_of_day=True))
@click.option("--live", is_flag=True, help="Only articles live at that moment.")
@db_option
@json_option
def as_of(date: str, live: bool, db_path: str, as_json: bool) -> None:
    """The archive as it was at DATE (ISO date or date-time, UTC; a date means its end):
    the latest version of every article captured on or before it, and its status then.

    \b
    Example:
      unpog as-of 2024-05-01
      unpog as-of 2024-05-01T12:00:00Z --json
    """
    with open_archive(db_path) as archive:
        # Read page by page: one page of full texts in memory at a time, whatever the size.
        rows = archive.iter_as_of(date)
        if live:
            rows = (row for row in rows if row["status"] == "live")
        if as_json:
            echo_json_list(rows)
            return
        lines = [
            f"  [{row['article_id']}] v{row['version']:<3} {row['captured_at']}  "
            f"{row['status']:<7} {terminal_line(row['title'])}"
            for row in rows
        ]
    if not lines:
        click.echo(f"The archive held nothing at {date}.")
        return
    emit("\n".join([f"The archive at {date}: {len(lines)} articles", *lines]))


def echo_json_list(rows: Iterable[Any]) -> None:
    """Print rows exactly as to_json(list(rows)) would, one row at a time."""
    opening = "["
    for row in rows:
        click.echo(f"{opening}\n{textwrap.indent(to_json(row), '  ')}", nl=False)
        opening = ","
    click.echo("[]" if opening == "[" else "\n]")


@click.command()
@click.option(
    "--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="ndjson", show_default=True
)
@click.option("--all-versions", is_flag=True, help="Every version, not only the latest.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE.")
@db_option
def export(fmt: str, all_versions: bool, output: str | None, db_path: str) -> None:
    """Export the latest version of every article (or --all-versions) as CSV, JSON or
    newline-delimited JSON, to stdout or a file. List fields are JSON in CSV.

    \b
    Example:
      unpog export --format csv -o articles.csv
      unpog export --format ndjson --all-versions | jq .title
    """
    with open_archive(db_path) as archive:
        text = export_text(archive.export_rows(all_versions=all_versions), fmt)
    write_output(text, output)


def export_text(rows: Iterable[dict[str, Any]], fmt: str) -> str:
    rows = list(rows)
    if fmt == "json":
        return to_json(rows) + "\n"
    if fmt == "ndjson":
        return "".join(json_text(row) + "\n" for row in rows)
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: csv_cell(json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v)
                    for k, v in row.items()
                }
            )
    return buffer.getvalue()


def write_output(text: str, output: str | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except OSError as error:
        raise click.ClickException(f"cannot write {output} ({error.strerror})") from None


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE.")
@click.option("--limit", default=50, show_default=True, type=cli_options.ARCHIVE_NUMBER)
@click.option("--title", default="UNPOG news pages: changes", show_default=True, help="Feed title.")
@db_option
def feed(output: str | None, limit: int, title: str, db_path: str) -> None:
    """An Atom feed of the latest changes: each entry links the article and carries the
    diff summary (and the body diff as its content).

    \b
    Example:
      unpog feed -o changes.atom
    """
    with open_archive(db_path) as archive:
        entries = archive.feed_entries(limit)
        last_crawl = archive.stats()["last_crawl"]
    site = last_crawl["base_url"] if last_crawl else "https://unpog.org"
    write_output(atom_feed(entries, title, site).decode("utf-8"), output)


def change_summary(entry: dict[str, Any]) -> str:
    """One line that says what a change did, e.g. 'changed: title, body_text (+2 -1 lines)'."""
    kind, old, new = entry["kind"], entry["old"], entry["new"]
    if kind == "new":
        return f"new article, version {new['version']}"
    if kind == "removed":
        return f"removed after version {old['version']}: {entry['reason']}"
    summary = f"{kind}: version {old['version']} -> {new['version']}"
    if entry["changed_fields"]:
        summary += f"; changed {fields_text(entry['changed_fields'])}"
        added, removed = diff_counts(body_diff(old, new))
        if added or removed:
            summary += f" (body +{added} -{removed} lines)"
    return summary


def change_content(entry: dict[str, Any]) -> str:
    old, new = entry["old"], entry["new"]
    if old is None:
        return new["body_text"]
    if new is None or old["version"] == new["version"]:
        return change_summary(entry)
    lines = [
        f"{c['field']}: {short(c['old'])} -> {short(c['new'])}" for c in field_changes(old, new)
    ]
    return "\n".join(lines + body_diff(old, new))


def atom_feed(entries: list[dict[str, Any]], title: str, site: str) -> bytes:
    """Atom 1.0 (RFC 4287) XML of change entries (newest first)."""
    from feedgen.feed import FeedGenerator  # imported here: only `unpog feed` needs it

    generator = FeedGenerator()
    generator.id(uuid.uuid5(uuid.NAMESPACE_URL, f"{site}#unpog-crawler-changes").urn)
    generator.title(terminal_text(title))
    generator.author({"name": "unpog-crawler"})
    generator.link(href=site, rel="alternate")
    generator.subtitle("New, changed, removed and restored articles found by each crawl")
    generator.updated(entries[0]["at"] if entries else "1970-01-01T00:00:00+00:00")
    # feedgen puts entries added later first: add the oldest first.
    for entry in reversed(entries):
        version = entry["new"] or entry["old"]
        item = generator.add_entry()
        item.id(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{version['fetched_url']}#change-{entry['id']}").urn
        )
        # Archive text may hold characters XML 1.0 forbids (lxml refuses them): shown escaped.
        item.title(terminal_line(f"{entry['kind'].capitalize()}: {entry['title']}"))
        item.link(href=version["fetched_url"], rel="alternate")
        item.updated(entry["at"])
        item.category(term=entry["kind"])
        item.summary(terminal_line(change_summary(entry)))
        item.content(terminal_text(change_content(entry)), type="text")
    return generator.atom_str(pretty=True)


@click.command()
@db_option
@json_option
def stats(db_path: str, as_json: bool) -> None:
    """Counts of articles, versions, changes and crawls, and how the last crawl went.

    \b
    Example:
      unpog stats --db archive/unpog.db
    """
    with open_archive(db_path) as archive:
        numbers = archive.stats()
    if as_json:
        click.echo(to_json(numbers))
        return
    kinds = ", ".join(f"{n} {kind}" for kind, n in numbers["changes"].items()) or "none"
    lines = [
        f"articles: {numbers['articles']} ({numbers['live']} live, {numbers['removed']} removed)",
        f"versions: {numbers['versions']}",
        f"changes:  {kinds}",
        f"crawls:   {numbers['crawls']}",
        f"captured: {numbers['first_capture'] or '-'} to {numbers['last_capture'] or '-'}",
        f"verified: every live article fetched since {numbers['verified_since'] or '-'}",
    ]
    last = numbers["last_crawl"]
    if last:
        complete = "complete" if last["complete"] else "incomplete"
        lines.append(
            f"last crawl: {last['id']} {last['status']}, {complete}, started {last['started_at']}, "
            f"{last['pages']} pages, {last['errors']} errors, "
            f"{last['parse_failures']} parse failures"
        )
        if last.get("revisit_fetched") is not None:
            lines.append(
                f"  revisits: of the archived posts it listed, {last['revisit_due']} due, "
                f"{last['revisit_fetched']} re-fetched, {last['revisit_skipped']} skipped, "
                f"{last['revisit_deferred']} deferred by the budget"
            )
    click.echo("\n".join(lines))


COMMANDS = (history, diff, search, changes, as_of, export, feed, stats)


def register(group: click.Group) -> None:
    """Add the research commands to the `unpog` group."""
    for command in COMMANDS:
        group.add_command(command)
