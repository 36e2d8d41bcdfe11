"""`unpog crawl`: the one command for schedulers (cron, systemd), see
docs/running-on-a-schedule.md. It runs the spiders one after another into the archive,
logs each spider's run to `<archive dir>/logs/` (`unpog_crawler.runlog`), and
`--report FILE.json` writes what the run found for other tools.

Exit status: 0 healthy, 1 when a crawl failed, was incomplete or hit errors, 2 on a usage
error (bad option, unusable archive).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import Settings
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.defer import deferred_from_coro

from unpog_crawler import __version__, health, reach, runlog
from unpog_crawler import settings as default_settings
from unpog_crawler.archive import Archive, ArchiveError, utc_now
from unpog_crawler.cli.options import parse_setting_options, setting_option
from unpog_crawler.pipelines import summary_counts

REPORT_FORMAT = "unpog-crawl-report/1"


COUNT_COLUMNS = (
    "pages",
    "articles_seen",
    "new",
    "changed",
    "unchanged",
    "removed",
    "restored",
    "parse_failures",
    "errors",
)


def project_settings(overrides: dict[str, Any]) -> Settings:
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    settings.update(overrides, priority="cmdline")
    extensions = settings.getdict("EXTENSIONS")
    extensions.setdefault(runlog.CONSOLE_EXTENSION, 500)
    if settings.getbool("UNPOG_PROGRESS"):
        # Added only when wanted: a disabled extension costs a warning in every cron mail.
        extensions.setdefault(runlog.PROGRESS_EXTENSION, 500)
    priority = settings.getpriority("EXTENSIONS") or "project"
    settings.set("EXTENSIONS", extensions, priority=priority)
    return settings


class ArchiveProblem(click.ClickException):
    """The archive cannot be used as given: a usage error (exit 2), nothing was written."""

    exit_code = 2


def check_archive(db_path: str) -> None:
    """Open (creating if needed) and lock-test the archive before Scrapy starts, so that a
    bad path, a foreign file or a running crawl is one clear line, not a traceback."""
    try:
        archive = Archive(db_path)
        try:
            with archive.lock():
                pass
        finally:
            archive.close()
    except ArchiveError as error:
        raise ArchiveProblem(str(error)) from error


# The order `unpog crawl` runs them in: the Quarterly first, as before the boards existed.
SPIDER_ORDER = ("quarterly", "news", "youth", "publications")


def spider_names(settings: Settings) -> list[str]:
    names = SpiderLoader.from_settings(settings).list()
    rank = {name: index for index, name in enumerate(SPIDER_ORDER)}
    return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))


def run_crawls(
    settings: Settings,
    names: list[str],
    spider_args: dict[str, str] | None = None,
    finished: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the spiders one after another (one archive has one writer); return their rows,
    each with the path of its run's log file under `log_file` (None when there is none) and
    why the site could not be reached under `unreachable` (None when it could). `finished`
    is called with each row as soon as its spider ends. After Ctrl-C, or a site that cannot
    be reached, the next spiders do not run (status "not run").
    `spider_args` go to every spider (`-a NAME=VALUE`), e.g. {"sweep": "1"}."""
    process = AsyncCrawlerProcess(settings)
    crawlers = [process.create_crawler(name) for name in names]
    rows: list[dict[str, Any]] = [
        {"spider": name, "status": "not run", "id": None, "log_file": None, "unreachable": None}
        for name in names
    ]

    async def crawl_in_turn() -> None:
        from twisted.internet import reactor  # installed by AsyncCrawlerProcess

        try:
            for index, (name, crawler) in enumerate(zip(names, crawlers, strict=True)):
                with runlog.spider_log_file(settings, name) as log_file:
                    await process.crawl(crawler, **(spider_args or {}))
                rows[index] = crawl_row(settings, name, crawler)
                rows[index]["log_file"] = str(log_file) if log_file else None
                rows[index]["unreachable"] = crawler.stats.get_value(reach.UNREACHABLE_STAT)
                if finished is not None:
                    finished(rows[index])
                if crawler.stats.get_value("finish_reason") == "shutdown":
                    break  # Ctrl-C: do not start the next spider
                if rows[index]["unreachable"]:
                    break  # the same site for every spider
        finally:
            if reactor.running:
                reactor.stop()

    deferred_from_coro(crawl_in_turn())
    process.start(stop_after_crawl=False)
    return rows


def crawl_row(settings: Settings, name: str, crawler: Any) -> dict[str, Any]:
    try:
        crawl_id = crawler.stats.get_value("unpog/crawl_id")
    except RuntimeError:  # never started: Ctrl-C during an earlier spider
        crawl_id = None
    if not crawl_id:
        return {"spider": name, "status": "failed", "id": None}
    try:
        with Archive(settings.get("UNPOG_ARCHIVE_DB"), create=False) as archive:
            return archive.crawl(crawl_id)
    except ArchiveError as error:  # the crawl wrote it; it cannot be read back now
        return {"spider": name, "status": "unknown", "id": crawl_id, "problem": str(error)}


