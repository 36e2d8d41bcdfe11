"""Benchmark 9: the revisit policy (issue 16) over a simulated month of nightly crawls.

No crawl and no server: a simulated site of boards and posts whose pages send no validators
(every fetch is a full download), and a simulated archive that keeps what the real one keeps
per post (first seen, last changed, last fetched, changes, the list row when last fetched).
Each night the crawl reads every list page, fetches every post it never archived and every
archived post the lists no longer show, and asks `revisit.plan_revisits` which of the others
to fetch. Runs in seconds.

Assumed (all options): 3,000 posts over 7 boards, 10 posts a list page (classic ASP
boards print 10 or 15), published over the last 6 years; one crawl a night at 02:00, 2 s
between requests; each day ~3 posts added, ~1 deleted, and edits at ~1% of posts a day:
10% a day on posts under 14 days old, the rest spread evenly; 1 edit in 10 changes what
the list row shows (the title, or an attachment). After the month, quiet nights with no
edits let the last edits be caught, so that every edit's delay is known.

    .venv/bin/python bench/bench_revisit.py [--posts 3000] [--days 30] [--max-age 14]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_header, print_table, verdict  # noqa: E402
from unpog_crawler.parse.list_rows import ListRow  # noqa: E402
from unpog_crawler.revisit import KnownPost, RevisitSettings, plan_revisits  # noqa: E402

# Share of the posts each board holds (Theme boards, Quarterly, Publications, Youth).
BOARDS = {
    "news/activity": 0.30, "news/events": 0.20, "quarterly": 0.15, "news/press": 0.15,
    "publications": 0.08, "news/research": 0.07, "youth": 0.05,
}  # fmt: skip
START = datetime(2025, 3, 1, 2, 0, tzinfo=timezone.utc)  # the first crawl
DAY = timedelta(days=1)
RECENT = timedelta(days=14)
REASONS_SHOWN = ("hint", "max_age", "rotation", "due")


@dataclass
class SitePost:
    url: str
    board: str
    published: datetime
    content: int = 0  # bumped by every edit
    title: int = 0  # bumped by edits the list row shows
    files: int = 0
    edits: list[datetime] = field(default_factory=list)  # not yet caught by the archive
    added: bool = False  # during the month (not one of the posts the site had before)

    def row(self) -> ListRow:
        return ListRow(
            self.url, f"title {self.title}", (self.published.date().isoformat(),),
            attachments=self.files,
        )  # fmt: skip


@dataclass
class Archived:
    first_seen: datetime
    last_fetched: datetime
    last_changed: datetime
    content: int
    changes: int = 0
    row: ListRow | None = None
    removed: bool = False


@dataclass
class Night:
    day: int
    list_pages: int
    new: int
    rechecks: int  # archived posts the lists no longer show
    revisited: int
    due: int
    deferred: int
    everything: int  # what fetching every listed and archived post would cost
    reasons: dict[str, int] = field(default_factory=dict)  # revisits by reason

    @property
    def requests(self) -> int:
        return self.list_pages + self.new + self.rechecks + self.revisited


class Simulation:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.settings = RevisitSettings.from_values("adaptive", args.max_age, args.budget)
        self.site: dict[str, SitePost] = {}
        self.archive: dict[str, Archived] = {}
        self.next_sn = 1
        self.delays: list[float] = []  # days from an edit to the crawl that archived it
        self.recent_delays: list[float] = []  # the same, for posts under 14 days old
        self.late_edits = 0  # caught later than MAX_AGE
        self.additions = self.additions_same_night = 0
        self.deletions = self.deletions_same_night = 0
        self.edits = 0
        self.edits_before_first_fetch = 0  # part of version 1: not an edit the archive sees
        self.edits_deleted = 0  # the post was deleted before the edit was archived
        for _ in range(args.posts):
            age = timedelta(days=self.rng.uniform(0, 6 * 365))
            self.add(START - age)

    def add(self, published: datetime) -> SitePost:
        board = self.rng.choices(list(BOARDS), weights=list(BOARDS.values()))[0]
        post = SitePost(f"/{board}/view?sn={self.next_sn}", board, published)
        self.next_sn += 1
        self.site[post.url] = post
        return post

    # ---- the site's day ---------------------------------------------------------------------

    def live_day(self, night: datetime) -> None:
        """What happens between this night's crawl and the next."""
        for _ in range(self.poisson(self.args.additions)):
            self.add(night + DAY * self.rng.random()).added = True
            self.additions += 1
        for _ in range(self.poisson(self.args.deletions)):
            url = self.rng.choice(list(self.site))
            self.edits_deleted += len(self.site.pop(url).edits)
            self.deletions += 1
        for post in self.site.values():
            recent = night - post.published < RECENT
            chance = self.args.recent_edit_rate if recent else self.args.edit_rate
            if post.published < night + DAY and self.rng.random() < chance:
                at = max(post.published, night) + (night + DAY - max(post.published, night)) * (
                    self.rng.random()
                )
                self.edit(post, at)

    def edit(self, post: SitePost, at: datetime) -> None:
        self.edits += 1
        post.content += 1
        post.edits.append(at)
        if self.rng.random() < self.args.visible_share:
            if self.rng.random() < 0.5:
                post.title += 1
            else:
                post.files += 1

    def poisson(self, mean: float) -> int:
        # Knuth's method: small means only.
        limit, k, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            k += 1
            product *= self.rng.random()
        return k

    # ---- the crawl --------------------------------------------------------------------------

    def crawl(self, day: int, now: datetime, previous: datetime | None) -> Night:
        listed = {url: p for url, p in self.site.items() if p.published <= now}
        pages = sum(
            math.ceil(sum(p.board == b for p in listed.values()) / self.args.page_size)
            for b in BOARDS
        )
        clock = [now + pages * self.args.delay]  # list pages come first

        def fetch_time() -> datetime:
            clock[0] += self.args.delay
            return clock[0]

        new = [url for url in listed if url not in self.archive]
        gone = [u for u, a in self.archive.items() if not a.removed and u not in listed]
        known = [self.known_post(url, listed[url]) for url in listed if url in self.archive]
        plan = plan_revisits(known, now, self.settings, previous_crawl=previous)
        for url in new:
            post = listed[url]
            at = fetch_time()
            self.archive[url] = Archived(at, at, at, post.content, row=post.row())
            self.additions_same_night += post.added and now - post.published < DAY
            self.edits_before_first_fetch += len(post.edits)
            post.edits.clear()
        for url in gone:
            fetch_time()
            self.archive[url].removed = True
            self.deletions_same_night += 1
        for url in plan.urls():
            self.fetch(listed[url], fetch_time())
        return Night(
            day, pages, len(new), len(gone), plan.fetched, plan.due, plan.deferred,
            everything=pages + len(listed) + len(gone), reasons=plan.counts,
        )  # fmt: skip

    def known_post(self, url: str, post: SitePost) -> KnownPost:
        held = self.archive[url]
        return KnownPost(
            url,
            first_seen=held.first_seen,
            last_fetched=held.last_fetched,
            last_changed=held.last_changed,
            changes=held.changes,
            published=post.published.date(),  # the list row's date
            row=post.row(),
            recorded_row=held.row,
        )

    def fetch(self, post: SitePost, at: datetime) -> None:
        held = self.archive[post.url]
        held.last_fetched, held.row = at, post.row()
        if post.content == held.content:
            return
        held.content, held.last_changed, held.changes = post.content, at, held.changes + 1
        for edited in post.edits:
            delay = (at - edited) / DAY
            self.delays.append(delay)
            if edited - post.published < RECENT:
                self.recent_delays.append(delay)
            self.late_edits += delay > self.settings.max_age / DAY
        post.edits.clear()

    def run(self) -> tuple[list[Night], list[Night]]:
        """The month (nights 1..days), then quiet nights (nothing changes) until every edit
        is caught: the first of them is an unchanged re-crawl after a month of changes."""
        self.crawl(0, START, None)  # the first, full crawl
        nights, quiet = [], []
        for day in range(1, self.args.days + 1):
            now = START + day * DAY
            self.live_day(now - DAY)
            nights.append(self.crawl(day, now, now - DAY))
        edits_open = lambda: any(p.edits for p in self.site.values())  # noqa: E731
        day = self.args.days
        while (not quiet or edits_open()) and day < self.args.days + 3 * self.args.max_age:
            day += 1
            quiet.append(self.crawl(day, START + day * DAY, START + (day - 1) * DAY))
        self.open_edits = sum(len(p.edits) for p in self.site.values())
        return nights, quiet


