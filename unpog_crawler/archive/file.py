"""The archive file: opening it (checked, migrated, or read-only), the crawl lock, and
units of work and batches of them, tried again while another process holds SQLite's lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import sqlite_utils
from sqlite_utils import Migrations

from unpog_crawler.archive.errors import (
    ArchiveBusy,
    ArchiveLocked,
    ArchiveUnavailable,
    NewerSchema,
    NotAnArchive,
    OutdatedSchema,
)
from unpog_crawler.archive.schema import KNOWN_MIGRATIONS, MIGRATION_SET, migrations

if TYPE_CHECKING:
    from unpog_crawler.archive.rederive import CurrentParser

# The class a method is called on (Archive): what `open_read_only` and `with` give back.
_Opened = TypeVar("_Opened", bound="ArchiveFile")

# Seconds a statement waits for another process's write lock (a crawl passes its own,
# UNPOG_ARCHIVE_BUSY_TIMEOUT); past it the write fails with ArchiveBusy.
BUSY_TIMEOUT = 10.0
# Pause between tries of a write that failed at once (a stale WAL snapshot gets no wait).
BUSY_RETRY_PAUSE = 0.05
SQLITE_HEADER = b"SQLite format 3\x00"


def _writable(path: Path) -> bool:
    """Whether a file and its folder may be written (SQLite's WAL mode needs both)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


SQLITE_BUSY = 5  # sqlite3.SQLITE_BUSY from Python 3.11 on


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """Another connection holds the write lock (SQLITE_BUSY and its extended codes)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == SQLITE_BUSY
    return "database is locked" in str(error)


def _waits_when_busy(method: Callable[..., Any]) -> Callable[..., Any]:
    """Try a write again while another process holds the write lock, up to the busy timeout;
    then raise ArchiveBusy, so that the caller knows the write was not made.

    SQLite itself waits inside a statement (busy_timeout). A batch whose read snapshot was
    made stale by another process's commit fails at once instead, with no wait: its
    snapshot is dropped and the write tried again. Only the outermost unit of work retries:
    a nested call is part of it and rolled back with it."""

    @functools.wraps(method)
    def write(self: ArchiveFile, *args: Any, **kwargs: Any) -> Any:
        if self._unit_depth:
            return method(self, *args, **kwargs)
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
                if time.monotonic() >= deadline:
                    raise ArchiveBusy(
                        f"{self.path} stayed locked by another process for more than "
                        f"{self.busy_timeout:g} s ({error}): not written"
                    ) from None
                self._drop_snapshot()
                time.sleep(BUSY_RETRY_PAUSE)

    return write


class ArchiveFile:
    """An open archive file. Writes of one crawl must happen inside ``with archive.lock():``.

    `busy_timeout`: seconds a write waits while another process holds SQLite's write lock
    (a `sqlite3` session, a VACUUM) before it fails with ArchiveBusy.

    ``read_only`` opens an existing archive without ever writing to it (SQLite ``mode=ro``):
    a file or a folder the reader may not write is fine; an archive whose schema is older
    than this version raises OutdatedSchema (`open_read_only` upgrades it when it can).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        busy_timeout: float = BUSY_TIMEOUT,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout = float(busy_timeout)
        # The parser whose records this archive is given (set by the crawl and reparse).
        self.parser: CurrentParser | None = None
        self._lock_fd: int | None = None
        self._unit_depth = 0
        self._check_file(create and not read_only, read_only=read_only)
        if read_only:
            self._open_read_only()
            return
        try:
            self.db = sqlite_utils.Database(self.path)
        except sqlite3.Error as error:
            raise ArchiveUnavailable(f"{self.path}: cannot open ({error})") from None
        try:
            self._configure()
            self._migrate()
        except BaseException:
            self.db.close()
            raise

    @classmethod
    def open_read_only(cls: type[_Opened], path: str | Path) -> _Opened:
        """The archive for reading only. An archive from an older version is upgraded first
        when its file can be written (as any open did before), else refused in one line."""
        try:
            return cls(path, create=False, read_only=True)
        except OutdatedSchema as outdated:
            if not _writable(Path(path)):
                raise ArchiveUnavailable(
                    f"{outdated} and is read-only here: run `unpog stats` on a writable copy "
                    "(that upgrades the copy), or read it with the version that wrote it"
                ) from None
        cls(path, create=False).close()  # applies the pending migrations
        return cls(path, create=False, read_only=True)

    def _check_file(self, create: bool, *, read_only: bool = False) -> None:
        """Refuse, without writing anything, a path that is not (or cannot become) an archive."""
        path = self.path
        directory = path.parent
        if not directory.is_dir():
            if directory.exists():
                raise ArchiveUnavailable(f"{directory} is not a directory: choose another path")
            if not create:
                raise ArchiveUnavailable(
                    f"directory {directory} does not exist: check the archive path"
                )
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ArchiveUnavailable(
                    f"cannot create directory {directory} ({error.strerror}): choose another path"
                ) from None
        if not path.exists():
            if not create:
                raise ArchiveUnavailable(f"no archive at {path}: check the path or run a crawl")
            if not os.access(directory, os.W_OK):
                raise ArchiveUnavailable(f"directory {directory} is not writable: fix permissions")
            return
        if not path.is_file():
            raise ArchiveUnavailable(f"{path} is not a file: choose another path")
        try:
            with path.open("rb") as handle:
                header = handle.read(len(SQLITE_HEADER))
        except OSError as error:
            raise ArchiveUnavailable(f"cannot read {path} ({error.strerror})") from None
        if header and header != SQLITE_HEADER:
            raise NotAnArchive(f"{path} is not a SQLite file: choose another archive path")
        if not read_only and not _writable(self.path):
            raise ArchiveUnavailable(
                f"{path} or its directory is not writable: fix permissions (WAL needs both)"
            )
        if header:
            self._check_existing_schema()

    def _check_existing_schema(self) -> None:
        """Read-only look at an existing SQLite file: ours, and not from a newer version?"""
        conn = self._connect_read_only()
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            applied: list[str] = []
            if Migrations.migrations_table in names:
                applied = [
                    row[0]
                    for row in conn.execute(
                        f"SELECT name FROM {Migrations.migrations_table} "
                        "WHERE migration_set = ? ORDER BY rowid",
                        [MIGRATION_SET],
                    )
                ]
        except sqlite3.DatabaseError as error:
            raise ArchiveUnavailable(
                f"{self.path} is corrupt ({error}): restore it from a backup"
            ) from None
        finally:
            conn.close()
        if names and not applied:
            raise NotAnArchive(
                f"{self.path} is a SQLite database but not an unpog-crawler archive: "
                "choose another archive path"
            )
        unknown = [name for name in applied if name not in KNOWN_MIGRATIONS]
        if unknown:
            raise NewerSchema(
                f"{self.path} has schema migrations this version does not know "
                f"({', '.join(unknown)}): upgrade unpog-crawler"
            )

    def _connect_read_only(self) -> sqlite3.Connection:
        """A connection that cannot write (SQLite mode=ro).

        A WAL archive read so needs its -shm file, or a folder where SQLite may create one.
        Where the reader may not write, an archive without -wal and -shm files (no writer has
        it open) is opened immutable instead: SQLite would fail in a read-only folder, or leave
        -wal and -shm files as read-only as the archive, which would block its next writer.
        """
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        wal, shm = Path(f"{self.path}-wal"), Path(f"{self.path}-shm")
        if not _writable(self.path) and not (wal.exists() or shm.exists()):
            return self._checked(f"{uri}&immutable=1")
        try:
            return self._checked(uri)
        except sqlite3.OperationalError as error:
            if os.access(self.path.parent, os.W_OK):
                raise ArchiveUnavailable(f"{self.path}: cannot open ({error})") from None
        # A read-only folder with a -wal file but no -shm: SQLite cannot read that log.
        if wal.exists() and wal.stat().st_size:
            raise ArchiveUnavailable(
                f"{self.path}: its write-ahead log {wal.name} holds changes that cannot be read "
                "in a read-only folder without a -shm file: copy the archive and its -wal to a "
                "writable folder"
            )
        return self._checked(f"{uri}&immutable=1")

    def _checked(self, uri: str) -> sqlite3.Connection:
        """A connection to `uri` that has read the schema; OperationalError when SQLite cannot
        read the file that way, ArchiveUnavailable when it is not a database at all."""
        try:
            conn = sqlite3.connect(uri, uri=True)
        except sqlite3.Error as error:
            raise ArchiveUnavailable(f"{self.path}: cannot open ({error})") from None
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            conn.close()
            raise
        except sqlite3.DatabaseError as error:
            conn.close()
            raise ArchiveUnavailable(
                f"{self.path} is corrupt ({error}): restore it from a backup"
            ) from None
        return conn

    def _open_read_only(self) -> None:
        self.db = sqlite_utils.Database(self._connect_read_only())
        try:
            self.db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            pending = migrations.pending(self.db)
        except sqlite3.DatabaseError as error:
            self.db.close()
            raise ArchiveUnavailable(f"{self.path}: cannot read it ({error})") from None
        if len(pending) == len(KNOWN_MIGRATIONS):
            self.db.close()
            raise ArchiveUnavailable(f"{self.path} is empty: check the path or run a crawl")
        if pending:
            self.db.close()
            names = ", ".join(migration.name for migration in pending)
            raise OutdatedSchema(f"{self.path} lacks this version's schema migrations ({names})")

    def _configure(self) -> None:
        try:
            self.db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            # In WAL mode NORMAL never corrupts the file; a power cut may lose the last
            # commits (the next crawl fetches them again), and each commit skips an fsync.
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as error:
            raise ArchiveUnavailable(f"{self.path}: cannot use it ({error})") from None
        if str(mode).lower() != "wal":
            raise ArchiveUnavailable(
                f"{self.path}: SQLite refused WAL mode (journal_mode={mode}): "
                "put the archive on a local filesystem"
            )

    def _migrate(self) -> None:
        try:
            if not migrations.pending(self.db):
                return
            # One writer at a time: a second process opening the file waits, then finds
            # nothing pending. Each migration is a savepoint with its record inside.
            self.db.execute("BEGIN IMMEDIATE")
            try:
                migrations.apply(self.db)
            except BaseException:
                self.db.rollback()
                raise
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as error:
            raise ArchiveUnavailable(f"{self.path}: cannot update its schema ({error})") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self: _Opened) -> _Opened:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def lock_path(self) -> Path:
        """`<archive>.lock` beside the file itself, found through its resolved path: a
        symlink, a relative path or another spelling of it finds the same lock file."""
        return Path(f"{os.path.realpath(self.path)}.lock")

    @contextlib.contextmanager
    def lock(self: _Opened) -> Iterator[_Opened]:
        """Hold the exclusive crawl-writer lock; raise ArchiveLocked at once if it is held.

        An advisory flock on ``<archive>.lock``: the kernel releases it when the holder exits,
        however it dies, so a stale lock file never blocks a crawl.
        """
        lock_path = self.lock_path
        fd = self._locked_file(lock_path)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
            self._lock_fd = fd
            try:
                yield self
            finally:
                self._lock_fd = None
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def _locked_file(self, lock_path: Path) -> int:
        """The lock file, opened and flocked; ArchiveLocked when another process holds it.

        The lock is the file's device and inode, checked after taking it: a lock file
        deleted and created again meanwhile (a clean-up script) would be a second lock."""
        while True:
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise ArchiveUnavailable(
                    f"cannot open lock file {lock_path} ({error.strerror}): fix permissions"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                os.close(fd)
                by = f" by process {holder}" if holder.isdigit() else ""
                raise ArchiveLocked(
                    f"{lock_path} is held{by}: a crawl is running into {self.path}; "
                    "wait for it to finish"
                ) from None
            locked = os.fstat(fd)
            try:
                named = os.stat(lock_path)
            except FileNotFoundError:
                named = None
            if named and (named.st_dev, named.st_ino) == (locked.st_dev, locked.st_ino):
                return fd
            os.close(fd)  # replaced after we opened it: lock the file that is there now

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One unit of work (an article's answer, a page's captures): all or nothing.

        Its own transaction, or a savepoint inside a batch (`batch_commits`). A block
        inside a unit joins it: a savepoint per nested call cost more than the writes of
        an article, and the unit commits or rolls back all of them anyway."""
        if self._unit_depth:
            self._unit_depth += 1
            try:
                yield
            finally:
                self._unit_depth -= 1
            return
        self._unit_depth = 1
        try:
            with self.db.atomic():
                yield
        finally:
            self._unit_depth = 0

    def _drop_snapshot(self) -> None:
        """End the batch's read transaction, so that the next try sees the current state.
        A batch that met a busy lock holds no write (the lock would be its own)."""
        if self._unit_depth or not self.db.conn.in_transaction:
            return
        with contextlib.suppress(sqlite3.OperationalError):  # busy: the next try says so
            self.db.execute("COMMIT")
            self.db.execute("BEGIN")

    def begin_batch(self) -> None:
        """Hold commits until `commit_batch`: each unit of work still lands whole (its own
        savepoint), but one COMMIT covers many. A crash loses the units since the last
        commit, never part of one (the next crawl fetches those pages again)."""
        if not self.db.conn.in_transaction:
            self.db.execute("BEGIN")

    @_waits_when_busy
    def commit_batch(self, *, reopen: bool = True) -> None:
        """Commit what the batch holds; `reopen` starts the next batch at once. A commit
        that fails (a full disk) loses the batch's units, all of them: they are rolled back
        and the error raised, for the crawl to count them as not archived."""
        if self.db.conn.in_transaction:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error as error:
                if isinstance(error, sqlite3.OperationalError) and _is_busy(error):
                    raise  # still ours to commit: tried again
                if self.db.conn.in_transaction:
                    self.db.execute("ROLLBACK")
                if reopen:
                    self.db.execute("BEGIN")
                raise
        if reopen:
            self.db.execute("BEGIN")
