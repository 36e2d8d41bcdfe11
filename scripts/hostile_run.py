#!/usr/bin/env python
"""Attack `unpog crawl` from a hostile server and print what each attack did (issue 18).

    .venv/bin/python scripts/hostile_run.py [--only WORD ...] [--keep DIR]

A replica of the site on 127.0.0.1 (unpog_crawler.replica) serves one attack at a time,
injected as a fault (replica/faults.py) into the pages a crawl reads; two more replicas
stand for "elsewhere" (another port, another host). Each attack gets a fresh copy of an
archive that already holds one good crawl of the site, so that a false removal would show,
and one `unpog crawl --spider quarterly` subprocess. Printed per attack: the crawl row's
status, the exit code, the peak RSS of the crawl and its children (the sum of each
process's own peak, VmHWM, polled from /proc: an upper bound), the duration, the false
removals, the articles the attacked crawl read (of those the good one read), the versions
it wrote (the site's content never changes: 0), the requests that reached another server,
and the crawl's first problem. Then a verdict per rule of the issue's "done when"; exit
status 0 when every attack keeps all of them.

Takes two to three minutes, most of it the locked archive (45 s of BEGIN EXCLUSIVE).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from unpog_crawler.replica.faults import Fault  # noqa: E402
from unpog_crawler.replica.server import ReplicaServer, serve  # noqa: E402

UNPOG = [sys.executable, "-m", "unpog_crawler.cli", "crawl", "--spider", "quarterly"]
CRAWL_SETTINGS = [
    # Every article, as the good crawl read them: the revisit policy would skip most.
    "--full",
    "-s", "DOWNLOAD_DELAY=0",
    "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "RETRY_TIMES=1",
    "-s", "DOWNLOAD_TIMEOUT=20",
    "-L", "WARNING",
]  # fmt: skip
CRAWL_TIMEOUT = 300.0  # seconds; a crawl still running then is killed and says so
RSS_LIMIT_MB = 300  # "a process over a few hundred MB"
LOCK_SECONDS = 45
VIEW_72 = "/page/sub4_3_view.asp?sn=72"
ROBOTS = "/robots.txt"
MB = 1024**2


@dataclass
class Servers:
    site: ReplicaServer  # the site the crawl is pointed at
    other_port: ReplicaServer  # 127.0.0.1, another port
    other_host: ReplicaServer  # 127.0.0.2

    def elsewhere_requests(self) -> int:
        return self.other_port.site.requests.count() + self.other_host.site.requests.count()


@dataclass
class Attack:
    name: str
    faults: Callable[[Servers], list[tuple[str, Fault]]]
    args: list[str] = field(default_factory=list)
    during: Callable[[Path, Servers], None] | None = None  # beside the crawl, in a thread


@dataclass
class Outcome:
    attack: str
    status: str
    exit_code: int | str
    peak_rss_mb: float
    seconds: float
    false_removals: int
    seen: str  # articles the attacked crawl read, of those the good crawl read

    @property
    def read_all(self) -> bool:
        read, of = self.seen.split("/")
        return read == of

    new_versions: int
    elsewhere: int  # requests that reached another server
    problem: str


def on_72(fault: Fault) -> Callable[[Servers], list[tuple[str, Fault]]]:
    return lambda servers: [(VIEW_72, fault)]


def on_robots(fault: Fault) -> Callable[[Servers], list[tuple[str, Fault]]]:
    return lambda servers: [(ROBOTS, fault)]


def redirect_to(where: str) -> Callable[[Servers], list[tuple[str, Fault]]]:
    def faults(servers: Servers) -> list[tuple[str, Fault]]:
        port = servers.other_port.server_address[1]
        location = {
            "port": f"{servers.other_port.base_url}{VIEW_72}",
            "host": f"{servers.other_host.base_url}{VIEW_72}",
            "scheme": f"https://127.0.0.1:{port}{VIEW_72}",
        }[where]
        return [(VIEW_72, Fault("redirect", location=location))]

    return faults


def archive_locked(db_path: Path, servers: Servers) -> None:
    """While the server answers article 72 (slowly), another process takes BEGIN EXCLUSIVE
    on the archive and holds it LOCK_SECONDS: the crawl's writes meet a locked file."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not servers.site.site.requests.count("sn=72"):
        time.sleep(0.01)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)\n"
            "db.execute('BEGIN EXCLUSIVE')\n"
            "time.sleep(float(sys.argv[2]))\n"
            "db.execute('ROLLBACK')\n",
            str(db_path),
            str(LOCK_SECONDS),
        ]
    )
    holder.wait(timeout=LOCK_SECONDS + 60)


