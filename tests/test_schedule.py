"""`unpog crawl` as schedulers run it: plain logs without a terminal, a progress line in one,
a log file per run (pruned), the JSON report, and the crontab line and systemd units of
deploy/ run as written (paths moved into a temporary directory), against the local replica."""

from __future__ import annotations

import configparser
import json
import os
import pty
import re
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent
UNPOG = [sys.executable, "-m", "unpog_crawler.cli"]
# The Quarterly alone: these tests are about scheduling, not the boards (test_boards_cli).
FAST = ["--spider", "quarterly", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False"]
# Where deploy/ files expect the checkout's virtualenv and the archive on a real machine.
INSTALLED_BIN = "/opt/unpog-crawler/.venv/bin/"
DATA_DIR = "/var/lib/unpog"
LOG_FILE = re.compile(r"^unpog-\d{8}T\d{6}Z-quarterly\.log$")
PROGRESS = re.compile(
    r"\r\x1b\[Kquarterly: (\d+) pages, (\d+) articles, (\d+) new, (\d+) changed, "
    r"(\d+) errors, \d+:\d\d elapsed"
)


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("cwd", REPO)
    return subprocess.run(
        args, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, **kwargs
    )


def crawl_args(replica, db_path: Path, *extra: str) -> list[str]:
    return [*UNPOG, "crawl", "--base-url", replica.base_url, "--db", str(db_path), *FAST, *extra]


def log_files(db_path: Path) -> list[Path]:
    directory = db_path.parent / "unpog" / "logs"
    return sorted(directory.iterdir()) if directory.is_dir() else []


def expected_articles(replica) -> int:
    return len(replica.site.articles()) + 1  # the articles and the Welcome Note


# --- Without a terminal: plain logs, a log file per run --------------------------------------


def test_without_a_terminal_it_logs_plainly_and_writes_a_log_file(replica, db_path):
    result = run(crawl_args(replica, db_path))

    assert result.returncode == 0, result.stderr
    assert "INFO: Crawl 1 started into" in result.stderr  # plain log lines, as cron mails them
    assert "\x1b[K" not in result.stderr and "\r" not in result.stderr
    assert "pages, " not in result.stderr  # no progress line
    [log_file] = log_files(db_path)
    assert LOG_FILE.match(log_file.name)
    assert "INFO: Crawl 1 finished" in log_file.read_text()


def test_the_log_file_keeps_info_when_the_console_is_quiet(replica, db_path):
    result = run(crawl_args(replica, db_path, "-L", "WARNING"))

    assert result.returncode == 0, result.stderr
    assert "INFO" not in result.stderr
    assert "ProgressLine" not in result.stderr  # no "Disabled extension" warning in cron mail
    [log_file] = log_files(db_path)
    assert "INFO: Crawl 1 finished" in log_file.read_text()


def test_old_log_files_are_pruned_to_UNPOG_LOG_KEEP_per_spider(replica, db_path):
    logs = db_path.parent / "unpog" / "logs"
    logs.mkdir(parents=True)
    old = [logs / f"unpog-2020010{day}T000000Z-quarterly.log" for day in (1, 2, 3)]
    other = logs / "unpog-20200101T000000Z-another-spider.log"
    for path in [*old, other]:
        path.write_text("an earlier run\n")

    result = run(crawl_args(replica, db_path, "-s", "UNPOG_LOG_KEEP=2"))

    assert result.returncode == 0, result.stderr
    remaining = log_files(db_path)
    assert old[2] in remaining and other in remaining
    assert old[0] not in remaining and old[1] not in remaining
    assert len(remaining) == 3  # the newest old one, the new one, the other spider's


def test_an_unhealthy_crawl_names_its_log_file(replica, db_path):
    replica.site.fail("/page/sub4_3_list.asp?page=2")

    result = run(crawl_args(replica, db_path, "-L", "WARNING"))

    assert result.returncode == 1
    [log_file] = log_files(db_path)
    assert f"quarterly: log in {log_file}" in result.stderr


# --- In a terminal: a live progress line -------------------------------------------------------


def run_in_terminal(args: list[str]) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (as in an interactive shell) and stdout on a pipe;
    return (exit status, stdout, what the terminal showed)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        args, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal
    )
    os.close(terminal)
    shown: list[bytes] = []

    def read_terminal() -> None:
        while True:
            try:
                data = os.read(controller, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                return
            if not data:
                return
            shown.append(data)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    try:
        stdout, _ = process.communicate(timeout=120)
    finally:
        reader.join(timeout=10)
        os.close(controller)
    return process.returncode, stdout.decode(), b"".join(shown).decode(errors="replace")


def test_in_a_terminal_a_progress_line_is_redrawn_with_the_counts(replica, db_path):
    slow = ["-s", "DOWNLOAD_DELAY=0.05", "-s", "UNPOG_PROGRESS_INTERVAL=0.1"]

    status, stdout, terminal = run_in_terminal(crawl_args(replica, db_path, *slow))

    assert status == 0, terminal
    draws = PROGRESS.findall(terminal)
    assert len(draws) >= 3, terminal  # redrawn while the crawl runs, not printed once
    pages, articles, new, changed, errors = map(int, draws[-1])
    expected = expected_articles(replica)
    assert (articles, new, changed, errors) == (expected, expected, 0, 0)
    assert pages > expected  # list pages as well as articles
    assert "INFO" not in terminal  # in a terminal the console shows warnings only
    assert "quarterly: crawl 1 finished, complete;" in stdout  # the summary stays plain
    assert "\x1b[K" not in stdout


# --- The report ------------------------------------------------------------------------------


def test_report_has_the_crawl_its_counts_verdict_and_changes(replica, db_path, tmp_path):
    report_path = tmp_path / "run.json"
    assert run(crawl_args(replica, db_path)).returncode == 0
    replica.site.edit(53, title="Policy Dialogue on Frontier Technologies (revised)")

    # --full: every archived post is fetched again (the counts below say so).
    result = run(crawl_args(replica, db_path, "--full", "--report", str(report_path)))

    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert report["format"] == "unpog-crawl-report/1"
    assert (report["healthy"], report["exit_status"]) == (True, 0)
    assert report["archive"] == str(db_path.resolve())
    [crawl] = report["crawls"]
    assert (crawl["spider"], crawl["crawl_id"], crawl["status"]) == ("quarterly", 2, "finished")
    assert (crawl["healthy"], crawl["problems_found"]) == (True, [])
    assert crawl["counts"]["changed"] == 1 and crawl["counts"]["new"] == 0
    assert crawl["counts"]["unchanged"] == expected_articles(replica) - 1
    [change] = crawl["changes"]
    assert change["kind"] == "changed" and change["url"] == "/page/sub4_3_view.asp?sn=53"
    assert change["title"] == "Policy Dialogue on Frontier Technologies (revised)"
    assert "title" in change["changed_fields"]
    assert Path(crawl["log_file"]).is_file()


def test_report_of_an_unhealthy_crawl_says_why_and_lists_the_failed_pages(
    replica, db_path, tmp_path
):
    report_path = tmp_path / "run.json"
    replica.site.fail("/page/sub4_3_list.asp?page=2")

    result = run(crawl_args(replica, db_path, "--report", str(report_path)))

    assert result.returncode == 1
    report = json.loads(report_path.read_text())
    assert (report["healthy"], report["exit_status"]) == (False, 1)
    [crawl] = report["crawls"]
    assert crawl["healthy"] is False
    assert "listing incomplete" in crawl["problems_found"]
    failed = [problem["url"] for problem in crawl["pages_with_problems"]]
    assert any("sub4_3_list.asp" in url and "page=2" in url for url in failed), failed
    assert crawl["counts"]["errors"] == len(
        [p for p in crawl["pages_with_problems"] if p["kind"] == "error"]
    )


def test_a_report_path_that_cannot_be_written_is_a_usage_error(db_path, tmp_path):
    report_path = tmp_path / "no-such-dir" / "run.json"

    result = run([*UNPOG, "crawl", "--db", str(db_path), "--report", str(report_path)])

    assert result.returncode == 2
    assert "--report" in result.stderr and "does not exist" in result.stderr
    assert not db_path.exists()  # refused before anything was crawled or created


# --- cron ------------------------------------------------------------------------------------

CRON_FIELDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]  # minute hour day month weekday


