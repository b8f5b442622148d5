"""The chat-model path with a real instruction-tuned model, SmolLM2-135M-Instruct (ChatML template
in its GGUF), in process and through ``llama_cpp.server``: the prompt renders through the GGUF's
own template, its end-of-turn token ends the answer, ``[n]`` markers are checked, abstention
holds. The model is weak; these tests check the path, not the answers' quality."""
from __future__ import annotations

import json

import pytest

from conftest import shared_data
from servers import SMOLLM2, llama_server, model_file
from ragkit.reader import answer
from ragkit.types import Answer, Chunk, Hit

pytestmark = pytest.mark.models
N_QUESTIONS = 2


@pytest.fixture(scope="module")
def smol_local():
    from ragkit.generate import Generator

    return Generator(model_file(SMOLLM2), n_ctx=2048)


@pytest.fixture(scope="module")
def smol_server(tmp_path_factory):
    with llama_server(model_file(SMOLLM2), tmp_path_factory.mktemp("smol"), "--n_ctx", "2048") as server:
        yield server


@pytest.fixture(scope="module")
def smol_remote(smol_server):
    from ragkit.config import Settings
    from ragkit.remote import remote_generator

    return remote_generator(Settings(llm_base_url=smol_server.url, llm_n_ctx=2048))


@pytest.fixture(scope="module")
def en_questions():
    path = shared_data("qa", "en_questions.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:N_QUESTIONS]]


def gold_hit(row: dict) -> Hit:
    text = row["context"]
    return Hit(chunk=Chunk(id=row["context_id"], source=f"{row['context_id']}.txt", page=None, index=0, start=0,
                           end=len(text), text=text), score=1.0)


def check_cited(result: Answer, n_sources: int) -> None:
    """Every citation points at a source that was in the prompt, and says whether it supports the
    claim (the marker the model wrote, or the source that best covers an unmarked answer)."""
    assert result.text.strip() and not result.abstained
    assert result.citations, result.text
    for citation in result.citations:
        assert 1 <= citation.n <= n_sources and isinstance(citation.supported, bool)


def test_in_process_renders_the_gguf_template_and_stops_at_end_of_turn(smol_local, en_questions):
    from ragkit.prompts import build_prompt

    profile = smol_local.profile
    assert profile.kind == "gguf-template" and "<|im_end|>" in profile.stop
    prompt = build_prompt(profile, "Q?", ["S"], "en")
    assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n")
    for row in en_questions:
        result = answer(smol_local, row["question"], [gold_hit(row)], min_evidence=0.0)
        assert smol_local.last_finish_reason == "stop", result.text  # its end-of-turn, not the token limit
        assert "<|im_end|>" not in result.text and "<|im_start|>" not in result.text
        check_cited(result, 1)


def test_through_the_server_it_is_a_chat_model(smol_remote, en_questions):
    assert smol_remote.profile.kind == "chat" and smol_remote.family == "llama-cpp-python"
    for row in en_questions:
        result = answer(smol_remote, row["question"], [gold_hit(row)], min_evidence=0.0)
        assert smol_remote.last_finish_reason == "stop", result.text
        assert "<|im_end|>" not in result.text and "<|im_start|>" not in result.text
        check_cited(result, 1)


def test_markers_pointing_nowhere_are_dropped_and_weak_evidence_abstains(smol_local, smol_remote, en_questions):
    row = en_questions[0]
    hits = [gold_hit(row), gold_hit(en_questions[1])]
    for generator in (smol_local, smol_remote):
        result = answer(generator, row["question"], hits, min_evidence=0.0)
        assert all(1 <= c.n <= 2 for c in result.citations)
        unrelated = answer(generator, "What is the boiling point of liquid nitrogen in kelvin?", hits)
        assert unrelated.abstained and unrelated.text == "The documents do not say."
