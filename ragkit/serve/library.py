"""The one place the service calls the collection-aware ``RAG`` API (collections, metadata,
filters): every other serve module goes through ``Library``.

A key's grant arrives here as an explicit list of collections and goes into ``RAG`` as
``collections=``, so retrieval itself never sees another collection's chunks (nothing is
filtered after ranking). A request naming a collection the key may not read is answered exactly
like one naming a collection that does not exist (``UnknownCollection``), so keys cannot probe
for other departments' collection names.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from ..errors import RagkitError, StoreError

if TYPE_CHECKING:
    from ..index.catalog import CollectionInfo, FileRecord
    from ..pipeline import RAG, IngestReport
    from ..types import Answer, Hit

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


class Library:
    """``RAG`` seen through a caller's grant: which collections, which documents."""

    def __init__(self, rag: "RAG"):
        self.rag = rag

    # --- collections ---------------------------------------------------------------------------
    def collections(self, allowed: frozenset[str] | None = ALL) -> list["CollectionInfo"]:
        """The store's collections the caller may see, with their counts."""
        try:
            found = self.rag.collections()
        except StoreError as exc:
            if "no ragkit store" in str(exc):  # a server started on an empty folder: nothing yet
                return []
            raise
        return [c for c in found if allowed is None or c.name in allowed]

    def resolve(self, scope: Scope, where=None) -> list[str]:
        """The collections a request searches: its requested ones (each must exist and be allowed,
        else ``UnknownCollection``), or every existing collection it is allowed. A ``where`` that
        does not parse is refused here too (UsageError naming it), before anything runs."""
        from ..filters import parse_where

        parse_where(where)
        existing = {c.name for c in self.collections(scope.allowed)}
        if scope.requested is None:
            return sorted(existing)
        for name in scope.requested:
            if name not in existing:
                raise UnknownCollection(name)
        return list(dict.fromkeys(scope.requested))

    def check_writable(self, allowed: frozenset[str] | None, collection: str) -> str:
        """A collection an upload may write: a valid name (UsageError) the key is granted
        (``UnknownCollection``); it need not exist yet."""
        from ..docmeta import collection_name

        collection_name(collection)
        if allowed is not None and collection not in allowed:
            raise UnknownCollection(collection)
        return collection

    # --- reading (``collections`` from ``resolve``) ----------------------------------------------
    def retrieve(self, question: str, collections: list[str], *, k: int | None = None,
                 mode: str | None = None, where=None) -> list["Hit"]:
        if not collections:
            return []
        return self.rag.retrieve(question, k=k, mode=mode, collections=collections, where=where)

    def ask(self, question: str, collections: list[str], *, k: int | None = None, mode: str | None = None,
            where=None, on_token: Callable[[str], None] | None = None) -> "Answer":
        if not collections:  # the key may read nothing that exists yet
            from ..reader import abstention

            return abstention(question, [])
        return self.rag.ask(question, k=k, mode=mode, on_token=on_token, collections=collections, where=where)

    def documents(self, allowed: frozenset[str] | None, collection: str | None = None) -> list["FileRecord"]:
        """The files the caller may see, optionally of one collection."""
        names = self.resolve(Scope(allowed, (collection,) if collection else None))
        return [r for name in names for r in self.rag.sources(collection=name)]

    def document(self, allowed: frozenset[str] | None, doc_id: str) -> "FileRecord":
        """The caller's document with this id, else ``KeyError`` (a 404: another collection's
        document is not told apart from a missing one)."""
        for record in self.documents(allowed):
            if record.id == doc_id:
                return record
        raise KeyError(doc_id)

    # --- writing -------------------------------------------------------------------------------
    def check_metadata(self, metadata: dict) -> dict:
        """User metadata for an upload, validated now (UsageError naming the field), not in the job."""
        from ..docmeta import checked

        return checked(metadata, "metadata")

    def ingest(self, paths: Sequence[Path], collection: str, metadata: dict | None) -> "IngestReport":
        return self.rag.ingest([str(p) for p in paths], collection=collection, metadata=metadata or None)

    def remove(self, record: "FileRecord") -> list[str]:
        return self.rag.remove([record.id], collection=record.collection)
