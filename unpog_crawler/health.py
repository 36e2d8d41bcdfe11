"""Crawl health: declarative rules over a crawl's counts, and checks of single records.

After Spidermon: each rule reads the facts of a finished crawl (its counts, and the previous
complete crawl as a baseline) and a threshold setting, and says in one line what is wrong.
A crawl that breaks a rule ends `degraded`: the archive writes no removals for it, its row
names the broken rules and `unpog crawl` exits non-zero.

`record_problems` checks one parsed article before it is archived: a page whose title or
body came out as page furniture (a redesign the selectors half-match) is a parse failure,
never a version. The doctor prints the same checks.

Settings are validated here too (`check_settings`), so that a bad `-s NAME=value` is one
clear line before anything touches the archive.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from unpog_crawler import site
from unpog_crawler.items import ArticleRecord

__all__ = [
    "RULES",
    "BadSetting",
    "CrawlFacts",
    "Rule",
    "check_settings",
    "evaluate",
    "record_problems",
    "thresholds",
]


# --- Crawl rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class CrawlFacts:
    """What the rules read: the crawl row's counts plus what the pipeline saw."""

    articles_seen: int
    parse_failures: int  # pages fetched but not read as articles, "no such post" excluded
    errors: int
    listed: int  # distinct articles the list pages linked
    baseline_listed: int | None  # the same of the previous complete crawl (None: no baseline)
    live_before: int  # live articles in the archive when the crawl started
    removals: int  # removals the crawl would write if it were healthy


@dataclass(frozen=True)
class Rule:
    name: str
    setting: str  # the threshold's setting name
    check: Callable[[CrawlFacts, float], str | None]  # a message when broken, else None
    doc: str


def _no_articles(facts: CrawlFacts, minimum: float) -> str | None:
    if facts.articles_seen < minimum:
        return f"{facts.articles_seen} articles read (at least {minimum:g} expected)"
    return None


def _parse_failures(facts: CrawlFacts, limit: float) -> str | None:
    pages = facts.articles_seen + facts.parse_failures
    if pages and facts.parse_failures / pages > limit:
        return (
            f"{facts.parse_failures} of {pages} pages did not parse "
            f"({facts.parse_failures / pages:.0%} > {limit:.0%}): the markup may have changed"
        )
    return None


def _listed_drop(facts: CrawlFacts, limit: float) -> str | None:
    before = facts.baseline_listed
    if before and facts.listed < before * (1 - limit):
        return (
            f"list pages linked {facts.listed} articles against {before} in the previous "
            f"complete crawl (a drop over {limit:.0%})"
        )
    return None


def _errors(facts: CrawlFacts, limit: float) -> str | None:
    if facts.errors > limit:
        return f"{facts.errors} pages could not be fetched (limit {limit:g})"
    return None


def _removals(facts: CrawlFacts, limit: float) -> str | None:
    if facts.live_before and facts.removals / facts.live_before > limit:
        return (
            f"the crawl would remove {facts.removals} of {facts.live_before} live articles "
            f"(over {limit:.0%}): confirm on the site, then raise UNPOG_HEALTH_MAX_REMOVED_SHARE"
        )
    return None


RULES: tuple[Rule, ...] = (
    Rule("no_articles", "UNPOG_HEALTH_MIN_ARTICLES", _no_articles, "fewer articles than this"),
    Rule(
        "parse_failures",
        "UNPOG_HEALTH_MAX_PARSE_FAILURE_SHARE",
        _parse_failures,
        "share of fetched pages that did not parse",
    ),
    Rule(
        "listed_drop",
        "UNPOG_HEALTH_MAX_LISTED_DROP",
        _listed_drop,
        "drop in listed articles against the previous complete crawl",
    ),
    Rule("errors", "UNPOG_HEALTH_MAX_ERRORS", _errors, "pages that could not be fetched"),
    Rule(
        "removals",
        "UNPOG_HEALTH_MAX_REMOVED_SHARE",
        _removals,
        "share of live articles one crawl may remove",
    ),
)


def thresholds(settings: Any) -> dict[str, float]:
    """Each rule's threshold from Scrapy settings (validated by `check_settings` first)."""
    return {rule.setting: float(settings.get(rule.setting)) for rule in RULES}


def evaluate(facts: CrawlFacts, limits: Mapping[str, float]) -> list[dict[str, str]]:
    """The rules the crawl broke, as [{rule, message}] (empty when healthy)."""
    broken = []
    for rule in RULES:
        message = rule.check(facts, limits[rule.setting])
        if message:
            broken.append({"rule": rule.name, "message": message})
    return broken


# --- Checks of one record ----------------------------------------------------------------

_WORD_RE = re.compile(r"\w+")
# U+FFFD left after decoding: one stray byte happens; more means the charset is wrong.
MAX_UNDECODABLE = 3


def navigation_markers(text: str) -> list[str]:
    """The site's menu/footer labels found in `text` (see site.NAVIGATION_MARKERS)."""
    return [label for label, pattern in site.NAVIGATION_MARKERS if pattern.search(text)]


