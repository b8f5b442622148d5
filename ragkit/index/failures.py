"""Files that failed to load, remembered so an unchanged bad file is not retried on every run.

A nightly ``ragkit ingest`` over a folder with one scanned PDF used to read that PDF again each
night, load the embedder for nothing and exit 3, so cron alerted forever. Each failure is
recorded with the file's size, mtime and sha256 (in the catalog, schema 5); the next run skips a
file whose size and mtime (or, when only the mtime moved, its content) are the same and reports
it as skipped ("failed before"), not failed. A changed file, a new ragkit version (it may read
what the old one could not) or ``ingest --retry-failed`` tries again; a successful ingest or the
file's disappearance forgets the record.

Records are keyed by the file's absolute path. They are advice, not index content: losing one
only costs one retry, so they live outside ``Store.write``'s crash-safe protocol.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..hashing import file_sha256

SCHEMA = """
CREATE TABLE IF NOT EXISTS failures (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime REAL NOT NULL, sha256 TEXT NOT NULL,
    reason TEXT NOT NULL, failed_at REAL NOT NULL, ragkit TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Failure:
    """One remembered failure: which file, in what state, why, when, by which ragkit."""

    path: str
    size: int
    mtime: float
    sha256: str
    reason: str
    failed_at: float
    ragkit: str

    def to_json(self) -> dict:
        return {"path": self.path, "reason": self.reason, "size": self.size, "sha256": self.sha256,
                "failed_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.failed_at))}


class FailureLog:
    """The ``failures`` table of a catalog (``db``: its serialised connection)."""

    def __init__(self, db, present: bool = True):
        self.db = db
        self.present = present  # False: a read-only store from before schema 5 (no table)

    def all(self) -> list[Failure]:
        if not self.present:
            return []
        return [Failure(*row) for row in self.db.execute(
            "SELECT path, size, mtime, sha256, reason, failed_at, ragkit FROM failures ORDER BY path")]

    def remember(self, path: Path, reason: str, version: str) -> None:
        """Record that ``path`` failed with ``reason`` in its current state (nothing when it
        cannot even be read: it will be tried, and reported, again)."""
        try:
            st = os.stat(path)
            sha = file_sha256(path)
        except OSError:
            return
        self.db.execute("INSERT OR REPLACE INTO failures VALUES (?,?,?,?,?,?,?)",
                        (os.path.abspath(path), st.st_size, st.st_mtime, sha, reason, time.time(), version))

    def forget(self, paths: Iterable[str | Path]) -> None:
        """Drop the records of ``paths`` (ingested now, or gone)."""
        self.db.executemany("DELETE FROM failures WHERE path = ?", [(os.path.abspath(p),) for p in paths])

    def forget_missing(self) -> None:
        """Drop the records of files that no longer exist."""
        self.forget([f.path for f in self.all() if not os.path.lexists(f.path)])



class FailureMemory:
    """One ingest run's use of the log: which files to skip, which records to forget or add.

    The records are read once per run (usually none), so files that never failed cost nothing."""

    def __init__(self, log: FailureLog, version: str, retry: bool = False):
        self.log = log
        self.version = version
        self.retry = retry
        log.forget_missing()
        self.known = {f.path: f for f in log.all()}

    def still_failing(self, path: Path) -> Failure | None:
        """The remembered failure when ``path`` is unchanged since and not to be retried."""
        known = self.known.get(os.path.abspath(path))
        if known is None or self.retry or known.ragkit != self.version:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        if st.st_size == known.size and (st.st_mtime == known.mtime or file_sha256(path) == known.sha256):
            return known
        return None

    def loaded(self, path: Path) -> None:
        """``path`` loads now: forget that it failed."""
        if self.known.pop(os.path.abspath(path), None) is not None:
            self.log.forget([path])

    def failed(self, path: Path, reason: str) -> None:
        self.log.remember(path, reason, self.version)
