"""The catalog: one SQLite file holding the manifest, the chunks and the lexical BM25 index
(``ragkit.index.lexical``, an FTS5 table).

Keeping the three in one database makes each file's update a single transaction: the manifest
row, the chunk rows and their lexical entries change together or not at all. Chroma is the only
other place a chunk lives; `ragkit.store` reconciles the two.
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..errors import StoreError
from ..types import Chunk
from .failures import SCHEMA as FAILURES_SCHEMA
from .failures import FailureLog
from .lexical import SCHEMA as LEXICAL_SCHEMA
from .lexical import LexicalIndex

SCHEMA_VERSION = 5
"""Version of the catalog layout this ragkit writes; ``_MIGRATIONS`` bring older ones up to it.

1: manifest, chunks and lexical tables (ragkit 0.1.0, before versions were recorded)
2: ``meta.schema_version`` recorded; the embedder's fingerprint joins ``built_with``
3: ``chunks.location`` (where in an Office file a chunk comes from)
4: ``files.path``: the file's absolute path when ingested (``source`` is the path as typed, relative
   to the directory ingest ran in, so it cannot tell ``docs/a.txt`` run from ``/x`` from ``a.txt``
   run from ``/x/docs``); ``meta.generation`` counts writes
5: ``failures``: files that failed to load, so an unchanged bad file is not retried every run
   (``ragkit.index.failures``)
"""

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, mtime REAL NOT NULL,
    pages INTEGER NOT NULL, chunks INTEGER NOT NULL, ingested_at REAL NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]', path TEXT);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, page INTEGER,
    idx INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL,
    extractor TEXT NOT NULL DEFAULT '', quality REAL, location TEXT);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
""" + FAILURES_SCHEMA + LEXICAL_SCHEMA


def _migrate_1_to_2(db: sqlite3.Connection) -> None:
    """Nothing to reshape: version 2 only starts recording the version (and, on the next check,
    the embedder's fingerprint)."""


