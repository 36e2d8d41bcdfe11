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

import difflib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from unpog_crawler import revisit, site
from unpog_crawler import settings as defaults
from unpog_crawler.items import ArticleRecord

__all__ = [
    "CONTENT_RULES",
    "RULES",
    "ContentDetectors",
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
    rules = (*RULES, *CONTENT_RULES)
    return {rule.setting: float(settings.get(rule.setting)) for rule in rules}


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
    kind: str  # "int", "float", "bool", "url", "text", "revisit"
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
    "UNPOG_HEALTH_MAX_BOILERPLATE_SHARE": _Spec("float", 0, 1),
    "UNPOG_HEALTH_MAX_FOREIGN_TITLE_SHARE": _Spec("float", 0, 1),
    "UNPOG_HEALTH_MAX_LANDMARKS_MISSING_SHARE": _Spec("float", 0, 1),
    "UNPOG_HEALTH_MAX_REPEATED_IMAGE_SHARE": _Spec("float", 0, 1),
    "DOWNLOAD_DELAY": _Spec("float", 0),
    "DOWNLOAD_TIMEOUT": _Spec("float", 0.001),
    "CONCURRENT_REQUESTS": _Spec("int", 1),
    "CONCURRENT_REQUESTS_PER_DOMAIN": _Spec("int", 1),
    "RETRY_TIMES": _Spec("int", 0),
    "UNPOG_RETRY_AFTER_MAX": _Spec("float", 0),
    "UNPOG_COMMIT_INTERVAL": _Spec("float", 0),
    "UNPOG_ARCHIVE_BUSY_TIMEOUT": _Spec("float", 0),
    "CONCURRENT_ITEMS": _Spec("int", 1),
    "DOWNLOAD_MAXSIZE": _Spec("int", 0),
    "REDIRECT_MAX_TIMES": _Spec("int", 0),
    "UNPOG_MAX_RESPONSE_HEADERS": _Spec("int", 1),
    "UNPOG_MAX_RESPONSE_HEADER_BYTES": _Spec("int", 1024),
    "UNPOG_ROBOTS_MAX_SIZE": _Spec("int", 500 * 1024),  # RFC 9309: at least 500 KiB
    "ROBOTSTXT_OBEY": _Spec("bool"),
    "AUTOTHROTTLE_ENABLED": _Spec("bool"),
    # Checked by the revisit policy's own parsers (revisit.RevisitSettings).
    "UNPOG_REVISIT": _Spec("revisit"),
    "UNPOG_REVISIT_MAX_AGE": _Spec("revisit"),
    "UNPOG_REVISIT_BUDGET": _Spec("revisit"),
}


def _check_value(name: str, value: Any, spec: _Spec) -> None:
    shown = f"{name}={value!r}"
    if spec.kind == "revisit":
        try:
            revisit.SETTING_PARSERS[name](value)
        except ValueError as error:  # already one line naming the setting
            raise BadSetting(str(error)) from None
        return
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


# Every UNPOG_* setting has a default in settings.py: any other UNPOG_* name is a typo.
KNOWN_SETTINGS = frozenset(name for name in vars(defaults) if name.startswith("UNPOG_"))


