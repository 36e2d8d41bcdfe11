"""The revisit policy: which archived, listed posts a crawl fetches again (issue 16).

Pure: the archive's history of each post and the crawl's time in, a plan out; no Scrapy, no
SQLite, no clock (`now` is passed in). docs/revisit-policy.md explains the rule for people.

Only **known, listed** posts are the policy's business: a crawl always reads every list page,
fetches every post it never archived and every archived post the lists no longer show. Of the
others it fetches, in this order:

1. **hinted** posts, whose list row changed (title, date, comment or attachment counter):
   always, whatever the budget;
2. posts that would go unverified for longer than `UNPOG_REVISIT_MAX_AGE` if left to the
   next crawl (**max_age**; the next crawl is expected as long after this one as this one is
   after the previous): always, so that every post is verified at least once per MAX_AGE;
3. the **rotation**: the least recently fetched posts, as many as keep every post coming
   round within MAX_AGE at an even pace (1/13 of them a night with nightly crawls and 14
   days), so that nights cost about the same instead of everything falling due on one night
   two weeks after a first full crawl: always;
4. posts whose own revisit interval has passed (**due**), most overdue first, while the
   budget lasts; the rest are **deferred** to a later crawl. The budget (UNPOG_REVISIT_BUDGET:
   a number of posts, a share, or auto: the rotation and 30% more) counts every post the
   crawl re-fetches, but never holds back the three kinds above.

A post's interval is adaptive (after Heritrix's adaptive revisiting, and Cho & Garcia-Molina's
change-frequency estimates), computed from its history alone, between one day and MAX_AGE:
the longer of
- how long it has been **stable** when last fetched (time since its last change, or since
  publication): each unchanged visit doubles the wait, a change brings it back to a day; and
- its **mean time between changes** over its life (life / changes): revisit in proportion to
  how often it changes.
A post that changes at nearly every crawl (RESTLESS_MIN_CHANGES changes at under
RESTLESS_MEAN_GAP apart on average) cannot be kept fresh by chasing it: it is left to the
rotation (interval MAX_AGE), as Cho & Garcia-Molina advise for pages that change faster than
they can be revisited.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from unpog_crawler.parse.list_rows import ListRow

MODES = ("adaptive", "all")
DEFAULT_MODE = "adaptive"
DEFAULT_MAX_AGE_DAYS = 14
DEFAULT_BUDGET = "auto"
# What "auto" allows a crawl: the rotation and 30% more for early revisits. With nightly
# crawls and MAX_AGE 14 that is 10% of the posts: the target for a quiet night.
AUTO_BUDGET_FACTOR = 1.3
# The shortest interval: crawls are nightly, and a day-old change is found the next night.
MIN_INTERVAL = timedelta(days=1)
# Changes faster than this on average, this many times, are not worth chasing.
RESTLESS_MIN_CHANGES = 5
RESTLESS_MEAN_GAP = timedelta(days=1.5)
# Settings above this are typing mistakes (days, not hours or seconds).
MAX_AGE_LIMIT_DAYS = 366

REASONS = ("hint", "max_age", "rotation", "due", "full")


# ---- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevisitSettings:
    """UNPOG_REVISIT, UNPOG_REVISIT_MAX_AGE and UNPOG_REVISIT_BUDGET, checked."""

    mode: str = DEFAULT_MODE
    max_age: timedelta = timedelta(days=DEFAULT_MAX_AGE_DAYS)
    budget_posts: int | None = None  # a fixed number of posts a crawl fetches,
    budget_share: float | None = None  # or a share of the known listed ones; neither: auto

    @classmethod
    def from_values(
        cls, mode: Any = DEFAULT_MODE, max_age: Any = DEFAULT_MAX_AGE_DAYS, budget: Any = "auto"
    ) -> RevisitSettings:
        """From setting values as given (`-s NAME=value` gives text); ValueError, one line
        naming the setting, for a value that cannot work."""
        posts, share = parse_budget(budget)
        return cls(parse_mode(mode), parse_max_age(max_age), posts, share)

    @classmethod
    def from_settings(cls, settings: Any) -> RevisitSettings:
        """From Scrapy settings (or any mapping with .get)."""
        return cls.from_values(
            settings.get("UNPOG_REVISIT", DEFAULT_MODE),
            settings.get("UNPOG_REVISIT_MAX_AGE", DEFAULT_MAX_AGE_DAYS),
            settings.get("UNPOG_REVISIT_BUDGET", DEFAULT_BUDGET),
        )

    def budget(self, known: int, rotation: int) -> int:
        """Posts a crawl of `known` listed posts, `rotation` of them for the rotation, may
        fetch. Hinted posts, posts at max age and the rotation are fetched beyond it."""
        if self.budget_posts is not None:
            return self.budget_posts
        if self.budget_share is not None:
            return math.ceil(known * self.budget_share)
        return math.ceil(rotation * AUTO_BUDGET_FACTOR)


def _bad(name: str, value: Any, advice: str) -> ValueError:
    return ValueError(f"bad setting {name}={value!r}: {advice}")


def parse_mode(value: Any) -> str:
    mode = str(value).strip().lower()
    if mode not in MODES:
        raise _bad("UNPOG_REVISIT", value, "use adaptive (the revisit policy) or all")
    return mode


def parse_max_age(value: Any) -> timedelta:
    """Days, a number (14, 7.5)."""
    try:
        days = float(str(value).strip())
    except ValueError:
        raise _bad("UNPOG_REVISIT_MAX_AGE", value, "give a number of days, e.g. 14") from None
    if not 1 <= days <= MAX_AGE_LIMIT_DAYS:  # also refuses NaN
        raise _bad("UNPOG_REVISIT_MAX_AGE", value, f"give 1 to {MAX_AGE_LIMIT_DAYS} days")
    return timedelta(days=days)


def parse_budget(value: Any) -> tuple[int | None, float | None]:
    """'auto', a number of posts ('300') or a share ('15%'): (posts, share); auto is
    (None, None)."""
    text = str(value).strip().lower()
    advice = "use auto, a number of posts (e.g. 300) or a share (e.g. 10%)"
    if text == "auto":
        return None, None
    try:
        if text.endswith("%"):
            share = float(text[:-1]) / 100
            if not 0 <= share <= 1:
                raise ValueError
            return None, share
        posts = int(text)
    except ValueError:
        raise _bad("UNPOG_REVISIT_BUDGET", value, advice) from None
    if posts < 0:
        raise _bad("UNPOG_REVISIT_BUDGET", value, advice)
    return posts, None


# Each setting's parser: ValueError (one line naming the setting) for a value that cannot work.
SETTING_PARSERS = {
    "UNPOG_REVISIT": parse_mode,
    "UNPOG_REVISIT_MAX_AGE": parse_max_age,
    "UNPOG_REVISIT_BUDGET": parse_budget,
}


# ---- times -------------------------------------------------------------------------------------


def as_utc(value: datetime | date | str | None) -> datetime | None:
    """A moment in UTC from a datetime (naive: UTC), a date (its midnight) or ISO text as the
    archive writes it ('2024-05-01T09:30:00+00:00', '2024-05-01'); None for None or ''."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


