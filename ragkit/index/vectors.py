"""The dense side: an on-disk Chroma collection that holds our own vectors, keyed by chunk id.

Chroma never embeds here (its default embedding function would download a model): every call
passes ``embeddings=`` / ``query_embeddings=``. Chunk text and metadata live in the catalog;
Chroma keeps the vector and the source name only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import StoreError

COLLECTION = "ragkit-chunks"


class VectorIndex:
    """Add, delete and query vectors in one Chroma collection under ``path``."""

    def __init__(self, path: Path):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        try:
            self.client = chromadb.PersistentClient(
                path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False))
            self.collection = self.client.get_or_create_collection(
                COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None)
        except Exception as exc:  # chroma raises many types; all mean the same to a user
            raise StoreError(f"{path}: cannot open the vector store ({exc}); "
                             "run `ragkit check --repair` or remove the store and ingest again") from exc
        self.max_batch = max(1, int(self.client.get_max_batch_size()))

    def add(self, ids: Sequence[str], vectors: np.ndarray, sources: Sequence[str]) -> None:
        for lo in range(0, len(ids), self.max_batch):
            hi = lo + self.max_batch
            self.collection.upsert(ids=list(ids[lo:hi]), embeddings=vectors[lo:hi],
                                   metadatas=[{"source": s} for s in sources[lo:hi]])

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for lo in range(0, len(ids), self.max_batch):
            self.collection.delete(ids=ids[lo:lo + self.max_batch])

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Best ``k`` chunk ids with cosine similarity, best first."""
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
        while True:
            got = self.collection.get(include=[], limit=page, offset=offset)["ids"]
            out.update(got)
            if len(got) < page:
                return out
            offset += page
