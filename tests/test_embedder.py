"""The embedder with the real bundled MiniLM: token counting, dtype choice, vector shape."""
from __future__ import annotations

import numpy as np
import pytest

from ragkit.config import load_settings
from ragkit.errors import ConfigError
from ragkit.index.embedder import Embedder, cpu_has_bf16, resolve_dtype

LONG = "就業規則は従業員の労働条件を定める。" * 60 + " The handbook applies to every employee." * 10


def test_count_tokens_is_not_truncated_after_an_embedding_call(embedder):
    embedder.embed_documents(["短い文。", LONG])  # encoding sets truncation on the shared tokenizer
    reference = len(embedder.tokenizer(LONG, add_special_tokens=True, truncation=False)["input_ids"])
    assert reference > embedder.max_tokens
    assert embedder.count_tokens(LONG) == reference
    assert embedder.count_tokens("") == 2  # [CLS] and [SEP]


def test_auto_dtype_follows_the_cpu_and_explicit_dtypes_pass_through():
    assert resolve_dtype("auto") == ("bfloat16" if cpu_has_bf16() else "float32")
    assert resolve_dtype("float32") == "float32"
    assert resolve_dtype("bfloat16") == "bfloat16"


def test_unknown_dtype_is_a_config_error():
    with pytest.raises(ConfigError, match="embed dtype"):
        load_settings(environ={"RAGKIT_EMBED_DTYPE": "float16"})


def test_bfloat16_vectors_are_float32_unit_vectors_close_to_float32(embedder):
    from ragkit.models import bundled_embedder_path

    texts = ["Travel expenses are reimbursed within 30 days.", "国内出張の日当は1日あたり2,800円です。", LONG]
    full = Embedder(bundled_embedder_path(), dtype="float32").embed_documents(texts)
    half = Embedder(bundled_embedder_path(), dtype="bfloat16").embed_documents(texts)
    assert half.dtype == np.float32 and half.shape == full.shape
    assert np.allclose(np.linalg.norm(half, axis=1), 1.0, atol=1e-3)
    assert (full * half).sum(axis=1).min() > 0.99
