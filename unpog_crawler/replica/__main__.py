"""Serve the replica until Ctrl-C: `python -m unpog_crawler.replica [--port 8000]
[--template-seed N]` (a generated template: docs/generated-templates.md)."""

from __future__ import annotations

import argparse
import contextlib
import threading

from unpog_crawler.replica.server import ReplicaSite, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the local replica of UNPOG's Quarterly.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument(
        "--template-seed",
        type=int,
        default=None,
        metavar="N",
        help="serve every board in the generated template N (default: today's templates)",
    )
    args = parser.parse_args(argv)
    site = ReplicaSite(template_seed=args.template_seed)
    with serve(site, host=args.host, port=args.port) as server:
        print(server.base_url, flush=True)
        print(f"list page: {server.base_url}/page/sub4_3_list.asp (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()  # the server runs in its own thread


if __name__ == "__main__":
    main()
