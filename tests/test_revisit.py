"""The revisit policy (issue 16), table by table: settings, intervals, plans, the rotation.

Pure: no crawl, no archive. Times are fixed moments; `now` is always passed in.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from unpog_crawler.parse.list_rows import ListRow
from unpog_crawler.revisit import (
    KnownPost,
    RevisitSettings,
    as_utc,
    plan_revisits,
    revisit_interval,
    rotation_quota,
)

NOW = datetime(2025, 3, 20, 2, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
FOURTEEN = timedelta(days=14)


def ago(days: float) -> datetime:
    return NOW - days * DAY


def post(
    name: str,
    fetched: float,
    *,
    first_seen: float = 400,
    published: float | None = 1000,
    changed: float | None = None,
    changes: int = 0,
    row: ListRow | None = None,
    recorded: ListRow | None = None,
) -> KnownPost:
    """A post `name` last fetched `fetched` days before NOW (the other times likewise)."""
    return KnownPost(
        url=f"/view?sn={name}",
        first_seen=ago(first_seen),
        last_fetched=ago(fetched),
        last_changed=ago(changed) if changed is not None else None,
        changes=changes,
        published=ago(published) if published is not None else None,
        row=row,
        recorded_row=recorded,
    )


def settings(budget: str = "auto", max_age: float = 14, mode: str = "adaptive"):
    return RevisitSettings.from_values(mode, max_age, budget)


# --- settings -----------------------------------------------------------------------------------

GOOD_SETTINGS = [
    (("adaptive", 14, "auto"), ("adaptive", FOURTEEN, None, None)),
    ((" ALL ", "7.5", "auto"), ("all", timedelta(days=7.5), None, None)),
    (("adaptive", "14", "300"), ("adaptive", FOURTEEN, 300, None)),
    (("adaptive", "14", "0"), ("adaptive", FOURTEEN, 0, None)),
    (("adaptive", "14", "15%"), ("adaptive", FOURTEEN, None, 0.15)),
]


@pytest.mark.parametrize(("given", "expected"), GOOD_SETTINGS)
def test_settings_read(given, expected):
    read = RevisitSettings.from_values(*given)
    assert (read.mode, read.max_age, read.budget_posts, read.budget_share) == expected


BAD_SETTINGS = [
    (("sometimes", 14, "auto"), "UNPOG_REVISIT="),
    (("adaptive", "0", "auto"), "UNPOG_REVISIT_MAX_AGE="),
    (("adaptive", "-3", "auto"), "UNPOG_REVISIT_MAX_AGE="),
    (("adaptive", "nan", "auto"), "UNPOG_REVISIT_MAX_AGE="),
    (("adaptive", "two weeks", "auto"), "UNPOG_REVISIT_MAX_AGE="),
    (("adaptive", "400", "auto"), "UNPOG_REVISIT_MAX_AGE="),
    (("adaptive", 14, "-5"), "UNPOG_REVISIT_BUDGET="),
    (("adaptive", 14, "150%"), "UNPOG_REVISIT_BUDGET="),
    (("adaptive", 14, "0.1"), "UNPOG_REVISIT_BUDGET="),  # a share needs its % sign
    (("adaptive", 14, "ten"), "UNPOG_REVISIT_BUDGET="),
]


@pytest.mark.parametrize(("given", "named"), BAD_SETTINGS)
def test_bad_settings_are_one_line_naming_the_setting(given, named):
    with pytest.raises(ValueError) as error:
        RevisitSettings.from_values(*given)
    assert str(error.value).startswith(f"bad setting {named}")
    assert "\n" not in str(error.value)


def test_settings_come_from_scrapy_style_settings():
    read = RevisitSettings.from_settings({"UNPOG_REVISIT": "all", "UNPOG_REVISIT_BUDGET": "5%"})
    assert (read.mode, read.max_age, read.budget_share) == ("all", FOURTEEN, 0.05)


BUDGETS = [
    ("auto", 3000, 231, 301),  # the rotation and 30% more: 10% with 14 days, nightly
    ("auto", 3000, 819, 1065),  # two nights missed: the rotation catches up, room grows too
    ("10%", 3000, 231, 300),
    ("250", 3000, 231, 250),
]


QUOTAS = [
    (3000, DAY, 231),  # nightly: every post comes round in 13 crawls
    (3000, 3 * DAY, 819),  # two nights missed: 11 days left for the round
    (28, DAY, 3),
    (28, timedelta(0), 0),  # a crawl right after another
    (28, FOURTEEN, 28),  # crawls MAX_AGE apart: everything, every time
]


@pytest.mark.parametrize(("known", "gap", "expected"), QUOTAS)
def test_rotation_quota(known, gap, expected):
    assert rotation_quota(known, gap, FOURTEEN) == expected


@pytest.mark.parametrize(("given", "known", "rotation", "expected"), BUDGETS)
def test_budget(given, known, rotation, expected):
    assert settings(given).budget(known, rotation) == expected


# --- times --------------------------------------------------------------------------------------

TIMES = [
    ("2024-05-01", datetime(2024, 5, 1, tzinfo=timezone.utc)),
    (date(2024, 5, 1), datetime(2024, 5, 1, tzinfo=timezone.utc)),
    ("2024-05-01T09:30:00+09:00", datetime(2024, 5, 1, 0, 30, tzinfo=timezone.utc)),
    ("2024-05-01T09:30:00Z", datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)),
    (datetime(2024, 5, 1, 9, 30), datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("given", "expected"), TIMES)
def test_times_are_utc(given, expected):
    assert as_utc(given) == expected


def test_a_post_takes_the_archives_iso_text():
    known = KnownPost("/v?sn=1", "2025-03-01T02:10:00+00:00", "2025-03-19T02:30:00+00:00",
                      published="2025-02-28")  # fmt: skip
    assert known.origin == datetime(2025, 2, 28, tzinfo=timezone.utc)
    assert known.last_fetched == datetime(2025, 3, 19, 2, 30, tzinfo=timezone.utc)


# --- the interval -------------------------------------------------------------------------------

INTERVALS = [
    ("an old post that never changed waits MAX_AGE",
     post("a", 1, first_seen=30, published=3 * 365), FOURTEEN),
    ("a post two days old when last fetched waits two days",
     post("b", 1, first_seen=3, published=3), 2 * DAY),
    ("a post fetched the day it was published waits the minimum, a day",
     post("c", 1, first_seen=1, published=1), DAY),
    ("stable 3 days, 2 changes in 10 days: the mean gap, 5 days, is the longer",
     post("d", 1, first_seen=11, published=11, changed=4, changes=2), 5 * DAY),
    ("stable 8 days, 4 changes in 12 days: stable for is the longer",
     post("e", 1, first_seen=13, published=13, changed=9, changes=4), 8 * DAY),
    ("an old post edited once is not chased: its mean gap is its life",
     post("f", 1, first_seen=30, published=300, changed=1, changes=1), FOURTEEN),
    ("a restless post (6 changes in 6 nights) is left to the rotation",
     post("g", 1, first_seen=7, published=7, changed=1, changes=6), FOURTEEN),
    ("4 changes in 4 nights is a burst of edits, chased: a day",
     post("h", 1, first_seen=5, published=5, changed=1, changes=4), DAY),
    ("no publication date: its life starts when first archived",
     post("i", 1, first_seen=5, published=None), 4 * DAY),
    ("a list date after the first archiving (time zones) is not its start",
     post("j", 1, first_seen=5, published=4.5), 4 * DAY),
]  # fmt: skip


@pytest.mark.parametrize(
    ("known", "expected"), [c[1:] for c in INTERVALS], ids=[c[0] for c in INTERVALS]
)
def test_revisit_interval(known, expected):
    assert revisit_interval(known, FOURTEEN) == expected


def test_a_shorter_max_age_caps_every_interval():
    assert revisit_interval(post("a", 1, first_seen=30), timedelta(days=3)) == 3 * DAY


# --- plans --------------------------------------------------------------------------------------

ROW = ListRow("/view?sn=x", "Alpha", ("2019-01-02",), comments=1, attachments=0, views=10)
RETITLED = ListRow("/view?sn=x", "Alpha (revised)", ("2019-01-02",), 1, 0, 10)
MORE_VIEWS = ListRow("/view?sn=x", "Alpha", ("2019-01-02",), 1, 0, 99)
NEW_FILE = ListRow("/view?sn=x", "Alpha", ("2019-01-02",), 1, 1, 10)
OLD = {"first_seen": 30, "published": 3 * 365}  # an old post: its interval is MAX_AGE

# (case, posts, settings, previous crawl (days ago), [(post, reason)], due, deferred)
PLANS = [
    ("a hinted post goes first and passes the budget; a due post waits for budget",
     [post("due", 2, first_seen=3, published=3), post("hinted", 1, row=RETITLED,
                                                       recorded=ROW, **OLD)],
     settings("0"), 0, [("hinted", "hint")], 2, 1),
    ("one more attachment is a hint too",
     [post("a", 1, row=NEW_FILE, recorded=ROW, **OLD)], settings("0"), 0, [("a", "hint")],
     1, 0),
    ("a view counter that moved is no hint",
     [post("a", 1, row=MORE_VIEWS, recorded=ROW, **OLD)], settings(), 0, [], 0, 0),
    ("no recorded row yet: no hint",
     [post("a", 1, row=RETITLED, **OLD)], settings(), 0, [], 0, 0),
    ("a post last fetched MAX_AGE ago is fetched whatever the budget",
     [post("a", 14, **OLD), post("b", 13, **OLD)], settings("0"), 0, [("a", "max_age")], 1, 0),
    ("fetched now if by the next crawl it would pass MAX_AGE (crawls nightly); the rotation",
     [post("a", 13.2, **OLD), post("b", 12.9, **OLD)] + [post(f"r{i}", 1, **OLD)
                                                          for i in range(40)],
     settings("0"), 1,
     [("a", "max_age"), ("b", "rotation"), ("r0", "rotation"), ("r1", "rotation")], 1, 0),
    ("due when its time comes before the next crawl is halfway here",
     [post("a", 0.6, first_seen=0.6, published=0.6), post("b", 0.4, first_seen=0.4, published=0.4)],
     settings("10"), 1, [("a", "due")], 1, 0),
    ("due posts past the budget are deferred, the most overdue fetched",
     [post("2x", 2, first_seen=2, published=2), post("3x", 3, first_seen=3.5, published=3.5),
      post("1x", 1, first_seen=2, published=2)],
     settings("2"), 0, [("3x", "due"), ("2x", "due")], 3, 1),
    ("hints first, then the most overdue",
     [post("due", 2, first_seen=2, published=2), post("max", 20, **OLD),
      post("hinted", 1, row=RETITLED, recorded=ROW, **OLD)],
     settings("10"), 0, [("hinted", "hint"), ("due", "due"), ("max", "max_age")], 3, 0),
    ("auto: no budget for early revisits in a crawl right after another",
     [post("due", 2, first_seen=2, published=2)], settings(), 0, [], 1, 1),
    ("a crawl right after another fetches nothing that is not due",
     [post(f"p{i}", 0.1, **OLD) for i in range(30)], settings(), 0, [], 0, 0),
    ("nothing listed: nothing to plan", [], settings(), 1, [], 0, 0),
    ("UNPOG_REVISIT=all fetches everything, hinted first, the least recently fetched next",
     [post("a", 1, **OLD), post("b", 3, **OLD), post("c", 0.5, row=RETITLED, recorded=ROW)],
     settings(mode="all"), 1, [("c", "full"), ("b", "full"), ("a", "full")], 3, 0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("posts", "chosen", "previous", "expected", "due", "deferred"),
    [c[1:] for c in PLANS],
    ids=[c[0] for c in PLANS],
)
def test_plan(posts, chosen, previous, expected, due, deferred):
    plan = plan_revisits(posts, NOW, chosen, previous_crawl=ago(previous))
    assert [(v.url.split("=")[1], v.reason) for v in plan.visits] == expected
    assert (plan.due, plan.deferred) == (due, deferred)
    # Every known post is fetched or skipped, never both, never twice.
    fetched, skipped = set(plan.urls()), set(plan.skipped)
    assert fetched | skipped == {p.url for p in posts} and not fetched & skipped
    assert plan.fetched + len(plan.skipped) == plan.known == len(posts)


def test_a_hint_says_what_the_row_changed():
    plan = plan_revisits([post("a", 1, row=RETITLED, recorded=ROW)], NOW, settings())
    assert plan.visits[0].detail == "title"


def test_the_rotation_takes_the_least_recently_fetched_share():
    posts = [post(f"{i:02}", 1 + i / 4, **OLD) for i in range(28)]  # fetched 1 to 7.75 days ago
    plan = plan_revisits(posts, NOW, settings(), previous_crawl=ago(1))
    assert [(v.url[-2:], v.reason) for v in plan.visits] == [
        ("27", "rotation"),
        ("26", "rotation"),
        ("25", "rotation"),
    ]


def test_after_missed_nights_the_rotation_catches_up():
    posts = [post(f"{i:02}", 3 + i / 4, **OLD) for i in range(28)]
    plan = plan_revisits(posts, NOW, settings(), previous_crawl=ago(3))
    assert plan.fetched == 8  # 28 posts x 3 nights / the 11 days left to come round


def test_without_the_previous_crawl_the_latest_fetch_dates_it():
    posts = [post(f"{i:02}", 1 + i / 4, **OLD) for i in range(28)]
    assert plan_revisits(posts, NOW, settings()).fetched == 3


def test_one_url_twice_is_one_post():
    twice = [post("a", 20, **OLD), post("a", 20, **OLD)]
    assert plan_revisits(twice, NOW, settings()).urls() == ("/view?sn=a",)


def test_oldest_fetch_before_and_after_the_crawl():
    posts = [post("a", 20, **OLD), post("b", 5, **OLD), post("c", 2, **OLD)]
    plan = plan_revisits(posts, NOW, settings("0"), previous_crawl=NOW)
    assert plan.oldest_fetched == ago(20)
    assert plan.oldest_skipped == ago(5)  # a is fetched: once it is, b is the oldest
    assert plan.verified_since(NOW) == ago(5)
    line = plan.summary(NOW)
    assert line.startswith("revisit: 3 known posts listed, 1 due, 1 fetched, 2 skipped")
    assert line.endswith("every post verified since 2025-03-15T02:00+00:00")


def test_the_summary_names_deferred_posts_and_the_budget():
    posts = [post(f"{i}", 2, first_seen=2, published=2) for i in range(3)]
    line = plan_revisits(posts, NOW, settings("1"), previous_crawl=NOW).summary(NOW)
    assert "3 due, 1 fetched, 2 skipped (2 due posts deferred by the budget of 1)" in line


# --- nights in a row: the guarantees --------------------------------------------------------------


def nights(count: int, posts: list[KnownPost], **chosen) -> list[int]:
    """Nightly plans over an unchanging site; each visit updates last_fetched. Returns the
    posts fetched each night, asserting that no post ever waits past MAX_AGE."""
    fetched_per_night = []
    by_url = {p.url: p for p in posts}
    for night in range(1, count + 1):
        now = ago(-night)
        plan = plan_revisits(by_url.values(), now, settings(**chosen), previous_crawl=now - DAY)
        for url in plan.urls():
            by_url[url] = KnownPost(url, by_url[url].first_seen, now, published=ago(1000))
        oldest = min(p.last_fetched for p in by_url.values())
        assert now - oldest < FOURTEEN, f"night {night}: a post unverified since {oldest}"
        fetched_per_night.append(plan.fetched)
    return fetched_per_night


def test_every_post_is_verified_within_max_age_at_an_even_pace():
    # 70 old posts, all fetched by one first full crawl: without the rotation they would all
    # fall due on the same night, two weeks later.
    fetched = nights(60, [post(f"{i}", 0, **OLD) for i in range(70)])
    assert sum(fetched) >= 70 * 60 // 14
    assert max(fetched) <= 2 * 5, fetched  # 70 / 14 = 5 a night


def test_max_age_holds_even_with_no_budget():
    fetched = nights(30, [post(f"{i}", 0, **OLD) for i in range(70)], budget="0")
    assert max(fetched) <= 2 * 5, fetched
