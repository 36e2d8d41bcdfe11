"""Benchmark 6: the parser against generated templates (issue 14), every page judged.

.venv/bin/python bench/bench_templates.py [--templates 500] [--first-seed 0] [--examples 5]

For each template seed, the replica serves every board in that generated template
(unpog_crawler/replica/generated.py); every view and whole-issue page is parsed and compared
with its truth (replica/truth.py, replica/judge.py). Pages are exact, not parsed (rejected:
a logged parse failure), wrong and caught (the template's crawl would end degraded) or wrong
and silent (garbage archived as if fine). Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_header, print_table  # noqa: E402
from unpog_crawler.parse import PARSER_VERSION  # noqa: E402
from unpog_crawler.replica.judge import TemplateVerdict, judge_template  # noqa: E402

CLASSES = ("all_exact", "some_not_parsed", "degraded", "silent_wrong")


def page_class(verdict: TemplateVerdict, outcome: str) -> str:
    if outcome != "wrong":
        return outcome
    return "wrong_caught" if verdict.broken else "wrong_silent"


def board_of(target: str) -> str:
    """'quarterly', 'issue page', 'theme 0004', 'publications', 'youth' from a page target."""
    if "sub4_3_view" in target:
        return "quarterly"
    if "sub4_3_" in target:
        return "issue page"
    if "sub4_1_" in target:
        return "youth"
    if "sub5_1_" in target:
        return "publications"
    return "theme " + target.split("BoardID=")[1][:4]


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", type=int, default=500, help="how many seeds")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=5, help="example seeds per class")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.templates)
    verdicts = [judge_template(seed) for seed in seeds]
    elapsed = time.perf_counter() - started

    pages: Counter[str] = Counter()
    fields: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    boards: dict[str, Counter[str]] = defaultdict(Counter)
    for verdict in verdicts:
        for page in verdict.pages:
            kind = page_class(verdict, page.outcome)
            pages[kind] += 1
            boards[board_of(page.target)][kind] += 1
            fields.update(page.diffs.keys())
            if page.reason:
                reasons[page.reason[:90]] += 1
    total = sum(pages.values())
    templates = Counter(v.verdict for v in verdicts)

    print_header(f"Generated templates: parser version {PARSER_VERSION}")
    print(f"{len(verdicts)} templates (seeds {seeds.start}-{seeds.stop - 1}), {total} pages, "
          f"{elapsed:.1f} s ({elapsed / max(1, len(verdicts)):.2f} s a template)\n")  # fmt: skip
    kinds = ("exact", "not_parsed", "wrong_caught", "wrong_silent")
    print_table(
        ("pages", *kinds),
        [
            ("count", *(pages[k] for k in kinds)),
            ("share", *(share(pages[k], total) for k in kinds)),
        ],
    )
    print_table(
        ("templates", *CLASSES),
        [
            ("count", *(templates[c] for c in CLASSES)),
            ("share", *(share(templates[c], len(verdicts)) for c in CLASSES)),
        ],
    )
    print_table(
        ("board", "pages", *kinds),
        [
            (name, sum(counts.values()), *(share(counts[k], sum(counts.values())) for k in kinds))
            for name, counts in sorted(boards.items())
        ],
    )
    wrong = pages["wrong_caught"] + pages["wrong_silent"]
    print_table(
        ("field wrong", "pages", "share of wrong pages"),
        [(name, count, share(count, wrong)) for name, count in fields.most_common()],
    )
    print_table(("why not parsed (first 90 characters)", "pages"), reasons.most_common(8))
    print_table(
        ("template class", "example seeds"),
        [
            (c, " ".join([str(v.seed) for v in verdicts if v.verdict == c][: args.examples]) or "-")
            for c in CLASSES
        ],
    )


if __name__ == "__main__":
    main()
