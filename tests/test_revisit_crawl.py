"""The revisit policy in real crawls (issue 16): which archived posts a crawl asks for again.

Real crawls of the replica over loopback, its pages sent without validators (every request a
full download, as from a classic ASP server), into a real archive file. Time is the
archive's: a crawl plans from its own start time and the history the archive holds, so
"a night later" or "15 days unverified" is written into the archive, never read from a clock.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_twisted
from conftest import crawl, query

from unpog_crawler import site
from unpog_crawler.archive import Archive
from unpog_crawler.replica.nights import ARTICLE_PAGE, NIGHT, age_archive
from unpog_crawler.replica.server import ReplicaServer, ReplicaSite, serve
from unpog_crawler.revisit import KnownPost, RevisitSettings, plan_revisits

REPO = Path(__file__).resolve().parent.parent
ADAPTIVE = {"UNPOG_REVISIT": "adaptive"}  # conftest's crawls fetch everything by default


@pytest.fixture
def bare() -> Iterator[ReplicaServer]:
    """The replica, its pages sent without ETag: no 304, every request a download."""
    with serve(ReplicaSite(validators=False)) as server:
        yield server


async def crawl_adaptive(server: ReplicaServer, db_path: Path, **overrides) -> dict:
    return await crawl(server.base_url, db_path, **{**ADAPTIVE, **overrides})


def articles_asked(server: ReplicaServer) -> list[str]:
    """Canonical URLs of the article pages the replica was asked for, in order."""
    targets = (target for _, target, _ in server.site.requests)
    return [site.canonical_url(t) for t in targets if ARTICLE_PAGE.search(t)]


def list_pages_asked(server: ReplicaServer) -> int:
    return server.site.requests.count("_list.asp")


def live_urls(db_path: Path) -> set[str]:
    return {url for (url,) in query(db_path, "SELECT url FROM articles WHERE status = 'live'")}


def listed_posts(server: ReplicaServer) -> set[str]:
    return {f"/page/sub4_3_view.asp?sn={a.sn}" for a in server.site.articles()}


def removal(db_path: Path, url: str) -> tuple[int, str] | None:
    rows = query(
        db_path,
        "SELECT c.crawl_id, c.reason FROM changes c JOIN articles a ON a.id = c.article_id "
        "WHERE a.url = ? AND c.kind = 'removed'",
        url,
    )
    return rows[0] if rows else None


def most_recently_fetched(db_path: Path) -> str:
    """The listed post the rotation (least recently fetched first) would pick last."""
    rows = query(
        db_path,
        "SELECT url FROM articles WHERE url LIKE '%view.asp%' ORDER BY last_seen DESC, url DESC",
    )
    return rows[0][0]


def history(db_path: Path) -> dict[str, KnownPost]:
    """What the archive knows of each Quarterly post, as the next crawl's plan reads it."""
    with Archive(db_path, create=False) as archive:
        return archive.known_posts("quarterly")


def expected_plan(known: dict[str, KnownPost], started_at: str, previous: str) -> set[str]:
    """What `plan_revisits` says a crawl that starts at `started_at` fetches of the listed
    posts, on an unchanged site (the crawl's list rows are the recorded ones)."""
    posts = [
        dataclasses.replace(
            post, row=post.recorded_row, published=post.published or post.recorded_row.date
        )
        for post in known.values()
        if "view.asp" in post.url
    ]
    plan = plan_revisits(posts, started_at, RevisitSettings(), previous_crawl=previous)
    return set(plan.urls())


