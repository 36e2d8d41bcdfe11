"""The `unpog` research commands on a real archive: two crawls of the replica, the second
after an edit (with Hangul) and a deletion."""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_twisted
from click.testing import CliRunner
from conftest import FIXTURES, crawl
from lxml import etree

from unpog_crawler.archive import Archive
from unpog_crawler.cli import main
from unpog_crawler.cli.research import to_json
from unpog_crawler.replica.server import serve

EDITED_SN = 20  # "Regional Workshop on Open Government Data"
DELETED_SN = 83  # "Voluntary National Reviews: Lessons from the Region"
EDITED_URL = f"/page/sub4_3_view.asp?sn={EDITED_SN}"
DELETED_URL = f"/page/sub4_3_view.asp?sn={DELETED_SN}"
NEW_TITLE = "Regional Workshop on Open Government Data and Trust"
HANGUL = "참가자들은 열린 정부 데이터와 신뢰에 대해 논의했다."
NEW_PARAGRAPH = f"A follow-up clinic on metadata standards was announced. {HANGUL}"
ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass(frozen=True)
class Crawled:
    db: Path
    first: dict
    second: dict


async def crawl_twice(db: Path) -> Crawled:
    """Crawl the replica, edit one article and delete another, crawl again."""
    with serve() as server:
        first = await crawl(server.base_url, db)
        # Captures are timed to the second: let the second crawl fall in a later second, so
        # that "as of the first crawl" is a moment between the two.
        time.sleep(1.05)
        original = server.site.article(EDITED_SN)
        server.site.edit(EDITED_SN, title=NEW_TITLE, body=(*original.body, NEW_PARAGRAPH))
        server.site.delete(DELETED_SN)
        second = await crawl(server.base_url, db)
    assert (first["new"], second["changed"], second["removed"]) == (18, 1, 1), second
    return Crawled(db, first, second)


@pytest_twisted.async_fixture(scope="module")
async def crawled(tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    return await crawl_twice(tmp_path_factory.mktemp("research") / "archive" / "unpog.db")


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def run_json(crawled: Crawled, *args: str):
    return json.loads(run(*args, "--db", str(crawled.db), "--json").output)


def article_id(crawled: Crawled, url: str) -> int:
    return run_json(crawled, "history", url)["article"]["id"]


# --- history -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref",
    [
        EDITED_URL,
        f"https://www.unpog.org{EDITED_URL}&page=2&SearchString=data",
        f"http://unpog.gabia.io/page/sub4_3_view.asp?sn=0{EDITED_SN}",
        f"unpog.org{EDITED_URL}",
        f"sub4_3_view.asp?sn={EDITED_SN}",
    ],
)
def test_history_resolves_any_url_form(crawled, ref):
    data = run_json(crawled, "history", ref)
    assert data["article"]["url"] == EDITED_URL


def test_history_lists_every_version_with_crawl_and_changed_fields(crawled):
    data = run_json(crawled, "history", EDITED_URL)
    events = [
        (e["kind"], e["version"], e["crawl_id"], e["changed_fields"]) for e in data["history"]
    ]
    assert events == [
        ("new", 1, crawled.first["id"], []),
        ("changed", 2, crawled.second["id"], ["title", "body_text"]),
    ]
    text = run("history", str(data["article"]["id"]), "--db", str(crawled.db)).output
    assert f"Article {data['article']['id']}: {EDITED_URL} (live)" in text
    assert f"crawl {crawled.second['id']}" in text and "changed: title, body_text" in text
    assert NEW_TITLE in text


def test_history_shows_a_removal(crawled):
    text = run("history", DELETED_URL, "--db", str(crawled.db)).output
    assert "(removed)" in text.splitlines()[0]
    assert "removed:" in text.splitlines()[-1]


# --- diff --------------------------------------------------------------------------------------


def test_diff_defaults_to_the_last_two_versions(crawled):
    text = run("diff", EDITED_URL, "--db", str(crawled.db)).output
    assert "version 1 (" in text and "-> version 2 (" in text
    assert f"title: Regional Workshop on Open Government Data -> {NEW_TITLE}" in text
    assert "--- version 1 body_text" in text and "+++ version 2 body_text" in text
    assert f"+{NEW_PARAGRAPH}" in text.splitlines()


