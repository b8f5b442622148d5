"""The dense side: on-disk Chroma collections that hold our own vectors, keyed by chunk id.

Chroma never embeds here (its default embedding function would download a model): every call
passes ``embeddings=`` / ``query_embeddings=``. Chunk text and metadata live in the catalog;
Chroma keeps the vector and the document id only.

One Chroma collection per ragkit collection (``chroma_name``; ``default`` keeps the name older
stores used, so they need no change). Measured at 100k vectors (256-d, 10 collections of 10%):
one Chroma collection with a ``collection`` metadata field and ``where={"collection": ...}``
answered in 85.7 ms p50 (Chroma filters metadata in SQLite, then searches HNSW with the allowed
list), one Chroma collection per ragkit collection in 2.4 ms, an unfiltered query in 2.9 ms. A
metadata filter inside a collection reads deeper and keeps the allowed chunks (``ragkit.store``);
its exact fallback passes the allowed chunk ids (``ids=``): 17.8 ms for 10% of 100k, against
93.5 ms for ``where={"doc": {"$in": ...}}``. Each vector's metadata is its document id (``doc``).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np

from ..errors import StoreError
from .catalog import damaged

COLLECTION = "ragkit-chunks"  # the ``default`` collection's vectors (every vector before collections)
DEFAULT_COLLECTION = "default"
SEARCH_EF = 100
# One thread builds the HNSW graph: with several, the graph depends on thread timing, so the same
# chunks gave different neighbours from run to run on busy cores (a filtered-recall test failed
# now and then); our batches are small, so building on one thread costs little.
"""HNSW candidates per query for new collections (Chroma's default is 10, below the 30 candidates
retrieval asks for): one store's collection and a store holding only it then found the same
ja_dev paragraphs (with 10 they differed by a question: the graphs are built differently)."""
Where = Mapping[str, "Sequence[str] | None"]


def chroma_name(collection: str) -> str:
    """The Chroma collection holding ragkit collection ``collection``'s vectors: Chroma names are
    ASCII ``[a-zA-Z0-9._-]``, ragkit names may be Japanese."""
    if collection == DEFAULT_COLLECTION:
        return COLLECTION
    return "ragkit-c-" + hashlib.sha256(collection.encode("utf-8")).hexdigest()[:24]


class VectorIndex:
    """Add, delete and query vectors in the Chroma collections under ``path``."""

    def __init__(self, path: Path, read_only: bool = False):
        """Open the collection under ``path``. Chroma writes to its database whenever a client
        starts, so a ``read_only`` store's vectors are opened from a private temporary copy
        (removed when this index is garbage-collected or the process ends)."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.path = Path(path)
        opened = _private_copy(self.path, self) if read_only else self.path
        try:
            self.client = chromadb.PersistentClient(
                path=str(opened), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False))
            self._collections = {c.name: self.client.get_collection(c.name, embedding_function=None)
                                 for c in self.client.list_collections()}
            self._get(DEFAULT_COLLECTION, create=True)
        except Exception as exc:  # chroma raises many types; all mean the same to a user
            raise StoreError(damaged(self.path.parent, f"the vector index {self.path.name} cannot be opened ({exc})")) from exc
        self.max_batch = max(1, int(self.client.get_max_batch_size()))
        self._counts: dict[str, int] = {}  # Chroma's count() costs ~9 ms a call; kept until we write

    @property
    def collection(self):
        """The Chroma collection of the ``default`` collection (every vector of older stores)."""
        return self._get(DEFAULT_COLLECTION, create=True)

    def _get(self, collection: str, create: bool = False):
        """The Chroma collection of ragkit ``collection`` (None when it has none and not ``create``)."""
        name = chroma_name(collection)
        if name not in self._collections and create:
            self._collections[name] = self.client.get_or_create_collection(
                name, metadata={"hnsw:space": "cosine", "hnsw:search_ef": SEARCH_EF, "hnsw:num_threads": 1,
                                "ragkit_collection": collection}, embedding_function=None)
        return self._collections.get(name)

    def close(self) -> None:
        """Release Chroma's in-process system for this folder, so the next open reads the disk."""
        close = getattr(self.client, "close", None)
        if close is not None:
            close()

    def add(self, collection: str, ids: Sequence[str], vectors: np.ndarray, docs: Sequence[str]) -> None:
        """Upsert vectors into ``collection``; ``docs``: each chunk's document id."""
        with _chroma_errors(self.path):
            target = self._get(collection, create=True)
            self._counts.clear()
            for lo in range(0, len(ids), self.max_batch):
                hi = lo + self.max_batch
                target.upsert(ids=list(ids[lo:hi]), embeddings=vectors[lo:hi],
                              metadatas=[{"doc": d} for d in docs[lo:hi]])

    def delete(self, ids: Iterable[str]) -> None:
        """Delete these chunk ids wherever they are (ids absent from a collection are ignored)."""
        ids = list(ids)
        self._counts.clear()
        with _chroma_errors(self.path):
            for target in list(self._collections.values()):
                for lo in range(0, len(ids), self.max_batch):
                    target.delete(ids=ids[lo:lo + self.max_batch])

    def drop(self, collection: str) -> None:
        """Delete ``collection``'s vectors whole."""
        name = chroma_name(collection)
        with _chroma_errors(self.path):
            self._counts.clear()
            if name in self._collections:
                self.client.delete_collection(name)
                del self._collections[name]

    def query(self, vector: np.ndarray, k: int, where: Where | None = None, with_doc: bool = False) -> list[tuple]:
        """Best ``k`` chunk ids with cosine similarity, best first.

        ``where`` restricts the search before ranking: collection → the only chunk ids to rank in
        it (None: all of its chunks); collections not named are not searched. Without ``where``
        every collection is searched. Several collections give one list, merged by similarity.
        ``with_doc``: (chunk id, similarity, document id or None) triples."""
        if where is None:
            targets = [(c, None) for c in self._collections.values()]
        else:
            targets = [(self._get(name), ids) for name, ids in where.items()]
        found: list[tuple[str, float]] = []
        with _chroma_errors(self.path):
            for target, ids in targets:
                n = self._count(target) if target is not None else 0
                if n == 0 or (ids is not None and not ids):
                    continue
                limit = min(k, n if ids is None else len(ids))
                extra = {} if ids is None else {"ids": list(ids)}
                include = ["distances", "metadatas"] if with_doc else ["distances"]
                res = target.query(query_embeddings=[vector], n_results=limit, include=include, **extra)
                if with_doc:
                    found += [(cid, 1.0 - float(dist), (meta or {}).get("doc")) for cid, dist, meta
                              in zip(res["ids"][0], res["distances"][0], res["metadatas"][0])]
                else:
                    found += [(cid, 1.0 - float(dist)) for cid, dist in zip(res["ids"][0], res["distances"][0])]
        return sorted(found, key=lambda item: -item[1])[:k]

    def _count(self, target) -> int:
        if target.name not in self._counts:
            self._counts[target.name] = target.count()
        return self._counts[target.name]

    def ids(self) -> set[str]:
        """Every chunk id present, read in pages so large stores do not spike memory."""
        out: set[str] = set()
        page = 10_000
        with _chroma_errors(self.path):
            for target in self._collections.values():
                offset = 0
                while True:
                    got = target.get(include=[], limit=page, offset=offset)["ids"]
                    out.update(got)
                    if len(got) < page:
                        break
                    offset += page
        return out


