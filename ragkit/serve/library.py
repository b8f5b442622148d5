"""The one place the service calls the collection-aware ``RAG`` API (collections, metadata,
filters): every other serve module goes through ``Library``.

A key's grant arrives here as an explicit list of collections and goes into ``RAG`` as
``collections=``, so retrieval itself never sees another collection's chunks (nothing is
filtered after ranking). A request naming a collection the key may not read is answered exactly
like one naming a collection that does not exist (``UnknownCollection``), so keys cannot probe
for other departments' collection names.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from ..errors import RagkitError, UsageError

if TYPE_CHECKING:
    from ..index.catalog import FileRecord
    from ..pipeline import RAG, IngestReport
    from ..types import Answer, Hit

from ..pipeline import RAG as _RAG

_HAS_COLLECTIONS = hasattr(_RAG, "collections")  # pre-#14 stand-in; removed when #14 is merged
DEFAULT = "default"
ALL = None  # a grant of every collection (``ragkit keys add NAME --collections '*'``)


class UnknownCollection(RagkitError):
    """A named collection does not exist or is not granted to the caller (HTTP 404)."""

    def __init__(self, name: str):
        super().__init__(f"unknown collection {name!r}")
        self.name = name


@dataclass(frozen=True)
class Scope:
    """What one request may read: ``allowed`` collections (None: all) narrowed by ``requested``."""

    allowed: frozenset[str] | None
    requested: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    files: int
    chunks: int

    def to_json(self) -> dict:
        return {"name": self.name, "files": self.files, "chunks": self.chunks}


class Library:
    """``RAG`` seen through a caller's grant: which collections, which documents."""

    def __init__(self, rag: "RAG"):
        self.rag = rag

    # --- collections ---------------------------------------------------------------------------
    def collections(self, allowed: frozenset[str] | None = ALL) -> list[CollectionInfo]:
        """The store's collections the caller may see, with their counts."""
        return [CollectionInfo(name, files, chunks) for name, files, chunks in self._all_collections()
                if allowed is None or name in allowed]

    def _all_collections(self) -> list[tuple[str, int, int]]:
        try:
            if not _HAS_COLLECTIONS:  # pre-#14 stand-in: the whole store is "default"
                records = self.rag.sources()
                return [(DEFAULT, len(records), sum(r.chunks for r in records))] if records else []
            return [tuple(c) for c in self.rag.collections()]
        except RagkitError as exc:
            if "no ragkit store" in str(exc):  # a server started on an empty folder: nothing yet
                return []
            raise

    def resolve(self, scope: Scope, where=None) -> list[str]:
        """The collections a request searches: its requested ones (each must exist and be allowed,
        else ``UnknownCollection``), or every existing collection it is allowed. A ``where`` that
        does not parse is refused here too (UsageError naming it), before anything runs."""
        _check_where(where)
        existing = {c.name for c in self.collections(scope.allowed)}
        if scope.requested is None:
            return sorted(existing)
        for name in scope.requested:
            if name not in existing:
                raise UnknownCollection(name)
        return list(dict.fromkeys(scope.requested))

    def check_writable(self, allowed: frozenset[str] | None, collection: str) -> None:
        """Uploads may create a collection, but only one the key is granted."""
        if allowed is not None and collection not in allowed:
            raise UnknownCollection(collection)

    # --- reading (``collections`` from ``resolve``) ----------------------------------------------
    def retrieve(self, question: str, collections: list[str], *, k: int | None = None,
                 mode: str | None = None, where=None) -> list["Hit"]:
        if not collections:
            return []
        if not _HAS_COLLECTIONS:
            return self.rag.retrieve(question, k=k, mode=mode)
        return self.rag.retrieve(question, k=k, mode=mode, collections=collections, where=where)

    def ask(self, question: str, collections: list[str], *, k: int | None = None, mode: str | None = None,
            where=None, on_token: Callable[[str], None] | None = None) -> "Answer":
        if not collections:
            from ..reader import abstention

            return abstention(question, [])
        if not _HAS_COLLECTIONS:
            return self.rag.ask(question, k=k, mode=mode, on_token=on_token)
        return self.rag.ask(question, k=k, mode=mode, on_token=on_token, collections=collections, where=where)

    def documents(self, allowed: frozenset[str] | None, collection: str | None = None) -> list["FileRecord"]:
        """The files the caller may see, optionally of one collection."""
        names = self.resolve(Scope(allowed, (collection,) if collection else None))
        records = []
        for name in names:
            records += self.rag.sources(collection=name) if _HAS_COLLECTIONS else self.rag.sources()
        return records

    def document(self, allowed: frozenset[str] | None, doc_id: str) -> "FileRecord":
        """The caller's document with this id, else ``KeyError`` (a 404: another collection's
        document is not told apart from a missing one)."""
        for record in self.documents(allowed):
            if document_id(record) == doc_id:
                return record
        raise KeyError(doc_id)

    # --- writing -------------------------------------------------------------------------------
    def ingest(self, paths: Sequence[Path], collection: str, metadata: dict | None) -> "IngestReport":
        if not _HAS_COLLECTIONS:
            return self.rag.ingest([str(p) for p in paths])
        return self.rag.ingest([str(p) for p in paths], collection=collection, metadata=metadata or None)

    def remove(self, record: "FileRecord") -> list[str]:
        if not _HAS_COLLECTIONS:
            return self.rag.remove([record.source])
        return self.rag.remove([record.source], collection=collection_of(record))


def document_id(record: "FileRecord") -> str:
    """The document's stable id (the catalog's own when it has one)."""
    own = getattr(record, "id", None)
    if own:
        return str(own)
    return hashlib.sha256(record.abspath.encode("utf-8")).hexdigest()[:16]


def collection_of(item) -> str | None:
    """The collection of a hit's chunk, a citation or a file record."""
    return getattr(item, "collection", None) or (None if _HAS_COLLECTIONS else DEFAULT)


def metadata_of(item) -> dict:
    return dict(getattr(item, "metadata", None) or {})


def _check_where(where) -> None:
    """Parse ``where`` before anything runs, so a bad expression is a 400 naming it."""
    if where is None:
        return
    if not _HAS_COLLECTIONS:
        raise UsageError("where filters need the collections feature (issue 14)")
    from ..filters import parse_where

    parse_where(where)


__all__ = ["ALL", "Library", "Scope", "UnknownCollection", "CollectionInfo", "document_id",
           "collection_of", "metadata_of", "UsageError"]