def test_diff_json_and_explicit_versions(crawled):
    data = run_json(crawled, "diff", EDITED_URL, "2", "1")
    assert (data["from"]["version"], data["to"]["version"]) == (2, 1)
    assert data["fields"] == [
        {"field": "title", "old": NEW_TITLE, "new": "Regional Workshop on Open Government Data"}
    ]
    assert f"-{NEW_PARAGRAPH}" in data["body_diff"]


def test_diff_of_unchanged_fields_says_so(crawled):
    text = run("diff", EDITED_URL, "1", "1", "--db", str(crawled.db)).output
    assert text.splitlines()[-1] == "body_text: unchanged"


# --- search ------------------------------------------------------------------------------------


def test_search_latest_finds_hangul_with_a_snippet(crawled):
    hits = run_json(crawled, "search", "신뢰에")
    assert [(h["url"], h["version"]) for h in hits] == [(EDITED_URL, 2)]
    assert "[신뢰에]" in hits[0]["snippet"]
    text = run("search", "신뢰에", "--db", str(crawled.db)).output
    assert f"v2 {NEW_TITLE}" in text and "[신뢰에]" in text


def test_search_all_versions_finds_old_and_removed_texts(crawled):
    # The old title is gone from the latest version but is in version 1.
    latest = run_json(crawled, "search", "Voluntary National Reviews")
    assert {h["url"]: h["status"] for h in latest}[DELETED_URL] == "removed"
    old_words = run_json(crawled, "search", "metadata standards")
    assert [h["version"] for h in old_words] == [2]
    every = run_json(crawled, "search", "--all-versions", "Open Government Data")
    assert {(h["url"], h["version"]) for h in every} >= {(EDITED_URL, 1), (EDITED_URL, 2)}
    latest_only = run_json(crawled, "search", "Open Government Data")
    assert (EDITED_URL, 1) not in {(h["url"], h["version"]) for h in latest_only}


def test_search_all_versions_lists_newest_first_or_ranked(crawled):
    newest = run_json(crawled, "search", "--all-versions", "Colombo")
    assert [(h["url"], h["version"]) for h in newest] == [(EDITED_URL, 2), (EDITED_URL, 1)]
    ranked = run_json(crawled, "search", "--all-versions", "--order", "rank", "Colombo")
    assert sorted((h["url"], h["version"]) for h in ranked) == [(EDITED_URL, 1), (EDITED_URL, 2)]
    bad = run("search", "--order", "oldest", "Colombo", "--db", str(crawled.db), ok=False)
    assert bad.exit_code == 2 and "'oldest' is not one of 'rank', 'newest'" in bad.output


def test_search_words_with_operators_are_literal_and_raw_is_fts5(crawled):
    assert run_json(crawled, "search", "follow-up clinic")[0]["url"] == EDITED_URL
    raw = run_json(crawled, "search", "--raw", "clinic OR nonexistentword")
    assert [h["url"] for h in raw] == [EDITED_URL]
    bad = run("search", "--raw", '"unbalanced', "--db", str(crawled.db), ok=False)
    assert bad.exit_code == 1 and "not valid FTS5" in bad.output
    none = run("search", "zzzzunknown", "--db", str(crawled.db))
    assert none.output.strip() == "No match for 'zzzzunknown'."


