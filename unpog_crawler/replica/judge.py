"""Judge the parser on generated templates: every page parsed, compared with its truth.

A page is *not parsed* when the parser returns `NotAnArticle` or `health.record_problems`
rejects its record (the crawl logs a parse failure); otherwise *exact* when every field
equals the truth (truth.py), else *wrong*. Per template, every record the crawl would archive
goes to one `health.ContentDetectors`; wrong pages are *caught* when it reports a broken rule
(the crawl ends degraded) and *silent* otherwise: garbage archived as if it were fine.

Used by tests/test_templates.py and bench/bench_templates.py; only they import it (the
replica itself never depends on the parser).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from unpog_crawler import health
from unpog_crawler.items import ArticleRecord, NotAnArticle
from unpog_crawler.parse import parse_article
from unpog_crawler.replica import truth
from unpog_crawler.replica.server import ReplicaSite

BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class PageVerdict:
    target: str
    outcome: str  # "exact" | "not_parsed" | "wrong"
    reason: str = ""  # why it was not parsed
    diffs: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (got, want)


@dataclass(frozen=True)
class TemplateVerdict:
    seed: int
    pages: tuple[PageVerdict, ...]
    broken: tuple[dict[str, str], ...]  # ContentDetectors.broken()

    def count(self, outcome: str) -> int:
        return sum(page.outcome == outcome for page in self.pages)

    @property
    def wrong(self) -> list[PageVerdict]:
        return [page for page in self.pages if page.outcome == "wrong"]

    @property
    def verdict(self) -> str:
        """'all_exact', 'some_not_parsed', 'degraded' (a rule broke) or 'silent_wrong'."""
        if self.broken:
            return "degraded"
        if self.wrong:
            return "silent_wrong"
        return "some_not_parsed" if self.count("not_parsed") else "all_exact"

    @property
    def fails(self) -> bool:
        """Wrong pages that no detector caught: what an archivist must never get."""
        return self.verdict == "silent_wrong"


def judge_page(
    site: ReplicaSite, page: truth.Page, base_url: str = BASE_URL
) -> tuple[ArticleRecord | None, PageVerdict]:
    """(record or None, verdict) of one page fetched from `site` and parsed."""
    response = site.handle("GET", page.target)
    url = base_url + page.target
    record = parse_article(response.body, url, {"Content-Type": response.content_type})
    if isinstance(record, NotAnArticle):
        return None, PageVerdict(page.target, "not_parsed", record.reason)
    problems = health.record_problems(record)
    if problems:
        return None, PageVerdict(page.target, "not_parsed", "; ".join(problems))
    diffs = truth.differences(record, truth.expected(page.model, base_url))
    return record, PageVerdict(page.target, "wrong" if diffs else "exact", diffs=diffs)


def judge_template(seed: int, base_url: str = BASE_URL) -> TemplateVerdict:
    """Every view and whole-issue page of the generated template `seed`, judged."""
    site = ReplicaSite(template_seed=seed)
    detectors = health.ContentDetectors()
    verdicts = []
    for page in truth.pages(site):
        record, verdict = judge_page(site, page, base_url)
        if record is not None:
            detectors.add(record)
        verdicts.append(verdict)
    return TemplateVerdict(seed, tuple(verdicts), tuple(detectors.broken()))


def describe(verdict: TemplateVerdict, limit: int = 3, width: int = 300) -> str:
    """The seed and the field differences of its first wrong pages, for a failure message."""
    lines = [f"template seed {verdict.seed}: {len(verdict.wrong)} wrong page(s), no rule broken"]
    for page in verdict.wrong[:limit]:
        lines.append(f"  {page.target}")
        for name, (got, want) in page.diffs.items():
            lines.append(f"    {name}: got  {repr(got)[:width]}")
            lines.append(f"    {' ' * len(name)}  want {repr(want)[:width]}")
    return "\n".join(lines)
