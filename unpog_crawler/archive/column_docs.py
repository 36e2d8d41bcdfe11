"""What each table and column of the archive holds, in words (the schema section of
docs/schema.md and Datasette's metadata are made from it: see `schema_doc`)."""

from __future__ import annotations

TABLE_DOCS: dict[str, str] = {
    "crawls": "One row per crawl: when it ran, how it ended and what it found.",
    "articles": "Every article ever archived, in its latest state (one row per canonical URL).",
    "versions": (
        "Every distinct content of every article; a new version is written only when a content "
        "field changes. Each row is complete on its own."
    ),
    "changes": "What each crawl found: new, changed, removed and restored articles.",
    "crawl_problems": "Pages a crawl could not fetch (error) or could not read as an article.",
    "http_validators": (
        "HTTP validators of each article page, sent back as If-None-Match / If-Modified-Since "
        "so that an unchanged page costs a 304 answer instead of a download."
    ),
    "list_pages": (
        "Each list page's last full answer: its validators and the links it gave, replayed "
        "when the server answers 304 so that a conditional re-crawl still sees every listing."
    ),
    "list_rows": (
        "What a list page showed of each post (title, dates, counters) when the post was last "
        "fetched: a row that shows something else moves the post to the front of the next "
        "crawl (the revisit policy's hints)."
    ),
    "issues": "One row per issue of the Quarterly, built from articles.issue.",
    "files": (
        "Every attachment and image linked from an article: one row per URL and content "
        "(a file whose bytes change at the same URL gets a new row); stored in the archive's "
        "files folder (archive/unpog/files/ for archive/unpog.db) by SHA-256 when downloaded."
    ),
    "version_files": "Which files (files.id) each version of an article links.",
    "latest_versions": "Each live article with the fields of its latest version.",
    "change_log": (
        "Each change with the crawl that found it, the article's title and URL and the "
        "fields that changed."
    ),
    "removed_articles": "Articles gone from the site, with when, by which crawl and why.",
    "captures": (
        "Index of every WARC record the crawls wrote (archive/unpog/warc/ for "
        "archive/unpog.db): one row per record, "
        "with where it lies in which file and the digests that `unpog verify` checks."
    ),
}


_RECORD_COLUMN_DOCS: dict[str, str] = {
    "url": "Canonical URL: path and canonical query, never host or scheme",
    "fetched_url": "Absolute URL that was fetched (host and scheme as crawled)",
    "source_id": "The site's id: the 'sn' value, or the file stem of a whole-issue page",
    "section": "Site section, e.g. 'quarterly'",
    "kind": "welcome_note, article or issue_page",
    "title": "Article heading",
    "body_text": "Body text, paragraphs separated by one blank line",
    "body_html": "Sanitised HTML of the article container (provenance, not content)",
    "event_start": "Event start date (ISO), event reports only",
    "event_end": "Event end date (ISO), event reports only",
    "event_place": "Event place, event reports only",
    "authors": "JSON list of signature / author block lines, in page order",
    "footnotes": "JSON list of footnote texts",
    "images": "JSON list of absolute image URLs",
    "attachments": "JSON list of attachments as {url, name}",
    "issue": "Issue the page itself states, e.g. '2019-Q1' (NULL when it states none)",
    "page_sha256": "SHA-256 of the raw response bytes (provenance)",
    "encoding": "Charset the page was decoded with",
    "published": "Publication date (ISO) printed with the title or in a dateline; NULL if none",
    "place": "Place of a press-release dateline, as printed (e.g. 'INCHEON'); NULL if none",
    "board_id": "Raw BoardID of a Theme or Publications board (e.g. '0004'); NULL elsewhere",
    "found_by": (
        "How the crawl reached the page: list (a list page of that crawl links it), link "
        "(prev/next, re-check) or sweep"
    ),
}


_CHANGE_REASON_DOC = (
    "Why an article was found removed; where a version was re-derived, the capture it came "
    "from (and the parser change, when a crawl did it); 'parser changed from X to Y; no "
    "capture to compare' on a change found while the parser changed; NULL otherwise (on a "
    "'changed' row: the site changed)"
)


