"""The archive's errors: each has a one-line message that says what to do."""

from __future__ import annotations


class ArchiveError(Exception):
    """Base class: every archive error has a one-line message that says what to do."""


class ArchiveLocked(ArchiveError):
    """Another crawl holds the archive's write lock."""


class ArchiveBusy(ArchiveError):
    """Another process held SQLite's write lock longer than the busy timeout: not written."""


class NotAnArchive(ArchiveError):
    """The file is not SQLite, or holds tables but no unpog-crawler migrations record."""


class NewerSchema(ArchiveError):
    """The file has migrations this version of unpog-crawler does not know."""


class ArchiveUnavailable(ArchiveError):
    """The archive cannot be opened: missing directory or file, unwritable, or corrupt."""


class OutdatedSchema(ArchiveError):
    """A read-only open found migrations still to apply (the archive is from an older version)."""


class UnknownArticle(ArchiveError):
    """No article of the archive has that id or URL."""


class VersionOutOfRange(ArchiveError):
    """The article has no version with that number (or too few versions to compare)."""


class BadSearch(ArchiveError):
    """SQLite's full-text search refused the query."""
