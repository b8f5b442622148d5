"""Honest fakes for the two model seams, for fast tests (ours and yours).

    from ragkit import RAG
    from ragkit.testing import HashingEmbedder, CopyingGenerator

    rag = RAG(store=tmp_path / "store", embedder=HashingEmbedder(), generator=CopyingGenerator())
    rag.ingest(["docs/"])
    rag.ask("経費の申請期限は？").text   # the first sentence of the best source, cited [1]

Neither imports torch or llama-cpp, and both behave like the real thing where a pipeline can tell:
``HashingEmbedder`` gives similar texts similar unit vectors (hashed character bigrams), so dense
retrieval works on real text; ``CopyingGenerator`` answers with the first sentence of the first
source in its prompt, cited ``[1]``, streamed in small pieces. They are for tests of the plumbing
around the models; the real models still need tests of their own.
"""
from __future__ import annotations

import re
import unicodedata
import zlib
from typing import Callable, Iterator, Sequence

import numpy as np

from ragkit.prompts import PromptProfile

_WORD = re.compile(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]")


class HashingEmbedder:
    """Character bigrams hashed (crc32) into ``dim`` buckets, L2-normalised: deterministic across
    processes, no model files. Counts one token per Latin word, digit run or other character."""

    def __init__(self, dim: int = 256, max_tokens: int = 256):
        self.dim = dim
        self.max_tokens = max_tokens
        self.calls: list[str] = []  # "documents" / "query", in order: lets tests see what ran

    @property
    def model_id(self) -> str:
        return f"hashing-bigrams:{self.dim}"

    def _vector(self, text: str) -> np.ndarray:
        text = unicodedata.normalize("NFKC", text).lower()
        vec = np.zeros(self.dim, dtype=np.float32)
        for gram in (text[i:i + 2] for i in range(max(1, len(text) - 1))):
            vec[zlib.crc32(gram.encode("utf-8")) % self.dim] += 1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append("documents")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        self.calls.append("query")
        return self._vector(text)

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def coverage(self, text: str) -> float:
        """Bigrams cover any script: always 1.0."""
        return 1.0


COPYING = PromptProfile("copying", "completion", ("\n",), 64)
_FIRST_SOURCE = re.compile(r"\[1\] (.+?)(?:\n\n|$)", re.S)
_SENTENCE = re.compile(r".+?(?:[。！？!?]|\.(?=\s|$)|$)", re.S)


class CopyingGenerator:
    """Answers with the first sentence of source [1] of its prompt, then ``[1]``; records every
    prompt in ``prompts``. ``answer`` replaces that sentence with fixed text (to steer a test)."""

    def __init__(self, n_ctx: int = 4096, answer: str | None = None, piece_chars: int = 3):
        self.profile = COPYING
        self.n_ctx = n_ctx
        self.answer = answer
        self.piece_chars = piece_chars
        self.prompts: list[str] = []

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def truncate(self, text: str, max_tokens: int) -> str:
        pieces = list(_WORD.finditer(text))
        return text if len(pieces) <= max_tokens else text[:pieces[max(0, max_tokens)].start()]

    def span_constraint(self, sources: list[str]) -> Callable[[list[int]], object]:
        return lambda prompt_tokens: None

    def stream(self, prompt: str, max_tokens: int, stop: list[str],
               constrain: Callable[[list[int]], object] | None = None) -> Iterator[str]:
        self.prompts.append(prompt)
        if self.answer is not None:
            text = self.answer
        else:
            source = _FIRST_SOURCE.search(prompt)
            first = _SENTENCE.match(source.group(1).strip()) if source else None
            text = f"{first.group(0).strip()}[1]" if first else ""
        text = text.replace("\n", " ")
        for i in range(0, len(text), self.piece_chars):
            yield text[i:i + self.piece_chars]


def many_lines_pdf(path, lines: int) -> None:
    """Write a one-page PDF of ``lines`` short text lines (each its own text object), the shape
    that made PDF text assembly quadratic; needs reportlab (the ``test`` extra)."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), invariant=1, pageCompression=1)
    c.setFont("Helvetica", 2)
    per_column = 390
    for i in range(lines):
        c.drawString(10 + (i // per_column) * 7, 780 - (i % per_column) * 2, f"l{i % 97}")
    c.showPage()
    c.save()