def health_problems(row: dict[str, Any]) -> list[str]:
    """Why a crawl is not healthy; empty when it finished, read every list page and met no
    errors. Any other status (failed, interrupted, degraded, ...) is a problem."""
    problems = []
    if row.get("status") != "finished":
        problems.append(f"status {row.get('status')}")
    if row.get("id") is not None and not row.get("complete"):
        problems.append("listing incomplete")
    if row.get("errors"):
        problems.append(f"{row['errors']} errors")
    return problems


def crawl_is_healthy(row: dict[str, Any]) -> bool:
    return not health_problems(row)


def exit_status(rows: list[dict[str, Any]]) -> int:
    return 0 if rows and all(crawl_is_healthy(row) for row in rows) else 1


def summary_line(row: dict[str, Any], base_url: str = "") -> str:
    if row.get("unreachable"):
        return unreachable_line(row, base_url)
    if row.get("problem"):
        return f"{row['spider']}: crawl {row['id']} cannot be read back: {row['problem']}"
    if row.get("id") is None:
        return f"{row['spider']}: did not start (see the log above)"
    return f"{row['spider']}: crawl {row['id']} {row['status']}, {summary_counts(row)}"


def unreachable_line(row: dict[str, Any], base_url: str) -> str:
    """The one line a run that could not reach the site prints (reach.py)."""
    where = f"crawl {row['id']} failed" if row.get("id") is not None else "no crawl started"
    log = f"; log: {row['log_file']}" if row.get("log_file") else ""
    return (
        f"cannot reach {base_url}: {row['unreachable']}. Nothing was crawled or removed "
        f"({where}{log}). Offline? `unpog demo` crawls a local replica of the site."
    )


@click.command()
@click.option("--base-url", help="Site to crawl (default https://unpog.org).", metavar="URL")
@click.option("--db", "db_path", help="Archive file (default archive/unpog.db).", metavar="PATH")
@click.option(
    "--spider",
    "spiders",
    multiple=True,
    metavar="NAME",
    help="Spider to run (repeatable; default: every spider).",
)
@click.option(
    "--sweep",
    is_flag=True,
    help="Also ask for ids no list shows, until UNPOG_SWEEP_MAX_MISSES 'no such post' in a row.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Fetch every archived post again (UNPOG_REVISIT=all), not only those the revisit "
    "policy finds due.",
)
@setting_option("Any Scrapy setting, as with `scrapy crawl -s`.")
@click.option(
    "-L",
    "--log-level",
    default=None,
    help="Console log level (default INFO; WARNING in a terminal).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.json",
    help="Write the run's report (crawl ids, counts, health, changes) as JSON.",
)
def crawl(
    base_url: str | None,
    db_path: str | None,
    spiders: tuple[str, ...],
    sweep: bool,
    full: bool,
    setting_options: tuple[str, ...],
    log_level: str | None,
    report_path: Path | None,
) -> None:
    """Crawl the site into the archive and print one summary line per spider.

    Safe from cron or a systemd timer: one crawl per archive at a time (a second run exits 2
    at once), a log file per spider in <archive dir>/logs/ (the newest UNPOG_LOG_KEEP kept).
    In a terminal it shows a live progress line per spider and only warnings; without one it
    logs plainly.

    \b
    Exit status: 0 healthy; 1 failed, degraded, incomplete listing or errors; 2 usage error.
    Examples:
      unpog crawl --base-url https://unpog.gabia.io -s DOWNLOAD_DELAY=5
      unpog crawl --db /var/lib/unpog/unpog.db --report /var/lib/unpog/last-run.json
      unpog crawl --full   # every archived post again (after a parser change)
    """
    overrides: dict[str, Any] = parse_setting_options(setting_options)
    if base_url:
        overrides["UNPOG_BASE_URL"] = validate_base_url(base_url)
    if db_path:
        overrides["UNPOG_ARCHIVE_DB"] = db_path
    if log_level:
        overrides["LOG_LEVEL"] = log_level.upper()
    if full:
        overrides["UNPOG_REVISIT"] = "all"
    overrides.update(terminal_overrides(overrides, sys.stderr.isatty()))
    settings = project_settings(overrides)
    check_settings(settings)
    names = choose_spiders(settings, spiders)
    if report_path:
        check_report_path(report_path)
    check_archive(settings.get("UNPOG_ARCHIVE_DB"))
    started_at = utc_now()
    base_url = settings.get("UNPOG_BASE_URL")
    rows = run_crawls(
        settings,
        names,
        {"sweep": "1"} if sweep else None,
        finished=lambda row: click.echo(summary_line(row, base_url)),
    )
    finish_run(settings, rows, report_path, started_at)


