"""The revisit policy in a crawl (issue 16): when the board engine asks for archived posts.

A crawl reads every list page and asks at once for every post it never archived. Archived
posts wait: while the lists are read, nobody knows which of them are still listed. Once the
listing is done (`spider_idle`, before the sweep), the archived posts the lists showed go to
`revisit.plan_revisits`, and the crawl asks for the ones the plan names (hinted first), and
for every archived post the lists did not show (only its own page can tell "deleted" from
"merely unlisted"; with UNPOG_RECHECK_KNOWN off, only those a page linked). An incomplete
listing changes nothing here: what no list page showed is asked for, as before.

Skipped posts stay listed (the list pages said so): removals do not change. Which posts are
planned, and why, is logged; the counts go on the crawl row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import scrapy

from unpog_crawler.parse.list_rows import ListRow
from unpog_crawler.revisit import KnownPost, RevisitPlan, RevisitSettings, as_utc, plan_revisits

if TYPE_CHECKING:
    from unpog_crawler.spiders.boards import BoardSpider


class Revisits:
    """Holds back requests for archived posts until the listing is done, then plans them."""

    def __init__(self, spider: BoardSpider, settings: RevisitSettings) -> None:
        self.spider = spider
        self.settings = settings
        self.rows: dict[str, ListRow] = {}  # what this crawl's list pages showed of each post
        self.linked: set[str] = set()  # archived posts a page linked before the plan
        self.plan: RevisitPlan | None = None
        self._archived: set[str] | None = None

    @classmethod
    def from_settings(cls, spider: BoardSpider, settings: Any) -> Revisits:
        return cls(spider, RevisitSettings.from_settings(settings))

    @property
    def archived(self) -> set[str]:
        """Live archived posts (handed to the spider by the archive pipeline when it opened)."""
        if self._archived is None:
            self._archived = set(getattr(self.spider, "archived_urls", ()))
        return self._archived

    def add_rows(self, rows: Iterable[ListRow]) -> None:
        for row in rows:
            self.rows.setdefault(row.url, row)  # a post on two pages: its first row

    def waits(self, url: str) -> bool:
        """True when a link to `url` is not requested now: an archived post before the plan
        (the plan decides, or the re-check asks for it), or a listed one after it (the plan
        decided). An archived post no list shows, linked after the plan, is asked for."""
        if url not in self.archived:
            return False
        if self.plan is None:
            self.linked.add(url)
            return True
        return url in self.spider.listed_urls

    def start(self) -> Iterator[scrapy.Request]:
        """Once per crawl, when the lists are read: the plan's posts, then the archived ones
        the lists did not show."""
        if self.plan is not None:
            return
        spider = self.spider
        listed = spider.listed_urls
        order = list(getattr(spider, "archived_urls", ()))  # archive order (by id)
        history = getattr(spider, "revisit_history", {})
        known = [self.known_post(history[url]) for url in order if url in listed and url in history]
        now = getattr(spider, "crawl_started_at", None)
        previous = getattr(spider, "previous_crawl_started_at", None)
        self.plan = plan_revisits(known, now, self.settings, previous) if known else _EMPTY
        if known:
            spider.logger.info("%s", self.plan.summary(as_utc(now)))
            spider.logger.info("Revisits by reason: %s", self.plan.counts)
        recheck = set(spider.known_urls()) | self.linked
        unlisted = [url for url in order if url not in listed and url in recheck]
        yield from spider.archived_requests([*self.plan.urls(), *unlisted])

    def known_post(self, post: KnownPost) -> KnownPost:
        """The archive's history of a post with this crawl's list row (whose date stands in
        for a publication date the page does not print)."""
        row = self.rows.get(post.url)
        published = post.published
        if published is None and row is not None and row.date:
            published = as_utc(row.date)
        return dataclasses.replace(post, row=row, published=published)

    @property
    def counts(self) -> dict[str, int] | None:
        """What the plan decided, for the crawl row (None: no plan made)."""
        if self.plan is None:
            return None
        plan = self.plan
        return {
            "due": plan.due,
            "fetched": plan.fetched,
            "skipped": len(plan.skipped),
            "deferred": plan.deferred,
        }


_EMPTY = RevisitPlan(
    visits=(), skipped=(), due=0, deferred=0, budget=0, oldest_fetched=None, oldest_skipped=None
)
