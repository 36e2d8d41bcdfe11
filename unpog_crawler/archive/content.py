"""Content identity: what makes two captures of an article the same version.

A version is written only when a field of ``CONTENT_FIELDS`` changes; links (images,
attachments) are compared by their identity on the site, so a mirror host or another scheme
is not a change, nor is markup (``body_html``) or the raw page bytes (``page_sha256``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from unpog_crawler.items import CONTENT_FIELDS, ArticleRecord
from unpog_crawler.site import link_identity

# Fields of ArticleRecord stored as JSON lists in a version row.
JSON_LIST_FIELDS = ("authors", "footnotes", "images", "attachments")
# Every ArticleRecord field a version row keeps (all but parser_notes), in table order.
VERSION_RECORD_FIELDS = (
    "url",
    "fetched_url",
    "source_id",
    "section",
    "kind",
    "title",
    "body_text",
    "body_html",
    "event_start",
    "event_end",
    "event_place",
    "authors",
    "footnotes",
    "images",
    "attachments",
    "issue",
    "page_sha256",
    "encoding",
    "published",
    "place",
    "board_id",
    "found_by",
)


def utc_now() -> str:
    """The current UTC time as ISO 8601 to the second, e.g. '2024-05-01T09:30:00+00:00'."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _content(values: Mapping[str, Any], base: str) -> dict[str, Any]:
    """The CONTENT_FIELDS of a record or of a stored version, as comparable plain data.

    `values` holds either an ArticleRecord's fields or a version row (JSON lists decoded).
    """
    content: dict[str, Any] = {}
    for name in CONTENT_FIELDS:
        value = values.get(name)
        if name == "images":
            value = [link_identity(url, base) for url in value or ()]
        elif name == "attachments":
            value = [
                {"url": link_identity(a["url"], base), "name": a["name"]}
                for a in (_attachment_dict(a) for a in value or ())
            ]
        elif isinstance(value, (list, tuple)):
            value = list(value)
        content[name] = value
    return content


def _record_fields(record: ArticleRecord) -> dict[str, Any]:
    """The record's content fields, as they are (asdict would deep-copy every field)."""
    return {name: getattr(record, name) for name in CONTENT_FIELDS}


def _attachment_dict(attachment: Any) -> dict[str, str]:
    if isinstance(attachment, Mapping):
        return {"url": attachment["url"], "name": attachment["name"]}
    return {"url": attachment.url, "name": attachment.name}


def _hash_content(content: Mapping[str, Any]) -> str:
    payload = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def content_hash(record: ArticleRecord) -> str:
    """SHA-256 of the record's CONTENT_FIELDS as sorted-key JSON, links by site identity."""
    return _hash_content(_content(_record_fields(record), record.fetched_url))


def _version_values(record: ArticleRecord) -> dict[str, Any]:
    """The record's fields as version-row column values (lists as JSON)."""
    values = {}
    for name in VERSION_RECORD_FIELDS:
        value = getattr(record, name)
        if name == "attachments":
            value = [_attachment_dict(a) for a in value]
        if name in JSON_LIST_FIELDS:
            value = json.dumps(list(value), ensure_ascii=False)
        values[name] = value
    return values


def _changed_fields(
    content: Mapping[str, Any], hash_: str, version: Mapping[str, Any]
) -> list[str]:
    """The content fields in which `content` (hashed as `hash_`) differs from a version row."""
    if hash_ == version["content_hash"]:
        return []
    old_content = _row_content(version)
    return [name for name in CONTENT_FIELDS if content[name] != old_content[name]]


def _row_content(row: Mapping[str, Any]) -> dict[str, Any]:
    decoded = dict(row)
    for name in JSON_LIST_FIELDS:
        decoded[name] = json.loads(row[name])
    return _content(decoded, row["fetched_url"])


def _decode_lists(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row with its JSON list columns (authors, footnotes, ..., changed_fields) decoded."""
    decoded = dict(row)
    for name in (*JSON_LIST_FIELDS, "changed_fields"):
        if isinstance(decoded.get(name), str):
            decoded[name] = json.loads(decoded[name])
    return decoded
