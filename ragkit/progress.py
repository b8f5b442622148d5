"""What a long call is doing, told as it happens: the observer ``RAG`` reports progress to.

``RAG(progress=MyProgress())`` (or ``rag.progress = ...``) receives, in order of a typical ingest:
``skipped`` for each path a rule left out of the walk, ``files_found``, then per file
``file_started`` and ``chunks_queued`` (its chunks that need embedding), ``warning`` and
``file_failed`` the moment they are found, ``chunks_embedded`` as embedding advances, and
``phase_started``/``phase_finished`` around model loading ("loading embedder",
"loading language model"), which an ``ask`` reports too. Every method is a no-op here: override
the ones you need. The CLI's terminal renderer (``ragkit.terminal``) is one such observer.

Observers are called on the thread doing the work and should return quickly; an exception in
one propagates (a bug in a renderer should not be hidden).
"""
from __future__ import annotations

import contextlib
import time
from collections import Counter
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

if TYPE_CHECKING:
    import numpy as np

    from .types import Chunk

# Chunks per embedding call while ingesting. The chunks of a batch are sorted by length first,
# as sentence-transformers sorts each call's texts, so every call is made of the same padded
# batches one big call would make (64 = two of the default 32); progress then moves every 64 chunks.
EMBED_STEP = 64

LOADING_EMBEDDER = "loading embedder"
LOADING_GENERATOR = "loading language model"


class Progress:
    """Receives progress of ``RAG`` calls; subclass and override what you need."""

    def phase_started(self, phase: str) -> None:
        """A slow step without a count began (``LOADING_EMBEDDER``, ``LOADING_GENERATOR``)."""

    def phase_finished(self, phase: str, seconds: float) -> None:
        """That step ended (also when it failed) after ``seconds``."""

    def skipped(self, item: dict) -> None:
        """A path left out by a rule: ``{"path", "kind", "reason"}`` (``loaders.entries.SKIP_KINDS``)."""

    def files_found(self, total: int) -> None:
        """The walk is done: ``total`` files will be checked (most are often unchanged)."""

    def file_started(self, path: str, index: int, total: int) -> None:
        """File ``index`` of ``total`` is being checked and, if new or changed, read and chunked."""

    def chunks_queued(self, path: str, chunks: int) -> None:
        """``chunks`` of ``path``'s chunks need embedding (the total to embed grows by that)."""

    def chunks_embedded(self, path: str, chunks: int) -> None:
        """``chunks`` more chunks are embedded; ``path`` is the file most of them came from."""

    def warning(self, item: dict) -> None:
        """Part of a file was left out: ``{"path", "page", "reason"}`` (+ ``location``)."""

    def file_failed(self, item: dict) -> None:
        """A file could not be ingested: ``{"path", "reason"}``."""


@contextlib.contextmanager
def phase(progress: Progress, name: str) -> Iterator[None]:
    """Report ``name`` as started, then finished with its duration (also when it raises)."""
    started = time.perf_counter()
    progress.phase_started(name)
    try:
        yield
    finally:
        progress.phase_finished(name, time.perf_counter() - started)


def embed_in_steps(embed: Callable[[list[str]], "np.ndarray"], chunks: Sequence["Chunk"],
                   progress: Progress) -> "np.ndarray":
    """``embed`` the chunks' texts ``EMBED_STEP`` at a time, longest first, reporting each step;
    returns one row per chunk, in the chunks' order."""
    import numpy as np

    order = sorted(range(len(chunks)), key=lambda i: -len(chunks[i].text))
    vectors: np.ndarray | None = None
    for lo in range(0, len(order), EMBED_STEP):
        part = order[lo:lo + EMBED_STEP]
        rows = np.asarray(embed([chunks[i].text for i in part]))
        if vectors is None:
            vectors = np.empty((len(chunks), rows.shape[1]), dtype=rows.dtype)
        vectors[part] = rows
        mostly = Counter(chunks[i].source for i in part).most_common(1)[0][0]
        progress.chunks_embedded(mostly, len(part))
    if vectors is None:
        return np.asarray(embed([]))
    return vectors