def _migrate_2_to_3(db: sqlite3.Connection) -> None:
    """Office formats cite a location (``§3.2``, ``売上!A10:F25``, ``slide 7``): chunks get a
    ``location`` column, NULL for the rows of older stores."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(chunks)")}
    if "location" not in columns:
        db.execute("ALTER TABLE chunks ADD COLUMN location TEXT")


def _migrate_3_to_4(db: sqlite3.Connection) -> None:
    """Add ``files.path``; older rows keep NULL (their source is resolved against the current
    directory, as before)."""
    if "path" not in {row[1] for row in db.execute("PRAGMA table_info(files)")}:
        db.execute("ALTER TABLE files ADD COLUMN path TEXT")


def _migrate_4_to_5(db: sqlite3.Connection) -> None:
    """Failed files are remembered (``ragkit.index.failures``): a new, empty ``failures`` table."""
    db.execute(FAILURES_SCHEMA)


_MIGRATIONS = {1: _migrate_1_to_2, 2: _migrate_2_to_3, 3: _migrate_3_to_4, 4: _migrate_4_to_5}  # from version -> step to version + 1
READ_ONLY_FROM = 3
"""The oldest schema a read-only open can serve without migrating: searching reads
``chunks.location`` (3); 4 and 5 only added what reading does without (``files.path``,
``meta.generation``, ``failures``)."""


def damaged(store: Path, what: str) -> str:
    """The message for a store whose files cannot be read, with advice that works: ``check
    --repair`` cannot open a damaged file either."""
    return (f"{store}: {what}; the store is damaged. Move it aside (mv {store} {store}.damaged) and "
            "run `ragkit ingest` on your documents again")


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """Open ``path`` with ``mode=ro``. A WAL database whose -shm file is gone (closed cleanly)
    cannot be opened read-only in a folder we may not write; such a store has no writer (nobody
    can create the lock), so it is opened as immutable."""
    from urllib.request import pathname2url

    uri = f"file:{pathname2url(str(path.resolve()))}?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        db.close()
    wal = path.with_name(path.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        raise StoreError(f"{path.parent} is read-only and its last writes are still in {wal.name}, which a "
                         "read-only open cannot apply; open the store once with write access (e.g. "
                         "`ragkit sources`), then it can be used read-only")
    db = sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None, check_same_thread=False)
    db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return db


@dataclass(frozen=True)
class FileRecord:
    """What the manifest knows of one ingested file."""

    source: str
    sha256: str
    size: int
    mtime: float
    pages: int = 0
    chunks: int = 0
    ingested_at: float = 0.0
    warnings: list = field(default_factory=list)
    path: str | None = None  # absolute path when ingested (None: a store from before schema 3)

    @property
    def abspath(self) -> str:
        """Where the file is: the recorded absolute path, else ``source`` from the current directory."""
        return self.path or os.path.abspath(self.source)

    def to_json(self) -> dict:
        return {"source": self.source, "pages": self.pages, "chunks": self.chunks, "sha256": self.sha256,
                "size": self.size, "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.ingested_at)),
                "warnings": self.warnings}


class Catalog:
    """Manifest, chunk texts and the lexical index of one store."""

    def __init__(self, path: Path, read_only: bool = False):
        """Open (or create) the catalog. ``read_only`` opens it with SQLite's ``mode=ro`` and
        writes nothing (no WAL switch, no schema change): a store on a read-only mount or with
        ``chmod -R a-w`` can still be searched."""
        self.path = Path(path)
        self.read_only = read_only
        try:
            if read_only:
                self.db = _Serialized(_connect_read_only(self.path), self.path)
                self._check_schema(self._stored_version())
            else:
                self.db = _Serialized(sqlite3.connect(str(path), timeout=30, isolation_level=None,
                                                      check_same_thread=False), self.path)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self._open_schema()
        except sqlite3.DatabaseError as exc:
            raise StoreError(sqlite_advice(self.path, exc)) from exc
        self.lexical = LexicalIndex(self.db)
        self.failures = FailureLog(self.db, present=self._has_table("failures"))

    def _has_table(self, name: str) -> bool:
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None

    def _stored_version(self) -> int:
        """The schema version recorded in the file (1 before versions were recorded)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return json.loads(row[0]) if row else 1

    def _check_schema(self, version: int) -> None:
        """Refuse a catalog written by a newer ragkit, or (read-only) one that needs a migration
        that changes how it is read."""
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path.parent} was written by a newer ragkit (catalog schema {version}; "
                             f"this ragkit reads up to {SCHEMA_VERSION}); upgrade ragkit to use this store")
        if self.read_only and version < READ_ONLY_FROM:
            raise StoreError(f"{self.path.parent} is read-only and needs an upgrade (catalog schema {version} "
                             f"to {SCHEMA_VERSION}); open it once with write access (any `ragkit ingest` "
                             "or `ragkit check --repair`), then it can be used read-only")

    def _open_schema(self) -> None:
        """Create a new catalog at ``SCHEMA_VERSION``, or migrate an older one forward in one
        transaction; refuse one written by a newer ragkit."""
        with self._tx():
            existed = self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'files'").fetchone() is not None
            for statement in _TABLES.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            version = self._stored_version() if existed else SCHEMA_VERSION
            self._check_schema(version)
            while version < SCHEMA_VERSION:
                _MIGRATIONS[version](self.db)
                version += 1
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (json.dumps(version),))

    @property
    def schema_version(self) -> int:
        return int(self.get_meta().get("schema_version", 1))

    # --- meta -----------------------------------------------------------------------------
    def get_meta(self) -> dict:
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM meta")}

    def set_meta(self, values: dict) -> None:
        with self._tx():
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                [(k, json.dumps(v, ensure_ascii=False)) for k, v in values.items()])

    # --- manifest -------------------------------------------------------------------------
    def file(self, source: str) -> FileRecord | None:
        row = self.db.execute("SELECT * FROM files WHERE source = ?", (source,)).fetchone()
        return _record(row) if row else None

    def files(self) -> list[FileRecord]:
        return [_record(r) for r in self.db.execute("SELECT * FROM files ORDER BY source")]

    def chunk_ids(self, source: str | None = None) -> set[str]:
        if source is None:
            return {r[0] for r in self.db.execute("SELECT id FROM chunks")}
        return {r[0] for r in self.db.execute("SELECT id FROM chunks WHERE source = ?", (source,))}

    def replace_file(self, record: FileRecord, chunks: Sequence[Chunk], tokens: Sequence[Sequence[str]]) -> None:
        """Atomically make ``chunks`` the only chunks of ``record.source`` and record the file."""
        with self._tx():
            self._delete_source(record.source)
            for chunk, toks in zip(chunks, tokens):
                cur = self.db.execute(
                    "INSERT INTO chunks (id, source, page, idx, start, end, text, extractor, quality, location)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (chunk.id, chunk.source, chunk.page, chunk.index, chunk.start, chunk.end, chunk.text,
                     chunk.extractor, chunk.quality, chunk.location))
                self.lexical.add(cur.lastrowid, toks)
            self.db.execute(
                "INSERT OR REPLACE INTO files (source, sha256, size, mtime, pages, chunks, ingested_at, warnings, path)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (record.source, record.sha256, record.size, record.mtime, record.pages, len(chunks),
                 record.ingested_at or time.time(), json.dumps(record.warnings, ensure_ascii=False), record.path))
            self._bump_generation()

    def remove_files(self, sources: Iterable[str]) -> set[str]:
        """Forget files and their chunks in one transaction; returns the removed chunk ids."""
        removed: set[str] = set()
        with self._tx():
            for source in sources:
                removed |= self.chunk_ids(source)
                self._delete_source(source)
                self.db.execute("DELETE FROM files WHERE source = ?", (source,))
            self._bump_generation()
        return removed

    def _delete_source(self, source: str) -> None:
        self.lexical.delete_source(source)
        self.db.execute("DELETE FROM chunks WHERE source = ?", (source,))

    # --- lookups --------------------------------------------------------------------------
    def chunks(self, ids: Sequence[str]) -> dict[str, Chunk]:
        out: dict[str, Chunk] = {}
        ids = list(ids)
        for lo in range(0, len(ids), 500):
            part = ids[lo:lo + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(
                    f"SELECT id, source, page, idx, start, end, text, extractor, quality, location FROM chunks"
                    f" WHERE id IN ({marks})", part):
                out[row[0]] = Chunk(id=row[0], source=row[1], page=row[2], index=row[3], start=row[4], end=row[5],
                                    text=row[6], extractor=row[7], quality=row[8], location=row[9])
        return out

    def lexical_search(self, tokens: Sequence[str], k: int) -> list[tuple[str, float]]:
        """Best ``k`` chunk ids by BM25 (``ragkit.index.lexical``), larger score is better."""
        return self.lexical.search(tokens, k)

    def pages(self) -> list[dict]:
        """Per indexed page: which extractor produced its text and the page's quality score."""
        rows = self.db.execute(
            "SELECT source, page, extractor, min(quality), count(*) FROM chunks "
            "GROUP BY source, page ORDER BY source, page")
        return [{"source": r[0], "page": r[1], "extractor": r[2], "quality": r[3], "chunks": r[4]} for r in rows]

    def count_chunks(self) -> int:
        return self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def has_files(self) -> bool:
        return self.db.execute("SELECT 1 FROM files LIMIT 1").fetchone() is not None

    def lexical_consistent(self) -> bool:
        return self.lexical.consistent()

    def rebuild_lexical(self) -> None:
        """Re-tokenise every chunk into the lexical index in one transaction."""
        with self._tx():
            self.lexical.rebuild(self.db.execute("SELECT rowid, text FROM chunks").fetchall())
            self._bump_generation()

    def checkpoint(self) -> None:
        """Move the write-ahead log into the database file, so a copy or a read-only mount of
        the store has every write in ``catalog.sqlite`` itself."""
        if not self.read_only:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # --- generation -----------------------------------------------------------------------
    def generation(self) -> int:
        """How many writes the store has seen; another process's write changes it, so a long-lived
        reader can tell its vector index is stale (``ragkit.store.Store.search_dense``)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(json.loads(row[0])) if row else 0

    def _bump_generation(self) -> None:
        """Count one write; call inside the write's transaction so the two commit together."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (json.dumps(self.generation() + 1),))

    def _tx(self):
        return _Transaction(self.db)


@contextlib.contextmanager
def _translated(path: Path) -> Iterator[None]:
    """SQLite errors a user can act on become StoreErrors that say what to do; the statement's
    transaction is rolled back by the caller, so the store stays as it was."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise StoreError(sqlite_advice(path, exc)) from exc


def sqlite_advice(path: Path, exc: BaseException) -> str:
    """One line for an SQLite failure on ``path``: disk full, read-only, locked, or damaged."""
    text = str(exc)
    store = path.parent
    if "full" in text or getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL":
        return (f"{path}: the disk is full ({text}); nothing was half-written. Free space on "
                f"{store}'s disk and run the command again")
    if "readonly" in text or "read-only" in text:
        return f"{path}: cannot write ({text}); the store is read-only: search it, or ingest into a writable --store"
    if "locked" in text or "busy" in text:
        return f"{path}: busy ({text}); another process holds the database: retry in a moment"
    return damaged(store, f"the catalog {path.name} cannot be read ({text})")


class _Rows(list):
    """A statement's rows, read to the end, with the cursor methods callers use."""

    lastrowid: int | None = None

    def fetchone(self) -> tuple | None:
        return self[0] if self else None

    def fetchall(self) -> list:
        return list(self)


class _Serialized:
    """One SQLite connection shared by threads (``RAG`` may be): each statement runs and is read
    to the end under one lock, and a transaction holds the lock from BEGIN to COMMIT, so a thread
    never steps into another's statement or reads its uncommitted rows."""

    def __init__(self, db: sqlite3.Connection, path: Path):
        self.raw = db
        self.path = path
        self.lock = threading.RLock()

    def execute(self, sql: str, params: Sequence | dict = ()) -> _Rows:
        with self.lock, _translated(self.path):
            cursor = self.raw.execute(sql, params)
            rows = _Rows(cursor.fetchall())
            rows.lastrowid = cursor.lastrowid
            return rows

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        with self.lock, _translated(self.path):
            self.raw.executemany(sql, rows)

    def close(self) -> None:
        with self.lock:
            self.raw.close()


class _Transaction:
    def __init__(self, db: _Serialized):
        self.db = db

    def __enter__(self):
        self.db.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.db.lock.release()
            raise

    def __exit__(self, exc_type, exc, tb):
        try:
            self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            self.db.lock.release()
        return False


def _record(row: tuple) -> FileRecord:
    return FileRecord(source=row[0], sha256=row[1], size=row[2], mtime=row[3], pages=row[4], chunks=row[5],
                      ingested_at=row[6], warnings=json.loads(row[7] or "[]"), path=row[8] if len(row) > 8 else None)