# ---- input and output --------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownPost:
    """What the archive knows of one archived post that this crawl's lists show.

    Times may be datetimes, dates or the archive's ISO text; they are kept in UTC.
    """

    url: str
    first_seen: datetime  # first archived
    last_fetched: datetime  # page last downloaded, or answered 304
    last_changed: datetime | None = None  # when the newest version was written (None: first)
    changes: int = 0  # versions written after the first (changes the site made)
    published: datetime | None = None  # the list row's date, or the page's, when known
    row: ListRow | None = None  # the list row this crawl read
    recorded_row: ListRow | None = None  # the row as the archive last recorded it

    def __post_init__(self) -> None:
        for name in ("first_seen", "last_fetched", "last_changed", "published"):
            object.__setattr__(self, name, as_utc(getattr(self, name)))
        if self.first_seen is None or self.last_fetched is None:
            raise ValueError(f"{self.url}: first_seen and last_fetched are required")

    @property
    def origin(self) -> datetime:
        """When the post began, as far as is known: published, or first archived."""
        if self.published is not None and self.published < self.first_seen:
            return self.published
        return self.first_seen

    @property
    def hint(self) -> str:
        """What its list row changed ('title, comments 2 -> 3'), or '' for nothing."""
        if self.row is None or self.recorded_row is None:
            return ""
        return ", ".join(self.row.changes_from(self.recorded_row))


