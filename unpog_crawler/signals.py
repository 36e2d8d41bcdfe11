"""The project's own Scrapy signals.

`archive_opened` (archive, crawl_id): the archive pipeline opened the archive and started the
crawl row. Components that must write to the archive during the crawl (WARC capture) take
this connection: a second connection opened and closed in the same process would drop
SQLite's POSIX locks under the first.
"""

archive_opened = object()
