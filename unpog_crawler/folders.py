"""Where an archive keeps what is not in its database: WARC files, downloaded files, logs.

Each archive has a folder of its own beside its database, named after it, so that two
archives (the demo and the real one) never share a capture, a file or a log:

    archive/unpog.db    archive/unpog/warc/  archive/unpog/files/  archive/unpog/logs/
    archive/demo.db     archive/demo/warc/   archive/demo/files/   archive/demo/logs/

A database without a suffix (`archive/unpog`) gets `archive/unpog-data/`. UNPOG_WARC_DIR and
UNPOG_FILES_DIR still put WARC files and downloads anywhere else.

Archives made before this layout kept them in `warc/`, `files/` and `logs/` beside the
database, shared by every archive of that folder. Nothing there is moved: the captures index
names each WARC file where it lies, so old records are still found; the downloads an archive
references are linked into its own files folder by its next crawl (`adopt_legacy_files`), so
that `files.path` is relative to one folder; old logs stay where they are.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

# Kinds of companion folders, and the names they had beside the database before.
WARC, FILES, LOGS = "warc", "files", "logs"
# Characters kept from a database's name in the WARC file names (the rest become "_").
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def archive_home(db_path: str | Path) -> Path:
    """The archive's own folder: its database's path without the suffix."""
    path = Path(db_path)
    return path.with_suffix("") if path.suffix else path.with_name(f"{path.name}-data")


def companion_dir(db_path: str | Path, kind: str, setting: str | None = None) -> Path:
    """The folder of one kind (WARC, FILES, LOGS) of an archive; `setting` (UNPOG_WARC_DIR,
    UNPOG_FILES_DIR) wins when given."""
    return Path(setting) if setting else archive_home(db_path) / kind


def legacy_dir(db_path: str | Path, kind: str) -> Path:
    """Where archives made before the layout of this module kept that kind (shared)."""
    return Path(db_path).parent / kind


def warc_prefix(db_path: str | Path) -> str:
    """The start of the archive's WARC file names: its database's name without the suffix."""
    stem = Path(db_path).stem or "unpog"
    return _UNSAFE_NAME_CHARS.sub("_", stem)


def adopt_legacy_files(db_path: str | Path, stored: Iterable[str], files_dir: Path) -> int:
    """Link the downloads an archive references (`files.path`, relative) from the shared legacy
    folder into its own files folder; return how many. Nothing is moved or deleted (another
    archive may reference the same bytes); a hard link costs no space, a copy where links are
    impossible. Files already in place are left alone, so running it again does nothing."""
    legacy = legacy_dir(db_path, FILES).resolve()
    if not legacy.is_dir() or legacy == files_dir.resolve():
        return 0
    adopted = 0
    for relative in stored:
        source, target = legacy / relative, files_dir / relative
        if target.exists() or not source.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:  # another file system, or no hard links there
            shutil.copy2(source, target)
        adopted += 1
    if adopted:
        logger.info("Linked %d downloaded files from %s into %s", adopted, legacy, files_dir)
    return adopted
