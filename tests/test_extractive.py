"""The span constraint on constructed token ids: only verbatim source spans, then a stop."""
from __future__ import annotations

import numpy as np
import pytest

from ragkit.extractive import SpanConstraint, is_content_token

VOCAB = 50
STOP = 2
PROMPT = [1, 40, 41]


def step(proc: SpanConstraint, generated: list[int]) -> np.ndarray:
    """The ids the processor leaves finite after ``generated`` was produced."""
    scores = np.zeros(VOCAB, dtype=np.float32)
    out = proc(np.array(PROMPT + generated), scores)
    return np.flatnonzero(np.isfinite(out))


def test_first_token_may_open_any_source_span_but_not_stop():
    proc = SpanConstraint([[10, 11, 12], [20, 11, 13]], len(PROMPT), [STOP])
    assert step(proc, []).tolist() == [10, 11, 12, 13, 20]


def test_continuations_follow_every_matching_position():
    proc = SpanConstraint([[10, 11, 12], [20, 11, 13]], len(PROMPT), [STOP])
    step(proc, [])
    # 11 occurs in both sources: 12 and 13 may follow, and the answer may end
    assert step(proc, [11]).tolist() == [STOP, 12, 13]
    assert proc.sources_containing() == [0, 1]
    assert step(proc, [11, 13]).tolist() == [STOP]  # end of source 2: only stop
    assert proc.sources_containing() == [1]


def test_span_never_crosses_into_the_next_source():
    proc = SpanConstraint([[10, 11], [12, 13]], len(PROMPT), [STOP])
    assert 12 not in step(proc, [10, 11]).tolist()


def test_greedy_decoding_under_the_constraint_yields_a_substring():
    rng = np.random.default_rng(0)
    source = rng.integers(3, VOCAB, size=40).tolist()
    proc = SpanConstraint([source], len(PROMPT), [STOP], log_probs=True)
    generated: list[int] = []
    for _ in range(12):
        out = proc(np.array(PROMPT + generated), rng.normal(size=VOCAB).astype(np.float32))
        token = int(np.argmax(out))
        if token == STOP:
            break
        generated.append(token)
    assert generated
    text, span = " ".join(map(str, source)), " ".join(map(str, generated))
    assert f" {span} " in f" {text} "
    assert proc.log_prob < 0


def test_first_ok_filters_span_openers():
    proc = SpanConstraint([[10, 11, 12]], len(PROMPT), [STOP], first_ok=lambda t: t != 10)
    assert step(proc, []).tolist() == [11, 12]


def test_content_tokens():
    assert is_content_token("東京") and is_content_token("25") and is_content_token("Tokyo")
    assert not is_content_token("、") and not is_content_token(" ") and not is_content_token(" Tokyo")
    assert not is_content_token("")


def test_log_prob_sums_the_unconstrained_log_softmax_of_the_copied_tokens():
    rng = np.random.default_rng(1)
    proc = SpanConstraint([[10, 11, 12, 13]], len(PROMPT), [STOP], log_probs=True)
    generated: list[int] = []
    expected = 0.0
    for _ in range(3):
        scores = (rng.normal(size=VOCAB) * 4).astype(np.float32)
        token = int(np.argmax(proc(np.array(PROMPT + generated), scores)))
        log_softmax = scores.astype(np.float64) - np.log(np.sum(np.exp(scores.astype(np.float64))))
        expected += log_softmax[token]
        generated.append(token)
    proc(np.array(PROMPT + generated), np.zeros(VOCAB, dtype=np.float32))  # consumes the last token
    assert len(generated) == 3 and proc.log_prob == pytest.approx(expected, rel=1e-4)


def test_strided_logits_row_like_llama_cpp_passes():
    # llama-cpp hands the processor the logit field of a (id, logit, p) record array
    rows = np.zeros(VOCAB, dtype=np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)]))
    rows["logit"] = np.arange(VOCAB, dtype=np.float32)
    proc = SpanConstraint([[10, 11, 12]], len(PROMPT), [STOP])
    out = proc(np.array(PROMPT), rows["logit"])
    assert np.flatnonzero(np.isfinite(out)).tolist() == [10, 11, 12]
    assert out[12] == 12.0
    again = proc(np.array(PROMPT + [12]), rows["logit"])  # the reused output row is reset
    assert np.flatnonzero(np.isfinite(again)).tolist() == [STOP]


def test_log_prob_is_not_computed_unless_asked():
    proc = SpanConstraint([[10, 11, 12]], len(PROMPT), [STOP])
    step(proc, [])
    step(proc, [10])
    assert proc.generated == [10] and proc.log_prob == 0.0 and proc._buf is None


def test_next_token_is_the_argmax_of_the_masked_row():
    rng = np.random.default_rng(3)
    a = SpanConstraint([[5, 6, 7], [5, 8]], prompt_len=2, stop_ids=[1])
    b = SpanConstraint([[5, 6, 7], [5, 8]], prompt_len=2, stop_ids=[1])
    ids = [9, 9]
    for _ in range(3):
        scores = rng.normal(size=20).astype(np.float32)
        token = a.next_token(ids, scores)
        assert token == int(np.argmax(b(np.asarray(ids), scores.copy())))
        if token == 1:
            break
        ids.append(token)
    done = SpanConstraint([[5]], prompt_len=0, stop_ids=[])
    assert done.next_token([5], np.zeros(10, dtype=np.float32)) is None  # span ended, no stop token