COLUMN_DOCS: dict[str, dict[str, str]] = {
    "crawls": {
        "id": "Crawl number",
        "spider": "Name of the spider that ran",
        "started_at": "UTC start time (ISO 8601)",
        "finished_at": "UTC end time (ISO 8601); NULL while running",
        "status": (
            "running, finished, failed, interrupted, or degraded (finished but broke a health "
            "rule: no removals written)"
        ),
        "complete": "1 when every list page was read (removals are only inferred then), else 0",
        "base_url": "Site root the crawl started from",
        "settings": "JSON of the settings that shaped the crawl",
        "pages": "Pages downloaded successfully",
        "articles_seen": "Article pages read as articles",
        "new": "Articles seen for the first time",
        "changed": "Articles whose content changed (a new version)",
        "unchanged": "Articles seen with the same content",
        "removed": "Articles found removed by this crawl",
        "restored": "Removed articles seen again",
        "parse_failures": "Pages fetched but not read as an article",
        "errors": "Pages that could not be fetched",
        "listed": "Distinct articles the list pages linked (NULL for crawls before 0003)",
        "health": (
            "JSON list of the health rules the crawl broke, each {rule, message}; [] when "
            "healthy, NULL for crawls before 0003"
        ),
        "revisit_due": (
            "Archived posts the lists showed that were due (hinted, at UNPOG_REVISIT_MAX_AGE "
            "or past their revisit interval; all of them with UNPOG_REVISIT=all); NULL when "
            "no plan was made (the crawl ended first, or crawls before 0010)"
        ),
        "revisit_fetched": (
            "Archived posts the lists showed that the crawl asked for again (due, and the "
            "rotation); a fetch that failed is also one of its errors"
        ),
        "revisit_skipped": (
            "Archived posts the lists showed that the crawl left alone: still listed, never "
            "removed for it"
        ),
        "revisit_deferred": "Due posts left to a later crawl by UNPOG_REVISIT_BUDGET",
        "verified_since": (
            "UTC time every live article of the spider was fetched since, after this crawl "
            "(the oldest articles.last_seen); NULL for crawls before 0010"
        ),
    },
    "articles": {
        "id": "Article number",
        "url": "Canonical URL (unique): path and canonical query, never host or scheme",
        "source_id": _RECORD_COLUMN_DOCS["source_id"],
        "section": _RECORD_COLUMN_DOCS["section"],
        "kind": "Kind in the latest version: welcome_note, article or issue_page",
        "spider": "Spider whose complete crawls decide this article's removal",
        "title": "Title in the latest version",
        "first_seen": "UTC time the article was first captured",
        "last_seen": "UTC time the article was last captured",
        "current_version": "Number of the latest version",
        "status": "live, or removed (gone from the site)",
        "issue": "Quarterly issue it belongs to (derived), NULL when unknown",
        "issue_basis": "stated (the page says so) or inferred (from the Welcome Note before it)",
        "last_seen_crawl_id": "Last crawl that read the article page",
        "last_listed_crawl_id": "Last crawl that found the article on a list page",
        "board_id": _RECORD_COLUMN_DOCS["board_id"],
        "published": "Publication date (ISO) in the latest version; NULL if none",
        "place": "Dateline place in the latest version; NULL if none",
        "found_by": "How the last crawl that read it reached it: list, link or sweep",
    },
    "files": {
        "id": "Row number",
        "url": "The file's link identity: path and query on the site, else the absolute URL",
        "name": "Link text of the attachment, or the image's file name, when first seen",
        "role": "attachment or image",
        "content_type": "HTTP Content-Type of the download; NULL when not downloaded",
        "size": "Size in bytes; NULL when not downloaded",
        "sha256": "SHA-256 of the bytes; NULL when not downloaded (off, failed or too large)",
        "path": (
            "Where the bytes are, relative to the archive's files folder (archive/unpog/files/); "
            "NULL when not downloaded"
        ),
        "first_seen": "UTC time this content was first seen at this URL",
        "first_crawl_id": "Crawl that first saw this content at this URL",
    },
    "version_files": {
        "version_id": "The version (versions.id)",
        "file_id": "A file it links (files.id)",
    },
    "versions": {
        "id": "Row number",
        "article_id": "The article",
        "version": "Version number of the article, from 1",
        "crawl_id": "Crawl that captured this version",
        "captured_at": "UTC time this version was captured",
        "content_hash": "SHA-256 of the content fields as sorted-key JSON (links by identity)",
        "changed_fields": "JSON list of the content fields that differ from the previous version",
        **_RECORD_COLUMN_DOCS,
        "capture_id": "WARC record (captures.id) this version was parsed from; NULL before 0004",
        "rederived": (
            "1 when it was re-derived from a stored capture (by `unpog reparse`, or by a "
            "crawl whose parser differs from the one that read the capture), else 0"
        ),
        "parser_version": (
            "Version of the parser that read the page into this version (parse."
            "PARSER_VERSION); NULL before 0009 (unknown)"
        ),
    },
    "captures": {
        "id": "Row number (in write order)",
        "crawl_id": "Crawl that wrote the record",
        "record_type": "WARC-Type: warcinfo, request, response, revisit or metadata",
        "record_id": "WARC-Record-ID (unique)",
        "url": "WARC-Target-URI: the absolute URL fetched (NULL for warcinfo)",
        "canonical_url": "Canonical URL of `url` (NULL for warcinfo)",
        "page_type": "What the crawl fetched it as: list, article, robots (NULL: other)",
        "fetched_at": "WARC-Date: UTC time the request was sent (ISO 8601, microseconds)",
        "status": "HTTP status (response and revisit records)",
        "content_type": "HTTP Content-Type of the response, as sent",
        "payload_digest": "WARC-Payload-Digest (sha1, base32) of the body as received",
        "block_digest": "WARC-Block-Digest (sha1, base32) of the whole record block",
        "length": "Payload length in bytes as received (still content-encoded)",
        "warc_file": "WARC file, relative to the archive database's folder when inside it",
        "offset": "Byte offset of the record's gzip member in the WARC file",
        "record_length": "Length in bytes of the record's gzip member",
        "revisit_of": "For a revisit: the response record (captures.id) holding the payload",
        "concurrent_to": "Record (captures.id) written with it: a request's response, or an "
        "error's request",
    },
    "changes": {
        "id": "Row number",
        "crawl_id": "Crawl that found the change",
        "article_id": "The article",
        "kind": "new, changed, removed or restored",
        "from_version": "Version before the change (NULL for new)",
        "to_version": "Version after the change (NULL for removed)",
        "changed_fields": "JSON list of the content fields that changed",
        "at": "UTC time of the change",
        "reason": _CHANGE_REASON_DOC,
    },
    "http_validators": {
        "url": "Canonical URL of an article page",
        "etag": "ETag the server sent with the page's last full answer",
        "last_modified": "Last-Modified the server sent with it",
        "updated_at": "UTC time they were stored",
    },
    "list_pages": {
        "url": "Canonical URL of a list page",
        "spider": "Spider that read it",
        "etag": "ETag of the page's last full answer",
        "last_modified": "Last-Modified of that answer",
        "views": "JSON list of the canonical article URLs it listed",
        "issue_pages": "JSON list of the whole-issue pages it linked",
        "list_pages": "JSON list of the other list pages it linked (paging)",
        "crawl_id": "Crawl that stored this answer",
        "updated_at": "UTC time it was stored",
    },
    "list_rows": {
        "url": "Canonical URL of the post (a view page, or a whole-issue page)",
        "title": "The row's title (the link's text)",
        "dates": "JSON list of the ISO dates the row shows, in page order",
        "comments": "Comment counter the row shows; NULL when it shows none",
        "attachments": "Attachment counter (or file icons) the row shows; NULL when none",
        "views": "View counter the row shows (read, never a hint: every reader moves it)",
        "crawl_id": "Crawl that recorded the row",
        "recorded_at": (
            "UTC time it was recorded: when the post was fetched, or when first listed"
        ),
    },
    "crawl_problems": {
        "id": "Row number",
        "crawl_id": "The crawl",
        "url": "URL of the page",
        "kind": "error (not fetched) or parse_failure (fetched, not an article)",
        "reason": "What went wrong",
        "at": "UTC time",
    },
    "issues": {
        "label": "The issue as stated by its pages, e.g. '2019-Q1'",
        "basis": "stated when a page of the issue states it, else inferred",
        "welcome_note_id": "The issue's Welcome Note (articles.id)",
        "welcome_note_url": "The issue's Welcome Note URL",
        "first_source_id": "Lowest numeric source_id (sn) in the issue",
        "articles": "Number of articles in the issue",
        "stated_articles": "Articles that state the issue themselves",
        "inferred_articles": "Articles placed in the issue by their sn order",
        "live_articles": "Articles of the issue still live",
    },
    "latest_versions": {
        "article_id": "The article (articles.id)",
        "url": "Canonical URL of the article",
        "status": "live or removed",
        "version": "Version number of this version",
        "version_id": "The version row (versions.id; also its versions_fts and latest_fts rowid)",
        "crawl_id": "Crawl that captured this version",
        "captured_at": "UTC time this version was captured",
        "changed_fields": "JSON list of the content fields that differ from the previous version",
        "content_hash": "SHA-256 of the content fields",
        "source_id": _RECORD_COLUMN_DOCS["source_id"],
        "section": _RECORD_COLUMN_DOCS["section"],
        "kind": _RECORD_COLUMN_DOCS["kind"],
        "title": _RECORD_COLUMN_DOCS["title"],
        "issue": "Quarterly issue it belongs to (derived), NULL when unknown",
        "issue_basis": "stated (the page says so) or inferred (from the Welcome Note before it)",
        "stated_issue": "Issue the page itself states, NULL when it states none",
        "event_start": _RECORD_COLUMN_DOCS["event_start"],
        "event_end": _RECORD_COLUMN_DOCS["event_end"],
        "event_place": _RECORD_COLUMN_DOCS["event_place"],
        "authors": _RECORD_COLUMN_DOCS["authors"],
        "footnotes": _RECORD_COLUMN_DOCS["footnotes"],
        "images": _RECORD_COLUMN_DOCS["images"],
        "attachments": _RECORD_COLUMN_DOCS["attachments"],
        "body_text": _RECORD_COLUMN_DOCS["body_text"],
        "fetched_url": _RECORD_COLUMN_DOCS["fetched_url"],
        "page_sha256": _RECORD_COLUMN_DOCS["page_sha256"],
        "encoding": _RECORD_COLUMN_DOCS["encoding"],
        "first_seen": "UTC time the article was first captured",
        "last_seen": "UTC time the article was last captured",
    },
    "change_log": {
        "id": "The change (changes.id)",
        "crawl_id": "Crawl that found the change",
        "crawl_started_at": "UTC start time of that crawl",
        "at": "UTC time of the change",
        "kind": "new, changed, removed or restored",
        "article_id": "The article",
        "title": "Article title in the version the change produced (or the last one)",
        "url": "Canonical URL of the article",
        "section": _RECORD_COLUMN_DOCS["section"],
        "from_version": "Version before the change (NULL for new)",
        "to_version": "Version after the change (NULL for removed)",
        "changed_fields": "JSON list of the content fields that changed",
        "reason": _CHANGE_REASON_DOC,
    },
    "removed_articles": {
        "article_id": "The article",
        "url": "Canonical URL of the article",
        "source_id": _RECORD_COLUMN_DOCS["source_id"],
        "section": _RECORD_COLUMN_DOCS["section"],
        "kind": "Kind in the last version",
        "title": "Title in the last version",
        "issue": "Quarterly issue it belonged to (derived), NULL when unknown",
        "first_seen": "UTC time the article was first captured",
        "last_seen": "UTC time the article was last captured",
        "last_version": "Number of its last version",
        "removed_by_crawl_id": "Crawl that found it removed",
        "removed_at": "UTC time it was found removed",
        "reason": "Why it was found removed",
    },
}
