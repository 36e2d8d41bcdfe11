"""The script-link patterns on hostile input: time at growing sizes (issue 18, item 4).

.venv/bin/python bench/bench_link_regexes.py [--sizes 10000 20000 40000 80000]

Each of site.JS_VIEW_RE, JS_PAGE_RE and JS_URL_RE is run (findall) over strings built to
make a backtracking pattern retry from every position: long runs of word characters, of URL
characters, of the pattern's own keywords, of spaces after a keyword. A linear pattern's
time doubles with the size ("x2" column near 2); a quadratic one's quadruples. The pattern
JS_URL_RE had before the fix is measured too, for comparison. The crawl scans at most
site.JS_SCAN_CHARS characters of one handler; these sizes are past it on purpose.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_header, print_table  # noqa: E402
from unpog_crawler import site  # noqa: E402

OLD_JS_URL_RE = re.compile(r"""[\w./:-]+\.asp(?:\?[^'"\s)]*)?""", re.I)
PATTERNS = {
    "JS_VIEW_RE": site.JS_VIEW_RE,
    "JS_PAGE_RE": site.JS_PAGE_RE,
    "JS_URL_RE": site.JS_URL_RE,
    "JS_URL_RE before the fix": OLD_JS_URL_RE,
}
# Repeated units: each makes some pattern start, run far, and fail.
INPUTS = {
    "letters": "a",
    "dots": ".",
    "digits": "1",
    "'view'": "view",
    "'go_view'": "go_view",
    "'view('": "view(",
    "'page('": "page(",
    "'x.as'": "x.as",
    "'a.asp?'": "a.asp?",
}
SPACES_AFTER = "'view' + spaces"
SKIP_OLD_ABOVE = 40_000  # the old pattern takes minutes past this


def hostile(name: str, size: int) -> str:
    if name == SPACES_AFTER:
        return "view" + " " * size
    unit = INPUTS[name]
    return unit * (size // len(unit))


def best_of(pattern: re.Pattern[str], text: str, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        pattern.findall(text)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 20_000, 40_000, 80_000])
    args = parser.parse_args()
    print_header("Script-link patterns on hostile input (ms per findall, best of 3)")
    rows = []
    for pattern_name, pattern in PATTERNS.items():
        worst: tuple[float, str] = (0.0, "")
        times: list[float] = []
        sizes = [s for s in args.sizes if pattern is not OLD_JS_URL_RE or s <= SKIP_OLD_ABOVE]
        if not sizes:
            continue
        for input_name in [*INPUTS, SPACES_AFTER]:
            series = [best_of(pattern, hostile(input_name, size)) for size in sizes]
            if series[-1] > worst[0]:
                worst, times = (series[-1], input_name), series
        growth = times[-1] / times[-2] if len(times) > 1 and times[-2] > 0 else float("nan")
        cells = [f"{t * 1000:.2f}" for t in times] + ["-"] * (len(args.sizes) - len(times))
        rows.append([pattern_name, worst[1], *cells, f"{growth:.1f}"])
    headers = ["pattern", "worst input", *(f"{s:,} chars" for s in args.sizes), "x2"]
    print_table(headers, rows)
    print(f"The crawl reads at most {site.JS_SCAN_CHARS:,} characters of one handler.")


if __name__ == "__main__":
    main()
