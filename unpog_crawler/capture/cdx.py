"""A CDXJ index of the captured responses and revisits, for replay tools (pywb).

`304 Not Modified` answers (to the crawl's conditional requests) stay in the WARC files, as
provenance of when the page was checked, but not in this index: a replay tool would serve
the empty 304 for that time and every later one, "latest" included, where the content is
the last full answer's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit


def surt(url: str) -> str:
    """Sort-friendly URI Reordering Transform, as pywb's `surt` package writes it by default:
    lower case, host reversed with commas and without 'www.', default port dropped, query
    parameters sorted."""
    parts = urlsplit(url.strip().lower())
    host = parts.hostname or ""
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme)
    key = ",".join(reversed(host.split(".")))
    if port and port != default:
        key += f":{port}"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return f"{key}){parts.path or '/'}" + (f"?{query}" if query else "")


def cdx_timestamp(warc_date_value: str) -> str:
    return "".join(ch for ch in warc_date_value if ch.isdigit())[:14]


def _cdx_type_fields(capture: Mapping[str, Any]) -> dict[str, str]:
    """mime and status as pywb's indexer writes them: a revisit has neither of its own."""
    if capture["record_type"] == "revisit":
        return {"mime": "warc/revisit"}
    mime = (capture["content_type"] or "unk").split(";")[0].strip()
    return {"mime": mime, "status": str(capture["status"])}


def replayable(capture: Mapping[str, Any]) -> bool:
    """A response or revisit record a replay tool can serve: not a 304 answer."""
    return capture["record_type"] in ("response", "revisit") and capture["status"] != 304


def cdxj_lines(captures: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """CDXJ lines of the replayable records (`replayable`), sorted as replay tools need them."""
    lines = []
    for capture in captures:
        if not replayable(capture):
            continue
        fields = {"url": capture["url"], **_cdx_type_fields(capture)}
        fields["digest"] = (capture["payload_digest"] or "").removeprefix("sha1:")
        fields["length"] = str(capture["record_length"])
        fields["offset"] = str(capture["offset"])
        fields["filename"] = Path(capture["warc_file"]).name
        key = f"{surt(capture['url'])} {cdx_timestamp(capture['fetched_at'])}"
        lines.append(f"{key} {json.dumps(fields, ensure_ascii=False)}")
    yield from sorted(lines)
