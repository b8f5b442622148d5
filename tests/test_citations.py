"""Citation markers: renumbering, dropping, fallback to the best source, support check."""
from __future__ import annotations

import pytest

from ragkit.citations import attach_citations, content_chars, coverage, snippet
from ragkit.types import Chunk, Hit, chunk_id


def make_hit(text: str, source: str = "doc.pdf", page: int | None = 1, score: float = 0.5) -> Hit:
    return Hit(chunk=Chunk(id=chunk_id(source, page, 0, text), source=source, page=page, index=0,
                           start=0, end=len(text), text=text), score=score)


SOURCES = [
    make_hit("経費精算の締め日は毎月25日です。領収書の原本を経理部に提出してください。", "expense.pdf", 3, 0.9),
    make_hit("社員証を紛失した場合は、総務部の山田さんに直ちに連絡してください。", "handbook.pdf", 7, 0.7),
    make_hit("VPN接続には二要素認証が必要です。パスワードは90日ごとに変更します。", "it.md", None, 0.4),
]


def test_markers_renumbered_by_first_appearance():
    text, cites = attach_citations("パスワードは90日ごとに変更します[3]。締め日は毎月25日です[1]。", SOURCES)
    assert text == "パスワードは90日ごとに変更します[1]。締め日は毎月25日です[2]。"
    assert [(c.n, c.source, c.page) for c in cites] == [(1, "it.md", None), (2, "expense.pdf", 3)]
    assert [c.score for c in cites] == [0.4, 0.9]
    assert all(c.supported for c in cites)


def test_repeated_marker_keeps_one_number_and_groups_are_split():
    reordered = SOURCES[::-1]  # [1] it.md, [2] handbook.pdf, [3] expense.pdf
    text, cites = attach_citations("締め日は毎月25日です[2, 2]。原本を経理部に提出します[2][1]。", reordered)
    assert text == "締め日は毎月25日です[1]。原本を経理部に提出します[1][2]。"
    assert [c.source for c in cites] == ["handbook.pdf", "it.md"]
    # the claims are about expenses: neither the handbook nor the IT rules support them
    assert [c.supported for c in cites] == [False, False]


def test_markers_pointing_nowhere_are_dropped():
    text, cites = attach_citations("締め日は毎月25日です [7]。総務部の山田さんに連絡します[0][2]。", SOURCES)
    assert text == "締め日は毎月25日です。総務部の山田さんに連絡します[1]。"
    assert [(c.n, c.source) for c in cites] == [(1, "handbook.pdf")]
    assert cites[0].supported is True


def test_full_width_markers_are_read():
    text, cites = attach_citations("毎月25日です［１］", SOURCES)
    assert text == "毎月25日です[1]"
    assert cites[0].source == "expense.pdf"


def test_no_marker_cites_the_best_overlapping_source():
    text, cites = attach_citations("総務部の山田さん", SOURCES)
    assert text == "総務部の山田さん[1]"
    assert [(c.n, c.source, c.page, c.supported) for c in cites] == [(1, "handbook.pdf", 7, True)]


def test_no_marker_and_no_overlap_cites_nothing():
    text, cites = attach_citations("わかりません", SOURCES)
    assert (text, cites) == ("わかりません", [])


def test_unsupported_marker_is_flagged_not_dropped():
    text, cites = attach_citations("有給休暇は年20日です[1]。", SOURCES)
    assert text == "有給休暇は年20日です[1]。"
    assert cites[0].supported is False


def test_marker_at_start_vouches_for_following_text():
    _, cites = attach_citations("[2] 総務部の山田さんに連絡します。", SOURCES)
    assert cites[0].source == "handbook.pdf" and cites[0].supported is True


def test_english_answer():
    hits = [make_hit("The office opens at 9:00 and closes at 18:00 on weekdays.", "en.txt", None)]
    text, cites = attach_citations("It opens at 9:00 [1].", hits)
    assert text == "It opens at 9:00 [1]."
    assert cites[0].supported is True


@pytest.mark.parametrize("raw, expected", [("Ｔｏｋｙｏ、 東京。[1]", "tokyo東京"), ("  ", "")])
def test_content_chars(raw, expected):
    assert content_chars(raw) == expected


def test_coverage_and_snippet():
    assert coverage("毎月25日", SOURCES[0].chunk.text) == 1.0
    assert coverage("", SOURCES[0].chunk.text) == 0.0
    long_text = "あ" * 500 + "目印の文はここにあります" + "い" * 500
    snip = snippet(long_text, "目印の文")
    assert len(snip) == 200 and "目印の文" in snip


def test_verbatim_span_cites_the_best_ranked_source_containing_it():
    # an extractive answer copied from source 2: cited to it, verified, numbered [1]
    text, cites = attach_citations("総務部の山田さん", SOURCES)
    assert text == "総務部の山田さん[1]"
    assert [(c.n, c.source, c.supported) for c in cites] == [(1, "handbook.pdf", True)]
    # the same span in two sources: the better-ranked one (first in the prompt) is cited
    twin = [make_hit("別紙: 総務部の山田さんが窓口です。", "memo.txt", None, 0.95), *SOURCES]
    _, cites = attach_citations("総務部の山田さん", twin)
    assert [c.source for c in cites] == ["memo.txt"]


def test_marker_beyond_the_prompt_sources_is_dropped_and_valid_one_kept():
    text, cites = attach_citations("締め日は毎月25日です[2][7]。", SOURCES[:2])
    assert "[7]" not in text and "[2]" not in text and "[1]" in text
    assert [c.source for c in cites] == ["handbook.pdf"]
    assert cites[0].supported is False  # the claim is about expenses, source 2 does not say it
    assert cites[0].to_json()["supported"] is False