# --- an unchanged re-crawl ----------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_an_unchanged_recrawl_a_night_later_asks_for_the_lists_and_the_planned_posts(
    bare, db_path
):
    first = await crawl_adaptive(bare, db_path)
    assert first["new"] == len(live_urls(db_path)) and first["revisit_fetched"] == 0
    age_archive(db_path, NIGHT)  # the first crawl ran last night
    previous = query(db_path, "SELECT started_at FROM crawls WHERE id = ?", first["id"])[0][0]
    before = history(db_path)
    bare.site.requests.clear()

    row = await crawl_adaptive(bare, db_path)

    # Every list page; of the archived listed posts, exactly those the plan names.
    planned = expected_plan(before, row["started_at"], previous)
    asked = articles_asked(bare)
    listed = listed_posts(bare)
    assert list_pages_asked(bare) == bare.site.page_count()
    assert len(asked) == len(set(asked))
    assert {url for url in asked if url in listed} == planned
    # The whole-issue page is archived but on no list: re-checked, as every unlisted post.
    assert {url for url in asked if url not in listed} == {"/page/sub4_3_2022_winter.asp"}
    assert 0 < len(planned) < len(listed) / 2
    assert (row["status"], row["complete"], row["errors"]) == ("finished", 1, 0)
    assert (row["new"], row["changed"], row["removed"]) == (0, 0, 0)
    assert (row["revisit_fetched"], row["revisit_skipped"]) == (
        len(planned),
        len(listed) - len(planned),
    )
    assert row["revisit_due"] is not None and row["revisit_deferred"] == 0
    # Skipped posts are still listed: none removed, each keeps its last fetch.
    assert live_urls(db_path) == set(before)
    skipped = [post for url, post in before.items() if url in listed and url not in planned]
    assert row["verified_since"] == min(p.last_fetched for p in skipped).isoformat()


@pytest_twisted.ensureDeferred
async def test_revisit_all_asks_for_every_archived_post(bare, db_path):
    await crawl_adaptive(bare, db_path)
    age_archive(db_path, NIGHT)
    bare.site.requests.clear()

    row = await crawl_adaptive(bare, db_path, UNPOG_REVISIT="all")

    assert sorted(articles_asked(bare)) == sorted(live_urls(db_path))
    listed = len(listed_posts(bare))
    assert (row["revisit_due"], row["revisit_fetched"], row["revisit_skipped"]) == (
        listed,
        listed,
        0,
    )
    assert row["unchanged"] == len(live_urls(db_path))
    assert row["verified_since"] >= row["started_at"]