@pytest.mark.parametrize(
    "args, message",
    [
        (["--raw", " OR ".join(["clinic"] * 2000)], "has 19996 characters: at most 500"),
        (["--raw", "clin* OR Colom* OR open* OR gov* OR data*"], "has 5 prefix* terms: at most 4"),
        ([" ".join(["clinic"] * 100)], "has 699 characters: at most 500"),
    ],
    ids=["thousands of OR terms", "five prefixes", "a long query of words"],
)
def test_search_refuses_queries_fts5_could_not_stop_in_time(crawled, args, message):
    result = run("search", *args, "--db", str(crawled.db), ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip() == f"Error: the search query {message}"


def test_search_allows_four_prefixes_and_a_long_quoted_star(crawled):
    raw = run_json(crawled, "search", "--raw", "clin* OR xyzq* OR abcq* OR qqq*")
    assert [h["url"] for h in raw] == [EDITED_URL]
    # Without --raw a * is no prefix: only the length counts.
    assert run_json(crawled, "search", "clinic* metadata* standards* follow-up* announced*")


# --- changes, as-of ----------------------------------------------------------------------------


def test_changes_grouped_by_kind_and_filtered_by_crawl_and_date(crawled):
    second = crawled.second
    rows = run_json(crawled, "changes", "--crawl", str(second["id"]))
    assert sorted((r["kind"], r["url"]) for r in rows) == [
        ("changed", EDITED_URL),
        ("removed", DELETED_URL),
    ]
    assert run_json(crawled, "changes", "--since", second["started_at"]) == rows
    everything = run_json(crawled, "changes")
    assert len(everything) == 20
    assert run_json(crawled, "changes", "--since", "2999-01-01") == []
    text = run("changes", "--crawl", str(second["id"]), "--db", str(crawled.db)).output
    assert text.splitlines()[0] == "changed (1)"
    assert f"{NEW_TITLE}: title, body_text" in text
    reason = next(r["reason"] for r in rows if r["kind"] == "removed")
    assert "removed (1)" in text and f"Lessons from the Region ({reason})" in text


def test_as_of_between_the_crawls_and_after(crawled):
    between = {r["url"]: r for r in run_json(crawled, "as-of", crawled.first["finished_at"])}
    assert len(between) == 18
    assert between[EDITED_URL]["version"] == 1
    assert between[DELETED_URL]["status"] == "live"
    after = {r["url"]: r for r in run_json(crawled, "as-of", crawled.second["finished_at"])}
    assert after[EDITED_URL]["version"] == 2 and after[EDITED_URL]["title"] == NEW_TITLE
    assert after[DELETED_URL]["status"] == "removed"
    live = run_json(crawled, "as-of", "--live", crawled.second["finished_at"])
    assert len(live) == 17
    before = run("as-of", "2000-01-01", "--db", str(crawled.db)).output
    assert before.strip() == "The archive held nothing at 2000-01-01T23:59:59+00:00."


def test_as_of_streams_the_archive_in_article_order_as_one_json_list(crawled):
    output = run("as-of", crawled.second["finished_at"], "--db", str(crawled.db), "--json").output
    with Archive(crawled.db, create=False) as archive:
        whole = archive.as_of(crawled.second["finished_at"])
    assert output == to_json(whole) + "\n"
    assert [row["article_id"] for row in whole] == sorted(row["article_id"] for row in whole)
    text = run("as-of", crawled.second["finished_at"], "--db", str(crawled.db)).output
    assert text.splitlines()[0].endswith(": 18 articles")
    assert [line.split("]")[0].strip(" [") for line in text.splitlines()[1:]] == [
        str(row["article_id"]) for row in whole
    ]


def test_as_of_a_bare_date_means_its_end_and_z_is_utc(crawled):
    day = crawled.second["finished_at"][:10]
    rows = {r["url"]: r for r in run_json(crawled, "as-of", day)}
    assert rows[EDITED_URL]["version"] == 2
    moment = crawled.first["finished_at"].replace("+00:00", "Z")
    assert {r["url"]: r for r in run_json(crawled, "as-of", moment)}[EDITED_URL]["version"] == 1


# --- export, stats, feed -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json", "ndjson"])
def test_export_formats(crawled, fmt):
    out = run("export", "--format", fmt, "--db", str(crawled.db)).output
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert json.loads(next(r for r in rows if r["url"] == EDITED_URL)["authors"])
    elif fmt == "json":
        rows = json.loads(out)
    else:
        rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 18
    edited = next(r for r in rows if r["url"] == EDITED_URL)
    assert str(edited["version"]) == "2" and HANGUL in edited["body_text"]
    assert next(r for r in rows if r["url"] == DELETED_URL)["status"] == "removed"


def test_export_all_versions_to_a_file(crawled, tmp_path):
    target = tmp_path / "all.ndjson"
    assert run("export", "--all-versions", "-o", str(target), "--db", str(crawled.db)).output == ""
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 19
    assert [r["version"] for r in rows if r["url"] == EDITED_URL] == [1, 2]


def test_stats(crawled):
    data = run_json(crawled, "stats")
    assert (data["articles"], data["live"], data["removed"]) == (18, 17, 1)
    assert (data["versions"], data["crawls"]) == (19, 2)
    assert data["changes"] == {"changed": 1, "new": 18, "removed": 1}
    assert data["last_crawl"]["id"] == crawled.second["id"]
    text = run("stats", "--db", str(crawled.db)).output
    assert "articles: 18 (17 live, 1 removed)" in text
    assert f"last crawl: {crawled.second['id']} finished, complete" in text


def test_feed_validates_as_atom_and_links_each_change(crawled, tmp_path):
    target = tmp_path / "changes.atom"
    run("feed", "-o", str(target), "--db", str(crawled.db))
    document = etree.parse(str(target))
    schema = etree.RelaxNG(etree.parse(str(FIXTURES / "atom.rng")))
    assert schema.validate(document), schema.error_log
    entries = document.getroot().findall(f"{ATOM}entry")
    assert len(entries) == 20
    changed = next(e for e in entries if e.findtext(f"{ATOM}title") == f"Changed: {NEW_TITLE}")
    assert changed.find(f"{ATOM}link").get("href").endswith(EDITED_URL)
    assert changed.findtext(f"{ATOM}summary") == (
        "changed: version 1 -> 2; changed title, body_text (body +2 -0 lines)"  # blank + paragraph
    )
    assert f"+{NEW_PARAGRAPH}" in changed.findtext(f"{ATOM}content")
    removed = next(e for e in entries if e.find(f"{ATOM}category").get("term") == "removed")
    assert removed.find(f"{ATOM}link").get("href").endswith(DELETED_URL)
    # Newest first: the second crawl's changes lead.
    assert entries[0].findtext(f"{ATOM}updated") >= entries[-1].findtext(f"{ATOM}updated")
    assert run("feed", "--limit", "1", "--db", str(crawled.db)).output.count("<entry>") == 1


# --- errors and help ---------------------------------------------------------------------------


def test_missing_database_is_an_error_and_not_created(tmp_path):
    missing = tmp_path / "none.db"
    result = run("stats", "--db", str(missing), ok=False)
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: no archive at {missing}: check the path or run a crawl"
    assert not missing.exists()


def test_non_archive_database_is_an_error(tmp_path):
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    result = run("history", "1", "--db", str(other), ok=False)
    assert result.exit_code == 1 and "not an unpog-crawler archive" in result.output


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["history", "/page/sub4_3_view.asp?sn=9999"], 1, "no article"),
        (["history", "424242"], 1, "no article '424242'"),
        (["diff", EDITED_URL, "1", "7"], 1, "has no version 7: it has versions 1 to 2"),
        (["diff", "/page/sub4_3_view.asp?sn=72"], 1, "has only one version"),
        (["diff", EDITED_URL, "0"], 2, "Invalid value"),
        (["as-of", "2024-02-30"], 2, "is not an ISO date"),
        (["changes", "--since", "yesterday"], 2, "is not an ISO date"),
        (["changes", "--crawl", "99"], 1, "no crawl 99"),
    ],
)
def test_errors_are_one_line_with_nonzero_exit(crawled, args, code, message):
    result = run(*args, "--db", str(crawled.db), ok=False)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error_lines) == 1


@pytest.mark.parametrize(
    "command", ["history", "diff", "search", "changes", "as-of", "export", "feed", "stats"]
)
def test_every_command_has_help_with_an_example_and_db_option(command):
    text = run(command, "--help").output
    assert "Example:" in text and f"unpog {command}" in text
    assert "--db PATH" in text and "archive/unpog.db" in text
