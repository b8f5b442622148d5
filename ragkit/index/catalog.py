"""The catalog: one SQLite file holding the manifest, the chunks and the lexical BM25 indexes
(``ragkit.index.lexical``, an FTS5 table per collection).

Keeping the three in one database makes each file's update a single transaction: the manifest
row, the chunk rows and their lexical entries change together or not at all. Chroma is the only
other place a chunk lives; `ragkit.store` reconciles the two.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..errors import StoreError
from ..filters import Scope
from ..types import DEFAULT_COLLECTION, Chunk
from .failures import SCHEMA as FAILURES_SCHEMA
from .failures import FailureLog
from .lexical import SCHEMA as LEXICAL_SCHEMA
from .lexical import LexicalIndex

SCHEMA_VERSION = 6
"""Version of the catalog layout this ragkit writes; ``_MIGRATIONS`` bring older ones up to it.

1: manifest, chunks and lexical tables (ragkit 0.1.0, before versions were recorded)
2: ``meta.schema_version`` recorded; the embedder's fingerprint joins ``built_with``
3: ``chunks.location`` (where in an Office file a chunk comes from)
4: ``files.path``: the file's absolute path when ingested (``source`` is the path as typed, relative
   to the directory ingest ran in, so it cannot tell ``docs/a.txt`` run from ``/x`` from ``a.txt``
   run from ``/x/docs``); ``meta.generation`` counts writes
5: ``failures``: files that failed to load, so an unchanged bad file is not retried every run
   (``ragkit.index.failures``)
6: collections and stable identity: a file is a document ``files.id``, unique by (``collection``,
   resolved absolute ``path``); ``source`` is only its display name; ``metadata`` (JSON, what
   filters read) and ``given`` (the user's part of it); ``chunk_key`` is what its chunk ids derive
   from (its id; the old ``source`` for migrated rows, so their chunk ids and vectors stay);
   ``chunks.doc`` ties chunks to their document. (Vectors need no change: the ``default``
   collection keeps the Chroma collection older stores had, ``ragkit.index.vectors``.)
"""

_FILES_TABLE = """
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, collection TEXT NOT NULL, path TEXT NOT NULL, source TEXT NOT NULL,
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, mtime REAL NOT NULL, pages INTEGER NOT NULL,
    chunks INTEGER NOT NULL, ingested_at REAL NOT NULL, warnings TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}', given TEXT NOT NULL DEFAULT '{}', chunk_key TEXT NOT NULL,
    UNIQUE (collection, path))"""
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);""" + _FILES_TABLE + """;
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, page INTEGER,
    idx INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL,
    extractor TEXT NOT NULL DEFAULT '', quality REAL, location TEXT, doc TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
""" + FAILURES_SCHEMA + LEXICAL_SCHEMA
_INDEXES = """
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc);
CREATE INDEX IF NOT EXISTS files_sha256 ON files(sha256)"""  # after migrating: older chunks lack ``doc``


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


def _migrate_5_to_6(db: sqlite3.Connection) -> None:
    """Files become documents in the ``default`` collection, keyed by id and resolved path.

    A row with a recorded absolute path (schema 4) gets it resolved; an older row keeps its
    relative source as path (``check`` lists it; the next ingest of that file adopts it). Rows
    that turn out to be the same file twice (``docs/a.txt`` and ``/x/docs/a.txt``) keep the first;
    the other's chunks go (their vectors become orphans, which the next ingest or ``check
    --repair`` deletes). Chunk ids stay: ``chunk_key`` is the old source."""
    db.execute("ALTER TABLE files RENAME TO files_v5")
    db.execute(_FILES_TABLE)
    columns = [row[1] for row in db.execute("PRAGMA table_info(files_v5)")]
    taken: set[str] = set()
    for row in db.execute("SELECT * FROM files_v5 ORDER BY ingested_at, source").fetchall():
        old = dict(zip(columns, row))
        path = os.path.realpath(old["path"]) if old.get("path") else old["source"]
        if path in taken:
            db.execute("DELETE FROM lexical WHERE rowid IN (SELECT rowid FROM chunks WHERE source = ?)", (old["source"],))
            db.execute("DELETE FROM chunks WHERE source = ?", (old["source"],))
            continue
        taken.add(path)
        name = os.path.basename(old["source"])
        auto = {"name": name, "suffix": os.path.splitext(name)[1].lower()}
        db.execute("INSERT INTO files (id, collection, path, source, sha256, size, mtime, pages, chunks, ingested_at,"
                   " warnings, metadata, chunk_key) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (new_doc_id(db, DEFAULT_COLLECTION, path), DEFAULT_COLLECTION, path, old["source"], old["sha256"],
                    old["size"], old["mtime"], old["pages"], old["chunks"], old["ingested_at"], old["warnings"],
                    json.dumps(auto, ensure_ascii=False), old["source"]))
    db.execute("DROP TABLE files_v5")
    if "doc" not in {row[1] for row in db.execute("PRAGMA table_info(chunks)")}:
        db.execute("ALTER TABLE chunks ADD COLUMN doc TEXT NOT NULL DEFAULT ''")
    db.execute("UPDATE chunks SET doc = coalesce((SELECT id FROM files WHERE files.chunk_key = chunks.source), '')")


