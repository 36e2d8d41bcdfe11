"""Serve the replica until Ctrl-C: `python -m unpog_crawler.replica [--port 8000]`."""

from __future__ import annotations

import argparse
import contextlib
import threading

from unpog_crawler.replica.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the local replica of UNPOG's Quarterly.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    args = parser.parse_args(argv)
    with serve(host=args.host, port=args.port) as server:
        print(server.base_url, flush=True)
        print(f"list page: {server.base_url}/page/sub4_3_list.asp (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()  # the server runs in its own thread


if __name__ == "__main__":
    main()
