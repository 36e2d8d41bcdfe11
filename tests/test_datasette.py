"""Datasette on a crawled archive with the metadata `unpog browse` writes for it: pages, search,
facets, labels, canned queries and the dashboard. The archive is not named unpog.db: the
metadata must fit any name (archive/metadata.yml is the same, written for `unpog`)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import html
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_twisted
import yaml
from datasette.app import Datasette
from test_research_cli import (
    DELETED_URL,
    EDITED_URL,
    HANGUL,
    NEW_TITLE,
    Crawled,
    crawl_twice,
)

from unpog_crawler.archive import (
    COLUMN_DOCS,
    MAX_PREFIX_TERMS,
    MAX_SEARCH_CHARS,
    TABLE_DOCS,
    Archive,
)
from unpog_crawler.archive.datasette import metadata as metadata_for

METADATA = Path(__file__).parent.parent / "archive" / "metadata.yml"
DB = "research-2026"  # the archive's file is research-2026.db: Datasette names it so


@pytest_twisted.async_fixture(scope="module")
async def crawled(tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    return await crawl_twice(tmp_path_factory.mktemp("datasette") / "archive" / f"{DB}.db")


@pytest.fixture(scope="module")
def metadata() -> dict[str, Any]:
    return metadata_for(DB)


def fetch(crawled: Crawled, metadata: dict, *paths: str, status: int = 200) -> list[Any]:
    """GET each path from a Datasette over the archive: JSON for .json paths, else the response;
    each must answer `status`.

    Datasette runs its own asyncio loop; the Twisted reactor owns this thread's, so the
    requests run in a worker thread.
    """

    async def get_all() -> list[Any]:
        datasette = Datasette([str(crawled.db)], metadata=metadata)
        await datasette.invoke_startup()
        results = []
        for path in paths:
            response = await datasette.client.get(path)
            assert response.status_code == status, (path, response.status_code, response.text[:500])
            results.append(response.json() if ".json" in path else response)
        return results

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, get_all()).result()


def rows(crawled: Crawled, metadata: dict, path: str, **params: str) -> list[dict]:
    """All rows of a JSON path, with `params` URL-encoded ("+00:00" must not become a space)."""
    query = urlencode({**params, "_shape": "array", "_size": "max"})
    return fetch(crawled, metadata, f"{path}?{query}")[0]


# --- metadata ----------------------------------------------------------------------------------


def test_metadata_yml_is_the_generated_metadata_for_an_archive_named_unpog():
    """archive/metadata.yml (for `datasette archive/unpog.db -m archive/metadata.yml`) is
    written from the one source; run `python -m unpog_crawler.archive.datasette --write
    archive/metadata.yml` after changing it."""
    assert yaml.safe_load(METADATA.read_text(encoding="utf-8")) == metadata_for("unpog")


def test_metadata_for_any_name_differs_only_by_the_name(metadata):
    """Only the database's key and the charts' database change with the file's name."""
    as_text = json.dumps(metadata_for("unpog"))
    renamed = as_text.replace('"unpog": {', f'"{DB}": {{').replace('"db": "unpog"', f'"db": "{DB}"')
    assert json.loads(renamed) == metadata
    assert list(metadata["databases"]) == [DB]


def test_metadata_documents_every_table_and_column_as_the_archive_does(metadata):
    tables = metadata["databases"][DB]["tables"]
    assert set(tables) == set(TABLE_DOCS)
    for name, table in tables.items():
        assert table["description"] == TABLE_DOCS[name], name
        folded = table["description_html"].split("<details>", 1)[1]
        for column, doc in COLUMN_DOCS[name].items():
            assert f"<dt><code>{column}</code></dt><dd>{html.escape(doc)}</dd>" in folded, column
        assert table["title"]
    assert metadata["license"] and metadata["source_url"]


def test_every_table_and_view_page_renders_with_its_title(crawled, metadata):
    tables = metadata["databases"][DB]["tables"]
    responses = fetch(crawled, metadata, "/", f"/{DB}", *(f"/{DB}/{name}" for name in tables))
    assert "UNPOG news archive" in responses[0].text
    for name, response in zip(tables, responses[2:], strict=True):
        assert tables[name]["title"] in response.text, name
        assert f"<p>{html.escape(tables[name]['description'])}</p>" in response.text, name
        # The columns' meanings are folded away, above the rows, not a list pushing them down.
        assert '<dl class="column-descriptions">' not in response.text, name
        assert response.text.index("<details><summary>What its") < response.text.index(
            '<table class="rows-and-columns">'
        ), name


