"""The capture index (0004): where each WARC record of a crawl lies. Written by
`unpog_crawler.capture` during a crawl, read by verify, reparse and cdx."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from unpog_crawler.archive.errors import ArchiveError
from unpog_crawler.archive.file import ArchiveFile, _waits_when_busy

# Columns of the captures table that a writer fills (all but id), in table order.
CAPTURE_COLUMNS = (
    "crawl_id",
    "record_type",
    "record_id",
    "url",
    "canonical_url",
    "page_type",
    "fetched_at",
    "status",
    "content_type",
    "payload_digest",
    "block_digest",
    "length",
    "warc_file",
    "offset",
    "record_length",
    "revisit_of",
    "concurrent_to",
)


def capture_time(warc_date: str) -> str:
    """A WARC-Date ('2024-05-01T09:30:00.123456Z') in the archive's time format, to the second
    ('2024-05-01T09:30:00+00:00'), so that re-derived versions sort with crawled ones."""
    moment = datetime.fromisoformat(warc_date.replace("Z", "+00:00"))
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


class CaptureIndex(ArchiveFile):
    """The WARC record index: `captures` rows."""

    @_waits_when_busy
    def add_captures(self, rows: list[Mapping[str, Any]]) -> list[int]:
        """Index WARC records written together (one transaction); returns their ids in order.

        A row may name its partner by position with `concurrent_to_index` (a request written
        with its response), since neither id is known before the insert.
        """
        ids: list[int] = []
        with self._transaction():
            for row in rows:
                values = {name: row.get(name) for name in CAPTURE_COLUMNS}
                partner = row.get("concurrent_to_index")
                if partner is not None:
                    values["concurrent_to"] = ids[partner]
                placeholders = ", ".join("?" for _ in CAPTURE_COLUMNS)
                cursor = self.db.execute(
                    f"INSERT INTO captures ({', '.join(CAPTURE_COLUMNS)}) VALUES ({placeholders})",
                    list(values.values()),
                )
                ids.append(int(cursor.lastrowid))
        return ids

    def revisit_target(self, url: str, payload_digest: str) -> dict[str, Any] | None:
        """The latest full response of `url` whose payload has this digest, if any."""
        rows = self.db.query(
            "SELECT * FROM captures WHERE url = ? AND payload_digest = ? "
            "AND record_type = 'response' ORDER BY id DESC LIMIT 1",
            [url, payload_digest],
        )
        return next(iter(rows), None)

    def latest_page_capture(self, crawl_id: int, url: str) -> int | None:
        """The last response (or revisit) of canonical `url` in a crawl: a version's source."""
        row = self.db.execute(
            "SELECT id FROM captures WHERE crawl_id = ? AND canonical_url = ? "
            "AND record_type IN ('response', 'revisit') ORDER BY id DESC LIMIT 1",
            [crawl_id, url],
        ).fetchone()
        return row[0] if row else None

    def capture(self, capture_id: int) -> dict[str, Any]:
        rows = list(self.db.query("SELECT * FROM captures WHERE id = ?", [capture_id]))
        if not rows:
            raise ArchiveError(f"no capture {capture_id} in {self.path}")
        return rows[0]

    def captures(
        self, *, crawl_id: int | None = None, page_type: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Indexed WARC records in write order, optionally of one crawl or page type."""
        return self.db.query(
            "SELECT * FROM captures WHERE (:crawl IS NULL OR crawl_id = :crawl) "
            "AND (:type IS NULL OR page_type = :type) ORDER BY id",
            {"crawl": crawl_id, "type": page_type},
        )

    def count_captures(self, *, crawl_id: int | None = None, page_type: str | None = None) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM captures WHERE (:crawl IS NULL OR crawl_id = :crawl) "
            "AND (:type IS NULL OR page_type = :type)",
            {"crawl": crawl_id, "type": page_type},
        ).fetchone()[0]

    def warc_file_extents(self) -> list[dict[str, Any]]:
        """Each WARC file the index names: where its last indexed record ends (`end`) and the
        crawl that wrote that record; bytes past `end` were written but never indexed."""
        return list(
            self.db.query(
                "SELECT warc_file, MAX(offset + record_length) AS end, "
                "MAX(crawl_id) AS crawl_id FROM captures GROUP BY warc_file ORDER BY warc_file"
            )
        )

    def capture_ids(self, record_ids: list[str]) -> dict[str, int]:
        """captures.id of each WARC-Record-ID that is indexed."""
        found: dict[str, int] = {}
        for record_id in record_ids:
            row = self.db.execute(
                "SELECT id FROM captures WHERE record_id = ?", [record_id]
            ).fetchone()
            if row:
                found[record_id] = row[0]
        return found
