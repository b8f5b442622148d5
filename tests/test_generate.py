"""Generation with the real bundled Gemma 3 270M GGUF: metadata, context fitting, a cited answer."""
from __future__ import annotations

import pytest

from ragkit.generate import Generator
from ragkit.reader import NOT_FOUND, fit_sources
from ragkit.reader import answer as generate_answer
from ragkit.prompts import build_prompt
from ragkit.types import Chunk, Hit, chunk_id


N_CTX = 1024


@pytest.fixture(scope="session")
def generator(tmp_path_factory) -> Generator:
    from ragkit.models import bundled_gguf_path

    path = bundled_gguf_path(tmp_path_factory.mktemp("ragkit-home"))
    return Generator(path, n_ctx=N_CTX, n_threads=2)


def make_hit(text: str, source: str, page: int | None, score: float) -> Hit:
    return Hit(chunk=Chunk(id=chunk_id(source, page, 0, text), source=source, page=page, index=0,
                           start=0, end=len(text), text=text), score=score)


def test_metadata_and_profile_of_bundled_model(generator):
    meta = generator.metadata
    assert meta["architecture"] == "gemma3"
    assert meta["has_chat_template"] is False and meta["chat_template"] is None
    assert meta["bos_token"] == "<bos>"
    assert generator.profile.kind == "completion"
    assert generator.n_ctx == N_CTX


def test_count_tokens_and_truncate(generator):
    text = "経費精算の締め日は毎月25日です。" * 20
    n = generator.count_tokens(text)
    assert 20 < n < len(text)
    cut = generator.truncate(text, 30)
    assert text.startswith(cut) and generator.count_tokens(cut) <= 30 and len(cut) < len(text)


def test_bos_is_not_doubled(generator):
    tokens = generator.tokenize("<bos>質問")
    assert tokens[0] == generator.llm.token_bos() and tokens[1] != tokens[0]


def test_sources_fit_the_context_window(generator):
    texts = [f"資料{i}: " + "社内規程の本文です。" * 60 for i in range(10)]
    question = "規程は？"
    fitted = fit_sources(generator, question, texts, 64)
    assert 0 < len(fitted) < len(texts)
    assert fitted == texts[:len(fitted)]
    prompt = build_prompt(generator.profile, question, fitted, "ja")
    assert len(generator.tokenize(prompt)) + 64 <= N_CTX
    # a first source longer than the window is cut, not dropped
    huge = fit_sources(generator, question, ["長い資料です。" * 1000], 64)
    assert len(huge) == 1 and 0 < len(huge[0]) < 7000


def test_no_hits_abstains_without_generating(generator):
    answer = generate_answer(generator, "締め日は？", [])
    assert answer.abstained and answer.text == NOT_FOUND["ja"] and answer.citations == []


def test_answers_a_japanese_question_with_a_citation(generator):
    hits = [
        make_hit("社員証を紛失した場合は、総務部の山田さんに直ちに連絡してください。", "handbook.pdf", 7, 0.4),
        make_hit("経費精算の締め日は毎月25日です。領収書の原本を経理部に提出してください。", "expense.pdf", 3, 0.9),
    ]
    pieces: list[str] = []
    answer = generate_answer(generator, "経費精算の締め日は毎月何日ですか？", hits, on_token=pieces.append,
                             max_answer_tokens=48)
    assert answer.text.strip() and pieces
    assert generator.last_finish_reason == "stop" and generator.last_token_count < 48
    assert "25" in answer.text
    assert answer.citations and answer.citations[0].source == "expense.pdf"
    assert answer.citations[0].page == 3 and answer.citations[0].supported is True
    assert answer.hits == hits and "[1]" in answer.text


def test_generation_is_deterministic(generator):
    hits = [make_hit("VPN接続には二要素認証が必要です。", "it.md", None, 0.5)]
    first = generate_answer(generator, "VPN接続に必要なものは？", hits, max_answer_tokens=32)
    second = generate_answer(generator, "VPN接続に必要なものは？", hits, max_answer_tokens=32)
    assert first.text == second.text


def test_extractive_answer_is_a_verbatim_source_span(generator):
    assert generator.profile.extractive
    source = "当社の創業者は鈴木一郎で、1987年に横浜で会社を設立した。本社は現在、川崎市にある。"
    answer = generate_answer(generator, "当社の創業者は誰ですか？", [make_hit(source, "history.txt", None, 1.0)])
    span = answer.span
    assert not answer.abstained and span and span in source
    assert "「当社の創業者は鈴木一郎で、1987年に横浜で会社を設立した。」" in answer.text  # the sentence, quoted
    assert generator.last_processor is not None and generator.last_processor.sources_containing() == [0]
    assert [(c.source, c.supported) for c in answer.citations] == [("history.txt", True)]


