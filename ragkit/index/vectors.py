"""The dense side: Chroma collections that hold our own vectors, keyed by chunk id, either on disk
in the store (``PersistentClient``) or in a Chroma server (``HttpClient``, ``[chroma] url``) that
several processes and machines can share.

Chroma never embeds here (its default embedding function would download a model): every call
passes ``embeddings=`` / ``query_embeddings=``. Chunk text and metadata live in the catalog;
Chroma keeps the vector and the document id only.

One Chroma collection per ragkit collection (``chroma_name``; ``default`` keeps the name older
stores used, so they need no change). Measured at 100k vectors (256-d, 10 collections of 10%):
one Chroma collection with a ``collection`` metadata field and ``where={"collection": ...}``
answered in 85.7 ms p50 (Chroma filters metadata in SQLite, then searches HNSW with the allowed
list), one Chroma collection per ragkit collection in 2.4 ms, an unfiltered query in 2.9 ms. A
metadata filter inside a collection reads deeper (ids and distances only: fetching 600 hits'
metadata cost 35 ms) and keeps the allowed chunks (``ragkit.store``); its exact fallback passes
the allowed chunk ids (``ids=``): 17.8 ms for 10% of 100k, against 93.5 ms for
``where={"doc": {"$in": ...}}``. Each vector's metadata is its document id (``doc``).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence
from urllib.parse import urlsplit

import numpy as np

from ..errors import ServerError, StoreError
from .catalog import damaged

COLLECTION = "ragkit-chunks"  # the ``default`` collection's vectors (every vector before collections)
DEFAULT_COLLECTION = "default"
CHROMA_URL_SETTING = "[chroma] url (RAGKIT_CHROMA_URL)"
SEARCH_EF = 100
# One thread builds the HNSW graph: with several, the graph depends on thread timing, so the same
# chunks gave different neighbours from run to run on busy cores (a filtered-recall test failed
# now and then); our batches are small, so building on one thread costs little.
"""HNSW candidates per query for new collections (Chroma's default is 10, below the 30 candidates
retrieval asks for): one store's collection and a store holding only it then found the same
ja_dev paragraphs (with 10 they differed by a question: the graphs are built differently)."""
Where = Mapping[str, "Sequence[str] | None"]


def chroma_name(collection: str, base: str = COLLECTION) -> str:
    """The Chroma collection holding ragkit collection ``collection``'s vectors for the store whose
    ``default`` collection is ``base`` (``COLLECTION`` on disk, a name of its own in a server):
    Chroma names are ASCII ``[a-zA-Z0-9._-]``, ragkit names may be Japanese."""
    if collection == DEFAULT_COLLECTION:
        return base
    key = collection if base == COLLECTION else f"{base}\0{collection}"
    return "ragkit-c-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True)
class ChromaServer:
    """A Chroma server (``chroma run``): its URL and the headers a reverse proxy in front of it
    checks (Chroma 1.x has no authentication of its own). Header values may name environment
    variables (``${CHROMA_TOKEN}``), so a token stays out of the config file."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def configured(cls, settings) -> "ChromaServer | None":
        """The server ``settings`` name (``chroma_url``, ``chroma_headers``), or None: vectors on disk."""
        return cls(settings.chroma_url, dict(settings.chroma_headers or {})) if settings.chroma_url else None

    def client(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise ServerError(f"{CHROMA_URL_SETTING} must look like http://chroma-host:8000 (scheme, host, "
                              f"port; no path), got {self.url!r}")
        headers = {k: os.path.expandvars(v) for k, v in self.headers.items()}
        try:
            return chromadb.HttpClient(host=parts.hostname, port=parts.port or (443 if parts.scheme == "https" else 8000),
                                       ssl=parts.scheme == "https", headers=headers,
                                       settings=ChromaSettings(anonymized_telemetry=False))
        except Exception as exc:  # noqa: BLE001 - chroma raises ValueError, httpx errors, ...
            raise ServerError(server_advice(self.url, exc)) from None


def server_advice(url: str, exc: BaseException) -> str:
    """One line for a Chroma server that failed: unreachable, refused, or something else."""
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    if any(code in text for code in ("401", "403", "Unauthorized", "Forbidden")):
        return (f"the Chroma server at {url} refused the request ({text}); set the header its proxy checks "
                "in [chroma] headers (RAGKIT_CHROMA_HEADERS)")
    return (f"cannot use the Chroma server at {url} ({text}); check {CHROMA_URL_SETTING} and that "
            "`chroma run` is up there")


class VectorIndex:
    """Add, delete and query vectors in the Chroma collections of one store: under ``path``, or
    in ``server`` (then only the collections of the store whose ``default`` is ``base``)."""

    def __init__(self, path: Path, read_only: bool = False, server: ChromaServer | None = None,
                 base: str = COLLECTION):
        """Open the store's collections. Chroma writes to its database whenever a client starts,
        so a ``read_only`` store's on-disk vectors are opened from a private temporary copy
        (removed when this index is garbage-collected or the process ends)."""
        self.path = Path(path)
        self.server = server
        self.base = base
        try:
            if server is not None:
                self.client = server.client()
            else:
                import chromadb
                from chromadb.config import Settings as ChromaSettings

                opened = _private_copy(self.path, self) if read_only else self.path
                self.client = chromadb.PersistentClient(
                    path=str(opened), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False))
            with self._errors():
                self._collections = {c.name: self.client.get_collection(c.name, embedding_function=None)
                                     for c in self.client.list_collections() if self._ours(c)}
                self._get(DEFAULT_COLLECTION, create=True)
                self.max_batch = max(1, int(self.client.get_max_batch_size()))
        except (StoreError, ServerError):
            raise
        except Exception as exc:  # chroma raises many types; all mean the same to a user
            raise StoreError(damaged(self.path.parent, f"the vector index {self.path.name} cannot be opened ({exc})")) from exc
        self._counts: dict[str, int] = {}  # Chroma's count() costs ~9 ms a call; kept until we write

    def _ours(self, chroma_collection) -> bool:
        """Whether a Chroma collection belongs to this store: on disk all do; in a server, the
        store's ``default`` and those recorded with its ``base`` (other stores share the server)."""
        if self.server is None:
            return True
        return (chroma_collection.name == self.base
                or (chroma_collection.metadata or {}).get("ragkit_store") == self.base)

    def _errors(self):
        return _chroma_errors(self.path, self.server)

    @property
    def collection(self):
        """The Chroma collection of the ``default`` collection (every vector of older stores)."""
        return self._get(DEFAULT_COLLECTION, create=True)

    def _get(self, collection: str, create: bool = False):
        """The Chroma collection of ragkit ``collection`` (None when it has none and not ``create``)."""
        name = chroma_name(collection, self.base)
        if name not in self._collections and create:
            self._collections[name] = self.client.get_or_create_collection(
                name, metadata={"hnsw:space": "cosine", "hnsw:search_ef": SEARCH_EF, "hnsw:num_threads": 1,
                                "ragkit_collection": collection, "ragkit_store": self.base}, embedding_function=None)
        return self._collections.get(name)

    def close(self) -> None:
        """Release Chroma's in-process system for this folder, so the next open reads the disk."""
        close = getattr(self.client, "close", None)
        if close is not None:
            close()

    def add(self, collection: str, ids: Sequence[str], vectors: np.ndarray, docs: Sequence[str]) -> None:
        """Upsert vectors into ``collection``; ``docs``: each chunk's document id."""
        with self._errors():
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
        with self._errors():
            for target in list(self._collections.values()):
                for lo in range(0, len(ids), self.max_batch):
                    target.delete(ids=ids[lo:lo + self.max_batch])

    def drop(self, collection: str) -> None:
        """Delete ``collection``'s vectors whole."""
        name = chroma_name(collection, self.base)
        with self._errors():
            self._counts.clear()
            if name in self._collections:
                self.client.delete_collection(name)
                del self._collections[name]

    def query(self, vector: np.ndarray, k: int, where: Where | None = None) -> list[tuple[str, float]]:
        """Best ``k`` chunk ids with cosine similarity, best first.

        ``where`` restricts the search before ranking: collection → the only chunk ids to rank in
        it (None: all of its chunks); collections not named are not searched. Without ``where``
        every collection is searched. Several collections give one list, merged by similarity."""
        if where is None:
            targets = [(c, None) for c in self._collections.values()]
        else:
            targets = [(self._get(name), ids) for name, ids in where.items()]
        found: list[tuple[str, float]] = []
        with self._errors():
            for target, ids in targets:
                n = self._count(target) if target is not None else 0
                if n == 0 or (ids is not None and not ids):
                    continue
                limit = min(k, n if ids is None else len(ids))
                extra = {} if ids is None else {"ids": list(ids)}
                res = target.query(query_embeddings=[vector], n_results=limit, include=["distances"], **extra)
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
        with self._errors():
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
def _chroma_errors(path: Path, server: ChromaServer | None = None) -> Iterator[None]:
    """Chroma raises many types; turn them into a StoreError with advice that works: a full disk
    (ingest starts by repairing a half-done write, so running it again completes it), else a
    damaged index (``check --repair`` cannot open it either). With a server, any failure is the
    server's (down, refused, timed out): a ServerError naming its URL; the next ingest repairs
    what a write cut short."""
    try:
        yield
    except (StoreError, ServerError):
        raise
    except Exception as exc:  # noqa: BLE001 - chroma's error types are not a stable API
        if server is not None:
            raise ServerError(server_advice(server.url, exc)) from None
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
