"""Rules over what the articles say, whatever the markup: a parser that misreads a template
misreads it on every page, and these rules see it (health.ContentDetectors).

Unit tests feed records; the crawl and doctor tests serve the replica with furniture the
parser cannot know (an info row with labels no board uses) and check the verdict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest_twisted
from conftest import crawl

from unpog_crawler.health import ContentDetectors
from unpog_crawler.items import ArticleRecord

REPO = Path(__file__).resolve().parent.parent
UNKNOWN_INFO_ROW = '<p class="x9">Category: Newsletter | Comments {n}</p>'


def make(sn: int, body: str, title: str = "", **fields) -> ArticleRecord:
    return ArticleRecord(
        url=f"/page/sub4_3_view.asp?sn={sn}",
        fetched_url=f"https://unpog.org/page/sub4_3_view.asp?sn={sn}",
        source_id=str(sn),
        section=fields.pop("section", "quarterly"),
        kind="article",
        title=title or f"Workshop number {sn} on public institutions",
        body_text=body,
        body_html="",
        **fields,
    )


CITIES = ["Apia", "Bangkok", "Colombo", "Dhaka", "Hanoi", "Jakarta", "Kathmandu", "Manila"]
CITIES += ["Suva", "Thimphu", "Ulaanbaatar", "Vientiane", "Yangon", "Male", "Dili", "Tarawa"]
CITIES += ["Nuku'alofa", "Port Vila", "Honiara", "Majuro", "Koror", "Funafuti", "Almaty", "Baku"]


def prose(sn: int) -> str:
    return f"Officials in {CITIES[sn % len(CITIES)]} met to discuss their institutions."


def verdict(records, **limits) -> dict[str, str]:
    detectors = ContentDetectors(limits, known_titles=limits.pop("titles", ()))
    for record in records:
        detectors.add(record)
    return {rule["rule"]: rule["message"] for rule in detectors.broken()}


def test_healthy_bodies_break_no_rule():
    assert verdict([make(sn, prose(sn)) for sn in range(1, 9)]) == {}


def test_a_line_opening_every_body_is_a_boilerplate_leak_named_with_numbers_masked():
    records = [make(sn, f"Category: News | {sn} comments\n\n{prose(sn)}") for sn in range(1, 6)]
    broken = verdict(records)
    assert set(broken) == {"boilerplate_leak"}
    assert (
        "'category: news | # comments' in 5 of 5 bodies of quarterly" in broken["boilerplate_leak"]
    )


def test_a_short_line_in_few_bodies_or_long_repeated_prose_is_no_leak():
    records = [make(sn, prose(sn)) for sn in range(1, 9)]
    records[0] = make(1, f"Background\n\n{prose(1)}")
    records[1] = make(2, f"Background\n\n{prose(2)}")
    closing = (
        "For more information on this programme please write to the Project Office team today."
    )
    records += [make(sn, f"{prose(sn)}\n\n{closing}") for sn in range(20, 26)]
    assert "boilerplate_leak" not in verdict(records)


def test_the_own_title_is_masked_in_a_leaked_breadcrumb():
    records = [
        make(sn, f"Home > News > Workshop number {sn} on public institutions\n\n{prose(sn)}")
        for sn in range(1, 4)
    ]
    assert "'home > news > {title}'" in verdict(records)["boilerplate_leak"]


def test_neighbours_titles_in_bodies_are_another_articles_title():
    titles = [f"Seminar {chr(65 + i)} on open data for cities" for i in range(6)]
    records = [
        make(i, f"{prose(i)}\n\nNext : {titles[(i + 1) % 6]}", title=titles[i]) for i in range(6)
    ]
    broken = verdict(records)
    assert "foreign_title" in broken
    assert "6 of 6 bodies of quarterly hold another article's title" in broken["foreign_title"]


def test_a_title_known_only_to_the_archive_counts_and_one_mention_does_not():
    archived = "Seminar on open data for cities"
    records = [make(sn, f"{prose(sn)}\n\n{archived}") for sn in range(1, 4)]
    assert "foreign_title" not in verdict(records)
    assert "foreign_title" in verdict(records, titles=[archived])
    records = [make(sn, prose(sn)) for sn in range(1, 9)]
    records[0] = make(1, f"In this issue:\n\n{archived}")
    assert "foreign_title" not in verdict(records, titles=[archived])


def test_a_page_read_without_its_share_line_breaks_the_landmarks_rule_by_default():
    records = [make(sn, prose(sn)) for sn in range(1, 9)]
    records[3] = make(4, prose(4), missing_landmarks=("share line",))
    assert "sn=4 (share line)" in verdict(records)["landmarks_missing"]
    assert "landmarks_missing" not in verdict(records, UNPOG_HEALTH_MAX_LANDMARKS_MISSING_SHARE=0.2)


def test_the_section_heading_inside_a_body_is_a_missing_landmark():
    records = [make(1, f"The UNPOG Public Governance Quarterly\n\n{prose(1)}")]
    assert "section heading in the body" in verdict(records)["landmarks_missing"]


def test_an_image_on_most_pages_of_a_board_is_furniture():
    icon = "https://unpog.org/img/bbs/b_print.gif"
    records = [
        make(sn, prose(sn), images=(icon, f"https://unpog.org/upload/{sn}.jpg"))
        for sn in range(1, 5)
    ]
    broken = verdict(records)
    assert set(broken) == {"repeated_images"}
    assert f"{icon} on 4 of 4 pages of quarterly" in broken["repeated_images"]


# --- Through a real crawl and the doctor ------------------------------------------------


def leak_furniture(replica) -> None:
    """Serve an info row whose labels the site facts do not know, atop every article."""
    for article in replica.site.articles():
        replica.site.edit(article.sn, raw_html=UNKNOWN_INFO_ROW.format(n=article.sn % 7))


@pytest_twisted.ensureDeferred
async def test_furniture_leaking_into_every_body_ends_the_crawl_degraded(replica, db_path):
    await crawl(replica.base_url, db_path)
    leak_furniture(replica)

    row = await crawl(replica.base_url, db_path)

    assert row["status"] == "degraded"
    rules = {rule["rule"]: rule["message"] for rule in json.loads(row["health"])}
    assert "'category: newsletter | comments #'" in rules["boilerplate_leak"]


def test_doctor_is_unhealthy_and_names_the_leaked_line(replica):
    leak_furniture(replica)

    result = subprocess.run(
        [sys.executable, "-m", "unpog_crawler.cli", "doctor", "--delay", "0"]
        + ["--base-url", replica.base_url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1, result.stdout
    assert "PROBLEM  boilerplate_leak: the same line in many bodies" in result.stdout
    assert "'category: newsletter | comments #' in 3 of 3 bodies" in result.stdout
    assert "Verdict: UNHEALTHY: boilerplate_leak" in result.stdout
