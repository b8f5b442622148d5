"""A store directory: the catalog (SQLite), the vectors (Chroma), a writer lock, and the rules
that keep them agreeing. Everything that writes to a store goes through ``Store.write`` and
``Store.remove``; callers never touch the catalog or the vectors directly.

Per-file write protocol (crash-safe at every step), carried out by ``write``:
1. upsert the new vectors of the batch (one or more files) into Chroma;
2. one SQLite transaction replaces the file's chunks, lexical rows and manifest entry;
3. delete the file's old vectors that are no longer used.
A kill between steps leaves only *extra* vectors (not in the catalog) or, if Chroma lost writes,
catalog chunks without vectors (also what a Chroma server that died mid-write leaves). `reconcile()` deletes the former and forgets files with the latter
(so the next ingest redoes them); every ingest starts with it, and `ragkit check --repair` runs it.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import math
import os
import stat
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from .errors import EmptyStore, StoreError, StoreLocked
from .filters import Scope
from .index.catalog import Catalog, CollectionInfo, FileRecord
from .types import Chunk

if TYPE_CHECKING:
    import numpy as np

    from .index.failures import FailureLog
    from .index.vectors import ChromaServer

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700  # a new store: only its owner can list or read it (the documents are private)
CATALOG_FILE = "catalog.sqlite"
VECTORS_DIR = "chroma"
LOCK_FILE = "write.lock"
OVERFETCH = 2.0  # ``_depth``: how much deeper than the allowed share needs to read first
MAX_OVERFETCH = 3000  # deeper than this (a filter allowing under ~1-3%), the exact query is cheaper
MAX_RUNS = 8  # a filter's rows in at most this many runs are ranked run by run (~1-2 ms a run at 100k)
CACHED_CHUNKS = 100_000  # ``Store.allowed`` remembers the ids of about this many allowed chunks at most (~20 MB)
SERVER_META = "vector_server"  # {"collection": name} when the store's vectors live in a Chroma server


@dataclass(frozen=True)
class Allowed:
    """What a metadata filter allows in one collection (``Store.allowed``)."""

    scope: Scope  # the filter, in this one collection
    share: float  # of the collection's chunks, 0..1
    docs: frozenset[str]  # the allowed documents' ids
    chunks: frozenset[str] | None  # their chunks' ids, when at most ``CACHED_CHUNKS`` (else None)
    rows: frozenset[int] | None  # and their chunks' catalog rowids (the lexical index's keys)
    runs: tuple[tuple[int, int], ...] | None  # those rowids as (first, last) runs, when at most ``MAX_RUNS``

    @property
    def collection(self) -> str:
        return self.scope.collections[0]


@dataclass
class FileUpdate:
    """One file's new state: its manifest record, all its chunks and their lexical tokens."""

    record: FileRecord
    chunks: list[Chunk]
    tokens: list[list[str]]