def unpog(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "unpog_crawler.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )


def test_unpog_crawl_full_fetches_everything_and_says_when_every_post_was_verified(bare, db_path):
    fast = ["--spider", "quarterly", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"]
    target = ["--base-url", bare.base_url, "--db", str(db_path), *fast]
    assert unpog("crawl", *target).returncode == 0
    age_archive(db_path, NIGHT)
    bare.site.requests.clear()

    nightly = unpog("crawl", *target)
    fetched_nightly = len(articles_asked(bare))
    bare.site.requests.clear()
    full = unpog("crawl", "--full", *target)

    assert (nightly.returncode, full.returncode) == (0, 0), nightly.stderr + full.stderr
    assert fetched_nightly < len(live_urls(db_path)) / 2
    assert sorted(articles_asked(bare)) == sorted(live_urls(db_path))
    listed = len(listed_posts(bare))
    [nightly_line] = [line for line in nightly.stdout.splitlines() if "crawl 2" in line]
    assert re.search(rf"\d+ re-fetched, {listed - fetched_nightly + 1} skipped", nightly_line)
    [line] = [line for line in full.stdout.splitlines() if line.startswith("quarterly:")]
    assert f"{listed} due, {listed} re-fetched, 0 skipped" in line
    assert re.search(r"every post verified since \d{4}-\d\d-\d\d \d\d:\d\d UTC", line)
    settings = query(db_path, "SELECT settings FROM crawls ORDER BY id")
    assert ['"UNPOG_REVISIT": "adaptive"' in s for (s,) in settings] == [True, True, False]
    assert '"UNPOG_REVISIT": "all"' in settings[2][0]


# --- removals under skipping ------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_skipped_posts_are_never_removed(bare, db_path):
    await crawl_adaptive(bare, db_path)
    everything = live_urls(db_path)

    for _ in range(3):  # crawls seconds apart: nearly every post skipped each time
        bare.site.requests.clear()
        row = await crawl_adaptive(bare, db_path)
        assert (row["status"], row["complete"]) == ("finished", 1)
        assert row["revisit_skipped"] >= len(everything) - 3
        assert len(articles_asked(bare)) <= 3

    assert live_urls(db_path) == everything
    assert query(db_path, "SELECT COUNT(*) FROM changes WHERE kind = 'removed'") == [(0,)]


@pytest.mark.parametrize("answer", ["no such post", "404"])
@pytest_twisted.ensureDeferred
async def test_a_post_gone_from_a_complete_listing_is_fetched_and_removed_on_its_own_word(
    bare, db_path, answer
):
    await crawl_adaptive(bare, db_path)
    gone = most_recently_fetched(db_path)  # never the rotation's pick
    sn = int(gone.rsplit("=", 1)[1])
    bare.site.delete(sn)  # off the lists; its page says "no such post"
    if answer == "404":
        bare.site.fail(gone, status=404)
    bare.site.requests.clear()

    row = await crawl_adaptive(bare, db_path)

    assert articles_asked(bare).count(gone) == 1  # asked for in the crawl that missed it
    assert (row["status"], row["complete"], row["removed"]) == ("finished", 1, 1)
    crawl_id, reason = removal(db_path, gone)
    assert crawl_id == row["id"]
    assert reason.startswith("page answers: ")  # its own page's word, not "not listed"
    assert live_urls(db_path) == listed_posts(bare) | {"/page/sub4_3_2022_winter.asp"}


@pytest_twisted.ensureDeferred
async def test_a_post_gone_from_the_lists_whose_page_still_answers_is_kept(db_path):
    with serve(ReplicaSite(validators=False)) as server:
        await crawl(server.base_url, db_path, spider="youth", **ADAPTIVE)
        posts = server.site.boards.posts("youth")
        hidden = posts[0]  # the newest: no longer on a list, its page still there
        url = f"/page/sub4_1_view.asp?tb_engagement_sn={hidden.sn}"
        server.site.boards.edit("youth", hidden.sn, listed=False)
        server.site.requests.clear()

        row = await crawl(server.base_url, db_path, spider="youth", **ADAPTIVE)

        assert url in articles_asked(server)
    assert (row["status"], row["complete"], row["removed"]) == ("finished", 1, 0)
    assert removal(db_path, url) is None
    assert query(db_path, "SELECT found_by FROM articles WHERE url = ?", url) == [("link",)]


@pytest_twisted.ensureDeferred
async def test_with_a_list_page_failing_the_archived_posts_no_list_showed_are_fetched(
    bare, db_path
):
    await crawl_adaptive(bare, db_path)
    on_page_2 = {f"/page/sub4_3_view.asp?sn={a.sn}" for a in bare.site.articles()[5:10]}
    # A night later, the rotation picks the least recently fetched of the 12 listed posts
    # (one): make it the oldest post, whose prev/next links lead nowhere near page 2 (a
    # link to an archived post no list showed is followed, and could hide a missing
    # re-check).
    age_archive(db_path, NIGHT)
    oldest = f"/page/sub4_3_view.asp?sn={bare.site.articles()[-1].sn}"
    age_archive(db_path, timedelta(hours=1), urls=(oldest,))
    bare.site.fail("/page/sub4_3_list.asp?page=2", status=500)
    bare.site.requests.clear()

    row = await crawl_adaptive(bare, db_path)

    assert on_page_2 <= set(articles_asked(bare))
    assert oldest in articles_asked(bare)
    assert (row["status"], row["complete"], row["removed"]) == ("finished", 0, 0)
    assert live_urls(db_path) >= on_page_2


# --- what a crawl asks for ahead of the plan's own order ------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_post_whose_list_row_changed_is_fetched_and_its_change_archived(bare, db_path):
    await crawl_adaptive(bare, db_path)
    url = most_recently_fetched(db_path)
    sn = int(url.rsplit("=", 1)[1])
    bare.site.edit(sn, title="A Title Edited After Publication")
    bare.site.requests.clear()

    row = await crawl_adaptive(bare, db_path)

    assert url in articles_asked(bare)
    assert (row["changed"], row["revisit_due"] >= 1) == (1, True)
    assert query(
        db_path,
        "SELECT v.title FROM versions v JOIN articles a ON a.id = v.article_id "
        "WHERE a.url = ? ORDER BY v.version DESC LIMIT 1",
        url,
    ) == [("A Title Edited After Publication",)]
    assert query(db_path, "SELECT title FROM list_rows WHERE url = ?", url) == [
        ("A Title Edited After Publication",)
    ]


@pytest_twisted.ensureDeferred
async def test_a_hint_whose_fetch_failed_is_still_a_hint_next_crawl(bare, db_path):
    await crawl_adaptive(bare, db_path)
    url = most_recently_fetched(db_path)
    sn = int(url.rsplit("=", 1)[1])
    old_title = bare.site.article(sn).title
    bare.site.edit(sn, title="A Title Edited After Publication")
    bare.site.fail(url, status=500)  # every try, this crawl

    failed = await crawl_adaptive(bare, db_path)
    assert failed["changed"] == 0 and failed["errors"] >= 1
    assert query(db_path, "SELECT title FROM list_rows WHERE url = ?", url) == [(old_title,)]
    bare.site.heal()
    bare.site.requests.clear()

    row = await crawl_adaptive(bare, db_path)

    assert url in articles_asked(bare)
    assert row["changed"] == 1


@pytest_twisted.ensureDeferred
async def test_a_new_post_is_fetched_by_the_crawl_that_first_lists_it(bare, db_path):
    await crawl_adaptive(bare, db_path)
    newest = bare.site.articles()[0]
    bare.site.add(dataclasses.replace(newest, sn=newest.sn + 10, title="A Post Added Today"))
    url = f"/page/sub4_3_view.asp?sn={newest.sn + 10}"
    bare.site.requests.clear()

    row = await crawl_adaptive(bare, db_path)

    assert url in articles_asked(bare)
    assert row["new"] == 1
    assert query(db_path, "SELECT title, found_by FROM articles WHERE url = ?", url) == [
        ("A Post Added Today", "list")
    ]


@pytest_twisted.ensureDeferred
async def test_posts_unverified_for_longer_than_max_age_are_fetched(bare, db_path):
    await crawl_adaptive(bare, db_path)
    posts = sorted(listed_posts(bare))
    stale = tuple(posts[:4])  # more than the rotation takes from seconds-apart crawls
    age_archive(db_path, timedelta(days=15), urls=stale)
    bare.site.requests.clear()

    row = await crawl_adaptive(bare, db_path)

    asked = set(articles_asked(bare))
    assert set(stale) <= asked
    assert len(asked & set(posts)) < len(posts) / 2
    assert row["revisit_due"] >= len(stale)
    seen = dict(query(db_path, "SELECT url, last_seen FROM articles"))
    assert all(seen[url] >= row["started_at"] for url in stale)


@pytest_twisted.ensureDeferred
async def test_a_shorter_max_age_fetches_posts_the_default_leaves(bare, db_path):
    await crawl_adaptive(bare, db_path)
    stale = tuple(sorted(listed_posts(bare))[:4])
    age_archive(db_path, timedelta(days=8), urls=stale)
    bare.site.requests.clear()
    await crawl_adaptive(bare, db_path)  # MAX_AGE 14: 8 days unverified is not too long
    left = set(stale) - set(articles_asked(bare))  # the rotation may take one
    assert len(left) >= len(stale) - 1
    bare.site.requests.clear()

    await crawl_adaptive(bare, db_path, UNPOG_REVISIT_MAX_AGE="7")

    assert left <= set(articles_asked(bare))


# --- unpog stats ----------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_unpog_stats_says_when_every_post_was_verified_and_what_the_last_crawl_skipped(
    bare, db_path
):
    await crawl_adaptive(bare, db_path)
    age_archive(db_path, NIGHT)
    oldest = query(db_path, "SELECT MIN(last_seen) FROM articles")[0][0]
    row = await crawl_adaptive(bare, db_path)

    result = unpog("stats", "--db", str(db_path))

    assert result.returncode == 0, result.stderr
    verified = query(db_path, "SELECT MIN(last_seen) FROM articles WHERE status = 'live'")[0][0]
    assert oldest <= verified < row["started_at"]
    assert f"verified: every live article fetched since {verified}" in result.stdout
    assert (
        f"{row['revisit_due']} due, {row['revisit_fetched']} re-fetched, "
        f"{row['revisit_skipped']} skipped, 0 deferred by the budget" in result.stdout
    )