@dataclass(frozen=True)
class Visit:
    """One post the crawl fetches, and why."""

    url: str
    reason: str  # one of REASONS
    interval: timedelta  # the post's revisit interval
    last_fetched: datetime
    detail: str = ""  # for a hint: what the list row changed


@dataclass(frozen=True)
class RevisitPlan:
    """Which known, listed posts a crawl fetches (in this order) and which it leaves."""

    visits: tuple[Visit, ...]
    skipped: tuple[str, ...]  # left alone this crawl: still listed, never removed for it
    due: int  # hinted, at max age, or past their interval
    deferred: int  # due, but left to a later crawl by the budget
    budget: int
    oldest_fetched: datetime | None  # the oldest last_fetched before this crawl
    oldest_skipped: datetime | None  # the oldest last_fetched of the posts left alone
    counts: dict[str, int] = field(default_factory=dict)  # visits per reason

    @property
    def fetched(self) -> int:
        return len(self.visits)

    @property
    def known(self) -> int:
        return len(self.visits) + len(self.skipped)

    def urls(self) -> tuple[str, ...]:
        return tuple(visit.url for visit in self.visits)

    def verified_since(self, now: datetime) -> datetime | None:
        """When every post was last verified once this crawl's visits succeed."""
        if not self.known:
            return None
        return self.oldest_skipped or as_utc(now)

    def summary(self, now: datetime) -> str:
        """One line for the crawl's log and summary."""
        since = self.verified_since(now)
        line = (
            f"revisit: {self.known:,} known posts listed, {self.due:,} due, "
            f"{self.fetched:,} fetched, {len(self.skipped):,} skipped"
        )
        if self.deferred:
            line += f" ({self.deferred:,} due posts deferred by the budget of {self.budget:,})"
        if since is not None:
            line += f"; every post verified since {since.isoformat(timespec='minutes')}"
        return line


# ---- the rule ----------------------------------------------------------------------------------


def revisit_interval(post: KnownPost, max_age: timedelta) -> timedelta:
    """How long a post may go unfetched: max(stable for, mean time between changes),
    between a day and max_age; max_age for a restless post (see the module doc)."""
    shortest = min(MIN_INTERVAL, max_age)
    origin = post.origin
    if post.changes > 0 and post.last_changed is not None:
        changed = max(post.last_changed, origin)
        mean_gap = max(post.last_fetched - origin, timedelta(0)) / post.changes
        if post.changes >= RESTLESS_MIN_CHANGES and mean_gap < RESTLESS_MEAN_GAP:
            return max_age
    else:
        changed, mean_gap = origin, timedelta(0)
    stable_for = max(post.last_fetched - changed, timedelta(0))
    return min(max(stable_for, mean_gap, shortest), max_age)


@dataclass(frozen=True)
class _Judged:
    post: KnownPost
    interval: timedelta
    overdue: float  # time since last fetched, in intervals
    reason: str | None  # 'hint', 'max_age', 'due' or None (not due)
    detail: str = ""


def _judge(post: KnownPost, now: datetime, gap: timedelta, max_age: timedelta) -> _Judged:
    """Why a post is fetched this crawl, if it must be; the next crawl is expected `gap`
    from now (as long after this one as this one is after the previous)."""
    interval = revisit_interval(post, max_age)
    waited = now - post.last_fetched
    overdue = waited / interval
    hint = post.hint
    if hint:
        return _Judged(post, interval, overdue, "hint", hint)
    # Now, if by the next crawl it would have gone unverified for longer than max_age.
    if waited + gap >= max_age:
        return _Judged(post, interval, overdue, "max_age")
    # Now, if its time comes before the next crawl is halfway here: later, it would wait
    # longer past its interval than now is before it.
    if waited + gap / 2 >= interval:
        return _Judged(post, interval, overdue, "due")
    return _Judged(post, interval, overdue, None)


def crawl_gap(
    posts: Iterable[KnownPost], now: datetime, previous_crawl: datetime | None, cap: timedelta
) -> timedelta:
    """Time since the previous crawl (else since the latest fetch), between 0 and `cap`."""
    start = as_utc(previous_crawl) or max((p.last_fetched for p in posts), default=None)
    if start is None:
        return timedelta(0)
    return min(max(as_utc(now) - start, timedelta(0)), cap)


