"""Shared helpers for the benchmarks: machine header, tables, a large generated replica,
crawl subprocesses with their peak RSS and Scrapy stats.

Nothing here is timed in tests: the scripts print figures for people to read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import scrapy

try:
    import psutil
except ImportError:  # the [bench] extra; without it helper processes count 0 CPU
    psutil = None

from unpog_crawler.replica import templates
from unpog_crawler.replica.content import ARTICLES, Article
from unpog_crawler.replica.server import ReplicaSite

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
WORDS = (
    "governance", "resilience", "digital", "municipal", "capacity", "innovation", "trust",
    "inclusion", "procurement", "transparency", "youth", "climate", "service", "integrity",
    "partnership", "evaluation", "leadership", "data", "accountability", "participation",
)  # fmt: skip


# ---- machine and tables --------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, str]:
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "scrapy": scrapy.__version__,
        "sqlite": sqlite3.sqlite_version,
    }


def print_header(title: str) -> None:
    info = machine_info()
    print(f"# {title}")
    print(
        f"{info['date']} | CPU: {info['cpu']} x {info['cores']} cores | Python {info['python']}"
        f" | Scrapy {info['scrapy']} | SQLite {info['sqlite']}"
    )
    print()


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A Markdown table (so it can be pasted into RESULTS.md as is)."""
    cells = [[str(h) for h in headers]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if index == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print()


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def percentile(samples: Sequence[float], pct: float) -> float:
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(pct) - 1]


# ---- a large generated replica ---------------------------------------------------------------