_MIGRATIONS = {1: _migrate_1_to_2, 2: _migrate_2_to_3, 3: _migrate_3_to_4, 4: _migrate_4_to_5,
               5: _migrate_5_to_6}  # from version -> step to version + 1
READ_ONLY_FROM = 6
"""The oldest schema a read-only open can serve without migrating: searching reads ``chunks.doc``
and ``files.collection`` (6)."""


def new_doc_id(db, collection: str, path: str) -> str:
    """A document id derived from where it was first seen (so rebuilding a store gives the same
    ids), made unique: a moved document keeps the id of its first path."""
    for n in range(1000):
        key = f"{collection}\0{path}" + (f"\0{n}" if n else "")
        doc_id = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        if db.execute("SELECT 1 FROM files WHERE id = ?", (doc_id,)).fetchone() is None:
            return doc_id
    raise StoreError(f"cannot find a free document id for {path}")  # pragma: no cover


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
    """What the catalog knows of one document: an ingested file in one collection.

    ``id`` is stable (the HTTP service deletes by it) and survives a move; ``path`` is the file's
    resolved absolute path (its identity within the collection); ``source`` is how it is shown
    (relative to the folder holding the ingest root: ``docs/a.txt`` however ``docs`` was typed)."""

    source: str
    sha256: str
    size: int
    mtime: float
    pages: int = 0
    chunks: int = 0
    ingested_at: float = 0.0
    warnings: list = field(default_factory=list)
    path: str | None = None
    id: str = ""
    collection: str = DEFAULT_COLLECTION
    metadata: dict = field(default_factory=dict)
    given: dict = field(default_factory=dict)  # the user's part of ``metadata`` (--meta, sidecars)
    chunk_key: str = ""

    @property
    def abspath(self) -> str:
        """Where the file is: the recorded path (a migrated relative one from the current directory)."""
        return os.path.abspath(self.path or self.source)

    def to_json(self) -> dict:
        return {"id": self.id, "collection": self.collection, "source": self.source, "path": self.path,
                "pages": self.pages, "chunks": self.chunks, "sha256": self.sha256, "size": self.size,
                "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.ingested_at)),
                "metadata": self.metadata, "warnings": self.warnings}


