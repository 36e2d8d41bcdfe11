"""Datasette's metadata for an archive, written for any database name.

Datasette keys its metadata by database name, which is the file's stem (`demo.db` -> `demo`),
so one fixed file fits one name only. This module is the one source: `unpog browse` writes the
metadata for the archive it opens, and `archive/metadata.yml` (for `datasette archive/unpog.db
-m archive/metadata.yml`) is its output for `unpog`; a test keeps the two equal. After a change,
run `python -m unpog_crawler.archive.datasette --write archive/metadata.yml`.

Table and column descriptions come from `column_docs`, as the README's schema section does.
The canned queries and the dashboard's charts are SQL: here, with the archive's other SQL.
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path
from typing import Any

from unpog_crawler.archive.column_docs import COLUMN_DOCS, TABLE_DOCS
from unpog_crawler.archive.datasette_sql import canned_queries, dashboard_charts

DEFAULT_DATABASE = "unpog"
DASHBOARD = "unpog-archive"
TITLE = "UNPOG news archive"
SOURCE = "UNPOG, United Nations Project Office on Governance"
SOURCE_URL = "https://unpog.org/page/sub4_3_list.asp"

# How Datasette opens each table: its title, sort order, facets and search.
TABLE_VIEWS: dict[str, dict[str, Any]] = {
    "latest_versions": {
        "title": "Latest versions (live articles)",
        "sort_desc": "captured_at",
        "facets": ["section", "kind", "issue"],
        "fts_table": "latest_fts",
        "fts_pk": "version_id",
    },
    "change_log": {
        "title": "Change log",
        "sort_desc": "at",
        "facets": ["kind", "section", "crawl_id"],
    },
    "removed_articles": {
        "title": "Removed articles",
        "sort_desc": "removed_at",
        "facets": ["section", "kind"],
    },
    "articles": {
        "title": "Articles",
        "label_column": "title",
        "sort_desc": "last_seen",
        "facets": ["section", "kind", "issue", "status"],
    },
    "versions": {
        "title": "Versions",
        "label_column": "title",
        "sort_desc": "captured_at",
        "facets": ["section", "kind", "issue", "crawl_id"],
    },
    "changes": {"title": "Changes", "sort_desc": "at", "facets": ["kind", "crawl_id"]},
    "crawls": {
        "title": "Crawls",
        "label_column": "started_at",
        "sort_desc": "id",
        "facets": ["status", "spider", "complete"],
    },
    "crawl_problems": {
        "title": "Crawl problems",
        "sort_desc": "at",
        "facets": ["kind", "crawl_id"],
    },
    "issues": {"title": "Issues of the Quarterly"},
    "captures": {"title": "Captures"},
    "http_validators": {"title": "HTTP validators"},
    "files": {"title": "Files"},
    "version_files": {"title": "Version files"},
    "list_pages": {"title": "List pages"},
}


def column_list_html(table: str) -> str:
    """The table's description with its columns' meanings folded away: Datasette prints
    column descriptions above the rows, and 30 of them would push the data off the screen."""
    columns = COLUMN_DOCS.get(table, {})
    terms = "".join(
        f"<dt><code>{html.escape(name)}</code></dt><dd>{html.escape(doc)}</dd>"
        for name, doc in columns.items()
    )
    description = f"<p>{html.escape(TABLE_DOCS[table])}</p>"
    if not columns:
        return description
    summary = f"What its {len(columns)} columns mean"
    return f"{description}<details><summary>{summary}</summary><dl>{terms}</dl></details>"


# Values shown per facet (Datasette's default is 30): an issue facet of a real archive would
# push the rows off the first screen; "…" opens the rest.
FACET_SIZE = 6


def table_metadata(table: str) -> dict[str, Any]:
    view = TABLE_VIEWS.get(table, {"title": table.replace("_", " ").capitalize()})
    if "facets" in view:
        view = {**view, "facet_size": FACET_SIZE}
    return {
        **view,
        "description": TABLE_DOCS[table],
        "description_html": column_list_html(table),
    }


def metadata(database: str = DEFAULT_DATABASE) -> dict[str, Any]:
    """Datasette's metadata for an archive that Datasette names `database`."""
    return {
        "title": TITLE,
        "description": (
            "Every version of UNPOG's news pages (The UNPOG Public Governance Quarterly), "
            "as captured by unpog-crawler: articles, versions, what each crawl changed."
        ),
        "source": SOURCE,
        "source_url": SOURCE_URL,
        "license": "Texts: UNPOG's terms of use (see source); archive code: MIT",
        "license_url": "https://unpog.org",
        "databases": {
            database: {
                "title": TITLE,
                "description": (
                    "A versioned SQLite archive of UNPOG's news pages, built by unpog-crawler."
                ),
                "source": SOURCE,
                "source_url": SOURCE_URL,
                "tables": {table: table_metadata(table) for table in TABLE_DOCS},
                "queries": canned_queries(),
            }
        },
        "plugins": {"datasette-dashboards": {DASHBOARD: dashboard(database)}},
    }


def dashboard(database: str) -> dict[str, Any]:
    charts = dashboard_charts()
    for chart in charts.values():
        chart["db"] = database
    return {
        "title": TITLE,
        "description": "What the archive holds, what each crawl changed, and how the crawls went.",
        # Four equal columns: the last crawls' table gets two of them, so none is cut off.
        "layout": [
            ["live-articles", "versions", "last-crawls", "last-crawls"],
            ["articles-per-year"] * 4,
            ["changes-per-crawl"] * 4,
            ["crawl-health"] * 4,
        ],
        "charts": charts,
    }


def database_name(db_path: str | Path) -> str:
    """The name Datasette gives a database file: its stem (`archive/demo.db` -> `demo`)."""
    return Path(db_path).stem


HEADER = """\
# Datasette metadata of the archive: titles, descriptions, facets, canned queries and the
# dashboard (datasette-dashboards), for a database named `unpog` (archive/unpog.db):
#   datasette archive/unpog.db -m archive/metadata.yml
# For an archive of any other name, `unpog browse --db PATH` writes the same for its name.
# Generated by `python -m unpog_crawler.archive.datasette --write archive/metadata.yml`
# from unpog_crawler/archive/datasette.py: do not edit (tests/test_datasette.py compares).
"""


def metadata_yaml(database: str = DEFAULT_DATABASE) -> str:
    import yaml  # Datasette's own dependency; needed only to write the YAML file

    class BlockDumper(yaml.SafeDumper):
        """Writes multi-line strings (canned SQL) as readable `|` blocks."""

    def represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    BlockDumper.add_representer(str, represent_str)
    body = yaml.dump(
        metadata(database), Dumper=BlockDumper, sort_keys=False, allow_unicode=True, width=100
    )
    return HEADER + body


def write_metadata_json(path: Path, database: str) -> None:
    path.write_text(json.dumps(metadata(database), ensure_ascii=False, indent=1), "utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"] and len(sys.argv) == 3:
        Path(sys.argv[2]).write_text(metadata_yaml(), encoding="utf-8")
    else:
        print(metadata_yaml(), end="")
