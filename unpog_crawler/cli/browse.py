"""`unpog browse`: Datasette on an archive, with its metadata written for that archive.

Datasette names a database after its file (`archive/demo.db` is `demo`) and looks its metadata
up by that name, so a fixed metadata file fits one file name only. This command writes the
metadata (`unpog_crawler.archive.datasette`) for the archive it is given and starts Datasette
with it: descriptions, facets, canned queries and the dashboard on any archive.
"""

from __future__ import annotations

import importlib
import signal
import sys
import tempfile
from pathlib import Path

import click

from unpog_crawler.archive import Archive, ArchiveError
from unpog_crawler.archive.datasette import DASHBOARD, database_name, write_metadata_json
from unpog_crawler.cli import options as cli_options

INSTALL_HINT = "pip install -e '.[browse]'"
# What `unpog browse` needs besides the project: Datasette, and the plugin of the dashboard.
BROWSE_MODULES = ("datasette", "datasette_dashboards")


@click.command(context_settings={"ignore_unknown_options": True})
@cli_options.db_option("Archive file to open in Datasette.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8001,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free one).",
)
@click.option(
    "--write-metadata",
    "metadata_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Only write the metadata for this archive to FILE (for `datasette PATH -m FILE`).",
)
@click.argument("datasette_args", nargs=-1, type=click.UNPROCESSED, metavar="[DATASETTE OPTIONS]")
def browse(
    db_path: str,
    host: str,
    port: int,
    metadata_path: Path | None,
    datasette_args: tuple[str, ...],
) -> None:
    """Open the archive in Datasette: every table described, facets, search, canned queries
    and the dashboard (/-/dashboards/unpog-archive). Options it does not know go to
    `datasette serve` (e.g. --setting default_allow_sql off).

    \b
    Needs Datasette: pip install -e '.[browse]'
    Examples:
      unpog browse --db archive/demo.db
      unpog browse --db archive/unpog.db --port 8080 -o
      unpog browse --db archive/unpog.db --write-metadata meta.json
    """
    check_readable_archive(db_path)
    database = database_name(db_path)
    if metadata_path:
        write_metadata_json(metadata_path, database)
        click.echo(
            f"Metadata for database {database!r} written: datasette {db_path} -m {metadata_path}"
        )
        return
    missing = missing_module()
    if missing:
        raise click.ClickException(
            f"Datasette is not installed ({missing} is missing): run {INSTALL_HINT} in the "
            "project's folder, then unpog browse again"
        )
    with tempfile.TemporaryDirectory(prefix="unpog-browse-") as folder:
        metadata_file = Path(folder) / f"{database}-metadata.json"
        write_metadata_json(metadata_file, database)
        if port:
            address = f"http://{host}:{port}/"
            click.echo(
                f"Datasette on {db_path} at {address} (dashboard: {address}-/dashboards/"
                f"{DASHBOARD}); Ctrl-C stops it"
            )
        sys.exit(run_datasette(db_path, metadata_file, host, port, datasette_args))


def check_readable_archive(db_path: str) -> None:
    """A missing, foreign or unreadable file is one line and exit 1, not Datasette's page of
    errors (opening it also upgrades an older archive that may be written)."""
    try:
        Archive.open_read_only(db_path).close()
    except ArchiveError as error:
        raise click.ClickException(str(error)) from None


def missing_module() -> str | None:
    for module in BROWSE_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            return module
    return None


class Stopped(Exception):
    """SIGTERM (a service manager stopping `unpog browse`), once Datasette has shut down."""


def _stopped(signum: int, frame: object) -> None:
    raise Stopped


def run_datasette(
    db_path: str, metadata_file: Path, host: str, port: int, extra: tuple[str, ...]
) -> int:
    """`datasette serve` in this process until it is stopped. Its server shuts down cleanly on
    Ctrl-C or SIGTERM, then raises the signal again: both end here, so the metadata's
    temporary folder is removed and the exit status is 0."""
    from datasette.cli import cli

    args = ["serve", db_path, "-m", str(metadata_file), "--host", host, "--port", str(port)]
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        cli.main(args=[*args, *extra], prog_name="datasette", standalone_mode=False)
    except click.exceptions.Exit as stop:
        return stop.exit_code
    except (KeyboardInterrupt, Stopped):
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def register(group: click.Group) -> None:
    """Add `unpog browse` to the `unpog` group."""
    group.add_command(browse)
