"""Abstention on constructed evidence: content-word coverage of the question in the top hits."""
from __future__ import annotations

import pytest

from ragkit.abstain import MIN_EVIDENCE, MIN_EVIDENCE_EN, closest_sources, evidence, should_abstain
from ragkit.reader import reading_order
from ragkit.types import Chunk, Hit, chunk_id


def hit(text: str, source: str = "a.txt", score: float = 1.0) -> Hit:
    return Hit(chunk=Chunk(id=chunk_id(source, None, 0, text), source=source, page=None, index=0,
                           start=0, end=len(text), text=text), score=score)


QUESTION = "経費精算の締め日は毎月何日ですか？"


def test_answering_chunk_gives_full_evidence():
    assert evidence(QUESTION, [hit("経費精算の締め日は毎月25日です。")]) == pytest.approx(1.0)
    assert not should_abstain(QUESTION, [hit("経費精算の締め日は毎月25日です。")])


def test_unrelated_chunk_abstains():
    hits = [hit("社員証を紛失した場合は総務部に連絡してください。")]
    assert evidence(QUESTION, hits) < MIN_EVIDENCE
    assert should_abstain(QUESTION, hits)
    assert should_abstain(QUESTION, [])


def test_best_of_the_top_three_counts_not_only_the_first():
    hits = [hit("社員証の再発行について。", "x.txt"), hit("経費精算の締め日は毎月25日です。", "y.txt")]
    assert not should_abstain(QUESTION, hits)
    far = [hit("社員証の再発行について。", f"{i}.txt") for i in range(3)] + hits[1:]
    assert should_abstain(QUESTION, far)


def test_reading_order_prefers_more_content_words():
    partial = hit("経費精算は経理部が担当します。", "partial.txt")
    full = hit("経費精算の締め日は毎月25日です。", "full.txt")
    assert [h.chunk.source for h in reading_order(QUESTION, [partial, full])] == ["full.txt", "partial.txt"]


def test_reading_order_breaks_coverage_ties_by_the_questions_phrasing():
    # both chunks hold every content word; only the second keeps them in the question's order
    scattered = hit("毎月の締め日に経費を精算する日を決める。", "scattered.txt")
    phrased = hit("経費精算の締め日は毎月25日です。", "phrased.txt")
    assert evidence(QUESTION, [scattered]) == evidence(QUESTION, [phrased]) == pytest.approx(1.0)
    assert reading_order(QUESTION, [scattered, phrased])[0].chunk.source == "phrased.txt"


def test_reading_order_is_stable_and_keeps_hits_beyond_the_depth():
    same = [hit("社員証の再発行について。", f"{i}.txt") for i in range(5)]
    assert [h.chunk.source for h in reading_order(QUESTION, same)] == [f"{i}.txt" for i in range(5)]
    late = same[:3] + [hit("経費精算の締め日は毎月25日です。", "late.txt")]
    assert reading_order(QUESTION, late)[3].chunk.source == "late.txt"


def test_threshold_is_a_parameter():
    partial = [hit("経費精算は経理部が担当します。")]  # some of the question's words, not the date
    value = evidence(QUESTION, partial)
    assert 0 < value < 1
    assert should_abstain(QUESTION, partial, min_evidence=value + 0.01)
    assert not should_abstain(QUESTION, partial, min_evidence=value)


def test_english_question():
    assert not should_abstain("When is the expense deadline?", [hit("The expense deadline is the 25th.")])
    assert should_abstain("When is the expense deadline?", [hit("Badges are issued by reception.")])


def test_closest_sources_are_listed_unsupported():
    cites = closest_sources([hit("a", "1.txt", 0.9), hit("b", "2.txt", 0.5), hit("c", "3.txt"), hit("d", "4.txt")])
    assert [c.n for c in cites] == [1, 2, 3]
    assert [c.source for c in cites] == ["1.txt", "2.txt", "3.txt"]
    assert all(c.supported is False for c in cites)


def test_english_questions_use_their_own_threshold():
    question = "When is the monthly expense report deadline?"  # monthly, expense, report, deadline
    half = [hit("The report deadline is the 25th.")]  # 2 of 4
    value = evidence(question, half)
    assert MIN_EVIDENCE_EN <= value < MIN_EVIDENCE
    assert not should_abstain(question, half)  # the English threshold applies
    assert should_abstain(question, half, min_evidence=MIN_EVIDENCE)
