"""A store directory: the catalog (SQLite), the vectors (Chroma), a writer lock, and the rules
that keep them agreeing.

Per-file write protocol (crash-safe at every step):
1. upsert the new vectors of the batch (one or more files) into Chroma;
2. one SQLite transaction replaces the file's chunks, lexical rows and manifest entry;
3. delete the file's old vectors that are no longer used.
A kill between steps leaves only *extra* vectors (not in the catalog) or, if Chroma lost writes,
catalog chunks without vectors. `reconcile()` deletes the former and forgets files with the latter
(so the next ingest redoes them); every ingest starts with it, and `ragkit check --repair` runs it.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from pathlib import Path
from typing import Iterator

from .errors import StoreError, StoreLocked
from .index.catalog import Catalog

CATALOG_FILE = "catalog.sqlite"
VECTORS_DIR = "chroma"
LOCK_FILE = "write.lock"


class Store:
    """Opens (or creates) a store directory; the vector side is opened on first use."""

    def __init__(self, path: str | Path, create: bool = False):
        self.path = Path(path)
        if not (self.path / CATALOG_FILE).is_file():
            if not create:
                raise StoreError(f"no ragkit store at {self.path}; run `ragkit ingest PATH...` first "
                                 "(or pass --store DIR)")
            self.path.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(self.path / CATALOG_FILE)
        self._vectors = None

    @property
    def vectors(self):
        if self._vectors is None:
            from .index.vectors import VectorIndex

            self._vectors = VectorIndex(self.path / VECTORS_DIR)
        return self._vectors

    # --- what built the store ---------------------------------------------------------------
    def check_built_with(self, built_with: dict) -> None:
        """Refuse to mix embedders or chunk settings in one store; record them on first use."""
        meta = self.catalog.get_meta()
        recorded = meta.get("built_with")
        if recorded is None:
            self.catalog.set_meta({"built_with": built_with, "created_at": time.time()})
            return
        diffs = [f"{k}: store has {recorded.get(k)!r}, settings give {v!r}"
                 for k, v in built_with.items() if recorded.get(k) != v]
        if diffs:
            raise StoreError(f"{self.path} was built with other settings ({'; '.join(diffs)}); use the same "
                             "embedding model and chunk settings, or a new --store, or re-ingest into a fresh store")

    def built_with(self) -> dict | None:
        return self.catalog.get_meta().get("built_with")

    # --- one writer at a time ----------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self, timeout: float = 60.0, on_wait=None) -> Iterator[None]:
        """Hold the store's write lock; wait up to ``timeout`` seconds for another writer."""
        fh = open(self.path / LOCK_FILE, "a+")
        deadline = time.monotonic() + timeout
        told = False
        try:
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreLocked(f"{self.path} is being written by another ragkit process; "
                                          f"gave up after {timeout:g}s (retry later or raise lock_timeout)") from None
                    if not told:
                        (on_wait or _say)(f"waiting for another ragkit process writing to {self.path} ...")
                        told = True
                    time.sleep(0.2)
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
            yield
        finally:
            fh.close()  # closing releases the lock

    # --- consistency -------------------------------------------------------------------------
    def _disagreements(self) -> tuple[set[str], set[str], set[str], list[str]]:
        """(catalog ids, vector ids, orphan vector ids, files whose chunks or counts are off)."""
        catalog_ids = self.catalog.chunk_ids()
        vector_ids = self.vectors.ids()
        missing = catalog_ids - vector_ids
        broken = {c.source for c in self.catalog.chunks(sorted(missing)).values()}
        broken |= {f.source for f in self.catalog.files() if f.chunks != len(self.catalog.chunk_ids(f.source))}
        return catalog_ids, vector_ids, vector_ids - catalog_ids, sorted(broken)

    def check(self) -> dict:
        """Compare catalog and vectors; report what disagrees without changing anything."""
        catalog_ids, vector_ids, orphans, broken = self._disagreements()
        lexical_ok = self.catalog.lexical_consistent()
        return {
            "consistent": not orphans and not broken and catalog_ids <= vector_ids and lexical_ok,
            "files": len(self.catalog.files()),
            "chunks": len(catalog_ids),
            "vectors": len(vector_ids),
            "orphan_vectors": len(orphans),
            "chunks_without_vectors": len(catalog_ids - vector_ids),
            "files_incomplete": broken,
            "lexical_consistent": lexical_ok,
        }

    def reconcile(self) -> dict:
        """Restore agreement: drop orphan vectors, forget files whose chunks lack vectors."""
        _, vector_ids, orphans, forgotten = self._disagreements()
        if orphans:
            self.vectors.delete(orphans)
        if forgotten:
            stale = self.catalog.remove_files(forgotten)
            self.vectors.delete(stale & vector_ids)
        if not self.catalog.lexical_consistent():
            self._rebuild_lexical()
        return {"orphan_vectors_deleted": len(orphans), "files_forgotten": forgotten}

    def _rebuild_lexical(self) -> None:
        from .text.japanese import index_tokens

        db = self.catalog.db
        with self.catalog._tx():
            db.execute("DELETE FROM lexical")
            for rowid, text in db.execute("SELECT rowid, text FROM chunks").fetchall():
                db.execute("INSERT INTO lexical (rowid, tokens) VALUES (?, ?)", (rowid, " ".join(index_tokens(text))))


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
