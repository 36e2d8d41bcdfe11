"""Datasette on a crawled archive with archive/metadata.yml: pages, search, facets, labels,
canned queries and the dashboard."""

from __future__ import annotations

import asyncio
import concurrent.futures
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

from unpog_crawler.archive import COLUMN_DOCS, MAX_PREFIX_TERMS, MAX_SEARCH_CHARS, TABLE_DOCS

METADATA = Path(__file__).parent.parent / "archive" / "metadata.yml"


@pytest_twisted.async_fixture(scope="module")
async def crawled(tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    return await crawl_twice(tmp_path_factory.mktemp("datasette") / "archive" / "unpog.db")


@pytest.fixture(scope="module")
def metadata() -> dict[str, Any]:
    return yaml.safe_load(METADATA.read_text(encoding="utf-8"))


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


def test_metadata_documents_every_table_and_column_as_the_archive_does(metadata):
    tables = metadata["databases"]["unpog"]["tables"]
    assert set(tables) == set(TABLE_DOCS)
    for name, table in tables.items():
        assert table["description"] == TABLE_DOCS[name], name
        assert table["columns"] == COLUMN_DOCS[name], name
        assert table["title"]
    assert metadata["license"] and metadata["source_url"]


def test_every_table_and_view_page_renders_with_its_title(crawled, metadata):
    tables = metadata["databases"]["unpog"]["tables"]
    responses = fetch(crawled, metadata, "/", "/unpog", *(f"/unpog/{name}" for name in tables))
    assert "UNPOG news archive" in responses[0].text
    for name, response in zip(tables, responses[2:], strict=True):
        assert tables[name]["title"] in response.text, name
        assert tables[name]["description"].replace("'", "&#39;") in response.text, name


# --- search, facets, labels, sorting -----------------------------------------------------------


def test_search_box_finds_an_article_by_a_word_of_its_body(crawled, metadata):
    latest = rows(crawled, metadata, "/unpog/latest_versions.json", _search="clinic")
    assert [(r["url"], r["version"]) for r in latest] == [(EDITED_URL, 2)]
    hangul = rows(crawled, metadata, "/unpog/latest_versions.json", _search="신뢰에")
    assert [r["url"] for r in hangul] == [EDITED_URL]
    every = rows(crawled, metadata, "/unpog/versions.json", _search="Colombo")
    assert sorted(r["version"] for r in every if r["url"] == EDITED_URL) == [1, 2]
    page = fetch(crawled, metadata, "/unpog/latest_versions?_search=clinic")[0]
    assert NEW_TITLE in page.text and 'name="_search"' in page.text


def facet_counts(data: dict, facet: str) -> dict[str, int]:
    return {item["value"]: item["count"] for item in data["facet_results"][facet]["results"]}


def test_configured_facets(crawled, metadata):
    articles, versions, changes, log = fetch(
        crawled,
        metadata,
        "/unpog/articles.json",
        "/unpog/versions.json",
        "/unpog/changes.json",
        "/unpog/change_log.json",
    )
    assert set(articles["facet_results"]) >= {"section", "kind", "issue", "status"}
    assert facet_counts(articles, "status") == {"live": 17, "removed": 1}
    assert facet_counts(articles, "kind") == {"article": 12, "welcome_note": 5, "issue_page": 1}
    assert facet_counts(articles, "issue")["2019-Q1"] == 4
    assert facet_counts(versions, "section") == {"quarterly": 19}
    assert facet_counts(changes, "kind") == {"new": 18, "changed": 1, "removed": 1}
    assert facet_counts(log, "kind") == {"new": 18, "changed": 1, "removed": 1}


def test_foreign_keys_show_article_titles_and_tables_sort_newest_first(crawled, metadata):
    (labelled,) = fetch(crawled, metadata, "/unpog/versions.json?_labels=on&_shape=array")
    edited = [r for r in labelled if r["url"] == EDITED_URL]
    assert {r["article_id"]["label"] for r in edited} == {NEW_TITLE}
    captured = [r["captured_at"] for r in labelled]
    assert captured == sorted(captured, reverse=True)
    (page,) = fetch(crawled, metadata, "/unpog/changes")
    assert NEW_TITLE in page.text  # changes.article_id rendered with its label


# --- canned queries ----------------------------------------------------------------------------


def test_article_history_by_id_canonical_or_full_url(crawled, metadata):
    (article,) = rows(crawled, metadata, "/unpog/articles.json", url=EDITED_URL)
    for ref in (str(article["id"]), EDITED_URL, f"https://www.unpog.org{EDITED_URL}"):
        history = rows(crawled, metadata, "/unpog/article_history.json", article=ref)
        assert [(r["kind"], r["version"], r["crawl_id"]) for r in history] == [
            ("new", 1, crawled.first["id"]),
            ("changed", 2, crawled.second["id"]),
        ], ref
    assert rows(crawled, metadata, "/unpog/article_history.json", article="99999") == []


def test_changes_between_two_dates(crawled, metadata):
    first, second = crawled.first, crawled.second
    only_first = rows(
        crawled,
        metadata,
        "/unpog/changes_between.json",
        since=first["started_at"],
        until=first["finished_at"],
    )
    assert len(only_first) == 18 and {r["kind"] for r in only_first} == {"new"}
    only_second = rows(
        crawled,
        metadata,
        "/unpog/changes_between.json",
        since=second["started_at"],
        until=second["finished_at"],
    )
    assert sorted((r["kind"], r["url"]) for r in only_second) == [
        ("changed", EDITED_URL),
        ("removed", DELETED_URL),
    ]
    day = second["finished_at"][:10]
    whole_day = rows(crawled, metadata, "/unpog/changes_between.json", since=day, until=day)
    assert len(whole_day) == 20


def test_search_latest_and_all_versions(crawled, metadata):
    latest = rows(crawled, metadata, "/unpog/search_latest.json", q="Colombo")
    assert [(r["url"], r["version"]) for r in latest] == [(EDITED_URL, 2)]
    assert "[Colombo]" in latest[0]["snippet"]
    every = rows(crawled, metadata, "/unpog/search_all_versions.json", q="Colombo")
    assert [(r["url"], r["version"]) for r in every] == [(EDITED_URL, 2), (EDITED_URL, 1)]
    ranked = rows(crawled, metadata, "/unpog/search_all_versions_ranked.json", q="Colombo")
    assert sorted((r["url"], r["version"]) for r in ranked) == [(EDITED_URL, 1), (EDITED_URL, 2)]
    hangul = rows(crawled, metadata, "/unpog/search_latest.json", q="신뢰에")
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
        *(f"/unpog/{name}.json?{urlencode({'q': q})}" for q in (thousands, prefixes)),
        status=400,
    )
    for answer in refused:
        assert "at most 500 characters and 4 prefix* terms" in answer["error"], answer
    allowed = rows(crawled, metadata, f"/unpog/{name}.json", q="Colom* OR xyzq* OR abcq* OR qqq*")
    assert {r["url"] for r in allowed} == {EDITED_URL}
    # The same limits as `unpog search`.
    sql = metadata["databases"]["unpog"]["queries"][name]["sql"]
    assert f"length(:q) <= {MAX_SEARCH_CHARS}" in sql and f"'*', '')) <= {MAX_PREFIX_TERMS}" in sql