# --- search, facets, labels, sorting -----------------------------------------------------------


def test_search_box_finds_an_article_by_a_word_of_its_body(crawled, metadata):
    latest = rows(crawled, metadata, f"/{DB}/latest_versions.json", _search="clinic")
    assert [(r["url"], r["version"]) for r in latest] == [(EDITED_URL, 2)]
    hangul = rows(crawled, metadata, f"/{DB}/latest_versions.json", _search="신뢰에")
    assert [r["url"] for r in hangul] == [EDITED_URL]
    every = rows(crawled, metadata, f"/{DB}/versions.json", _search="Colombo")
    assert sorted(r["version"] for r in every if r["url"] == EDITED_URL) == [1, 2]
    page = fetch(crawled, metadata, f"/{DB}/latest_versions?_search=clinic")[0]
    assert NEW_TITLE in page.text and 'name="_search"' in page.text


def facet_counts(data: dict, facet: str) -> dict[str, int]:
    return {item["value"]: item["count"] for item in data["facet_results"][facet]["results"]}


def test_configured_facets(crawled, metadata):
    articles, versions, changes, log = fetch(
        crawled,
        metadata,
        f"/{DB}/articles.json",
        f"/{DB}/versions.json",
        f"/{DB}/changes.json",
        f"/{DB}/change_log.json",
    )
    assert set(articles["facet_results"]) >= {"section", "kind", "issue", "status"}
    assert facet_counts(articles, "status") == {"live": 17, "removed": 1}
    assert facet_counts(articles, "kind") == {"article": 12, "welcome_note": 5, "issue_page": 1}
    assert facet_counts(articles, "issue")["2019-Q1"] == 4
    assert facet_counts(versions, "section") == {"quarterly": 19}
    assert facet_counts(changes, "kind") == {"new": 18, "changed": 1, "removed": 1}
    assert facet_counts(log, "kind") == {"new": 18, "changed": 1, "removed": 1}


def test_foreign_keys_show_article_titles_and_tables_sort_newest_first(crawled, metadata):
    (labelled,) = fetch(crawled, metadata, f"/{DB}/versions.json?_labels=on&_shape=array")
    edited = [r for r in labelled if r["url"] == EDITED_URL]
    assert {r["article_id"]["label"] for r in edited} == {NEW_TITLE}
    captured = [r["captured_at"] for r in labelled]
    assert captured == sorted(captured, reverse=True)
    (page,) = fetch(crawled, metadata, f"/{DB}/changes")
    assert NEW_TITLE in page.text  # changes.article_id rendered with its label


# --- canned queries ----------------------------------------------------------------------------


# Every form `unpog history` takes (tests/test_research_cli.py), and more of the site's own.
ARTICLE_REFS = (
    EDITED_URL,
    f"https://www.unpog.org{EDITED_URL}",
    f"https://www.unpog.org{EDITED_URL}&page=2&SearchString=data",  # copied from a list page
    f"https://unpog.org/page/sub4_3_view.asp?page=2&sn={EDITED_URL.rsplit('=', 1)[1]}",
    f"http://unpog.gabia.io/page/sub4_3_view.asp?sn=0{EDITED_URL.rsplit('=', 1)[1]}",
    f"unpog.org{EDITED_URL}",
    f"sub4_3_view.asp?sn={EDITED_URL.rsplit('=', 1)[1]}",
    f"https://unpog.org{EDITED_URL.upper()}#top",
)


@pytest.mark.parametrize("ref", ARTICLE_REFS)
def test_article_history_finds_the_article_as_the_command_line_does(crawled, metadata, ref):
    with Archive.open_read_only(crawled.db) as archive:
        expected = archive.find_article(ref)["id"]
    history = rows(crawled, metadata, f"/{DB}/article_history.json", article=ref)
    assert [(r["article_id"], r["kind"], r["version"], r["crawl_id"]) for r in history] == [
        (expected, "new", 1, crawled.first["id"]),
        (expected, "changed", 2, crawled.second["id"]),
    ]


def test_article_history_by_id_and_of_nothing(crawled, metadata):
    (article,) = rows(crawled, metadata, f"/{DB}/articles.json", url=EDITED_URL)
    history = rows(crawled, metadata, f"/{DB}/article_history.json", article=str(article["id"]))
    assert [r["version"] for r in history] == [1, 2]
    for nothing in ("99999", "", "/page/sub4_3_view.asp?sn=999", "sub3_1_view.asp?sn=20"):
        assert rows(crawled, metadata, f"/{DB}/article_history.json", article=nothing) == []
    # Opened with no article yet: a form and no rows, never an error.
    (page,) = fetch(crawled, metadata, f"/{DB}/article_history")
    assert 'name="article"' in page.text and "error" not in page.text.lower()