ATTACKS = [
    Attack("gzip bomb: 500 MB of spaces in 0.5 MB", on_72(Fault("gzip_bomb", size=500 * MB))),
    Attack(
        "double gzip bomb: 500 MB in 1 KB",
        on_72(Fault("gzip_bomb", size=500 * MB, layers=2)),
    ),
    Attack("600 KB onclick (parse worker)", on_72(Fault("huge_attribute", size=600_000))),
    Attack(
        "600 KB onclick (parsed inline)",
        on_72(Fault("huge_attribute", size=600_000)),
        ["-s", "UNPOG_PARSE_WORKERS=0"],
    ),
    Attack(
        "absurd id in a link, --sweep",
        on_72(Fault("append_html", html='<a href="sub4_3_view.asp?sn=99999999999">x</a>')),
        ["--sweep", "-s", "UNPOG_SWEEP_MAX_MISSES=3"],
    ),
    Attack("endless response headers (1 GiB)", on_72(Fault("endless_headers", size=1024 * MB))),
    Attack("redirect to another port", redirect_to("port")),
    Attack("redirect to another host", redirect_to("host")),
    Attack("redirect to another scheme", redirect_to("scheme")),
    Attack("robots.txt answers 503", on_robots(Fault("status", status=503))),
    Attack("robots.txt resets the connection", on_robots(Fault("reset"))),
    Attack("robots.txt of 3 MB", on_robots(Fault("oversize", size=3 * MB))),
    Attack(
        "robots.txt of 20 MB (over DOWNLOAD_MAXSIZE)", on_robots(Fault("oversize", size=20 * MB))
    ),
    Attack(
        f"archive locked {LOCK_SECONDS} s (BEGIN EXCLUSIVE)",
        on_72(Fault("slow", delay=3)),
        ["-s", "UNPOG_COMMIT_INTERVAL=0"],
        during=archive_locked,
    ),
]


# --- Measuring a process tree -----------------------------------------------------------------


def children_of(pid: int) -> set[int]:
    """`pid` and every process below it, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in tree:
                tree.add(child)
                frontier.append(child)
    return tree


def peak_rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class TreeMemory:
    """Polls a process tree's peak RSS until stopped: the sum of each process's VmHWM."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            for pid in children_of(self.pid):
                self.peaks[pid] = max(self.peaks.get(pid, 0), peak_rss_kb(pid))
            self._stop.wait(0.05)

    def stop(self) -> float:
        """Stop polling; the peak in MB."""
        self._stop.set()
        self._thread.join()
        return sum(self.peaks.values()) / 1024


# --- Running the attacks ------------------------------------------------------------------------


def crawl_rows(db_path: Path) -> int:
    try:
        connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=0.1)
        try:
            return connection.execute("select count(*) from crawls").fetchone()[0]
        finally:
            connection.close()
    except sqlite3.Error:
        return 0