def test_extractive_reader_reads_the_chunk_with_the_questions_phrasing(generator):
    # both chunks hold every content word of the question; retrieval ranked the wrong one first
    hits = [make_hit("毎月の締め日に経費を精算する日を決める。", "scattered.txt", None, 0.9),
            make_hit("経費精算の締め日は毎月25日です。", "phrased.txt", None, 0.5)]
    answer = generate_answer(generator, "経費精算の締め日は毎月何日ですか？", hits)
    assert not answer.abstained and "25" in answer.text
    assert [c.source for c in answer.citations] == ["phrased.txt"]


def test_weak_evidence_abstains_and_lists_closest_sources(generator):
    hits = [make_hit("社員証を紛失した場合は、総務部の山田さんに直ちに連絡してください。", "handbook.pdf", 7, 0.4)]
    answer = generate_answer(generator, "経費精算の締め日は毎月何日ですか？", hits)
    assert answer.abstained and answer.text == NOT_FOUND["ja"]
    assert [(c.source, c.supported) for c in answer.citations] == [("handbook.pdf", False)]
    assert answer.to_json()["abstained"] is True


TINY_CORPUS = [
    {"context_id": "hist-1", "title": "社史", "context": "当社は1987年に横浜で鈴木一郎が創業した。創業時の社員は5人だった。"},
    {"context_id": "hist-2", "title": "社史", "context": "2005年に本社を川崎市に移転し、社員は300人になった。"},
    {"context_id": "cafe-1", "title": "社員食堂", "context": "社員食堂は本館の地下一階にあり、昼食は500円で提供される。"},
    {"context_id": "vpn-1", "title": "情報システム", "context": "VPNに接続するには二要素認証が必要で、パスワードは90日ごとに変更する。"},
]
TINY_QUESTIONS = [
    {"question": "社員食堂の昼食はいくらですか？", "answers": ["500円"], "context_id": "cafe-1", "title": "社員食堂"},
    {"question": "パスワードは何日ごとに変更しますか？", "answers": ["90日ごと", "90日"], "context_id": "vpn-1",
     "title": "情報システム"},
    {"question": "本社は何年に川崎市に移転しましたか？", "answers": ["2005年"], "context_id": "hist-2", "title": "社史"},
]


def test_small_answer_eval_run(generator, embedder, tmp_path):
    from ragkit.answer_eval import evaluate_answers
    from ragkit.cli import format_answer_table
    from ragkit.qa import write_docs
    from ragkit.pipeline import RAG

    questions = [{**q, "context": next(r["context"] for r in TINY_CORPUS if r["context_id"] == q["context_id"])}
                 for q in TINY_QUESTIONS]
    write_docs(TINY_CORPUS, tmp_path / "docs")
    rag = RAG(store=tmp_path / "store", embedder=embedder, generator=generator)
    rag.ingest([tmp_path / "docs"])
    result = evaluate_answers(rag, questions, TINY_CORPUS, limit=None, unanswerable=True)
    a, u = result["answers"], result["unanswerable"]
    assert a["n"] == u["n"] == 3
    assert a["answer_rate"] == 1.0 and a["citation_accuracy"] == 1.0
    assert a["f1"] > 0.3 and a["reader_ceiling_f1"] > 0.3  # copied spans may run longer than the gold
    assert a["naive_prompt_f1"] > 0.1  # the naive prompt answers some, if worse than the reader
    assert round(a["exact"] * 3, 3) in (0.0, 1.0, 2.0, 3.0) and a["exact"] <= a["f1"]  # a share of 3 questions
    assert u["abstention_rate"] == 1.0  # with its article gone, nothing else mentions the topic
    assert "unanswerable" in format_answer_table(result)


def test_stop_strings_cut_the_text_and_their_beginnings_are_held_back():
    from ragkit.generate import _first_stop, _held_back

    assert _first_stop("2,800円\n質問", ["\n", "質問:"]) == 6
    assert _first_stop("2,800円", ["\n", "質問:"]) is None
    assert _held_back("2,800円。質", ["質問:"]) == 1  # may be the start of 質問:
    assert _held_back("2,800円。質問", ["質問:"]) == 2
    assert _held_back("2,800円", ["質問:"]) == 0
