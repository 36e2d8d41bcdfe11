#!/usr/bin/env python
"""How long `unpog crawl` takes to say that the site cannot be reached, and what it says.

    .venv/bin/python scripts/first_contact.py [--timeout 60]

Runs `unpog crawl` (every spider, the default settings but DOWNLOAD_TIMEOUT) against a host
name that does not resolve, a refused port on 127.0.0.1 and a server that accepts connections
and never answers, each into a fresh archive, and prints per case the exit status, the
seconds it took, the number of lines printed and the line itself. Timings are figures for
this machine, not a test (tests/test_first_contact.py checks the behaviour).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

UNPOG = [sys.executable, "-m", "unpog_crawler.cli", "crawl"]


@contextlib.contextmanager
def site(kind: str) -> Iterator[str]:
    if kind == "host name does not resolve":
        yield "http://unpog.invalid"
        return
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        if kind == "server never answers":
            server.listen(8)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60, help="DOWNLOAD_TIMEOUT (s)")
    args = parser.parse_args()
    kinds = ("host name does not resolve", "connection refused", "server never answers")
    print(f"| case | exit | seconds | lines printed | DOWNLOAD_TIMEOUT {args.timeout:g} s |")
    print("|---|---|---|---|---|")
    for kind in kinds:
        with tempfile.TemporaryDirectory() as folder, site(kind) as base_url:
            db = Path(folder) / "unpog.db"
            command = [*UNPOG, "--base-url", base_url, "--db", str(db)]
            command += ["-s", f"DOWNLOAD_TIMEOUT={args.timeout:g}", "-L", "WARNING"]
            started = time.monotonic()
            result = subprocess.run(command, capture_output=True, text=True)
            seconds = time.monotonic() - started
        lines = (result.stdout + result.stderr).strip().splitlines()
        shown = lines[0][:110] + "…" if lines else ""
        print(f"| {kind} | {result.returncode} | {seconds:.1f} | {len(lines)} | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