def check_settings(settings: Settings) -> None:
    """A bad setting value is a usage error, found before anything is fetched or written."""
    try:
        health.check_settings(settings)
    except health.BadSetting as error:
        raise click.BadParameter(str(error), param_hint="-s") from error


def terminal_overrides(overrides: dict[str, Any], interactive: bool) -> dict[str, Any]:
    """In a terminal: the progress line, and only warnings on the console (the log file keeps
    INFO); explicit -L / -s choices win. Without a terminal (cron, systemd): plain logs."""
    if not interactive:
        return {}
    chosen: dict[str, Any] = {"UNPOG_PROGRESS": overrides.get("UNPOG_PROGRESS", True)}
    chosen["LOG_LEVEL"] = overrides.get("LOG_LEVEL", "WARNING")
    return chosen


def check_report_path(path: Path) -> None:
    """Refuse a report path that cannot be written before crawling, not after."""
    directory = path.parent
    if not directory.is_dir():
        raise click.BadParameter(f"directory {directory} does not exist", param_hint="--report")
    if not os.access(directory, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise click.BadParameter(f"{path} is not writable", param_hint="--report")


def finish_run(
    settings: Settings, rows: list[dict[str, Any]], report_path: Path | None, started_at: str
) -> None:
    """Point at the log of each unhealthy crawl (each spider's summary line was printed as
    it ended), write the report, and exit with the run's status."""
    for row in rows:
        if not crawl_is_healthy(row) and row.get("log_file") and not row.get("unreachable"):
            click.echo(f"{row['spider']}: log in {row['log_file']}", err=True)
    status = exit_status(rows)
    if report_path:
        report = build_report(settings, rows, started_at, utc_now(), status)
        write_json_atomically(report_path, report)
    sys.exit(status)


def build_report(
    settings: Settings,
    rows: list[dict[str, Any]],
    started_at: str,
    finished_at: str,
    status: int,
) -> dict[str, Any]:
    """The run as data for other tools: one entry per spider, with its verdict and the changes
    and problems its crawl recorded."""
    db_path = Path(settings.get("UNPOG_ARCHIVE_DB")).resolve()
    with Archive(db_path, create=False) as archive:
        crawls = [crawl_report(archive, row) for row in rows]
    unreachable = next((row["unreachable"] for row in rows if row.get("unreachable")), None)
    return {
        "format": REPORT_FORMAT,
        "unpog_crawler_version": __version__,
        "archive": str(db_path),
        "base_url": settings.get("UNPOG_BASE_URL"),
        "started_at": started_at,
        "finished_at": finished_at,
        "healthy": status == 0,
        "exit_status": status,
        "unreachable": unreachable,  # why the site could not be reached; None when it could
        "crawls": crawls,
    }


def crawl_report(archive: Archive, row: dict[str, Any]) -> dict[str, Any]:
    crawl_id = row.get("id")
    entry: dict[str, Any] = {
        "spider": row["spider"],
        "crawl_id": crawl_id,
        "status": row.get("status"),
        "complete": bool(row.get("complete")),
        "started_at": row.get("started_at"),
        "finished_at": row.get("finished_at"),
        "healthy": crawl_is_healthy(row),
        "problems_found": health_problems(row),
        "counts": {column: row.get(column, 0) for column in COUNT_COLUMNS},
        "log_file": row.get("log_file"),
        "unreachable": row.get("unreachable"),
    }
    if "health" in row:  # the reliability checks' own verdict, where the archive has it
        entry["health"] = decode_json(row["health"])
        entry["problems_found"] += broken_rules(entry["health"])
    if crawl_id is None:
        entry.update(changes=[], pages_with_problems=[])
        return entry
    entry["changes"] = archive.changes(crawl_id=crawl_id)
    entry["pages_with_problems"] = archive.crawl_problem_rows(crawl_id)
    return entry


def broken_rules(health: Any) -> list[str]:
    """The health rules a crawl broke, as "rule: message" (health is a list of those)."""
    if not isinstance(health, list):
        return []
    return [
        f"{rule.get('rule')}: {rule.get('message')}" for rule in health if isinstance(rule, dict)
    ]


def decode_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # not JSON after all: report it as stored


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """A reader (a monitoring script, the next cron job) never sees half a report."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, ensure_ascii=False, indent=2)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def validate_base_url(base_url: str) -> str:
    if not base_url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="--base-url")
    return base_url.rstrip("/")


def choose_spiders(settings: Settings, requested: tuple[str, ...]) -> list[str]:
    available = spider_names(settings)
    unknown = [name for name in requested if name not in available]
    if unknown:
        raise click.BadParameter(
            f"unknown spider {unknown[0]!r}; choose from {', '.join(available)}",
            param_hint="--spider",
        )
    return list(requested) or available


def register(group: click.Group) -> None:
    """Add `unpog crawl` to the `unpog` group."""
    group.add_command(crawl)