def record_problems(record: ArticleRecord) -> list[str]:
    """What makes a parsed record page furniture rather than an article (empty: fine)."""
    problems = []
    title = record.title.strip()
    if not title:
        problems.append("title: none found")
    elif site.SECTION_TITLE_RE.match(title) or title.casefold() in site.SECTION_NAMES:
        problems.append(f"title: is the section name ({title!r})")
    markers = navigation_markers(record.body_text)
    if len(markers) >= site.NAVIGATION_MARKERS_MIN:
        problems.append(f"body: navigation text ({', '.join(markers)})")
    if len(_WORD_RE.findall(record.body_text)) < site.MIN_BODY_WORDS:
        problems.append(f"body: fewer than {site.MIN_BODY_WORDS} words")
    if site.ERROR_PAGE_RE.search(record.body_text) and len(record.body_text) < 600:
        problems.append("body: an error or maintenance message")
    undecodable = (record.title + record.body_text).count("\ufffd")
    if undecodable >= MAX_UNDECODABLE:
        problems.append(f"body: {undecodable} undecodable characters (wrong charset?)")
    return problems


# --- Settings ----------------------------------------------------------------------------


class BadSetting(ValueError):
    """A setting value that cannot work; the message is one line naming it."""


@dataclass(frozen=True)
class _Spec:
    kind: str  # "int", "float", "bool", "url", "text"
    low: float | None = None
    high: float | None = None


# Settings whose bad values would crash or mislead a crawl, with their valid range.
SETTING_SPECS: dict[str, _Spec] = {
    "UNPOG_BASE_URL": _Spec("url"),
    "UNPOG_QUARTERLY_LIST_PATH": _Spec("text"),
    "UNPOG_ARCHIVE_DB": _Spec("text"),
    "UNPOG_RECHECK_KNOWN": _Spec("bool"),
    "UNPOG_MAX_LIST_PAGES": _Spec("int", 1),
    "UNPOG_HEALTH_MIN_ARTICLES": _Spec("int", 0),
    "UNPOG_HEALTH_MAX_PARSE_FAILURE_SHARE": _Spec("float", 0, 1),
    "UNPOG_HEALTH_MAX_LISTED_DROP": _Spec("float", 0, 1),
    "UNPOG_HEALTH_MAX_ERRORS": _Spec("int", 0),
    "UNPOG_HEALTH_MAX_REMOVED_SHARE": _Spec("float", 0, 1),
    "DOWNLOAD_DELAY": _Spec("float", 0),
    "DOWNLOAD_TIMEOUT": _Spec("float", 0.001),
    "CONCURRENT_REQUESTS": _Spec("int", 1),
    "CONCURRENT_REQUESTS_PER_DOMAIN": _Spec("int", 1),
    "RETRY_TIMES": _Spec("int", 0),
    "UNPOG_RETRY_AFTER_MAX": _Spec("float", 0),
    "UNPOG_COMMIT_INTERVAL": _Spec("float", 0),
    "CONCURRENT_ITEMS": _Spec("int", 1),
    "DOWNLOAD_MAXSIZE": _Spec("int", 0),
    "REDIRECT_MAX_TIMES": _Spec("int", 0),
    "UNPOG_MAX_RESPONSE_HEADERS": _Spec("int", 1),
    "UNPOG_MAX_RESPONSE_HEADER_BYTES": _Spec("int", 1024),
    "UNPOG_ROBOTS_MAX_SIZE": _Spec("int", 500 * 1024),  # RFC 9309: at least 500 KiB
    "ROBOTSTXT_OBEY": _Spec("bool"),
    "AUTOTHROTTLE_ENABLED": _Spec("bool"),
}


def _check_value(name: str, value: Any, spec: _Spec) -> None:
    shown = f"{name}={value!r}"
    if spec.kind in ("url", "text"):
        if not isinstance(value, str) or not value.strip():
            raise BadSetting(f"bad setting {shown}: give a non-empty value")
        if spec.kind == "url" and not value.startswith(("http://", "https://")):
            raise BadSetting(f"bad setting {shown}: must start with http:// or https://")
        return
    if spec.kind == "bool":
        if str(value).strip().lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise BadSetting(f"bad setting {shown}: use True or False")
        return
    try:
        number = int(str(value).strip()) if spec.kind == "int" else float(value)
    except (TypeError, ValueError):
        what = "a whole number" if spec.kind == "int" else "a number"
        raise BadSetting(f"bad setting {shown}: must be {what}") from None
    if number != number or (spec.low is not None and number < spec.low):  # NaN, or too low
        raise BadSetting(f"bad setting {shown}: must be at least {spec.low:g}")
    if spec.high is not None and number > spec.high:
        raise BadSetting(f"bad setting {shown}: must be at most {spec.high:g}")


def check_settings(settings: Any) -> None:
    """Raise BadSetting (one line) for the first setting value that cannot work."""
    for name, spec in SETTING_SPECS.items():
        value = settings.get(name)
        if value is None:
            if name.startswith("UNPOG_"):
                raise BadSetting(f"setting {name} is missing: it has a default in settings.py")
            continue
        _check_value(name, value, spec)


# --- Checks across a crawl's records -------------------------------------------------------


class ContentDetectors:
    """Checks that need many records: furniture that leaks into every body, another
    article's title inside a body, landmarks missing, images repeated across a board.

    Fed every record a crawl archives (`add`), asked at the end (`broken`), like `evaluate`.
    """

    def __init__(self, limits: Mapping[str, float] | None = None, known_titles: Any = ()) -> None:
        self.limits = dict(limits or {})
        self.known_titles = set(known_titles)
        self.records = 0

    def add(self, record: ArticleRecord) -> None:
        self.records += 1

    def broken(self) -> list[dict[str, str]]:
        """The rules the records broke, as [{rule, message}] (empty when healthy)."""
        return []