def unknown_setting_problem(names: Iterable[str]) -> str | None:
    """One line for the first UNPOG_* name that is no setting, with the closest known name
    (a misspelt setting would otherwise be ignored, and the crawl run without it)."""
    for name in sorted(names):
        if name.startswith("UNPOG_") and name not in KNOWN_SETTINGS:
            close = difflib.get_close_matches(name, sorted(KNOWN_SETTINGS), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else "no UNPOG_* setting is close"
            return f"unknown setting {name}: {hint} (the settings: docs/settings.md)"
    return None


def check_settings(settings: Any) -> None:
    """Raise BadSetting (one line) for an unknown UNPOG_* name, or for the first setting
    value that cannot work."""
    unknown = unknown_setting_problem(iter(settings))
    if unknown:
        raise BadSetting(unknown)
    for name, spec in SETTING_SPECS.items():
        value = settings.get(name)
        if value is None:
            if name.startswith("UNPOG_"):
                raise BadSetting(f"setting {name} is missing: it has a default in settings.py")
            continue
        _check_value(name, value, spec)


# --- Checks across a crawl's records -------------------------------------------------------
# A parser that misreads a template it never saw misreads it on every page: the same furniture
# line opens every body, the neighbours' titles sit in every body, the share line is never
# found, the toolbar's icons are every page's images. None of that depends on the markup, so
# these rules hold on templates nobody foresaw (issue 14). Each has a threshold setting, like
# the crawl rules above, and its message names what it saw so that `doctor` can show it.


@dataclass(frozen=True)
class ContentRule:
    name: str
    setting: str
    doc: str


CONTENT_RULES: tuple[ContentRule, ...] = (
    ContentRule(
        "boilerplate_leak",
        "UNPOG_HEALTH_MAX_BOILERPLATE_SHARE",
        "share of a board's bodies one short line (numbers masked) may appear in",
    ),
    ContentRule(
        "foreign_title",
        "UNPOG_HEALTH_MAX_FOREIGN_TITLE_SHARE",
        "share of a board's bodies that may hold another article's title as a line",
    ),
    ContentRule(
        "landmarks_missing",
        "UNPOG_HEALTH_MAX_LANDMARKS_MISSING_SHARE",
        "share of articles read without their share line or heading, or with the section "
        "heading in the body",
    ),
    ContentRule(
        "repeated_images",
        "UNPOG_HEALTH_MAX_REPEATED_IMAGE_SHARE",
        "share of a board's articles one image may appear in",
    ),
)
# Fewer repeats than these are coincidence, whatever the share.
MIN_BOILERPLATE_BODIES = 3
MIN_FOREIGN_TITLE_BODIES = 2
MIN_REPEATED_IMAGE_PAGES = 3
# Furniture lines are short; prose that repeats (a standard closing paragraph) is not.
MAX_BOILERPLATE_WORDS = 12
_DIGITS_RE = re.compile(r"\d+")
_EDGE_WORDS_RE = re.compile(
    rf"^(?:[\s|:：>·\-–]|{site.FURNITURE_WORDS_RE.pattern})+|[\s|:：·\-–\d./]+$", re.I
)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def line_shape(line: str, title: str) -> str:
    """A body line as boilerplate is compared: case, spaces, numbers and the page's own
    title do not count ('Home > … > Welcome Note', 'Hit 33')."""
    shape = _norm(line)
    if title:
        shape = shape.replace(_norm(title), "{title}")
    return _DIGITS_RE.sub("#", shape)


@dataclass
class _Seen:
    """What the content rules keep of one archived record."""

    url: str
    board: str
    title: str
    short_lines: frozenset[str]  # shapes of its short body lines
    title_lines: frozenset[str]  # its body lines as a title would be written
    images: tuple[str, ...]
    missing: tuple[str, ...]


class ContentDetectors:
    """Checks that need many records: furniture that leaks into every body, another
    article's title inside a body, landmarks missing, images repeated across a board.

    Fed every record a crawl archives (`add`), asked at the end (`broken`), like `evaluate`.
    `known_titles` are the titles the archive already holds (neighbours not crawled now).
    """

    def __init__(self, limits: Mapping[str, float] | None = None, known_titles: Any = ()) -> None:
        limits = dict(limits or {})
        self.limits = {
            rule.setting: float(limits.get(rule.setting, getattr(defaults, rule.setting)))
            for rule in CONTENT_RULES
        }
        self.known_titles = {_norm(t) for t in known_titles if t and t.strip()}
        self.seen: list[_Seen] = []

    def add(self, record: ArticleRecord) -> None:
        lines = [line for line in record.body_text.split("\n\n") if line.strip()]
        missing = tuple(record.missing_landmarks)
        section = _norm(site.section_heading(record.section))
        if section and any(_norm(line) == section for line in lines):
            missing += ("section heading in the body",)
        self.seen.append(
            _Seen(
                url=record.url,
                board=record.section,
                title=_norm(record.title),
                short_lines=frozenset(
                    line_shape(line, record.title)
                    for line in lines
                    if len(line.split()) <= MAX_BOILERPLATE_WORDS and any(c.isalpha() for c in line)
                ),
                title_lines=frozenset(_as_title(line) for line in lines),
                images=tuple(dict.fromkeys(record.images)),
                missing=missing,
            )
        )

    def broken(self) -> list[dict[str, str]]:
        """The rules the records broke, as [{rule, message}] (empty when healthy)."""
        found = []
        for rule, check in (
            ("boilerplate_leak", self._boilerplate),
            ("foreign_title", self._foreign_titles),
            ("landmarks_missing", self._landmarks),
            ("repeated_images", self._images),
        ):
            message = check(self.limits[_SETTING[rule]])
            if message:
                found.append({"rule": rule, "message": message})
        return found

    def _boards(self) -> dict[str, list[_Seen]]:
        boards: dict[str, list[_Seen]] = {}
        for seen in self.seen:
            boards.setdefault(seen.board, []).append(seen)
        return boards

    def _boilerplate(self, share: float) -> str | None:
        leaks = []
        for board, records in self._boards().items():
            counts = Counter(shape for seen in records for shape in seen.short_lines)
            for shape, count in counts.most_common():
                if not _too_many(count, len(records), share, MIN_BOILERPLATE_BODIES):
                    break
                leaks.append(f"{shape!r} in {count} of {len(records)} bodies of {board}")
        if not leaks:
            return None
        return "the same line in many bodies (page furniture?): " + "; ".join(leaks[:5])

    def _foreign_titles(self, share: float) -> str | None:
        titles = self.known_titles | {seen.title for seen in self.seen}
        leaks = []
        for board, records in self._boards().items():
            hits = [(seen, sorted(seen.title_lines & (titles - {seen.title}))) for seen in records]
            hits = [(seen, found) for seen, found in hits if found]
            if _too_many(len(hits), len(records), share, MIN_FOREIGN_TITLE_BODIES):
                seen, found = hits[0]
                leaks.append(
                    f"{len(hits)} of {len(records)} bodies of {board} hold another article's "
                    f"title (e.g. {found[0]!r} in {seen.url})"
                )
        return "; ".join(leaks) or None

    def _landmarks(self, share: float) -> str | None:
        missing = [seen for seen in self.seen if seen.missing]
        if not missing or len(missing) <= share * len(self.seen):
            return None
        examples = ", ".join(f"{seen.url} ({', '.join(seen.missing)})" for seen in missing[:3])
        return (
            f"{len(missing)} of {len(self.seen)} articles read without the page's landmarks: "
            f"{examples}"
        )

    def _images(self, share: float) -> str | None:
        repeated = []
        for board, records in self._boards().items():
            counts = Counter(image for seen in records for image in seen.images)
            repeated += [
                f"{image} on {count} of {len(records)} pages of {board}"
                for image, count in counts.most_common(3)
                if _too_many(count, len(records), share, MIN_REPEATED_IMAGE_PAGES)
            ]
        if not repeated:
            return None
        return "the same image on most pages (an icon or button?): " + "; ".join(repeated)


def _too_many(count: int, total: int, share: float, least: int) -> bool:
    """`count` of `total` is more than the allowed share, and not a coincidence."""
    return count >= least and count > share * total


def _as_title(line: str) -> str:
    """A body line as a neighbour's title would sit in it: 'Next : <title> 2019-01-02'."""
    return _norm(_EDGE_WORDS_RE.sub("", line.strip()))


_SETTING = {rule.name: rule.setting for rule in CONTENT_RULES}