def cron_jobs(path: Path) -> list[tuple[list[str], str]]:
    """(five time fields, command) for each job line; comments and VAR=value lines skipped."""
    jobs = []
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or re.match(r"^[A-Z_]+=", stripped):
            continue
        parts = stripped.split(None, 5)
        jobs.append((parts[:5], parts[5]))
    return jobs


def cron_field_ok(field: str, low: int, high: int) -> bool:
    for item in field.split(","):
        base, _, step = item.partition("/")
        if step and not step.isdigit():
            return False
        if base == "*":
            continue
        bounds = base.split("-")
        if not all(b.isdigit() and low <= int(b) <= high for b in bounds) or len(bounds) > 2:
            return False
    return True


def scheduler_env(**variables: str) -> dict[str, str]:
    """The near-empty environment of cron or systemd; PYTHONPATH passes through so that the
    code under test is the code that runs."""
    python_path = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}
    return {"PATH": "/usr/bin:/bin", **variables, **python_path}


def localise(text: str, data_dir: Path) -> str:
    """Move the deploy/ files' machine paths to this checkout's virtualenv and a temp dir."""
    return text.replace(INSTALLED_BIN, f"{BIN}/").replace(DATA_DIR, str(data_dir))


def test_crontab_line_is_valid_and_runs_as_cron_runs_it(replica, tmp_path):
    [(fields, command)] = cron_jobs(DEPLOY / "crontab.example")
    assert all(cron_field_ok(f, *bounds) for f, bounds in zip(fields, CRON_FIELDS, strict=True))
    assert "%" not in command  # cron turns % into a newline
    data_dir = tmp_path / "var-lib-unpog"
    data_dir.mkdir()
    site = shlex.join(["--base-url", replica.base_url, *FAST])

    # cron: /bin/sh -c, a minimal environment, no terminal.
    result = run(
        ["/bin/sh", "-c", f"{localise(command, data_dir)} {site}"],
        cwd=tmp_path,
        env=scheduler_env(HOME=str(tmp_path), SHELL="/bin/sh"),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("quarterly: crawl 1 finished, complete;")
    assert json.loads((data_dir / "last-run.json").read_text())["healthy"] is True
    assert len(log_files(data_dir / "unpog.db")) == 1


# --- systemd ---------------------------------------------------------------------------------


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(path.read_text(), source=str(path))
    return parser


def test_systemd_units_parse_and_the_timer_starts_the_service():
    service = unit(DEPLOY / "unpog-crawl.service")
    timer = unit(DEPLOY / "unpog-crawl.timer")

    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"].startswith(f"{INSTALLED_BIN}unpog crawl ")
    assert DATA_DIR in service["Service"]["ReadWritePaths"]
    assert "network-online.target" in service["Unit"]["After"]
    # A timer starts the service of the same name unless it says Unit=.
    assert timer["Timer"].get("Unit", "unpog-crawl.service") == "unpog-crawl.service"
    assert timer["Timer"]["OnCalendar"]
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_exec_start_runs_as_written(replica, tmp_path):
    data_dir = tmp_path / "var-lib-unpog"
    data_dir.mkdir()
    exec_start = unit(DEPLOY / "unpog-crawl.service")["Service"]["ExecStart"]
    command = shlex.split(localise(exec_start, data_dir))

    # systemd runs ExecStart without a shell or terminal, in a near-empty environment.
    result = run(
        [*command, "--base-url", replica.base_url, *FAST],
        cwd="/",
        env=scheduler_env(LANG="C.UTF-8"),
    )

    assert result.returncode == 0, result.stderr
    assert json.loads((data_dir / "last-run.json").read_text())["exit_status"] == 0


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_units(tmp_path):
    data_dir = tmp_path / "var-lib-unpog"
    data_dir.mkdir()
    units = tmp_path / "units"
    units.mkdir()
    for name in ("unpog-crawl.service", "unpog-crawl.timer"):
        (units / name).write_text(localise((DEPLOY / name).read_text(), data_dir))

    result = run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", "unpog-crawl.service", "unpog-crawl.timer"],
        cwd=units,
    )

    # verify exits 0 on unknown keys and bad values it ignores: its warnings count too.
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
    calendar = unit(DEPLOY / "unpog-crawl.timer")["Timer"]["OnCalendar"]
    assert run([SYSTEMD_ANALYZE, "calendar", calendar]).returncode == 0