def rotation_quota(known: int, gap: timedelta, max_age: timedelta) -> int:
    """How many of the least recently fetched posts a crawl fetches, due or not, so that
    every post comes round once in the crawls that fit in max_age (13 nightly crawls in 14
    days: the 14th night is when it would pass max_age) at an even pace, rather than all
    at once, two weeks after a first full crawl."""
    cycle = max_age - gap
    if cycle <= timedelta(0):
        return known
    return math.ceil(known * (gap / cycle))


def plan_revisits(
    posts: Iterable[KnownPost],
    now: datetime | str,
    settings: RevisitSettings | None = None,
    previous_crawl: datetime | str | None = None,
) -> RevisitPlan:
    """Which of the known, listed `posts` this crawl fetches, in order: hinted first, then
    the most overdue (time since last fetched, in revisit intervals).

    `now` is the crawl's start; `previous_crawl` the start of the spider's previous crawl
    (None: estimated from the latest fetch).
    """
    settings = settings or RevisitSettings()
    now = as_utc(now)
    unique = list({post.url: post for post in posts}.values())
    oldest = min((p.last_fetched for p in unique), default=None)
    if settings.mode == "all":
        return _fetch_everything(unique, oldest, settings)
    gap = crawl_gap(unique, now, as_utc(previous_crawl), settings.max_age)
    judged = [_judge(post, now, gap, settings.max_age) for post in unique]
    chosen = {j.post.url: j for j in judged if j.reason in ("hint", "max_age")}
    quota = rotation_quota(len(unique), gap, settings.max_age)
    by_age = sorted(
        (j for j in judged if j.reason != "hint"), key=lambda j: (j.post.last_fetched, j.post.url)
    )
    for j in by_age[:quota]:
        chosen.setdefault(j.post.url, j if j.reason else _as_rotation(j))
    budget = settings.budget(len(unique), quota)
    due = sorted((j for j in judged if j.reason == "due"), key=_most_overdue)
    deferred = 0
    for j in due:
        if j.post.url in chosen:
            continue
        if len(chosen) < budget:
            chosen[j.post.url] = j
        else:
            deferred += 1
    return _plan(judged, chosen, deferred, budget, oldest)


def _as_rotation(j: _Judged) -> _Judged:
    return _Judged(j.post, j.interval, j.overdue, "rotation")


def _most_overdue(j: _Judged) -> tuple[float, datetime, str]:
    return (-j.overdue, j.post.last_fetched, j.post.url)


def _plan(
    judged: list[_Judged],
    chosen: dict[str, _Judged],
    deferred: int,
    budget: int,
    oldest: datetime | None,
) -> RevisitPlan:
    ordered = sorted(chosen.values(), key=lambda j: (j.reason != "hint", *_most_overdue(j)))
    visits = tuple(
        Visit(j.post.url, j.reason or "rotation", j.interval, j.post.last_fetched, j.detail)
        for j in ordered
    )
    left = [j.post for j in judged if j.post.url not in chosen]
    counts = {reason: 0 for reason in REASONS}
    for visit in visits:
        counts[visit.reason] += 1
    return RevisitPlan(
        visits=visits,
        skipped=tuple(p.url for p in sorted(left, key=lambda p: (p.last_fetched, p.url))),
        due=sum(j.reason is not None for j in judged),
        deferred=deferred,
        budget=budget,
        oldest_fetched=oldest,
        oldest_skipped=min((p.last_fetched for p in left), default=None),
        counts=counts,
    )


def _fetch_everything(
    posts: list[KnownPost], oldest: datetime | None, settings: RevisitSettings
) -> RevisitPlan:
    """UNPOG_REVISIT=all (`unpog crawl --full`): every post, hinted first, oldest next."""
    ordered = sorted(posts, key=lambda p: (not p.hint, p.last_fetched, p.url))
    visits = tuple(
        Visit(p.url, "full", revisit_interval(p, settings.max_age), p.last_fetched, p.hint)
        for p in ordered
    )
    counts = {reason: 0 for reason in REASONS}
    counts["full"] = len(visits)
    return RevisitPlan(
        visits=visits,
        skipped=(),
        due=len(visits),
        deferred=0,
        budget=len(visits),
        oldest_fetched=oldest,
        oldest_skipped=None,
        counts=counts,
    )
