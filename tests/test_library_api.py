"""The library API beyond ask(): an iterator, asyncio, texts without files, a context manager."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ragkit import RAG
from ragkit.reader import NOT_FOUND
from ragkit.testing import CopyingGenerator, HashingEmbedder

DOCS = {
    "rules/expense.md": "経費の申請期限は支出した月の翌月8日までとする。\n\n20万円以上の経費は管理本部長が承認する。",
    "rules/security.txt": "社内システムのパスワードは14文字以上とする。",
    "en/office.md": "The office opens at 8:30. Visitors sign in at the reception on the first floor.",
}


@pytest.fixture
def rag(tmp_path):
    with RAG(store=tmp_path / "store", embedder=HashingEmbedder(), generator=CopyingGenerator()) as rag:
        report = rag.ingest_texts(DOCS)
        assert report.new == 3 and not report.failed
        yield rag


@pytest.mark.parametrize("question", ["経費の申請期限はいつですか？", "パスワードは何文字以上ですか？",
                                      "When does the office open?", "海外赴任の手当はいくらですか？"])
def test_stream_yields_exactly_the_text_of_ask(rag, question):
    pieces = list(stream := rag.stream(question))
    asked = rag.ask(question)
    assert "".join(pieces) == asked.text == stream.answer.text
    assert stream.answer.citations == asked.citations
    if asked.abstained:
        assert asked.text == NOT_FOUND["ja"] and pieces == [asked.text]
    else:
        assert len(pieces) > 2  # streamed in pieces, then the citation marker


def test_stream_raises_what_ask_raises(tmp_path):
    rag = RAG(store=tmp_path / "missing", embedder=HashingEmbedder(), generator=CopyingGenerator())
    with pytest.raises(Exception, match="ragkit ingest"):
        list(rag.stream("経費の申請期限は？"))


def test_async_api_answers_four_questions_at_once(rag):
    questions = ["経費の申請期限はいつですか？", "パスワードは何文字以上ですか？", "When does the office open?",
                 "20万円以上の経費は誰が承認しますか？"]

    async def main():
        hits = await rag.aretrieve(questions[0], k=2)
        answers = await asyncio.gather(*(rag.aask(q) for q in questions))
        return hits, answers

    hits, answers = asyncio.run(main())
    assert Path(hits[0].chunk.source).name == "expense.md"
    assert [a.question for a in answers] == questions
    assert all(not a.abstained and a.citations for a in answers)
    assert "翌月8日" in answers[0].text and "14文字" in answers[1].text


def test_ingest_texts_is_incremental_and_removable(rag):
    again = rag.ingest_texts(DOCS)
    assert again.unchanged == 3 and again.embedded == 0
    changed = rag.ingest_texts({"rules/security.txt": "パスワードは16文字以上とする。".encode("utf-8")})
    assert changed.changed == 1
    assert "16文字" in rag.ask("パスワードは何文字以上ですか？").text
    gone = rag.remove([Path(rag.settings.store) / "texts" / "en"])
    assert [Path(g).name for g in gone] == ["office.md"]


@pytest.mark.parametrize("name", ["", "/etc/x.txt", "../escape.txt", "a/../../b.txt"])
def test_ingest_texts_refuses_names_outside_the_store(rag, name):
    with pytest.raises(ValueError, match="relative path inside the store"):
        rag.ingest_texts({name: "text"})


def test_close_releases_and_the_rag_reopens(tmp_path):
    rag = RAG(store=tmp_path / "store", embedder=HashingEmbedder(), generator=CopyingGenerator())
    with rag:
        rag.ingest_texts({"a.txt": "国内出張の日当は2,800円とする。"})
    assert rag._store is None
    assert "2,800円" in rag.ask("国内出張の日当はいくらですか？").text  # reopens; keeps the fakes it was given


def test_real_models_stream_like_ask(corpus_store):
    rag, _, _ = corpus_store
    question = "国内出張の日当は1日あたりいくらですか？"
    assert "".join(rag.stream(question)) == rag.ask(question).text
