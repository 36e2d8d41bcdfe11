"""Check the scrapyd path end to end, on this machine only, as docs/running-on-a-schedule.md says.

    .venv/bin/python deploy/scrapyd_check.py            # serves the replica itself
    .venv/bin/python deploy/scrapyd_check.py --base-url http://127.0.0.1:8000 --keep

It starts scrapyd on 127.0.0.1 (a free port, its eggs, logs and queue in a temporary directory),
deploys this checkout with `scrapyd-deploy`, schedules `quarterly` with `schedule.json` (the
archive path and the site as settings), waits for the job to finish and checks the archive:
a finished, complete crawl without errors that archived articles. Exit status 0 when all of that
holds, 1 otherwise. tests/test_scrapyd.py runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PROJECT = "unpog_crawler"
BIN = Path(sys.executable).parent
# A local replica needs no politeness; everything else is the project's own settings.
FAST = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "LOG_LEVEL": "INFO"}


class CheckFailed(Exception):
    """One step did not do what the documentation says."""


def free_port() -> int:
    """A port that was free a moment ago (scrapyd cannot listen on port 0 and report it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_scrapyd_conf(workdir: Path, port: int) -> None:
    """scrapyd reads ./scrapyd.conf: keep every file it writes inside `workdir`."""
    (workdir / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        "bind_address = 127.0.0.1\n"
        f"http_port = {port}\n"
        f"eggs_dir = {workdir / 'eggs'}\n"
        f"logs_dir = {workdir / 'logs'}\n"
        f"dbs_dir = {workdir / 'dbs'}\n"
        "poll_interval = 0.2\n"
        "max_proc = 1\n",
        encoding="utf-8",
    )


def clean_env(workdir: Path) -> dict[str, str]:
    """The caller's environment without anything that would pick another Scrapy project, and
    with a user config dir holding only our deploy target."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCRAPY_", "SCRAPYD_"))}
    env["XDG_CONFIG_HOME"] = str(workdir / "config")
    return env


@contextlib.contextmanager
def running_scrapyd(workdir: Path, port: int) -> Iterator[str]:
    write_scrapyd_conf(workdir, port)
    url = f"http://127.0.0.1:{port}/"
    with (workdir / "scrapyd.out").open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "scrapyd", "--pidfile="],
            cwd=workdir,
            env=clean_env(workdir),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(url, process, workdir)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_up(url: str, process: subprocess.Popen, workdir: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CheckFailed(f"scrapyd exited at start:\n{tail(workdir / 'scrapyd.out')}")
        with contextlib.suppress(OSError):
            if get_json(url, "daemonstatus.json").get("status") == "ok":
                return
        time.sleep(0.2)
    raise CheckFailed(f"scrapyd did not answer within {timeout}s")


def get_json(url: str, endpoint: str, **params: str) -> dict[str, Any]:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"{url}{endpoint}{query}", timeout=10) as response:
        return json.load(response)


def post_form(url: str, endpoint: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
    data = urllib.parse.urlencode(fields).encode("ascii")
    with urllib.request.urlopen(f"{url}{endpoint}", data=data, timeout=10) as response:
        return json.load(response)


def deploy(url: str, workdir: Path) -> None:
    """`scrapyd-deploy check` from the checkout, as a user runs `scrapyd-deploy`; the target
    `check` (this scrapyd's port) comes from a user-level scrapy.cfg, so the checkout's own
    scrapy.cfg is used unchanged."""
    config = workdir / "config"
    config.mkdir(exist_ok=True)
    (config / "scrapy.cfg").write_text(f"[deploy:check]\nurl = {url}\n", encoding="utf-8")
    result = subprocess.run(
        [str(BIN / "scrapyd-deploy"), "check", "--version", "check-1"],
        cwd=REPO,
        env=clean_env(workdir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0 or '"status": "ok"' not in result.stdout:
        raise CheckFailed(f"scrapyd-deploy failed:\n{result.stdout}\n{result.stderr}")
    spiders = get_json(url, "listspiders.json", project=PROJECT).get("spiders", [])
    if "quarterly" not in spiders:
        raise CheckFailed(f"the deployed project lists spiders {spiders}, not quarterly")


def schedule(url: str, db_path: Path, base_url: str) -> str:
    """The documented call: `schedule.json` with the archive path and the site as settings."""
    settings = {"UNPOG_ARCHIVE_DB": str(db_path), "UNPOG_BASE_URL": base_url, **FAST}
    fields = [("project", PROJECT), ("spider", "quarterly")]
    fields += [("setting", f"{name}={value}") for name, value in settings.items()]
    answer = post_form(url, "schedule.json", fields)
    if answer.get("status") != "ok":
        raise CheckFailed(f"schedule.json refused the job: {answer}")
    return answer["jobid"]


def wait_for_job(url: str, job: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = get_json(url, "listjobs.json", project=PROJECT)
        if any(entry["id"] == job for entry in jobs.get("finished", [])):
            return
        time.sleep(0.3)
    raise CheckFailed(f"job {job} did not finish within {timeout}s")


def check_archive(db_path: Path) -> dict[str, Any]:
    """The job's crawl row must say: finished, complete, no errors, articles archived."""
    if not db_path.exists():
        raise CheckFailed(f"the job wrote no archive at {db_path}")
    connection = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    try:
        crawl = connection.execute("select * from crawls order by id desc limit 1").fetchone()
        articles = connection.execute("select count(*) from articles").fetchone()[0]
    finally:
        connection.close()
    if crawl is None:
        raise CheckFailed(f"{db_path} has no crawl")
    row = dict(crawl)
    if (row["status"], row["complete"], row["errors"]) != ("finished", 1, 0) or not articles:
        raise CheckFailed(f"the crawl did not finish cleanly: {row}, {articles} articles")
    return {**row, "articles": articles}


def job_log(workdir: Path, job: str) -> Path:
    return workdir / "logs" / PROJECT / "quarterly" / f"{job}.log"


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return f"({path} does not exist)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_check(workdir: Path, base_url: str) -> dict[str, Any]:
    db_path = workdir / "archive" / "unpog.db"
    with running_scrapyd(workdir, free_port()) as url:
        print(f"scrapyd answering at {url}", flush=True)
        deploy(url, workdir)
        print(f"deployed {PROJECT} from {REPO}", flush=True)
        job = schedule(url, db_path, base_url)
        print(f"scheduled quarterly against {base_url}: job {job}", flush=True)
        wait_for_job(url, job)
        try:
            crawl = check_archive(db_path)
        except CheckFailed as failure:
            raise CheckFailed(f"{failure}\njob log:\n{tail(job_log(workdir, job))}") from None
    print(
        f"job {job} finished: crawl {crawl['id']} {crawl['status']}, {crawl['new']} new, "
        f"{crawl['articles']} articles in {db_path}; job log {job_log(workdir, job)}",
        flush=True,
    )
    return crawl


@contextlib.contextmanager
def site_to_crawl(base_url: str | None) -> Iterator[str]:
    if base_url:
        yield base_url.rstrip("/")
        return
    from unpog_crawler.replica.server import serve

    with serve() as server:
        yield server.base_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="site to crawl (default: serve the replica here)")
    parser.add_argument("--workdir", type=Path, help="keep scrapyd's files here (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="unpog-scrapyd-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        with site_to_crawl(args.base_url) as base_url:
            run_check(workdir.resolve(), base_url)
    except (CheckFailed, OSError, subprocess.SubprocessError) as failure:
        print(f"scrapyd check FAILED: {failure}", file=sys.stderr)
        return 1
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"scrapyd's files are in {workdir}")
    print("scrapyd check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
