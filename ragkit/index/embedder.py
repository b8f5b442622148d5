"""Sentence-transformers embedder loaded from a local folder, never from a hub."""
from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import ModelNotFound
from ..models import set_offline_env
from ..text.normalize import is_cjk

# Query/passage prefixes for model families that were trained with them and whose folders
# do not declare prompts themselves.
_PREFIXES = {"e5": ("query: ", "passage: ")}


class Embedder:
    """Embeds documents and queries into normalised vectors; counts tokens the way it truncates."""

    def __init__(self, model_path: Path, batch_size: int = 32):
        set_offline_env()
        model_path = Path(model_path)
        if not (model_path / "config.json").is_file() and not (model_path / "modules.json").is_file():
            raise ModelNotFound(
                f"{model_path}: not a sentence-transformers model folder (no config.json/modules.json); "
                "set embed.model_path to a local model folder")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()  # "Loading weights" bars are noise in a CLI

        self.path = model_path
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        self.tokenizer = self.model.tokenizer
        dim_of = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim_of())
        self.max_tokens = int(self.model.max_seq_length or 512)
        self.query_prefix, self.passage_prefix = self._prefixes()
        self._unk = getattr(self.tokenizer, "unk_token", None)

    @property
    def model_id(self) -> str:
        """Identity recorded in the store: folder name and dimension."""
        return f"{self.path.name}:{self.dim}"

    def _prefixes(self) -> tuple[str, str]:
        prompts = getattr(self.model, "prompts", None) or {}
        query = prompts.get("query")
        passage = prompts.get("document", prompts.get("passage"))
        if query is not None or passage is not None:
            return query or "", passage or ""
        name = self.path.name.lower()
        for key, pair in _PREFIXES.items():
            if key in name:
                return pair
        return "", ""

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for a passage, prefix and special tokens included."""
        return len(self.tokenizer(self.passage_prefix + text, add_special_tokens=True,
                                  truncation=False)["input_ids"])

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Float32 unit vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode([self.passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        """One short text: a single torch thread. Measured on 2 busy cores: 21 ms with one
        thread, 545 ms with two (the threads wait on each other for such a small matrix)."""
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._encode([self.query_prefix + text])[0]
        finally:
            torch.set_num_threads(threads)

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def coverage(self, text: str) -> float:
        """How well the vocabulary covers ``text``: share of word pieces that carry meaning.

        Unknown pieces and single CJK characters (what an English vocabulary makes of Japanese)
        count as uncovered. 1.0 for plain English with MiniLM, near 0 for Japanese.
        """
        pieces = self.tokenizer.tokenize(text)
        pieces = [p for p in pieces if p.strip("#▁ ") and not _is_punct(p.strip("#▁ "))]
        if not pieces:
            return 0.0
        bad = 0
        for piece in pieces:
            core = piece.strip("#▁ ")
            if piece == self._unk or (len(core) == 1 and is_cjk(core)):
                bad += 1
        return 1.0 - bad / len(pieces)


def _is_punct(s: str) -> bool:
    return all(unicodedata.category(ch).startswith(("P", "S")) for ch in s)

