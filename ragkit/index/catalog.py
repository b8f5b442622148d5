"""The catalog: one SQLite file holding the manifest, the chunks and the BM25 (FTS5) index.

Keeping the three in one database makes each file's update a single transaction: the manifest
row, the chunk rows and their lexical entries change together or not at all. Chroma is the only
other place a chunk lives; `ragkit.store` reconciles the two.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import StoreError
from ..types import Chunk

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, mtime REAL NOT NULL,
    pages INTEGER NOT NULL, chunks INTEGER NOT NULL, ingested_at REAL NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, page INTEGER,
    idx INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL,
    extractor TEXT NOT NULL DEFAULT '', quality REAL, location TEXT);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
CREATE VIRTUAL TABLE IF NOT EXISTS lexical USING fts5(tokens, tokenize="unicode61 remove_diacritics 0");
"""


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

    def to_json(self) -> dict:
        return {"source": self.source, "pages": self.pages, "chunks": self.chunks, "sha256": self.sha256,
                "size": self.size, "ingested_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.ingested_at)),
                "warnings": self.warnings}


def fts_query(tokens: Sequence[str]) -> str:
    """An FTS5 MATCH expression that ORs the tokens, each quoted so no token is FTS syntax."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in dict.fromkeys(tokens) if t.strip()]
    return " OR ".join(quoted)


class Catalog:
    """Manifest, chunk texts and the lexical index of one store."""

    def __init__(self, path: Path):
        try:
            self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            _add_location_column(self.db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: the catalog is damaged ({exc}); remove the store and ingest again") from exc

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
                self.db.execute("INSERT INTO lexical (rowid, tokens) VALUES (?, ?)", (cur.lastrowid, " ".join(toks)))
            self.db.execute(
                "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?)",
                (record.source, record.sha256, record.size, record.mtime, record.pages, len(chunks),
                 record.ingested_at or time.time(), json.dumps(record.warnings, ensure_ascii=False)))

    def remove_files(self, sources: Iterable[str]) -> set[str]:
        """Forget files and their chunks in one transaction; returns the removed chunk ids."""
        removed: set[str] = set()
        with self._tx():
            for source in sources:
                removed |= self.chunk_ids(source)
                self._delete_source(source)
                self.db.execute("DELETE FROM files WHERE source = ?", (source,))
        return removed

    def _delete_source(self, source: str) -> None:
        self.db.execute("DELETE FROM lexical WHERE rowid IN (SELECT rowid FROM chunks WHERE source = ?)", (source,))
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
        """Best ``k`` chunk ids by BM25 with a score where larger is better."""
        expr = fts_query(tokens)
        if not expr:
            return []
        rows = self.db.execute(
            # rank inside FTS5 first, join only the k winners: joining every matched row before
            # sorting cost 2x at 100k chunks (bench/README.md)
            "SELECT c.id, top.s FROM (SELECT rowid, bm25(lexical) AS s FROM lexical WHERE lexical MATCH ? "
            "ORDER BY s LIMIT ?) AS top JOIN chunks c ON c.rowid = top.rowid ORDER BY top.s", (expr, k))
        return [(cid, -float(score)) for cid, score in rows]

    def pages(self) -> list[dict]:
        """Per indexed page: which extractor produced its text and the page's quality score."""
        rows = self.db.execute(
            "SELECT source, page, extractor, min(quality), count(*) FROM chunks "
            "GROUP BY source, page ORDER BY source, page")
        return [{"source": r[0], "page": r[1], "extractor": r[2], "quality": r[3], "chunks": r[4]} for r in rows]

    def count_chunks(self) -> int:
        return self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def lexical_consistent(self) -> bool:
        """Every chunk has exactly one lexical row and no lexical row is orphaned."""
        n_lex = self.db.execute("SELECT count(*) FROM lexical").fetchone()[0]
        n_join = self.db.execute("SELECT count(*) FROM lexical JOIN chunks c ON c.rowid = lexical.rowid").fetchone()[0]
        return n_lex == n_join == self.count_chunks()

    def _tx(self):
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False


def _add_location_column(db: sqlite3.Connection) -> None:
    """Stores made before Office formats lack ``chunks.location``: add it (NULL for old rows)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(chunks)")}
    if "location" not in columns:
        db.execute("ALTER TABLE chunks ADD COLUMN location TEXT")


def _record(row: tuple) -> FileRecord:
    return FileRecord(source=row[0], sha256=row[1], size=row[2], mtime=row[3], pages=row[4], chunks=row[5],
                      ingested_at=row[6], warnings=json.loads(row[7] or "[]"))
