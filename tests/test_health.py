"""Crawl health: the rules, the `degraded` status they give, and the 0003 migration."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import pytest_twisted
import sqlite_utils
from conftest import crawl, query

from unpog_crawler import health
from unpog_crawler.archive import Archive, migrations
from unpog_crawler.cli.crawl import project_settings

FAST = {"DOWNLOAD_TIMEOUT": 5, "RETRY_TIMES": 0}


def content(db_path: Path) -> list[tuple]:
    return query(
        db_path,
        "select a.url, a.status, v.version, v.content_hash from articles a "
        "join versions v on v.article_id = a.id order by a.url, v.version",
    )


def broken_rules(row: dict) -> list[str]:
    return [rule["rule"] for rule in json.loads(row["health"])]


# --- The rules, one fact at a time --------------------------------------------------------

HEALTHY = health.CrawlFacts(
    articles_seen=20,
    parse_failures=1,
    errors=0,
    listed=20,
    baseline_listed=20,
    live_before=20,
    removals=1,
)
LIMITS = health.thresholds(project_settings({}))


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"articles_seen": 0, "parse_failures": 0}, "no_articles"),
        ({"articles_seen": 10, "parse_failures": 10}, "parse_failures"),
        ({"listed": 9}, "listed_drop"),
        ({"errors": 11}, "errors"),
        ({"removals": 11}, "removals"),
    ],
)
def test_each_rule_breaks_on_its_own_fact(changes, rule):
    facts = health.CrawlFacts(**{**HEALTHY.__dict__, **changes})

    assert [b["rule"] for b in health.evaluate(facts, LIMITS)] == [rule]


def test_healthy_facts_break_no_rule_and_no_baseline_means_no_drop():
    assert health.evaluate(HEALTHY, LIMITS) == []
    first_crawl = health.CrawlFacts(**{**HEALTHY.__dict__, "baseline_listed": None, "listed": 1})
    assert health.evaluate(first_crawl, LIMITS) == []


def test_thresholds_come_from_settings():
    strict = health.thresholds(project_settings({"UNPOG_HEALTH_MAX_ERRORS": "0"}))
    facts = health.CrawlFacts(**{**HEALTHY.__dict__, "errors": 1})

    assert health.evaluate(facts, LIMITS) == []
    assert [b["rule"] for b in health.evaluate(facts, strict)] == ["errors"]


# --- Whole crawls ---------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_healthy_crawl_records_an_empty_verdict_and_what_it_listed(replica, db_path):
    row = await crawl(replica.base_url, db_path)

    assert row["status"] == "finished"
    assert json.loads(row["health"]) == []
    assert row["listed"] == len(replica.site.articles())


@pytest_twisted.ensureDeferred
async def test_a_site_redesign_ends_degraded_without_archiving_navigation(replica, db_path):
    await crawl(replica.base_url, db_path)
    before = content(db_path)
    replica.site.set_template("redesign")

    row = await crawl(replica.base_url, db_path)

    assert row["status"] == "degraded"
    assert "parse_failures" in broken_rules(row)
    assert (row["new"], row["changed"], row["removed"]) == (0, 0, 0)
    assert content(db_path) == before  # no version of menus and footers
    # The one page still read is the whole-issue page, by the issue its URL names: the same
    # words as before the redesign, so no version.
    assert row["articles_seen"] == 1
    reasons = [r[0] for r in query(db_path, "select reason from crawl_problems")]
    # The redesign prints neither the share line nor the section heading: no page is read.
    assert reasons and all(r.startswith("no article found: no share line") for r in reasons)

    replica.site.set_template("classic")
    healed = await crawl(replica.base_url, db_path)
    assert (healed["status"], healed["complete"], json.loads(healed["health"])) == (
        "finished",
        1,
        [],
    )
    assert content(db_path) == before


@pytest_twisted.ensureDeferred
async def test_an_outage_answering_404_everywhere_removes_nothing(replica, db_path):
    """404 is evidence of removal for one page, not for the whole site at once."""
    await crawl(replica.base_url, db_path)
    before = content(db_path)
    replica.site.fail("/page/sub4_3_view.asp", status=404)

    row = await crawl(replica.base_url, db_path, **FAST)

    assert row["status"] == "degraded"
    assert {"errors", "removals"} <= set(broken_rules(row))
    assert row["removed"] == 0
    assert content(db_path) == before
    assert query(db_path, "select count(*) from articles where status = 'removed'") == [(0,)]


@pytest_twisted.ensureDeferred
async def test_a_drop_in_listed_articles_against_the_last_complete_crawl(replica, db_path):
    first = await crawl(replica.base_url, db_path)
    replica.site.fail("/page/sub4_3_list.asp?page=2", status=500)

    row = await crawl(
        replica.base_url,
        db_path,
        UNPOG_HEALTH_MAX_LISTED_DROP=0.1,
        UNPOG_HEALTH_MAX_ERRORS=5,
        **FAST,
    )

    assert row["listed"] < first["listed"]
    assert broken_rules(row) == ["listed_drop"]
    assert row["status"] == "degraded"


@pytest_twisted.ensureDeferred
async def test_errors_above_the_limit_degrade_the_crawl_and_its_removals(replica, db_path):
    await crawl(replica.base_url, db_path)
    replica.site.delete(18)  # "no such post": would be removed by a healthy crawl
    replica.site.fail("/page/sub4_3_view.asp?sn=72", status=500)

    row = await crawl(replica.base_url, db_path, UNPOG_HEALTH_MAX_ERRORS=0, **FAST)

    assert (row["status"], broken_rules(row), row["removed"]) == ("degraded", ["errors"], 0)
    assert query(db_path, "select status from articles where source_id = '18'") == [("live",)]

    replica.site.heal()
    healthy = await crawl(replica.base_url, db_path)
    assert (healthy["status"], healthy["removed"]) == ("finished", 1)


# --- Migration 0003 ---------------------------------------------------------------------------


def test_migration_0003_keeps_crawls_and_allows_degraded(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    db.execute("PRAGMA foreign_keys = ON")
    migrations.apply(db, stop_before="0003_crawl_health")
    db.execute(
        "INSERT INTO crawls (spider, started_at, status, complete, base_url, articles_seen) "
        "VALUES ('quarterly', '2024-01-01T00:00:00+00:00', 'finished', 1, 'x', 7)"
    )
    db.conn.commit()
    db.close()

    with Archive(path) as archive:
        assert archive.crawl(1)["articles_seen"] == 7
        assert archive.crawl(1)["health"] is None
        archive.db.execute("UPDATE crawls SET status = 'degraded' WHERE id = 1")
        with pytest.raises(sqlite3.IntegrityError):
            archive.db.execute("UPDATE crawls SET status = 'bogus' WHERE id = 1")
        assert archive.db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert archive.db.execute("PRAGMA foreign_key_check").fetchall() == []
