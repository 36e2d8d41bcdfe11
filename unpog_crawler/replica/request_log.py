"""The replica's log of the requests it answered, which tests read to see what a crawl asked for."""

from __future__ import annotations

import threading
from collections.abc import Iterator


class RequestLog:
    """Thread-safe log of (method, path+query, status), in the order requests were answered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[tuple[str, str, int]] = []

    def append(self, method: str, target: str, status: int) -> None:
        with self._lock:
            self._entries.append((method, target, status))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def snapshot(self) -> list[tuple[str, str, int]]:
        with self._lock:
            return list(self._entries)

    def count(self, fragment: str = "", status: int | None = None) -> int:
        """How many logged requests have `fragment` in their target (and `status`, if given)."""
        return sum(
            1
            for _, target, code in self.snapshot()
            if fragment in target and (status is None or code == status)
        )

    def __iter__(self) -> Iterator[tuple[str, str, int]]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __getitem__(self, index: int) -> tuple[str, str, int]:
        with self._lock:
            return self._entries[index]
