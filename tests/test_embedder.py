"""The embedder with the real bundled MiniLM: what it measures and embeds, as the chunker and
retrieval rely on it (token counts, similarity, unit vectors, E5 prefixes, dtype choice)."""
from __future__ import annotations

import numpy as np
import pytest

from ragkit.config import load_settings
from ragkit.errors import ConfigError
from ragkit.index.embedder import Embedder, cpu_has_bf16, resolve_dtype

LONG = "就業規則は従業員の労働条件を定める。" * 60 + " The handbook applies to every employee." * 10
QUESTION = "How do I reset my password?"
RELATED = "To change your password, open the account settings and choose a new one."
UNRELATED = "The cafeteria on the ground floor serves lunch from noon."


def test_token_counts_are_whole_and_add_up_even_after_embedding(embedder):
    first = embedder.count_tokens(LONG)
    embedder.embed_documents(["短い文。", LONG])  # encoding truncates to max_tokens: counting must not
    assert embedder.count_tokens(LONG) == first > embedder.max_tokens
    a, b = "Travel expenses are reimbursed within 30 days.", "Receipts go to the accounting team."
    # the chunker sums sentence counts: two sentences cost their parts, special tokens once
    special = embedder.count_tokens("")
    assert special == 2  # [CLS] and [SEP]
    assert embedder.count_tokens(f"{a} {b}") == embedder.count_tokens(a) + embedder.count_tokens(b) - special


def test_a_question_is_closest_to_the_passage_that_answers_it(embedder):
    docs = embedder.embed_documents([RELATED, UNRELATED])
    query = embedder.embed_query(QUESTION)
    assert docs.shape == (2, embedder.dim) and query.shape == (embedder.dim,)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-5)
    related, unrelated = docs @ query
    assert related > unrelated + 0.2, (related, unrelated)


def test_e5_named_models_get_query_and_passage_prefixes(embedder, tmp_path):
    """An E5 model expects ``query: `` / ``passage: ``; a folder named like one gets them."""
    e5_folder = tmp_path / "multilingual-e5-small"
    e5_folder.symlink_to(embedder.path, target_is_directory=True)
    e5 = Embedder(e5_folder, dtype=embedder.dtype)
    assert e5.embed_query(QUESTION) @ embedder.embed_documents([f"query: {QUESTION}"])[0] > 0.999
    assert e5.embed_documents([RELATED])[0] @ embedder.embed_documents([f"passage: {RELATED}"])[0] > 0.999
    assert e5.embed_query(QUESTION) @ embedder.embed_query(QUESTION) < 0.99  # the prefix changed the vector
    assert e5.count_tokens(RELATED) == embedder.count_tokens(f"passage: {RELATED}")


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
