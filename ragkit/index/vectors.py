"""The dense side: an on-disk Chroma collection that holds our own vectors, keyed by chunk id.

Chroma never embeds here (its default embedding function would download a model): every call
passes ``embeddings=`` / ``query_embeddings=``. Chunk text and metadata live in the catalog;
Chroma keeps the vector and the source name only.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..errors import StoreError
from .catalog import damaged

COLLECTION = "ragkit-chunks"


class VectorIndex:
    """Add, delete and query vectors in one Chroma collection under ``path``."""

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
            self.collection = self.client.get_or_create_collection(
                COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None)
        except Exception as exc:  # chroma raises many types; all mean the same to a user
            raise StoreError(damaged(self.path.parent, f"the vector index {self.path.name} cannot be opened ({exc})")) from exc
        self.max_batch = max(1, int(self.client.get_max_batch_size()))

    def close(self) -> None:
        """Release Chroma's in-process system for this folder, so the next open reads the disk."""
        close = getattr(self.client, "close", None)
        if close is not None:
            close()

    def add(self, ids: Sequence[str], vectors: np.ndarray, sources: Sequence[str]) -> None:
        with _chroma_errors(self.path):
            for lo in range(0, len(ids), self.max_batch):
                hi = lo + self.max_batch
                self.collection.upsert(ids=list(ids[lo:hi]), embeddings=vectors[lo:hi],
                                       metadatas=[{"source": s} for s in sources[lo:hi]])

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        with _chroma_errors(self.path):
            for lo in range(0, len(ids), self.max_batch):
                self.collection.delete(ids=ids[lo:lo + self.max_batch])

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Best ``k`` chunk ids with cosine similarity, best first."""
        with _chroma_errors(self.path):
            n = self.collection.count()
            if n == 0:
                return []
            res = self.collection.query(query_embeddings=[vector], n_results=min(k, n), include=["distances"])
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(res["ids"][0], res["distances"][0])]

    def ids(self) -> set[str]:
        """Every chunk id present, read in pages so large stores do not spike memory."""
        out: set[str] = set()
        page = 10_000
        offset = 0
        with _chroma_errors(self.path):
            while True:
                got = self.collection.get(include=[], limit=page, offset=offset)["ids"]
                out.update(got)
                if len(got) < page:
                    return out
                offset += page


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