def unchanged_recrawl(args: argparse.Namespace) -> Night:
    """The night after a first full crawl, nothing having changed."""
    sim = Simulation(args)
    sim.crawl(0, START, None)
    return sim.crawl(1, START + DAY, START)


def report(args: argparse.Namespace) -> None:
    print_header("Revisit policy: a simulated month of nightly crawls (issue 16)")
    print(
        f"{args.posts:,} posts over {len(BOARDS)} boards, {args.page_size} a list page, no "
        f"validators; UNPOG_REVISIT_MAX_AGE={args.max_age:g}, UNPOG_REVISIT_BUDGET="
        f"{args.budget}; per day ~{args.additions:g} added, ~{args.deletions:g} deleted, edits "
        f"at {args.recent_edit_rate:.0%} of posts under 14 days old and {args.edit_rate:.2%} of "
        f"the others, {args.visible_share:.0%} of edits visible in the list row; "
        f"{args.delay.total_seconds():g} s a request; seed {args.seed}."
    )
    print()
    first = unchanged_recrawl(args)
    sim = Simulation(args)
    nights, quiet = sim.run()
    steady = quiet[0]
    target = lambda n: n.list_pages + math.ceil(0.10 * (n.everything - n.list_pages))  # noqa: E731
    rows = []
    for name, night in (("after the first full crawl", first), ("after the month", steady)):
        share = night.revisited / max(1, night.everything - night.list_pages - night.rechecks)
        rows.append([
            f"unchanged re-crawl {name}", night.requests, target(night), night.everything,
            f"{share:.1%}", verdict(night.requests <= target(night)),
        ])  # fmt: skip
    print_table(
        ["crawl", "requests", "list pages + 10% of posts", "fetch everything",
         "known posts re-fetched", "target"],
        rows,
    )  # fmt: skip
    month_requests = sum(n.requests for n in nights)
    month_everything = sum(n.everything for n in nights)
    delays = sim.delays
    caught = len(delays) - sim.late_edits
    hours = lambda requests: requests * args.delay.total_seconds() / 3600  # noqa: E731
    print_table(
        ["over the month", "figure", "target"],
        [
            ["additions archived by the crawl that first lists them",
             f"{sim.additions_same_night}/{sim.additions}",
             verdict(sim.additions_same_night == sim.additions)],
            ["deletions found by the crawl that first misses them",
             f"{sim.deletions_same_night}/{sim.deletions}",
             verdict(sim.deletions_same_night == sim.deletions)],
            ["edits (a day)", f"{sim.edits:,} ({sim.edits / args.days:.1f})", ""],
            ["... made before the post's first fetch (in its version 1)",
             f"{sim.edits_before_first_fetch:,}", ""],
            ["... of posts deleted before the edit was fetched", f"{sim.edits_deleted:,}", ""],
            [f"other edits archived within MAX_AGE ({args.max_age:g} days)",
             f"{caught:,}/{len(delays):,} ({caught / max(1, len(delays)):.1%})",
             verdict(caught == len(delays) and not sim.open_edits)],
            ["delay to archive an edit, mean / median / max (days)",
             spread(delays), ""],
            ["... of edits to posts under 14 days old (edits)",
             f"{spread(sim.recent_delays)} ({len(sim.recent_delays)})", ""],
            ["requests, revisit policy / fetch everything",
             f"{month_requests:,} / {month_everything:,} = "
             f"{month_requests / month_everything:.1%}", ""],
            ["requests a night, mean / max (fetch everything)",
             f"{month_requests / len(nights):,.0f} / {max(n.requests for n in nights):,} "
             f"({month_everything / len(nights):,.0f})", ""],
            ["hours a night at the delay, mean (fetch everything)",
             f"{hours(month_requests / len(nights)):.2f} "
             f"({hours(month_everything / len(nights)):.2f})", ""],
            ["posts re-fetched a night by reason, mean: "
             + " / ".join(REASONS_SHOWN), " / ".join(
                f"{statistics.mean(n.reasons[r] for n in nights):.1f}" for r in REASONS_SHOWN
             ), ""],
            ["due posts deferred by the budget, over the month",
             f"{sum(n.deferred for n in nights):,}", ""],
        ],
    )  # fmt: skip


def spread(delays: list[float]) -> str:
    """'mean / median / max' of delays in days ('-' for none)."""
    if not delays:
        return "-"
    return f"{statistics.mean(delays):.2f} / {statistics.median(delays):.2f} / {max(delays):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--page-size", type=int, default=10, help="posts a list page")
    parser.add_argument("--max-age", type=float, default=14, help="UNPOG_REVISIT_MAX_AGE")
    parser.add_argument("--budget", default="auto", help="UNPOG_REVISIT_BUDGET")
    parser.add_argument("--additions", type=float, default=3, help="posts added a day")
    parser.add_argument("--deletions", type=float, default=1, help="posts deleted a day")
    parser.add_argument("--edit-rate", type=float, default=0.0087, help="older posts, a day")
    parser.add_argument("--recent-edit-rate", type=float, default=0.10, help="under 14 days")
    parser.add_argument("--visible-share", type=float, default=0.10, help="edits a row shows")
    parser.add_argument("--delay-s", type=float, default=2.0, help="seconds between requests")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    args.delay = timedelta(seconds=args.delay_s)
    report(args)


if __name__ == "__main__":
    main()