@dataclass(frozen=True)
class CollectionInfo:
    """One collection of a store and how much it holds."""

    name: str
    files: int
    chunks: int

    def to_json(self) -> dict:
        return {"name": self.name, "files": self.files, "chunks": self.chunks}


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
        self._searcher: LexicalIndex | None = None
        self.failures = FailureLog(self.db, present=self._has_table("failures"))

    def _search_index(self) -> LexicalIndex:
        """The lexical index on a connection of its own, opened on first search. BM25 over a large
        store runs tens of ms inside SQLite (which releases the GIL); on the shared connection it
        held the lock that the dense side's catalog reads (the generation check, a filter's
        documents) wait on, so hybrid retrieval ran its two sides one after the other."""
        with self.db.lock:
            if self._searcher is None:
                try:
                    if self.read_only:
                        db = _connect_read_only(self.path)
                    else:
                        db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
                        db.execute("PRAGMA query_only = 1")
                except sqlite3.DatabaseError as exc:
                    raise StoreError(sqlite_advice(self.path, exc)) from exc
                self._searcher = LexicalIndex(_Serialized(db, self.path))
            return self._searcher

    def close(self) -> None:
        """Close the catalog's connections."""
        with self.db.lock:
            if self._searcher is not None:
                self._searcher.db.close()
                self._searcher = None
            self.db.close()

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
            for statement in _INDEXES.split(";"):
                self.db.execute(statement)
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
    def file(self, collection: str, path: str) -> FileRecord | None:
        """The document of ``collection`` at resolved absolute ``path``."""
        rows = self.db.execute(f"SELECT {_FILE_COLUMNS} FROM files WHERE collection = ? AND path = ?", (collection, path))
        return _record(rows[0]) if rows else None

    def files(self, collection: str | None = None, ids: Sequence[str] | None = None) -> list[FileRecord]:
        """Documents ordered by collection and source; only ``collection``'s / those ``ids`` if given."""
        sql, params = f"SELECT {_FILE_COLUMNS} FROM files", []
        if collection is not None:
            sql, params = sql + " WHERE collection = ?", [collection]
        records = [_record(r) for r in self.db.execute(sql + " ORDER BY collection, source, path", params)]
        if ids is not None:
            wanted = set(ids)
            records = [r for r in records if r.id in wanted]
        return records

    def documents(self, ids: Sequence[str]) -> dict[str, FileRecord]:
        """Documents by id (the ones that exist)."""
        out: dict[str, FileRecord] = {}
        ids = list(dict.fromkeys(ids))
        for lo in range(0, len(ids), 500):
            part = ids[lo:lo + 500]
            for row in self.db.execute(f"SELECT {_FILE_COLUMNS} FROM files WHERE id IN ({','.join('?' * len(part))})", part):
                out[row[0]] = _record(row)
        return out

    def files_with_sha256(self, collection: str, sha256: str) -> list[FileRecord]:
        return [_record(r) for r in self.db.execute(
            f"SELECT {_FILE_COLUMNS} FROM files WHERE collection = ? AND sha256 = ?", (collection, sha256))]

    def new_doc_id(self, collection: str, path: str) -> str:
        return new_doc_id(self.db, collection, path)

    def chunk_ids(self, doc: str | None = None) -> set[str]:
        """Every chunk id, or those of document ``doc``."""
        if doc is None:
            return {r[0] for r in self.db.execute("SELECT id FROM chunks")}
        return {r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc = ?", (doc,))}

    def collection_of(self, chunk_ids: Iterable[str]) -> dict[str, str]:
        """chunk id → the collection its document is in (for the ids that exist)."""
        ids, out = list(chunk_ids), {}
        for lo in range(0, len(ids), 500):
            part = ids[lo:lo + 500]
            out.update(self.db.execute("SELECT c.id, f.collection FROM chunks c JOIN files f ON f.id = c.doc "
                                       f"WHERE c.id IN ({','.join('?' * len(part))})", part))
        return out

    def replace_file(self, record: FileRecord, chunks: Sequence[Chunk], tokens: Sequence[Sequence[str]]) -> None:
        """Atomically make ``chunks`` the only chunks of document ``record.id`` and record it."""
        with self._tx():
            self._delete_doc(record.id, record.collection)
            self.lexical.ensure(record.collection)
            for chunk, toks in zip(chunks, tokens):
                cur = self.db.execute(
                    "INSERT INTO chunks (id, source, page, idx, start, end, text, extractor, quality, location, doc)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (chunk.id, record.source, chunk.page, chunk.index, chunk.start, chunk.end, chunk.text,
                     chunk.extractor, chunk.quality, chunk.location, record.id))
                self.lexical.add(record.collection, cur.lastrowid, toks)
            self.db.execute(
                f"INSERT OR REPLACE INTO files ({_FILE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (record.id, record.collection, record.path, record.source, record.sha256, record.size, record.mtime,
                 record.pages, len(chunks), record.ingested_at or time.time(),
                 json.dumps(record.warnings, ensure_ascii=False), json.dumps(record.metadata, ensure_ascii=False),
                 json.dumps(record.given, ensure_ascii=False), record.chunk_key))
            self._bump_generation()

    def repoint(self, doc: str, path: str, source: str, mtime: float) -> None:
        """A document's file moved (same content): record its new place; chunks and vectors stay."""
        with self._tx():
            self.db.execute("UPDATE files SET path = ?, source = ?, mtime = ?, metadata = json_set(metadata, "
                            "'$.name', ?) WHERE id = ?", (path, source, mtime, os.path.basename(path), doc))
            self.db.execute("UPDATE chunks SET source = ? WHERE doc = ?", (source, doc))
            self._bump_generation()

    def remove_files(self, docs: Iterable[str]) -> set[str]:
        """Forget documents and their chunks in one transaction; returns the removed chunk ids."""
        removed: set[str] = set()
        with self._tx():
            for doc in docs:
                removed |= self.chunk_ids(doc)
                row = self.db.execute("SELECT collection FROM files WHERE id = ?", (doc,))
                self._delete_doc(doc, row[0][0] if row else DEFAULT_COLLECTION)
                self.db.execute("DELETE FROM files WHERE id = ?", (doc,))
            self._bump_generation()
        return removed

    def _delete_doc(self, doc: str, collection: str) -> None:
        self.lexical.delete_doc(collection, doc)
        self.db.execute("DELETE FROM chunks WHERE doc = ?", (doc,))

    def drop_collection(self, name: str) -> set[str]:
        """Forget every document of collection ``name`` and its lexical table in one
        transaction; returns the removed chunk ids."""
        with self._tx():
            removed = {r[0] for r in self.db.execute(
                "SELECT c.id FROM chunks c JOIN files f ON f.id = c.doc WHERE f.collection = ?", (name,))}
            self.db.execute("DELETE FROM chunks WHERE doc IN (SELECT id FROM files WHERE collection = ?)", (name,))
            self.db.execute("DELETE FROM files WHERE collection = ?", (name,))
            self.lexical.drop(name)
            self._bump_generation()
        return removed

    # --- collections and scopes -------------------------------------------------------------
    def collections(self) -> list[CollectionInfo]:
        rows = self.db.execute("SELECT collection, count(*), sum(chunks) FROM files GROUP BY collection ORDER BY collection")
        return [CollectionInfo(name=r[0], files=r[1], chunks=r[2] or 0) for r in rows]

    def scope_chunks(self, scope: Scope) -> list[tuple[int, str]]:
        """(rowid, id) of every chunk ``scope`` lets a retrieval see."""
        where, params = scope.sql("f")
        return self.db.execute(  # documents first, then their chunks by index
            f"SELECT c.rowid, c.id FROM chunks c WHERE c.doc IN (SELECT f.id FROM files f WHERE {where})", params)

    def allowed(self, scope: Scope) -> tuple[int, int, frozenset[str]]:
        """(chunks ``scope`` allows, chunks of its collections, ids of the documents it allows)."""
        where, params = scope.sql("f")
        rows = self.db.execute(f"SELECT f.id, f.chunks FROM files f WHERE {where}", params)
        whole, values = Scope(scope.collections).sql("f")
        total = self.db.execute(f"SELECT coalesce(sum(f.chunks), 0) FROM files f WHERE {whole}", values)[0][0]
        return sum(r[1] for r in rows), total, frozenset(r[0] for r in rows)

    def docs_of(self, ids: Sequence[str]) -> dict[str, str]:
        """chunk id → document id, for the ids that exist (an index lookup each)."""
        return {cid: doc for cid, doc in self._lookup("SELECT id, doc FROM chunks WHERE id IN ({})", ids)}

    def ids_at(self, rowids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """chunk rowid → (chunk id, document id), for the rows that exist."""
        return {rowid: (cid, doc) for rowid, cid, doc in
                self._lookup("SELECT rowid, id, doc FROM chunks WHERE rowid IN ({})", rowids)}

    def _lookup(self, sql: str, keys: Sequence) -> list[tuple]:
        """The rows ``sql`` (``{}`` standing for a list of marks) selects for ``keys``, 500 at a time."""
        out: list[tuple] = []
        for lo in range(0, len(keys), 500):
            part = list(keys[lo:lo + 500])
            out += self.db.execute(sql.format(",".join("?" * len(part))), part)
        return out

    def known_fields(self, fields: Iterable[str]) -> set[str]:
        """Which of ``fields`` some document has (columns always count)."""
        from ..filters import COLUMNS

        known = set()
        for name in fields:
            if name in COLUMNS or self.db.execute(
                    "SELECT 1 FROM files WHERE json_type(metadata, ?) IS NOT NULL LIMIT 1", (f'$."{name}"',)):
                known.add(name)
        return known

    # --- lookups --------------------------------------------------------------------------
    def chunks(self, ids: Sequence[str]) -> dict[str, Chunk]:
        out: dict[str, Chunk] = {}
        ids = list(ids)
        for lo in range(0, len(ids), 500):
            part = ids[lo:lo + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(
                    f"SELECT id, source, page, idx, start, end, text, extractor, quality, location, doc FROM chunks"
                    f" WHERE id IN ({marks})", part):
                out[row[0]] = Chunk(id=row[0], source=row[1], page=row[2], index=row[3], start=row[4], end=row[5],
                                    text=row[6], extractor=row[7], quality=row[8], location=row[9], doc=row[10])
        return out

    def lexical_search(self, tokens: Sequence[str], k: int, scope: Scope | None = None,
                       with_doc: bool = False) -> list[tuple]:
        """Best ``k`` chunk ids by BM25 (``ragkit.index.lexical``), larger score is better; only
        chunks of documents in ``scope`` are ranked."""
        scope = scope or Scope()
        names = scope.collections if scope.collections is not None else self.collection_names()
        found: list[tuple[str, float]] = []
        for name in names:
            docs = None
            if scope.filter is not None:
                where, params = Scope((name,), scope.filter).sql("f")
                docs = (f"SELECT f.id FROM files f WHERE {where}", params)
            found += self._search_index().search(name, tokens, k, docs, with_doc=with_doc and docs is None)
        return sorted(found, key=lambda item: -item[1])[:k] if len(names) > 1 else found

    def lexical_rows(self, tokens: Sequence[str], k: int, collection: str,
                     runs: Sequence[tuple[int, int]] | None = None) -> list[tuple[int, float]]:
        """Best ``k`` (chunk rowid, BM25 score) of ``collection`` (only rows in ``runs``, (first,
        last) rowids, when given), joined to nothing: reading a filter's deeper ranking, joining
        600 rows to their chunks cost more than ranking them."""
        return self._search_index().rows(collection, tokens, k, runs)

    def collection_names(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT collection FROM files")]

    def pages(self) -> list[dict]:
        """Per indexed page: which extractor produced its text and the page's quality score."""
        rows = self.db.execute(
            "SELECT c.source, c.page, c.extractor, min(c.quality), count(*), f.collection FROM chunks c "
            "JOIN files f ON f.id = c.doc GROUP BY c.doc, c.page ORDER BY f.collection, c.source, c.page")
        return [{"source": r[0], "page": r[1], "extractor": r[2], "quality": r[3], "chunks": r[4], "collection": r[5]}
                for r in rows]

    def count_chunks(self) -> int:
        return self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def has_files(self) -> bool:
        return self.db.execute("SELECT 1 FROM files LIMIT 1").fetchone() is not None

    def lexical_consistent(self) -> bool:
        return self.lexical.consistent(self.collection_names())

    def rebuild_lexical(self) -> None:
        """Re-tokenise every chunk into the lexical index in one transaction."""
        with self._tx():
            self.lexical.rebuild(self.db.execute(
                "SELECT c.rowid, f.collection, c.text FROM chunks c JOIN files f ON f.id = c.doc").fetchall())
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


_FILE_COLUMNS = ("id, collection, path, source, sha256, size, mtime, pages, chunks, ingested_at, warnings, "
                 "metadata, given, chunk_key")


def _record(row: tuple) -> FileRecord:
    return FileRecord(id=row[0], collection=row[1], path=row[2], source=row[3], sha256=row[4], size=row[5],
                      mtime=row[6], pages=row[7], chunks=row[8], ingested_at=row[9], warnings=json.loads(row[10] or "[]"),
                      metadata=json.loads(row[11] or "{}"), given=json.loads(row[12] or "{}"), chunk_key=row[13])