def run_crawl(base_url: str, db_path: Path, args: list[str]) -> tuple[int | str, float, float]:
    """(exit code, peak RSS in MB, seconds) of one `unpog crawl`."""
    command = [*UNPOG, "--base-url", base_url, "--db", str(db_path), *CRAWL_SETTINGS, *args]
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    memory = TreeMemory(process.pid)
    try:
        code: int | str = process.wait(timeout=CRAWL_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        code = f"killed after {CRAWL_TIMEOUT:.0f} s"
    return code, memory.stop(), time.monotonic() - started


def outcome(attack: Attack, db_path: Path, code: int | str, rss: float, seconds: float,
            elsewhere: int) -> Outcome:  # fmt: skip
    connection = sqlite3.connect(db_path)
    try:
        row = connection.execute("select status from crawls where id = 2").fetchone()
        seen = dict(connection.execute("select id, articles_seen from crawls"))
        removals = connection.execute(
            "select count(*) from changes where kind = 'removed'"
        ).fetchone()[0]
        removals += connection.execute(
            "select count(*) from articles where status != 'live'"
        ).fetchone()[0]
        versions = connection.execute(
            "select count(*) from versions where crawl_id = 2"
        ).fetchone()[0]
        problem = connection.execute(
            "select reason from crawl_problems where crawl_id = 2 order by id limit 1"
        ).fetchone()
    finally:
        connection.close()
    return Outcome(
        attack=attack.name,
        status=row[0] if row else "no crawl row",
        exit_code=code,
        peak_rss_mb=rss,
        seconds=seconds,
        false_removals=removals,
        seen=f"{seen.get(2, 0)}/{seen.get(1, 0)}",
        new_versions=versions,
        elsewhere=elsewhere,
        problem=(problem[0] if problem else "-")[:90],
    )


def baseline(servers: Servers, work: Path) -> Path:
    """An archive holding one good crawl of the site: what every attack starts from."""
    db_path = work / "baseline" / "unpog.db"
    code, _, _ = run_crawl(servers.site.base_url, db_path, [])
    if code != 0:
        raise SystemExit(f"the baseline crawl failed (exit {code}): nothing to compare with")
    return db_path


def run_attack(attack: Attack, servers: Servers, base_db: Path, work: Path) -> Outcome:
    for server in (servers.site, servers.other_port, servers.other_host):
        server.site.heal()
        server.site.requests.clear()
    folder = work / attack.name.replace(" ", "_").replace("/", "_")
    shutil.copytree(base_db.parent, folder)
    db_path = folder / base_db.name
    for path, fault in attack.faults(servers):
        servers.site.site.inject(path, fault)
    beside = None
    if attack.during:
        beside = threading.Thread(target=attack.during, args=(db_path, servers))
    if beside:
        beside.start()
    code, rss, seconds = run_crawl(servers.site.base_url, db_path, attack.args)
    if beside:
        beside.join()
    return outcome(attack, db_path, code, rss, seconds, servers.elsewhere_requests())


def print_outcomes(outcomes: list[Outcome]) -> None:
    headers = ["attack", "status", "exit", "peak RSS MB", "seconds", "false removals",
               "articles read", "versions written", "requests elsewhere",
               "first problem"]  # fmt: skip
    rows = [
        [o.attack, o.status, str(o.exit_code), f"{o.peak_rss_mb:.0f}", f"{o.seconds:.1f}",
         str(o.false_removals), o.seen, str(o.new_versions), str(o.elsewhere), o.problem]
        for o in outcomes
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    for index, row in enumerate([headers, *rows]):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if index == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def verdicts(outcomes: list[Outcome]) -> list[tuple[str, list[str]]]:
    """Each rule of the issue's "done when", with the attacks that break it."""
    return [
        ("no false removal", [o.attack for o in outcomes if o.false_removals]),
        ("no version written from an attack", [o.attack for o in outcomes if o.new_versions]),
        ("no silent loss: a crawl that read fewer articles exits non-zero",
         [o.attack for o in outcomes if o.exit_code == 0 and not o.read_all]),
        (f"no process tree over {RSS_LIMIT_MB} MB",
         [o.attack for o in outcomes if o.peak_rss_mb > RSS_LIMIT_MB]),
        ("no crawl row left running", [o.attack for o in outcomes if o.status == "running"]),
        ("no crawl killed by the time limit",
         [o.attack for o in outcomes if not isinstance(o.exit_code, int)]),
        ("nothing fetched from another server", [o.attack for o in outcomes if o.elsewhere]),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="WORD", help="attacks whose name has WORD")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the archives in DIR")
    args = parser.parse_args()
    attacks = [a for a in ATTACKS if not args.only or any(w in a.name for w in args.only)]
    work = args.keep or Path(tempfile.mkdtemp(prefix="unpog-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        with serve() as site, serve() as other_port, serve(host="127.0.0.2") as other_host:
            servers = Servers(site, other_port, other_host)
            base_db = baseline(servers, work)
            outcomes = []
            for attack in attacks:
                outcomes.append(run_attack(attack, servers, base_db, work))
                print(f"  {attack.name}: done", file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"# Hostile-server run: {len(outcomes)} attacks in {time.monotonic() - started:.0f} s")
    print()
    print_outcomes(outcomes)
    print()
    broken = False
    for rule, attacks_breaking in verdicts(outcomes):
        broken |= bool(attacks_breaking)
        print(
            f"- {rule}: "
            + ("yes" if not attacks_breaking else "NO: " + "; ".join(attacks_breaking))
        )
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
