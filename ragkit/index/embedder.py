"""Sentence-transformers embedder loaded from a local folder, never from a hub.

``EmbedderCard`` reads what a store must know about the model straight from its folder, without
torch: its identity (a fingerprint of its configuration, tokenizer and weights), its token limit
and its vocabulary (for the dense side's weight). A question that BM25 alone answers (a Japanese
question with the English MiniLM) therefore never imports torch. ``Embedder`` loads the model.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import unicodedata
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import ModelNotFound
from ..models import EMBED_SETTING, set_offline_env
from ..text.script import is_cjk

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


_CONFIG_FILES = ("config.json", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
                 "tokenizer.json", "tokenizer_config.json", "vocab.txt", "sentencepiece.bpe.model",
                 "1_Pooling/config.json", "2_Dense/config.json")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx")
_SAMPLE = 1 << 16  # bytes read at the start, middle and end of each weight file


class EmbedderCard:
    """What a store records about an embedding model, read from its folder without loading it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not (self.path / "config.json").is_file() and not (self.path / "modules.json").is_file():
            raise ModelNotFound(
                f"{self.path}: not a sentence-transformers model folder (no config.json/modules.json); "
                f"set {EMBED_SETTING} to a local model folder")

    def _json(self, name: str) -> dict:
        try:
            return json.loads((self.path / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the configuration and tokenizer files and of samples of every weight file
        (size, start, middle, end): two models that differ in any weight file differ here, even
        under the same folder name and dimension."""
        digest = hashlib.sha256()
        for name in _CONFIG_FILES:
            file = self.path / name
            if file.is_file():
                digest.update(name.encode() + b"\0" + file.read_bytes())
        for file in sorted(self.path.rglob("*")):
            if file.suffix in _WEIGHT_SUFFIXES and file.is_file():
                size = file.stat().st_size
                digest.update(f"{file.relative_to(self.path)}\0{size}".encode())
                with open(file, "rb") as fh:
                    for offset in (0, max(0, size // 2 - _SAMPLE // 2), max(0, size - _SAMPLE)):
                        fh.seek(offset)
                        digest.update(fh.read(_SAMPLE))
        return digest.hexdigest()

    @cached_property
    def dim(self) -> int | None:
        """Output dimension as declared by the pooling (or dense) module; None when not declared."""
        dense = self._json("2_Dense/config.json").get("out_features")
        pooled = self._json("1_Pooling/config.json").get("word_embedding_dimension")
        return int(dense or pooled) if (dense or pooled) else None

    @property
    def model_id(self) -> str:
        """Identity recorded in the store: folder name, dimension and fingerprint."""
        return f"{self.path.name}:{self.dim}:{self.fingerprint[:16]}"

    @cached_property
    def max_tokens(self) -> int:
        """The longest input the model reads (sentence-transformers' ``max_seq_length``)."""
        limit = self._json("sentence_bert_config.json").get("max_seq_length")
        return int(limit or self._json("config.json").get("max_position_embeddings") or 512)

    @cached_property
    def _vocabulary(self):
        """The fast tokenizer (Rust ``tokenizers``, no torch) and its unknown token, or None."""
        file = self.path / "tokenizer.json"
        if not file.is_file():
            return None
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(file))
        tokenizer.no_padding()  # a saved tokenizer may pad every text to a fixed length
        tokenizer.no_truncation()
        unk = self._json("tokenizer.json").get("model", {}).get("unk_token")
        return tokenizer, unk

    def coverage(self, text: str) -> float:
        """How well the vocabulary covers ``text``: share of word pieces that carry meaning.

        Unknown pieces and single CJK characters (what an English vocabulary makes of Japanese)
        count as uncovered. 1.0 for plain English with MiniLM, near 0 for Japanese. Without a
        ``tokenizer.json`` the model is trusted (1.0).
        """
        if self._vocabulary is None:
            return 1.0
        tokenizer, unk = self._vocabulary
        return piece_coverage(tokenizer.encode(text, add_special_tokens=False).tokens, unk)


def piece_coverage(pieces: Sequence[str], unk: str | None) -> float:
    """Share of word pieces that are neither ``unk`` nor a single CJK character (punctuation ignored)."""
    pieces = [p for p in pieces if p.strip("#▁ ") and not _is_punct(p.strip("#▁ "))]
    if not pieces:
        return 0.0
    bad = sum(1 for p in pieces if p == unk or (len(p.strip("#▁ ")) == 1 and is_cjk(p.strip("#▁ "))))
    return 1.0 - bad / len(pieces)


class Embedder:
    """Embeds documents and queries into normalised vectors; counts tokens the way it truncates."""

    def __init__(self, model_path: Path, batch_size: int = 32, dtype: str = "auto"):
        set_offline_env()
        model_path = Path(model_path)
        self.card = EmbedderCard(model_path)
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
        self._counter = _plain_copy(self.tokenizer)
        # one model, one call at a time: embed_query changes torch's process-wide thread count and
        # a fast tokenizer raises "Already borrowed" when threads reconfigure it concurrently
        self.lock = threading.RLock()

    @property
    def model_id(self) -> str:
        """Identity recorded in the store (``EmbedderCard.model_id``)."""
        return self.card.model_id

    def _prefixes(self) -> tuple[str, str]:
        prompts = getattr(self.model, "prompts", None) or {}
        query = prompts.get("query")
        passage = prompts.get("document", prompts.get("passage"))
        if query or passage:  # sentence-transformers 6 reports empty default prompts: not the model's own
            return query or "", passage or ""
        name = self.path.name.lower()
        for key, pair in _PREFIXES.items():
            if key in name:
                return pair
        return "", ""

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for a passage, prefix and special tokens included."""
        with self.lock:
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

        with self.lock:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                return self._encode([self.query_prefix + text])[0]
            finally:
                torch.set_num_threads(threads)

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self.lock:
            vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)
        vectors = np.asarray(vectors, dtype=np.float32)
        # renormalised in float32: a bfloat16 model normalises to only ~3 significant digits
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def coverage(self, text: str) -> float:
        """How well the vocabulary covers ``text`` (``EmbedderCard.coverage``)."""
        return self.card.coverage(text)


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

