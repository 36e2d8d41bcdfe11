"""Attachments and images of articles, downloaded with Scrapy's files machinery.

`ArchiveFilesPipeline` runs before the archive pipeline: for each article it downloads every
attachment and image on the site's own host, stores the bytes under `archive/files/` by
their SHA-256 (`ab/ab12….pdf`: the same bytes are stored once, whatever their URL), and
hands the article on with `downloads` filled in. The archive then records them in its
`files` table; a file whose bytes change at the same URL becomes a new row there, and a new
version of the article says `files` changed.

Every linked file is downloaded on every crawl that reads the article: a changed PDF at an
unchanged URL can only be seen by fetching it (FILES_EXPIRES caching would hide it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import mimetypes
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.pipelines.files import FilesPipeline

from unpog_crawler import site
from unpog_crawler.items import ArticleRecord, StoredFile


def files_dir(settings: Any) -> Path:
    """UNPOG_FILES_DIR, or files/ beside the archive database (archive/files/)."""
    configured = settings.get("UNPOG_FILES_DIR")
    if configured:
        return Path(configured).resolve()
    return Path(settings.get("UNPOG_ARCHIVE_DB")).resolve().parent / "files"


def linked_files(record: ArticleRecord) -> list[tuple[str, str, str]]:
    """(url, role, name) of each attachment and image the record links, on the site only."""
    found = [(a.url, "attachment", a.name) for a in record.attachments]
    found += [(url, "image", Path(urlsplit(url).path).name) for url in record.images]
    return _site_files(found, urlsplit(record.fetched_url).netloc)


def _site_files(found: list[tuple[str, str, str]], page_host: str) -> list[tuple[str, str, str]]:
    seen: set[str] = set()
    kept = []
    for url, role, name in found:
        # Files elsewhere (a partner's site, a cloud drive) are recorded, never fetched.
        if url in seen or not site.is_site_host(urlsplit(url).netloc, page_host):
            continue
        seen.add(url)
        kept.append((url, role, name))
    return kept


def on_base(url: str, base_url: str) -> str:
    """The file's path and query on UNPOG_BASE_URL's scheme, host and port: a file on one of
    the site's hosts (www.unpog.org, another port) is fetched where the crawl is pointed,
    never from an origin a page chose (issue 18). Its recorded URL stays as linked."""
    parts = urlsplit(url)
    return site.absolute_url(
        base_url, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    )


def extension(url: str, content_type: str = "") -> str:
    """A file extension for storage: from a file name in the query or path, else the type."""
    parts = urlsplit(url)
    for candidate in [*(v for _, v in parse_qsl(parts.query)), parts.path]:
        suffix = Path(candidate).suffix.lower()
        if suffix and suffix != ".asp" and suffix in mimetypes.types_map:
            return suffix
    guessed = mimetypes.guess_extension(content_type.split(";")[0].strip()) if content_type else ""
    return guessed or ""


def _content_type(response: Response) -> str:
    return (response.headers.get(b"Content-Type") or b"").decode("latin-1")


class ArchiveFilesPipeline(FilesPipeline):
    """Scrapy's FilesPipeline, storing by content hash and feeding `ArticleRecord.downloads`."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchiveFilesPipeline:
        settings = crawler.settings
        if not settings.getbool("UNPOG_DOWNLOAD_FILES"):
            raise NotConfigured("UNPOG_DOWNLOAD_FILES is off")
        pipeline = cls(str(files_dir(settings)), crawler=crawler)
        pipeline.max_size = settings.getint("UNPOG_FILES_MAX_SIZE")
        pipeline.base_url = settings.get("UNPOG_BASE_URL")
        return pipeline

    def get_media_requests(self, item: Any, info: Any) -> list[Request]:
        if not isinstance(item, ArticleRecord):
            return []
        # Scrapy cancels a download past download_maxsize: the file is recorded, not stored.
        meta = {"download_maxsize": self.max_size, "download_warnsize": 0}
        return [
            Request(on_base(url, self.base_url), meta=dict(meta))
            for url, _, _ in linked_files(item)
        ]

    def media_to_download(self, request: Request, info: Any, *, item: Any = None) -> None:
        return None  # always fetch: only the bytes can say whether a file changed

    def file_path(
        self,
        request: Request,
        response: Response | None = None,
        info: Any = None,
        *,
        item: Any = None,
    ) -> str:
        if response is None:  # asked before the download: no content, no address yet
            return "pending/" + hashlib.sha1(request.url.encode()).hexdigest()  # noqa: S324
        digest = hashlib.sha256(response.body).hexdigest()
        return f"{digest[:2]}/{digest}{extension(request.url, _content_type(response))}"

    async def file_downloaded(
        self, response: Response, request: Request, info: Any, *, item: Any = None
    ) -> str:
        path = self.file_path(request, response=response, info=info, item=item)
        # Content-addressed: bytes already stored under their hash are not written again.
        if not (Path(self.store.basedir) / path).exists():
            self.store.persist_file(path, BytesIO(response.body), info)
        return hashlib.sha256(response.body).hexdigest()

    async def media_downloaded(
        self, response: Response, request: Request, info: Any, *, item: Any = None
    ) -> dict[str, Any]:
        result = await super().media_downloaded(response, request, info, item=item)
        return {**result, "size": len(response.body), "content_type": _content_type(response)}

    def item_completed(self, results: list[Any], item: Any, info: Any) -> Any:
        if not isinstance(item, ArticleRecord):
            return item
        stored = []
        # Results come back in the order of get_media_requests.
        for (ok, value), (url, role, name) in zip(results, linked_files(item), strict=True):
            if ok:
                stored.append(
                    StoredFile(url, role, name, value["checksum"], value["size"],
                               value["content_type"], value["path"])
                )  # fmt: skip
        return dataclasses.replace(item, downloads=tuple(stored))
