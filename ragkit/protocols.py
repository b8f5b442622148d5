"""The two model seams: what ragkit needs from an embedder and from a generator.

``RAG(embedder=..., generator=...)`` accepts anything with these methods: the real models
(``ragkit.index.embedder.Embedder``, ``ragkit.generate.Generator``), a remote server client, or
the honest fakes in ``ragkit.testing`` for fast tests.
"""
from __future__ import annotations

from typing import Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from ragkit.prompts import PromptProfile


@runtime_checkable
class Embedder(Protocol):
    """Turns passages and questions into unit vectors; counts tokens the way it truncates."""

    max_tokens: int  # longest passage (in its own tokens) it reads without truncation

    @property
    def model_id(self) -> str:
        """Identity recorded in a store: a store built with one model is never searched with another."""

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Float32 unit vectors, one row per passage."""

    def embed_query(self, text: str) -> np.ndarray:
        """One float32 unit vector for a question."""

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for a passage."""

    def coverage(self, text: str) -> float:
        """How well its vocabulary covers ``text`` (0..1): decides the dense side's weight."""


@runtime_checkable
class Generator(Protocol):
    """Streams an answer for a prompt; knows its prompt profile and context window."""

    profile: PromptProfile
    n_ctx: int

    def count_tokens(self, text: str) -> int:
        """Model tokens in ``text``."""

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` within ``max_tokens`` tokens."""

    def span_constraint(self, sources: list[str]) -> object:
        """A constraint for ``stream`` that only lets the answer copy a span of ``sources``; opaque
        to the caller (a logits-processor factory in process, a grammar for a server)."""

    def stream(self, prompt: "str | list[dict]", max_tokens: int, stop: list[str],
               constrain: object | None = None) -> Iterator[str]:
        """Yield the answer piece by piece; stop at a stop string, EOS or ``max_tokens``. The
        prompt is text, or chat messages for a profile of kind ``chat``."""
