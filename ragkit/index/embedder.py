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


def cpu_has_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16, read from
    ``/proc/cpuinfo``); elsewhere bfloat16 is emulated and slower than float32."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def resolve_dtype(setting: str = "auto") -> str:
    """``float32`` or ``bfloat16``: ``auto`` takes bfloat16 where the CPU has it natively.

    Measured with the bundled MiniLM on this project's 2-core Xeon (AVX512-BF16/AMX): ingest
    embedding 2.3x faster, cosine to the float32 vector >= 0.996, retrieval recall within noise
    (bench/README.md, "Embedding speed options").
    """
    if setting != "auto":
        return setting
    return "bfloat16" if cpu_has_bf16() else "float32"


class Embedder:
    """Embeds documents and queries into normalised vectors; counts tokens the way it truncates."""

    def __init__(self, model_path: Path, batch_size: int = 32, dtype: str = "auto"):
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

        import torch

        self.path = model_path
        self.batch_size = batch_size
        self.dtype = resolve_dtype(dtype)
        self.model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        if self.dtype != "float32":
            self.model.to(getattr(torch, self.dtype))
        self.tokenizer = self.model.tokenizer
        dim_of = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim_of())
        self.max_tokens = int(self.model.max_seq_length or 512)
        self.query_prefix, self.passage_prefix = self._prefixes()
        self._unk = getattr(self.tokenizer, "unk_token", None)
        self._counter = _plain_copy(self.tokenizer)

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
        if self._counter is not None:
            return len(self._counter.encode(self.passage_prefix + text, add_special_tokens=True))
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
        vectors = np.asarray(vectors, dtype=np.float32)
        # renormalised in float32: a bfloat16 model normalises to only ~3 significant digits
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

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


def _plain_copy(tokenizer) -> "object | None":
    """A private copy of a fast tokenizer's Rust backend without truncation or padding, for
    counting: the chunker counts every sentence, and the backend call costs about half of the
    ``transformers`` wrapper's (chunking was 45% of ragkit's own ingest time at 10k chunks).
    A copy, because encoding sets truncation on the shared backend. None for slow tokenizers."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    counter = Tokenizer.from_str(backend.to_str())
    counter.no_truncation()
    counter.no_padding()
    return counter


def _is_punct(s: str) -> bool:
    return all(unicodedata.category(ch).startswith(("P", "S")) for ch in s)

