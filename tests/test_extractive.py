"""The span constraint on constructed token ids: only verbatim source spans, then a stop."""
from __future__ import annotations

import numpy as np

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
    proc = SpanConstraint([source], len(PROMPT), [STOP])
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
