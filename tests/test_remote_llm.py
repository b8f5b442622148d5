"""Generation through a real OpenAI-compatible server: ``python -m llama_cpp.server`` serving the
bundled Gemma 3 270M on 127.0.0.1, started once for the module. With only ``[llm] base_url``
set, the extractive answers (grammar + the source's own tokens) equal the in-process ones."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, shared_data
from servers import free_port, llama_server
from ragkit.errors import ServerError
from ragkit.pipeline import RAG
from ragkit.testing import HashingEmbedder

pytestmark = pytest.mark.models
KEY_ENV = "RAGKIT_TEST_LLM_KEY"
KEY = "test-key-1234"
QUESTIONS = 10


@pytest.fixture(scope="module")
def gemma_server(tmp_path_factory):
    from ragkit.models import bundled_gguf_path

    with llama_server(bundled_gguf_path(), tmp_path_factory.mktemp("llm-server"), "--n_ctx", "4096",
                      "--api_key", KEY) as server:
        yield server


@pytest.fixture(scope="module")
def ja_store(tmp_path_factory):
    """The paragraphs of the first ja_dev questions as texts; asked lexically, so the only model
    in play is the generator under test."""
    rows = [json.loads(line) for line in
            shared_data("qa", "ja_dev_questions.jsonl").read_text(encoding="utf-8").splitlines()[:QUESTIONS]]
    store = tmp_path_factory.mktemp("ja") / "store"
    RAG(store=store, embedder=HashingEmbedder()).ingest_texts({f"ja/{i}.txt": r["context"] for i, r in enumerate(rows)})
    return store, [r["question"] for r in rows]


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)


def remote(store, server, **settings) -> RAG:
    return RAG(store=store, llm_base_url=server.url, llm_api_key_env=KEY_ENV, **settings)


def test_remote_extractive_answers_equal_in_process(gemma_server, ja_store, key):
    from ragkit.generate import Generator
    from ragkit.models import bundled_gguf_path

    store, questions = ja_store
    local = RAG(store=store, generator=Generator(bundled_gguf_path()))
    over_server = remote(store, gemma_server)
    assert over_server.generator.profile.extractive and over_server.generator.family == "llama-cpp-python"
    pairs = [(local.ask(q, mode="lexical"), over_server.ask(q, mode="lexical")) for q in questions]
    assert [b.text for _, b in pairs] == [a.text for a, _ in pairs]
    assert sum(not a.abstained for a, _ in pairs) >= QUESTIONS - 3  # real answers, not ten abstentions
    # the same verdicts too (a quote of the wrong kind is unsupported on both sides alike)
    assert [[c.supported for c in b.citations] for _, b in pairs] == [[c.supported for c in a.citations] for a, _ in pairs]


def test_cli_ask_with_only_base_url(gemma_server, ja_store):
    store, questions = ja_store
    env = dict(os.environ, RAGKIT_LLM_BASE_URL=gemma_server.url, RAGKIT_LLM_API_KEY_ENV=KEY_ENV, **{KEY_ENV: KEY},
               PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "ragkit", "--store", str(store), "ask", "--mode", "lexical",
                           "--json", questions[1]], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "5月上旬" in json.loads(proc.stdout)["answer"]


def test_wrong_key_is_one_line_naming_the_url(gemma_server, ja_store, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "wrong")
    with pytest.raises(ServerError) as info:
        remote(ja_store[0], gemma_server).generator
    message = str(info.value)
    assert gemma_server.url in message and "401" in message and KEY_ENV in message and "\n" not in message


def test_timeout_and_unknown_model_are_one_line(gemma_server, ja_store, key):
    with pytest.raises(ServerError, match="does not serve model 'nope'"):
        remote(ja_store[0], gemma_server, llm_model="nope").generator
    rag = remote(ja_store[0], gemma_server, llm_timeout=0.1)  # 0.1 s: the model cannot answer in time
    with pytest.raises(ServerError, match=r"did not answer within 0\.1s.*llm\] timeout"):
        rag.ask(ja_store[1][0], mode="lexical")


def test_server_down_names_the_url(ja_store):
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ServerError, match=f"cannot reach the model server at {url}/models .*base_url"):
        RAG(store=ja_store[0], llm_base_url=url).ask(ja_store[1][0], mode="lexical")


def test_doctor_checks_the_server(gemma_server, key):
    from ragkit.config import Settings
    from ragkit.doctor import check_llm_server

    check = check_llm_server(Settings(llm_base_url=gemma_server.url, llm_api_key_env=KEY_ENV))
    assert check.ok, check.detail
    assert "gemma-3-270m" in check.detail and "extractive" in check.detail
    down = check_llm_server(Settings(llm_base_url=f"http://127.0.0.1:{free_port()}/v1"))
    assert not down.ok and "cannot reach" in down.detail and down.fix
