"""An embedding model behind an OpenAI-compatible ``/v1/embeddings`` server: the remote
implementation of the embedder seam, for ingesting large corpora on a GPU box.

The store records it like a local model, by name and dimension (``remote:<model>:<dim>``), so a
store built through one server model is never searched with another. Token counts for chunking
are estimated without the server (one request per sentence would dominate ingest) and generously
(``ragkit.remote.generator.estimate_tokens``), so no chunk exceeds the model's window.
"""
from __future__ import annotations

from functools import cached_property
from typing import Sequence

import numpy as np

from ..errors import ServerError
from .generator import estimate_tokens
from .http import Endpoint, ServerClient


class RemoteEmbedder:
    """Unit vectors from a server, ``batch_size`` texts per request."""

    def __init__(self, endpoint: Endpoint, model: str | None = None, max_tokens: int = 512,
                 batch_size: int = 32):
        self.endpoint = endpoint
        self.client = ServerClient(endpoint)
        self.path = endpoint.base_url  # what doctor and messages show as "where the model is"
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._model = model

    @cached_property
    def model(self) -> str:
        """The configured model name, else the first the server lists."""
        if self._model:
            return self._model
        listed = [m.get("id") for m in (self.client.get("/models").get("data") or []) if isinstance(m, dict)]
        if not listed:
            raise ServerError(f"the {self.endpoint.what} at {self.endpoint.base_url} lists no model; "
                              "set [embed] model (RAGKIT_EMBED_MODEL) to the name it serves")
        return str(listed[0])

    @cached_property
    def dim(self) -> int:
        return int(self.embed_query("dimension").shape[0])

    @property
    def model_id(self) -> str:
        return f"remote:{self.model}:{self.dim}"

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        rows = [self._embed(list(texts[lo:lo + self.batch_size])) for lo in range(0, len(texts), self.batch_size)]
        return np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]

    def _embed(self, texts: list[str]) -> np.ndarray:
        got = self.client.post("/embeddings", {"model": self.model, "input": texts}, idempotent=True)
        data = sorted(got.get("data") or [], key=lambda d: d.get("index", 0))
        if len(data) != len(texts):
            raise ServerError(f"the {self.endpoint.what} at {self.endpoint.base_url} returned {len(data)} "
                              f"embeddings for {len(texts)} texts")
        vectors = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def coverage(self, text: str) -> float:
        """A server model is trusted to cover the language it was chosen for."""
        return 1.0