def sentence(index: int) -> str:
    """A sentence unique to `index`, so every generated article has its own content hash."""
    a, b, c = (WORDS[(index // 20**k) % len(WORDS)] for k in range(3))
    return f"Replica note {index}: {a} and {b} in {c} programmes."


def vary_body(body: tuple[Any, ...], extra: str) -> tuple[Any, ...]:
    """`body` with `extra` appended to its first paragraph of text (never to a list)."""
    blocks = list(body)
    for i, block in enumerate(blocks):
        if isinstance(block, str):
            blocks[i] = f"{block} {extra}"
            return tuple(blocks)
    return (*blocks, extra)


def generate_articles(count: int, edited: Iterable[int] = ()) -> tuple[Article, ...]:
    """`count` articles cycling the replica's 17, with sn 1..count and varied text.

    Articles whose sn is in `edited` carry one more sentence (an edit a re-crawl must see).
    """
    edited_set = set(edited)
    out = []
    for i in range(count):
        base = ARTICLES[i % len(ARTICLES)]
        sn = i + 1
        extra = sentence(sn) + (" Edited after publication." if sn in edited_set else "")
        out.append(dataclasses.replace(base, sn=sn, body=vary_body(base.body, extra), hits=sn))
    return tuple(out)


def edited_sns(count: int, share: float) -> list[int]:
    """The sns a `share` edit touches: evenly spread, deterministic."""
    n = round(count * share)
    if n <= 0:
        return []
    step = count / n
    return [int(k * step) + 1 for k in range(n)]


class LargeSite(ReplicaSite):
    """A ReplicaSite that keeps its sorted article list: the stock one sorts every request,
    which is fine for 17 articles and quadratic for thousands (bench process only)."""

    def __init__(self, articles: tuple[Article, ...]) -> None:
        self._sorted: list[Article] | None = None
        self._index: dict[int, int] = {}
        super().__init__(articles=articles)

    def reset(self) -> None:
        self._sorted = None
        super().reset()

    def articles(self) -> list[Article]:
        if self._sorted is None:
            self._sorted = super().articles()
            self._index = {a.sn: i for i, a in enumerate(self._sorted)}
        return self._sorted


def view_target(sn: int) -> str:
    return f"/page/sub4_3_view.asp?sn={sn}"


def list_target(page: int) -> str:
    return f"/page/sub4_3_list.asp?page={page}"


def list_pages(count: int) -> int:
    return max(1, -(-count // templates.PAGE_SIZE))


# ---- crawl subprocesses ----------------------------------------------------------------------


@dataclass
class ChildRun:
    returncode: int
    wall_s: float
    max_rss_mb: float
    cpu_s: float
    stats: dict[str, Any]
    helpers_cpu_s: float = 0.0  # its descendants (parse worker, forkserver), sampled


def run_child(args: Sequence[str], log_path: Path, stats_path: Path | None = None) -> ChildRun:
    """Run `args` from the repo root; peak RSS and CPU come from wait4() of that child.

    wait4() does not count the child's helper processes (a parse worker is the forkserver's
    child, not the crawl's): their CPU is sampled every HELPER_SAMPLE_S with psutil.
    """
    start = time.perf_counter()
    helpers: dict[int, float] = {}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(list(args), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            sample_helpers(proc.pid, helpers)
            time.sleep(HELPER_SAMPLE_S)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    stats = json.loads(stats_path.read_text()) if stats_path and stats_path.exists() else {}
    cpu, rss = usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
    return ChildRun(proc.returncode, wall, rss, cpu, stats, sum(helpers.values()))


HELPER_SAMPLE_S = 0.25


def sample_helpers(pid: int, seen: dict[int, float]) -> None:
    """The CPU seconds so far of each descendant of `pid` (psutil, when installed)."""
    if psutil is None:  # the [bench] extra is not installed: helpers count 0
        return
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        seen[child.pid] = times.user + times.system


def crawl_settings(base_url: str, concurrency: int, stats_path: Path) -> list[str]:
    """`-s` options shared by our crawl and the bare spider: politeness off, stats to JSON."""
    settings = {
        "UNPOG_BASE_URL": base_url,
        "DOWNLOAD_DELAY": "0",
        "DOWNLOAD_DELAY_JITTER": "0",
        "AUTOTHROTTLE_ENABLED": "False",
        "ROBOTSTXT_OBEY": "True",
        "CONCURRENT_REQUESTS": str(concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(concurrency),
        "UNPOG_MAX_LIST_PAGES": "100000",
        "UNPOG_HEALTH_MAX_ERRORS": "1000000",
        "LOG_LEVEL": "INFO",
        "EXTENSIONS": json.dumps({"bench.statsdump.JsonStats": 900}),
        "BENCH_STATS_FILE": str(stats_path),
    }
    out: list[str] = []
    for name, value in settings.items():
        out += ["-s", f"{name}={value}"]
    return out


def quarterly_command(base_url: str, db: Path, concurrency: int, stats: Path) -> list[str]:
    return [
        PYTHON, "-m", "scrapy", "crawl", "quarterly",
        "-s", f"UNPOG_ARCHIVE_DB={db}", *crawl_settings(base_url, concurrency, stats),
    ]  # fmt: skip


def bare_command(base_url: str, urls_file: Path, concurrency: int, stats: Path) -> list[str]:
    return [
        PYTHON, "-m", "scrapy", "runspider", str(ROOT / "bench" / "bare_spider.py"),
        "-a", f"urls={urls_file}", *crawl_settings(base_url, concurrency, stats),
    ]  # fmt: skip


# ---- the large replica in its own process -----------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base_url: str
    urls_file: Path

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    articles: int, workdir: Path, edit_share: float = 0.0, paging: str = "all"
) -> Server:
    """Start bench/serve_large.py in its own process and wait until it answers."""
    port = free_port()
    urls_file = workdir / f"urls-{articles}.txt"
    ready = workdir / f"ready-{port}"
    args = [
        PYTHON, str(ROOT / "bench" / "serve_large.py"), "--articles", str(articles),
        "--port", str(port), "--urls", str(urls_file), "--ready", str(ready),
        "--edit-share", str(edit_share), "--paging", paging,
    ]  # fmt: skip
    proc = subprocess.Popen(args, cwd=ROOT)
    deadline = time.monotonic() + 600
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"serve_large.py did not start (exit {proc.returncode})")
        time.sleep(0.2)
    return Server(proc, f"http://127.0.0.1:{port}", urls_file)


def fresh_db(path: Path) -> Path:
    """`path` with no archive, lock or WARC files left from an earlier run."""
    for old in path.parent.glob(path.name + "*"):
        old.unlink()
    warc = path.with_suffix("") / "warc"
    if warc.is_dir():
        for old in warc.iterdir():
            old.unlink()
    return path


def settings_args(settings: Sequence[str]) -> list[str]:
    """`-s NAME=value` for each NAME=value."""
    return [arg for setting in settings for arg in ("-s", setting)]


def crawl_once(
    server: Server,
    db: Path,
    workdir: Path,
    label: str,
    concurrency: int = 32,
    extra: Sequence[str] = (),
) -> ChildRun:
    """One `scrapy crawl quarterly` into `db` against `server` (`extra`: NAME=value)."""
    stats = workdir / f"stats-{label}.json"
    stats.unlink(missing_ok=True)
    command = quarterly_command(server.base_url, db, concurrency, stats) + settings_args(extra)
    return run_child(command, workdir / f"{label}.log", stats)


def bare_once(
    server: Server,
    workdir: Path,
    label: str,
    concurrency: int = 32,
    extra: Sequence[str] = (),
) -> ChildRun:
    """The bare spider over the same URLs (`extra`: NAME=value)."""
    stats = workdir / f"stats-{label}.json"
    stats.unlink(missing_ok=True)
    command = bare_command(server.base_url, server.urls_file, concurrency, stats)
    return run_child(command + settings_args(extra), workdir / f"{label}.log", stats)


def archive_counts(db: Path, crawl_id: int | None = None) -> dict[str, int]:
    """Versions and articles in an archive, and the versions one crawl wrote."""
    with sqlite3.connect(db) as conn:
        versions = conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
        articles = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        if crawl_id is None:
            crawl_id = conn.execute("SELECT MAX(id) FROM crawls").fetchone()[0]
        written = conn.execute(
            "SELECT COUNT(*) FROM versions WHERE crawl_id = ?", [crawl_id]
        ).fetchone()[0]
    conn.close()
    return {"versions": versions, "articles": articles, "written": written}


def python_executable() -> str:
    return PYTHON if Path(PYTHON).exists() else sys.executable