def test_changes_between_two_dates(crawled, metadata):
    first, second = crawled.first, crawled.second
    only_first = rows(
        crawled,
        metadata,
        f"/{DB}/changes_between.json",
        since=first["started_at"],
        until=first["finished_at"],
    )
    assert len(only_first) == 18 and {r["kind"] for r in only_first} == {"new"}
    only_second = rows(
        crawled,
        metadata,
        f"/{DB}/changes_between.json",
        since=second["started_at"],
        until=second["finished_at"],
    )
    assert sorted((r["kind"], r["url"]) for r in only_second) == [
        ("changed", EDITED_URL),
        ("removed", DELETED_URL),
    ]
    day = second["finished_at"][:10]
    whole_day = rows(crawled, metadata, f"/{DB}/changes_between.json", since=day, until=day)
    assert len(whole_day) == 20


def test_search_latest_and_all_versions(crawled, metadata):
    latest = rows(crawled, metadata, f"/{DB}/search_latest.json", q="Colombo")
    assert [(r["url"], r["version"]) for r in latest] == [(EDITED_URL, 2)]
    assert "[Colombo]" in latest[0]["snippet"]
    every = rows(crawled, metadata, f"/{DB}/search_all_versions.json", q="Colombo")
    assert [(r["url"], r["version"]) for r in every] == [(EDITED_URL, 2), (EDITED_URL, 1)]
    ranked = rows(crawled, metadata, f"/{DB}/search_all_versions_ranked.json", q="Colombo")
    assert sorted((r["url"], r["version"]) for r in ranked) == [(EDITED_URL, 1), (EDITED_URL, 2)]
    hangul = rows(crawled, metadata, f"/{DB}/search_latest.json", q="신뢰에")
    assert [r["url"] for r in hangul] == [EDITED_URL] and HANGUL in hangul[0]["snippet"].replace(
        "[", ""
    ).replace("]", "")


SEARCH_QUERIES = ("search_latest", "search_all_versions", "search_all_versions_ranked")


@pytest.mark.parametrize("name", SEARCH_QUERIES)
def test_search_queries_refuse_what_fts5_could_not_stop_in_time(crawled, metadata, name):
    """Thousands of terms, or many prefixes, would hold a thread for minutes: FTS5 does its
    work inside one call that Datasette's time limit cannot interrupt."""
    thousands = " OR ".join(["Colombo"] * 2000)
    prefixes = " OR ".join(["Colom*", "Open*", "Govern*", "Data*", "Trust*"])
    refused = fetch(
        crawled,
        metadata,
        *(f"/{DB}/{name}.json?{urlencode({'q': q})}" for q in (thousands, prefixes)),
        status=400,
    )
    for answer in refused:
        assert "at most 500 characters and 4 prefix* terms" in answer["error"], answer
    allowed = rows(crawled, metadata, f"/{DB}/{name}.json", q="Colom* OR xyzq* OR abcq* OR qqq*")
    assert {r["url"] for r in allowed} == {EDITED_URL}
    # The same limits as `unpog search`.
    sql = metadata["databases"][DB]["queries"][name]["sql"]
    assert f"length(q) > {MAX_SEARCH_CHARS}" in sql and f"'*', '')) > {MAX_PREFIX_TERMS}" in sql


@pytest.mark.parametrize("name", SEARCH_QUERIES)
def test_search_queries_open_on_an_empty_answer_not_an_error(crawled, metadata, name):
    """A canned query runs as its page opens, before anything is typed."""
    page, blank = fetch(crawled, metadata, f"/{DB}/{name}", f"/{DB}/{name}?q=+++")
    for response in (page, blank):
        assert "syntax error" not in response.text and 'name="q"' in response.text
        assert '<p class="zero-results">0 results</p>' in response.text
    assert rows(crawled, metadata, f"/{DB}/{name}.json", q="") == []


