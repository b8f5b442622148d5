"""The dense side: a Chroma collection that holds our own vectors, keyed by chunk id, either on
disk in the store (``PersistentClient``) or in a Chroma server (``HttpClient``, ``[chroma] url``)
that several processes and machines can share.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence
from urllib.parse import urlsplit

import numpy as np

from ..errors import ServerError, StoreError
from .catalog import damaged

COLLECTION = "ragkit-chunks"
CHROMA_URL_SETTING = "[chroma] url (RAGKIT_CHROMA_URL)"


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
    """Add, delete and query vectors in one Chroma collection: under ``path``, or named
    ``collection`` in ``server``."""

    def __init__(self, path: Path, read_only: bool = False, server: ChromaServer | None = None,
                 collection: str = COLLECTION):
        """Open the collection. Chroma writes to its database whenever a client starts, so a
        ``read_only`` store's on-disk vectors are opened from a private temporary copy (removed
        when this index is garbage-collected or the process ends)."""
        self.path = Path(path)
        self.server = server
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
                self.collection = self.client.get_or_create_collection(
                    collection, metadata={"hnsw:space": "cosine"}, embedding_function=None)
                self.max_batch = max(1, int(self.client.get_max_batch_size()))
        except (StoreError, ServerError):
            raise
        except Exception as exc:  # chroma raises many types; all mean the same to a user
            raise StoreError(damaged(self.path.parent, f"the vector index {self.path.name} cannot be opened ({exc})")) from exc

    def _errors(self):
        return _chroma_errors(self.path, self.server)

    def close(self) -> None:
        """Release Chroma's in-process system for this folder, so the next open reads the disk."""
        close = getattr(self.client, "close", None)
        if close is not None:
            close()

    def add(self, ids: Sequence[str], vectors: np.ndarray, sources: Sequence[str]) -> None:
        with self._errors():
            for lo in range(0, len(ids), self.max_batch):
                hi = lo + self.max_batch
                self.collection.upsert(ids=list(ids[lo:hi]), embeddings=vectors[lo:hi],
                                       metadatas=[{"source": s} for s in sources[lo:hi]])

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        with self._errors():
            for lo in range(0, len(ids), self.max_batch):
                self.collection.delete(ids=ids[lo:lo + self.max_batch])

    def query(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Best ``k`` chunk ids with cosine similarity, best first."""
        with self._errors():  # no count() first: Chroma 1.x returns what there is (a server round trip saved)
            res = self.collection.query(query_embeddings=[vector], n_results=k, include=["distances"])
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(res["ids"][0], res["distances"][0])]

    def ids(self) -> set[str]:
        """Every chunk id present, read in pages so large stores do not spike memory."""
        out: set[str] = set()
        page = 10_000
        offset = 0
        with self._errors():
            while True:
                got = self.collection.get(include=[], limit=page, offset=offset)["ids"]
                out.update(got)
                if len(got) < page:
                    return out
                offset += page


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