def test_as_of_between_and_after_the_crawls(crawled, metadata):
    between = {
        r["url"]: r
        for r in rows(crawled, metadata, "/unpog/as_of.json", moment=crawled.first["finished_at"])
    }
    assert len(between) == 18
    assert between[EDITED_URL]["version"] == 1 and between[DELETED_URL]["status"] == "live"
    day = crawled.second["finished_at"][:10]
    after = {r["url"]: r for r in rows(crawled, metadata, "/unpog/as_of.json", moment=day)}
    assert after[EDITED_URL]["version"] == 2 and after[EDITED_URL]["title"] == NEW_TITLE
    assert after[DELETED_URL]["status"] == "removed"
    assert rows(crawled, metadata, "/unpog/as_of.json", moment="2000-01-01") == []
    ids = [r["article_id"] for r in rows(crawled, metadata, "/unpog/as_of.json", moment=day)]
    assert ids == sorted(ids) and len(ids) == 18
    rest = rows(crawled, metadata, "/unpog/as_of.json", moment=day, after=str(ids[9]))
    assert [r["article_id"] for r in rest] == ids[10:]


def test_removed_articles_query_and_view(crawled, metadata):
    removed = rows(crawled, metadata, "/unpog/removed.json")
    assert [(r["url"], r["removed_by_crawl_id"]) for r in removed] == [
        (DELETED_URL, crawled.second["id"])
    ]
    view = rows(crawled, metadata, "/unpog/removed_articles.json")
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
        assert chart["db"] == "unpog", name
        result = rows(crawled, metadata, "/unpog.json", sql=chart["query"])
        assert result, name
    per_crawl = rows(crawled, metadata, "/unpog.json", sql=charts["changes-per-crawl"]["query"])
    assert {(r["crawl"], r["kind"], r["changes"]) for r in per_crawl} == {
        (crawled.first["id"], "new", 18),
        (crawled.second["id"], "changed", 1),
        (crawled.second["id"], "removed", 1),
    }