@contextlib.contextmanager
def _chroma_errors(path: Path) -> Iterator[None]:
    """Chroma raises many types; turn them into a StoreError with advice that works: a full disk
    (ingest starts by repairing a half-done write, so running it again completes it), else a
    damaged index (``check --repair`` cannot open it either)."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 - chroma's error types are not a stable API
        text = str(exc)
        if getattr(exc, "errno", None) == errno.ENOSPC or "full" in text.lower() or "no space" in text.lower():
            raise StoreError(f"{path}: the disk is full ({text}). Free space on its disk and run the command "
                             "again (an interrupted ingest is repaired when the next one starts)") from exc
        raise StoreError(damaged(path.parent, f"the vector index {path.name} failed ({text})")) from exc


def _private_copy(path: Path, owner: object) -> Path:
    """Copy a read-only Chroma folder to a new 0700 temporary folder, writable by us; the copy is
    deleted when ``owner`` is garbage-collected (or at exit)."""
    top = Path(tempfile.mkdtemp(prefix="ragkit-ro-"))
    weakref.finalize(owner, shutil.rmtree, top, ignore_errors=True)
    copy = top / path.name
    try:
        if path.is_dir():
            shutil.copytree(path, copy, copy_function=shutil.copyfile)
        else:
            copy.mkdir()  # no vectors were ever written: an empty index
    except OSError as exc:
        raise StoreError(f"{path} is read-only and its vectors could not be copied to {top} to be searched "
                         f"({exc.strerror}); free space in the temporary folder (TMPDIR) or ask lexically "
                         "(--mode lexical)") from None
    for folder, dirs, files in os.walk(copy):
        os.chmod(folder, 0o700)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o600)
    return copy
