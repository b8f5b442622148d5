"""A question is read once: one MeCab pass feeds retrieval, the evidence check, the reader and the prompt."""
from __future__ import annotations

from pathlib import Path

import pytest

import ragkit.text.japanese as japanese
from ragkit.pipeline import RAG
from ragkit.query import make_query
from ragkit.testing import CopyingGenerator, HashingEmbedder


class CountingTagger:
    """Wraps the real MeCab tagger and records every text it is asked to parse."""

    def __init__(self, real):
        self.real = real
        self.texts: list[str] = []

    def __call__(self, text):
        self.texts.append(text)
        return self.real(text)


@pytest.fixture
def tagger(monkeypatch):
    counting = CountingTagger(japanese._tagger())
    monkeypatch.setattr(japanese, "_TAGGER", counting)
    return counting


@pytest.mark.parametrize("question, language", [("経費の申請期限はいつですか？", "ja"),
                                                ("When is the expense deadline?", "en"),
                                                ("ＰＸ－７の価格は？", "ja")])
def test_make_query_reads_the_question_once(tagger, question, language):
    query = make_query(question)
    assert tagger.texts == [query.normalized]
    assert query.language == language
    assert query.content_tokens and set(query.content_tokens) <= set(query.tokens)


def test_nfkc_form_is_what_every_step_reads():
    query = make_query("ＰＸ－７の価格は？")
    assert query.normalized == "PX-7の価格は?"
    assert "px" in query.tokens and "価格" in query.content_tokens and "は" not in query.content_tokens


def test_empty_question_is_refused():
    with pytest.raises(ValueError, match="empty"):
        make_query(" \n\u3000")


def test_ask_tokenises_the_question_once(tmp_path, tagger):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kitei.txt").write_text("国内出張の日当は1日あたり2,800円とする。\n\n海外出張は別に定める。", encoding="utf-8")
    (docs / "guide.txt").write_text("社員証を紛失したら総務部に連絡する。", encoding="utf-8")
    generator = CopyingGenerator()
    rag = RAG(store=tmp_path / "store", embedder=HashingEmbedder(), generator=generator)
    rag.ingest([docs])
    question = "国内出張の日当はいくらですか？"
    normalized = make_query(question).normalized
    tagger.texts.clear()
    answer = rag.ask(question)
    assert tagger.texts.count(normalized) == 1  # retrieval, evidence, reading order and prompt share it
    assert not answer.abstained and "2,800円" in answer.text
    assert [Path(c.source).name for c in answer.citations] == ["kitei.txt"]
    assert question.rstrip("？") in generator.prompts[0]  # the prompt got the question