class Store:
    """Opens (or creates) a store directory; the vector side is opened on first use."""

    def __init__(self, path: str | Path, create: bool = False, read_only: bool | None = None,
                 server: "ChromaServer | None" = None):
        """``read_only``: open without writing anything (None: when the store folder or its
        catalog is not writable, e.g. a read-only mount or ``chmod -R a-w``). ``server``: keep
        the vectors in this Chroma server instead of the store folder."""
        self.path = Path(path)
        self.server = server
        if not (self.path / CATALOG_FILE).is_file():
            if not create:
                raise EmptyStore(f"nothing is indexed yet (no store at {self.path}): run `ragkit ingest PATH` "
                                 "(or pass --store DIR)")
            _make_private_dir(self.path)
        self.read_only = _read_only(self.path) if read_only is None else read_only
        with self.private_files():
            self.catalog = Catalog(self.path / CATALOG_FILE, read_only=self.read_only)
        self._vectors = None
        self._vectors_generation = -1  # the catalog generation the open vector index reflects
        self._lock = threading.RLock()
        self._allowed_cache: dict[Scope, tuple[Allowed, ...]] = {}
        self._allowed_generation = -1
        self._cached_chunks = 0  # chunks whose ids ``_allowed_cache`` holds

    @property
    def vectors(self):
        """The vector index, reopened when another process wrote to the store since it was opened
        (the catalog's generation moved): Chroma keeps what it loaded in memory, so a long-lived
        process would otherwise search stale vectors while the lexical side is fresh."""
        with self._lock:
            generation = self.catalog.generation()
            if self._vectors is not None and generation != self._vectors_generation:
                log.info("%s changed since its vectors were opened; reopening them", self.path)
                self._vectors.close()
                self._vectors = None
            if self._vectors is None:
                from .index.vectors import VectorIndex

                self._vectors = VectorIndex(self.path / VECTORS_DIR, read_only=self.read_only, server=self.server,
                                            base=self._server_collection())
            self._vectors_generation = generation
            return self._vectors

    def _server_collection(self) -> str:
        """The Chroma collection of this store: the fixed on-disk name, or in a server one named
        for this store (recorded on first use, so stores sharing a server never mix). A store never
        switches sides: its vectors would be left behind."""
        from .index.vectors import COLLECTION, CHROMA_URL_SETTING

        recorded = self.catalog.get_meta().get(SERVER_META)
        if self.server is None:
            if recorded:
                raise StoreError(f"{self.path} keeps its vectors in a Chroma server (collection "
                                 f"{recorded['collection']}); set {CHROMA_URL_SETTING} to that server")
            return COLLECTION
        if recorded:
            return str(recorded["collection"])
        if self.catalog.count_chunks():
            raise StoreError(f"{self.path} keeps its vectors on disk; unset {CHROMA_URL_SETTING} to use it, "
                             "or ingest into a new --store to keep the vectors in the server")
        collection = f"{COLLECTION}-{uuid.uuid4().hex}"
        if not self.read_only:
            self.catalog.set_meta({SERVER_META: {"collection": collection}})
        return collection

    def _wrote(self) -> None:
        """Our own catalog write moved the generation; the open vectors already have it (we hold
        the writer lock, so no one else wrote in between)."""
        self._vectors_generation = self.catalog.generation()

    def close(self) -> None:
        """Close the catalog's connections and drop the vector client (reopened on next use)."""
        self.catalog.close()
        self._vectors = None

    # --- reading ----------------------------------------------------------------------------
    def file(self, collection: str, path: str) -> FileRecord | None:
        return self.catalog.file(collection, path)

    def files(self, collection: str | None = None) -> list[FileRecord]:
        return self.catalog.files(collection)

    def documents(self, ids: Sequence[str]) -> dict[str, FileRecord]:
        return self.catalog.documents(ids)

    def collections(self) -> list[CollectionInfo]:
        return self.catalog.collections()

    def chunk_ids(self, doc: str | None = None) -> set[str]:
        return self.catalog.chunk_ids(doc)

    def chunks(self, ids: Sequence[str]) -> dict[str, Chunk]:
        return self.catalog.chunks(ids)

    def pages(self) -> list[dict]:
        return self.catalog.pages()

    def count_chunks(self) -> int:
        return self.catalog.count_chunks()

    def require_content(self) -> None:
        """Raise EmptyStore when no file is indexed: searching it could only ever say "not in the
        documents", which hides the real problem. Costs one indexed row lookup."""
        if not self.catalog.has_files():
            raise EmptyStore(f"nothing is indexed yet in {self.path}: run `ragkit ingest PATH`")

    @property
    def failures(self) -> "FailureLog":
        """Files that failed to load and are not retried while unchanged (``ragkit.index.failures``)."""
        return self.catalog.failures

    def search_lexical(self, tokens: Sequence[str], k: int, scope: Scope | None = None) -> list[tuple[str, float]]:
        """Best ``k`` (chunk id, BM25 score) for the query tokens among the chunks ``scope`` allows."""
        if scope is None or scope.filter is None:
            return self.catalog.lexical_search(tokens, k, scope)
        return self._filtered(scope, k, lambda part: self._lexical_best(tokens, part, k),
                              lambda part: self.catalog.lexical_search(tokens, k, part.scope))

    def search_dense(self, vector: "np.ndarray", k: int, scope: Scope | None = None) -> list[tuple[str, float]]:
        """Best ``k`` (chunk id, cosine similarity) for a query vector among the chunks ``scope``
        allows: whole collections by the collection's own index, a metadata filter by
        ``_filtered`` (``ragkit.index.vectors``)."""
        if scope is None or scope.everything:
            return self.vectors.query(vector, k)
        if scope.filter is None:
            return self.vectors.query(vector, k, where={c: None for c in scope.collections or ()})
        return self._filtered(scope, k, lambda part: self._dense_best(vector, part, k),
                              lambda part: self.vectors.query(vector, k, where={part.collection: self._chunk_ids(part)}))

    def allowed(self, scope: Scope) -> tuple["Allowed", ...]:
        """What ``scope``'s filter allows in each of its collections (those where it allows
        nothing left out), remembered until the store is written: a service repeats the same
        grants and filters, and the lookup scans every document's metadata."""
        generation = self.catalog.generation()
        with self._lock:
            if (self._allowed_generation != generation or len(self._allowed_cache) > 256
                    or self._cached_chunks > CACHED_CHUNKS):
                self._allowed_cache, self._allowed_generation, self._cached_chunks = {}, generation, 0
            if scope not in self._allowed_cache:
                names = scope.collections if scope.collections is not None else self.catalog.collection_names()
                parts = tuple(part for part in (self._look_up(Scope((name,), scope.filter)) for name in names)
                              if part.share > 0)
                self._allowed_cache[scope] = parts
                self._cached_chunks += sum(len(part.chunks or ()) for part in parts)
            return self._allowed_cache[scope]

    def _look_up(self, scope: Scope) -> "Allowed":
        """``Allowed`` for a scope of one collection, with its chunks when there are few enough."""
        count, total, docs = self.catalog.allowed(scope)
        if not 0 < count <= CACHED_CHUNKS:
            return Allowed(scope, count / total if total else 0.0, docs, None, None, None)
        rows = self.catalog.scope_chunks(scope)
        return Allowed(scope, count / total, docs, frozenset(cid for _, cid in rows),
                       frozenset(rowid for rowid, _ in rows), _runs(sorted(rowid for rowid, _ in rows)))

    def _chunk_ids(self, part: "Allowed") -> list[str]:
        """Every chunk id ``part`` allows (sorted when remembered, so a query gets them in one order)."""
        return sorted(part.chunks) if part.chunks is not None else [cid for _, cid in self.catalog.scope_chunks(part.scope)]

    def _filtered(self, scope: Scope, k: int, best: Callable[["Allowed"], list[tuple[str, float]] | None],
                  exact: Callable[["Allowed"], list[tuple[str, float]]]) -> list[tuple[str, float]]:
        """The best ``k`` chunks a metadata filter allows, per collection, merged; never fewer
        or other ones than ranking only the allowed chunks gives: each collection's ``best``
        (``_lexical_best``, ``_dense_best``) where it can tell them cheaply, else its ``exact``
        filtered query. A filter's cost is materialising what it allows (at 100k chunks, a
        filtered FTS5 join cost 2.9x the plain query, and Chroma's ``ids=`` 20x)."""
        found: list[tuple[str, float]] = []
        for part in self.allowed(scope):
            top = best(part)
            found += top if top is not None else exact(part)
        return sorted(found, key=lambda item: -item[1])[:k]

    def _lexical_best(self, tokens: Sequence[str], part: "Allowed", k: int) -> list[tuple[str, float]] | None:
        """The best ``k`` lexical hits ``part`` allows, or None: ask the exact query.

        Allowed rows in a few runs of consecutive rowids (documents ingested together, e.g. a
        folder with its sidecar's metadata): FTS5 ranks only those runs (``rowid BETWEEN``; BM25
        keeps the whole table's statistics, so scores are the unfiltered ones). Else the deeper
        read (``_deeper``): kept by remembered rowid, or by the document joined to each row.
        Remembered rows are looked up for the best ``k`` only, their documents checked again: a
        row another process rewrote since may be another document's (then None)."""
        if part.runs is not None:
            return self._checked_rows(self.catalog.lexical_rows(tokens, k, part.collection, part.runs), part)
        depth = _depth(part, k)
        if depth is None:
            return None
        if part.rows is None:
            ranked = self.catalog.lexical_search(tokens, depth, Scope((part.collection,)), with_doc=True)
            return _deeper([(cid, score) for cid, score, doc in ranked if doc in part.docs], k, len(ranked), depth)
        rows = self.catalog.lexical_rows(tokens, depth, part.collection)
        found = self._checked_rows([(rowid, score) for rowid, score in rows if rowid in part.rows][:k], part)
        return None if found is None else _deeper(found, k, len(rows), depth)

    def _checked_rows(self, rows: list[tuple[int, float]], part: "Allowed") -> list[tuple[str, float]] | None:
        """(chunk id, score) for remembered (rowid, score), or None when one of them is no longer
        a chunk of an allowed document."""
        at = self.catalog.ids_at([rowid for rowid, _ in rows])
        found = [(at[rowid][0], score) for rowid, score in rows if rowid in at and at[rowid][1] in part.docs]
        return found if len(found) == len(rows) else None

    def _dense_best(self, vector: "np.ndarray", part: "Allowed", k: int) -> list[tuple[str, float]] | None:
        """The best ``k`` dense hits ``part`` allows by the deeper read (``_deeper``), kept by the
        remembered chunk ids, else by each chunk's document (looked up in the catalog: Chroma's
        own metadata is slower to read); or None: ask the exact query."""
        depth = _depth(part, k)
        if depth is None:
            return None
        ranked = self.vectors.query(vector, depth, where={part.collection: None})
        if part.chunks is not None:
            return _deeper([(cid, score) for cid, score in ranked if cid in part.chunks], k, len(ranked), depth)
        doc_of = self.catalog.docs_of([cid for cid, _ in ranked])
        return _deeper([(cid, score) for cid, score in ranked if doc_of.get(cid) in part.docs], k, len(ranked), depth)

    # --- writing (the protocol in the module docstring) ---------------------------------------
    def write(self, updates: Sequence[FileUpdate], fresh: Sequence[Chunk], vectors: "np.ndarray") -> None:
        """Make each update's chunks its document's only chunks. ``fresh`` are the chunks whose
        vectors are not stored yet, with their ``vectors`` (one row each)."""
        if fresh:
            # step 1 for every file of the batch in one upsert per collection: Chroma's cost is
            # per call (~30 ms), so one call per file made writing a folder of small files slow
            collection_of = {u.record.id: u.record.collection for u in updates}
            rows: dict[str, list[int]] = {}
            for i, chunk in enumerate(fresh):
                rows.setdefault(collection_of[chunk.doc], []).append(i)
            for collection, picked in rows.items():
                self.vectors.add(collection, [fresh[i].id for i in picked], vectors[picked],
                                 [fresh[i].doc for i in picked])
        for update in updates:
            old = self.catalog.chunk_ids(update.record.id)
            self.catalog.replace_file(update.record, update.chunks, update.tokens)
            self._wrote()
            stale = old - {c.id for c in update.chunks}
            if stale:
                self.vectors.delete(stale)

    def repoint(self, record: FileRecord, path: str, source: str, mtime: float) -> None:
        """``record``'s file moved (same content, old path gone): only the catalog changes."""
        self.catalog.repoint(record.id, path, source, mtime)
        self._wrote()

    def remove(self, docs: Iterable[str]) -> set[str]:
        """Forget documents by id (catalog first, in one transaction, then their vectors);
        returns the removed chunk ids."""
        docs = list(docs)
        if not docs:
            return set()
        ids = self.catalog.remove_files(docs)
        self._wrote()
        if ids:
            self.vectors.delete(ids)
        return ids

    def drop_collection(self, name: str) -> int:
        """Forget every document of collection ``name``, then its vectors whole; returns how many."""
        count = len(self.catalog.files(name))
        self.catalog.drop_collection(name)
        self._wrote()
        self.vectors.drop(name)
        return count

    # --- what built the store ---------------------------------------------------------------
    def check_built_with(self, built_with: dict) -> None:
        """Refuse to mix embedders or chunk settings in one store; record them on first use.

        A store recorded before embedder fingerprints (``name:dim``) is accepted by a model with
        that name and dimension, and its record is upgraded to the fingerprint from then on.
        """
        recorded = self.catalog.get_meta().get("built_with")
        if recorded is None:
            if not self.read_only:  # a read-only store records nothing
                self.catalog.set_meta({"built_with": built_with, "created_at": time.time()})
            return
        upgraded = _upgraded_record(recorded, built_with)
        if upgraded != recorded and not self.read_only:
            self.catalog.set_meta({"built_with": upgraded})
        recorded = upgraded
        diffs = [f"{k}: store has {recorded.get(k)!r}, settings give {v!r}"
                 for k, v in built_with.items() if recorded.get(k) != v]
        if diffs:
            raise StoreError(f"{self.path} was built with other settings ({'; '.join(diffs)}); use the same "
                             "embedding model and chunk settings, or a new --store, or re-ingest into a fresh store")

    def built_with(self) -> dict | None:
        return self.catalog.get_meta().get("built_with")

    # --- file permissions ---------------------------------------------------------------------
    @contextlib.contextmanager
    def private_files(self) -> Iterator[None]:
        """Create files no more readable than the store folder: 0600 in a 0700 store (SQLite gives
        its -wal/-shm files the database's mode; Chroma's files follow the umask). A store folder
        made group-readable on purpose keeps group-readable files. The umask is process-wide: a
        file another thread creates meanwhile is at most more private, never less."""
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
        except OSError:
            mode = PRIVATE_DIR_MODE
        old = os.umask((~mode & 0o077) | 0o022)
        try:
            yield
        finally:
            os.umask(old)

    # --- one writer at a time ----------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self, timeout: float = 60.0, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the store's write lock; wait up to ``timeout`` seconds for another writer. Files
        created meanwhile are private (``private_files``)."""
        fd = _open_lock(self.path / LOCK_FILE)
        fh = os.fdopen(fd, "r+")
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
                        (on_wait or log.warning)(f"waiting for another ragkit process writing to {self.path} ...")
                        told = True
                    time.sleep(0.2)
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
            with self.private_files():
                yield
            self.catalog.checkpoint()
        finally:
            fh.close()  # closing releases the lock

    # --- consistency -------------------------------------------------------------------------
    def _disagreements(self) -> tuple[set[str], set[str], set[str], list[str]]:
        """(catalog ids, vector ids, orphan vector ids, documents whose chunks or counts are off)."""
        catalog_ids = self.catalog.chunk_ids()
        vector_ids = self.vectors.ids()
        missing = catalog_ids - vector_ids
        broken = {c.doc for c in self.catalog.chunks(sorted(missing)).values()}
        broken |= {f.id for f in self.catalog.files() if f.chunks != len(self.catalog.chunk_ids(f.id))}
        return catalog_ids, vector_ids, vector_ids - catalog_ids, sorted(broken)

    def check(self, collection: str | None = None) -> dict:
        """Compare catalog and vectors; report what disagrees without changing anything. With
        ``collection``, the counts and lists are that collection's (orphan vectors belong to none).

        ``files_relative_path`` lists documents migrated from a store that never recorded where
        they were (ragkit before schema 4): ingesting the same files again adopts them."""
        catalog_ids, vector_ids, orphans, broken = self._disagreements()
        lexical_ok = self.catalog.lexical_consistent()
        files = self.catalog.files(collection)
        if collection is not None:
            mine = {f.id for f in files}
            catalog_ids = {cid for cid, c in self.catalog.collection_of(catalog_ids).items() if c == collection}
            broken = [b for b in broken if b in mine]
        by_id = {f.id: f for f in self.catalog.files()}
        return {
            "consistent": not orphans and not broken and catalog_ids <= vector_ids and lexical_ok,
            "collection": collection,
            "files": len(files),
            "chunks": len(catalog_ids),
            "vectors": len(vector_ids) if collection is None else len(catalog_ids & vector_ids),
            "orphan_vectors": len(orphans),
            "chunks_without_vectors": len(catalog_ids - vector_ids),
            "files_incomplete": sorted(by_id[b].source for b in broken if b in by_id),
            "files_relative_path": [f.source for f in files if not os.path.isabs(f.path or "")],
            "lexical_consistent": lexical_ok,
        }

    def reconcile(self) -> dict:
        """Restore agreement: drop orphan vectors, forget files whose chunks lack vectors."""
        _, vector_ids, orphans, forgotten = self._disagreements()
        names = {f.id: f.source for f in self.catalog.files(ids=forgotten)} if forgotten else {}
        if orphans:
            self.vectors.delete(orphans)
        if forgotten:
            stale = self.catalog.remove_files(forgotten)
            self._wrote()
            self.vectors.delete(stale & vector_ids)
        if not self.catalog.lexical_consistent():
            self.catalog.rebuild_lexical()
            self._wrote()
        return {"orphan_vectors_deleted": len(orphans), "files_forgotten": [names.get(d, d) for d in forgotten]}


def _depth(part: Allowed, k: int) -> int | None:
    """How deep a collection's own ranking is read for ``k`` of what ``part`` allows
    (``OVERFETCH`` times its share), or None when that is deeper than ``MAX_OVERFETCH``."""
    depth = math.ceil(k / part.share * OVERFETCH)
    return depth if depth <= MAX_OVERFETCH else None


def _deeper(kept: list[tuple[str, float]], k: int, read: int, depth: int) -> list[tuple[str, float]] | None:
    """The best ``k`` allowed from a deeper read that kept ``kept`` of ``read`` ranked (asked for
    ``depth``): scores do not depend on the filter, so when it kept ``k`` or read every match they
    are exactly the best ``k`` allowed; else None (the exact query runs)."""
    return kept[:k] if len(kept) >= k or read < depth else None


def _runs(rowids: list[int]) -> tuple[tuple[int, int], ...] | None:
    """Sorted ``rowids`` as (first, last) runs of consecutive ones, or None when more than ``MAX_RUNS``."""
    runs: list[list[int]] = []
    for rowid in rowids:
        if runs and rowid == runs[-1][1] + 1:
            runs[-1][1] = rowid
        elif len(runs) == MAX_RUNS:
            return None
        else:
            runs.append([rowid, rowid])
    return tuple((first, last) for first, last in runs)


def _make_private_dir(path: Path) -> None:
    """Create the store folder (and missing parents) readable by its owner only."""
    existed = path.exists()
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if not existed:
        os.chmod(path, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask


def _open_lock(path: Path) -> int:
    """Open (or create, 0600) the lock file without following a symbolic link: a link planted at
    ``write.lock`` would otherwise have its target truncated and overwritten with our PID."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(f"{path} is a symbolic link, not ragkit's lock file; nothing was written. "
                             f"Remove the link (rm {path}) and retry") from None
        raise StoreError(f"{path}: cannot open the store's lock file ({exc.strerror}); check the store "
                         "folder's permissions (a read-only store can be searched, not written)") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StoreError(f"{path} is not a regular file, not ragkit's lock file; nothing was written. "
                         f"Remove it and retry")
    os.set_blocking(fd, True)
    return fd


def _read_only(path: Path) -> bool:
    """True when this process cannot write the store (read-only mount, no write permission)."""
    catalog = path / CATALOG_FILE
    return not (os.access(path, os.W_OK) and (not catalog.exists() or os.access(catalog, os.W_OK)))


def _upgraded_record(recorded: dict, built_with: dict) -> dict:
    """``recorded`` with a fingerprint-less embedder id replaced by ``built_with``'s fingerprint."""
    model = built_with.get("embed_model")
    if model is not None and _legacy_model_id(recorded.get("embed_model"), model):
        return dict(recorded, embed_model=model)
    return recorded


def _legacy_model_id(recorded: object, current: str) -> bool:
    """True when ``recorded`` is the fingerprint-less ``name:dim`` form of ``current``
    (``name:dim:fingerprint``)."""
    return isinstance(recorded, str) and recorded.count(":") == 1 and current.rsplit(":", 1)[0] == recorded