@pytest.mark.parametrize("name", SEARCH_QUERIES)
@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ('"open gover', "a quote opens a phrase that is not closed"),
        ("(open OR trust", "every ( needs a )"),
        ("open OR", "OR, AND and NOT need words on both sides"),
        ("AND data", "OR, AND and NOT need words on both sides"),
    ],
)
def test_half_typed_search_gets_a_readable_message(crawled, metadata, name, typed, message):
    (answer,) = fetch(crawled, metadata, f"/{DB}/{name}.json?{urlencode({'q': typed})}", status=400)
    assert f"search query incomplete: {message}" in answer["error"], answer
    assert "fts5" not in answer["error"]
    finished = {'"open gover': '"open government"', "(open OR trust": "(open OR trust)"}
    if typed in finished:  # once finished, the same query answers
        assert rows(crawled, metadata, f"/{DB}/{name}.json", q=finished[typed])


def test_as_of_between_and_after_the_crawls(crawled, metadata):
    between = {
        r["url"]: r
        for r in rows(crawled, metadata, f"/{DB}/as_of.json", moment=crawled.first["finished_at"])
    }
    assert len(between) == 18
    assert between[EDITED_URL]["version"] == 1 and between[DELETED_URL]["status"] == "live"
    day = crawled.second["finished_at"][:10]
    after = {r["url"]: r for r in rows(crawled, metadata, f"/{DB}/as_of.json", moment=day)}
    assert after[EDITED_URL]["version"] == 2 and after[EDITED_URL]["title"] == NEW_TITLE
    assert after[DELETED_URL]["status"] == "removed"
    assert rows(crawled, metadata, f"/{DB}/as_of.json", moment="2000-01-01") == []
    ids = [r["article_id"] for r in rows(crawled, metadata, f"/{DB}/as_of.json", moment=day)]
    assert ids == sorted(ids) and len(ids) == 18
    rest = rows(crawled, metadata, f"/{DB}/as_of.json", moment=day, after=str(ids[9]))
    assert [r["article_id"] for r in rest] == ids[10:]


def test_removed_articles_query_and_view(crawled, metadata):
    removed = rows(crawled, metadata, f"/{DB}/removed.json")
    assert [(r["url"], r["removed_by_crawl_id"]) for r in removed] == [
        (DELETED_URL, crawled.second["id"])
    ]
    view = rows(crawled, metadata, f"/{DB}/removed_articles.json")
    assert [(r["url"], r["last_version"], r["reason"]) for r in view] == [
        (DELETED_URL, 1, removed[0]["reason"])
    ]
    assert removed[0]["reason"].startswith("page answers")


# --- dashboard ---------------------------------------------------------------------------------


def test_dashboard_renders_and_every_chart_query_has_rows(crawled, metadata):
    dashboards = metadata["plugins"]["datasette-dashboards"]
    (dashboard_id,) = dashboards
    charts = dashboards[dashboard_id]["charts"]
    (page,) = fetch(crawled, metadata, f"/-/dashboards/{dashboard_id}")
    assert dashboards[dashboard_id]["title"] in page.text
    for name, chart in charts.items():
        assert chart["db"] == DB, name
        result = rows(crawled, metadata, f"/{DB}.json", sql=chart["query"])
        assert result, name
    per_crawl = rows(crawled, metadata, f"/{DB}.json", sql=charts["changes-per-crawl"]["query"])
    assert {(r["crawl"], r["kind"], r["changes"]) for r in per_crawl} == {
        (crawled.first["id"], "new", 18),
        (crawled.second["id"], "changed", 1),
        (crawled.second["id"], "removed", 1),
    }


# --- unpog browse ------------------------------------------------------------------------------

UNPOG = [sys.executable, "-m", "unpog_crawler.cli"]
# Python as it runs where Datasette was never installed: importing it fails.
WITHOUT_DATASETTE = (
    "import sys; sys.modules['datasette'] = None; from unpog_crawler.cli import main; main()"
)


def test_browse_writes_the_metadata_for_its_archive(crawled, tmp_path):
    written = tmp_path / "meta.json"
    result = subprocess.run(
        [*UNPOG, "browse", "--db", str(crawled.db), "--write-metadata", str(written)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(written.read_text(encoding="utf-8")) == metadata_for(DB)
    assert f"datasette {crawled.db} -m {written}" in result.stdout


def test_browse_without_datasette_says_in_one_line_how_to_install_it(crawled):
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_DATASETTE, "browse", "--db", str(crawled.db)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error: Datasette is not installed (datasette is missing): run pip install -e "
        "'.[browse]' in the project's folder, then unpog browse again"
    ]


def test_browse_of_a_missing_archive_is_one_line(tmp_path):
    result = subprocess.run(
        [*UNPOG, "browse", "--db", str(tmp_path / "nothing.db")], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and "no archive at" in result.stderr
    assert not (tmp_path / "nothing.db").exists()
