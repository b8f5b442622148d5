"""The remote engines without a model: the span grammar, the prompt profile a server model gets,
the settings, the one-line errors (from a small real HTTP server on 127.0.0.1 that refuses,
answers 404 or stalls), and that nothing opens a socket unless a server is configured."""
from __future__ import annotations

import http.server
import json
import re
import threading
import time

import pytest

from ragkit import netguard
from ragkit.config import load_settings
from ragkit.errors import ConfigError, ServerError
from ragkit.extractive import span_grammar
from ragkit.pipeline import RAG
from ragkit.prompts import CHAT, COMPLETION, FREE_COMPLETION, build_prompt, remote_profile
from ragkit.remote import LLM_URL_SETTING
from ragkit.remote.generator import RemoteGenerator, estimate_tokens
from ragkit.remote.http import Endpoint, ServerClient
from ragkit.testing import CopyingGenerator, HashingEmbedder


def grammar_language(gbnf: str) -> set[str]:
    """Every sentence of a grammar of span_grammar's shape (enumerated: only for short sources)."""
    rules = dict(line.split(" ::= ", 1) for line in gbnf.splitlines())
    starts = re.findall(r"s\d+p\d+", rules["root"])

    def spans(rule: str) -> set[str]:
        literal, rest = re.fullmatch(r'("(?:[^"\\]|\\.)*")(?: (s\d+p\d+)\?)?', rules[rule]).groups()
        ch = json.loads(literal)
        return {ch} | ({ch + tail for tail in spans(rest)} if rest else set())

    return {s for start in starts for s in spans(start)}


def test_span_grammar_is_the_substrings_that_open_at_a_word():
    gbnf = span_grammar([' 日当は"2,000円"\n', "pay day"])
    assert gbnf.count("\n") + 1 == 1 + len('日当は"2,000円"') + len("pay day")  # linear: a rule per character
    language = grammar_language(gbnf)
    assert {"日当", "当は", '2,000円"', "pay", "day", "pay day"} <= language
    assert all(s in ' 日当は"2,000円"' or s in "pay day" for s in language)
    assert not {"ay", '"2', " day", ",000"} & language  # not inside a Latin word, not at punctuation or space
    assert 'root ::= (' in gbnf and gbnf.splitlines()[0].endswith('"\\n"?')


def test_span_grammar_openings_follow_the_tokens():
    language = grammar_language(span_grammar(["梅雨前線"], [{0, 2}]))
    assert language == {"梅", "梅雨", "梅雨前", "梅雨前線", "前", "前線"}


def test_prompt_profile_of_a_server_model():
    assert remote_profile("/models/gemma-3-270m-q4_k_m.gguf") is COMPLETION
    for chat_model in ("SmolLM2-135M-Instruct.Q4_1.gguf", "cyberagent/calm3-22b-chat", "gemma-3-12b-it",
                       "Qwen2.5-7B-Instruct"):
        assert remote_profile(chat_model) is CHAT, chat_model
    assert remote_profile("base-model", chat_template="{{ messages }}") is CHAT  # llama-server's /props
    assert remote_profile("gemma-3-12b-it", override="completion-free") is FREE_COMPLETION
    messages = build_prompt(CHAT, "日当は？", ["日当は2,000円。"], "ja")
    assert [m["role"] for m in messages] == ["system", "user"] and "[1] 日当は2,000円。" in messages[1]["content"]


def test_estimated_tokens_are_generous():
    assert estimate_tokens("日当は2,000円") == 4 + 2 and estimate_tokens("pay day") == 3


def test_server_settings(tmp_path):
    (tmp_path / "r.toml").write_text('[llm]\nbase_url = "http://gpu:8080/v1"\nmodel = "calm3"\ntimeout = 30\n'
                                     '[chroma]\nurl = "http://chroma:8000"\nheaders = {X-Token = "${T}"}\n')
    s = load_settings(tmp_path / "r.toml", environ={"RAGKIT_EMBED_BASE_URL": "http://gpu:8081/v1"})
    assert (s.llm_base_url, s.llm_model, s.llm_timeout) == ("http://gpu:8080/v1", "calm3", 30.0)
    assert s.chroma_headers == {"X-Token": "${T}"} and s.embed_base_url == "http://gpu:8081/v1"
    assert load_settings(environ={"RAGKIT_CHROMA_HEADERS": '{"A": "b"}'}).chroma_headers == {"A": "b"}
    with pytest.raises(ConfigError, match=r"chroma.headers .*table"):
        load_settings(environ={"RAGKIT_CHROMA_HEADERS": "A: b"})
    with pytest.raises(ConfigError, match=r"llm.timeout"):
        load_settings(environ={"RAGKIT_LLM_TIMEOUT": "0"})


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        status, delay = self.server.behaviour  # type: ignore[attr-defined]
        time.sleep(delay)
        body = json.dumps({"error": {"message": "nope"}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_server():
    """A real HTTP server on 127.0.0.1 that answers every request with a set status after a delay."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.behaviour = (200, 0.0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(server, timeout=5.0, key_env=None) -> ServerClient:
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return ServerClient(Endpoint(base, "model server", LLM_URL_SETTING, key_env, timeout))


@pytest.mark.parametrize("status, delay, pattern", [
    (401, 0, r"refused the request \(401 nope\); set the key in the environment variable MY_KEY"),
    (404, 0, r"/v1/models answered 404 \(nope\): no OpenAI-compatible API there; \[llm\] base_url .* should be the API root"),
    (500, 0, r"answered 500: nope"),
    (200, 1.0, r"did not answer within 0\.2s; .* raise \[llm\] timeout"),
])
def test_server_failures_are_one_line_naming_the_url(fake_server, status, delay, pattern):
    fake_server.behaviour = (status, delay)
    with pytest.raises(ServerError, match=pattern) as info:
        _client(fake_server, timeout=0.2 if delay else 5.0, key_env="MY_KEY").get("/models")
    assert f"127.0.0.1:{fake_server.server_address[1]}" in str(info.value) and "\n" not in str(info.value)


def test_gateway_errors_are_retried_only_when_safe(fake_server, monkeypatch):
    monkeypatch.setattr("ragkit.remote.http.RETRY_DELAYS", (0.0, 0.0))
    seen = []
    original = _Handler._answer
    monkeypatch.setattr(_Handler, "_answer", lambda self: (seen.append(self.command), original(self)))
    monkeypatch.setattr(_Handler, "do_GET", _Handler._answer)
    monkeypatch.setattr(_Handler, "do_POST", _Handler._answer)
    fake_server.behaviour = (503, 0.0)
    client = _client(fake_server)
    with pytest.raises(ServerError, match="answered 503"):
        client.post("/embeddings", {}, idempotent=True)
    assert len(seen) == 3  # tried three times
    seen.clear()
    with pytest.raises(ServerError, match="answered 503"):
        list(client.stream("/completions", {}))
    assert len(seen) == 1  # a completion the server may have started is never sent twice


def test_bad_url_is_refused_before_any_connection():
    with pytest.raises(ServerError, match=r"\[llm\] base_url .* must be an http\(s\) URL"):
        RemoteGenerator(Endpoint("gpu-box:8080", "model server", LLM_URL_SETTING))


def test_no_socket_unless_a_server_is_configured(tmp_path):
    (tmp_path / "a.md").write_text("VPN は公共の Wi-Fi で必ず使うこと。", encoding="utf-8")
    with netguard.blocked(allow=()) as attempts:
        rag = RAG(store=tmp_path / "store", embedder=HashingEmbedder(), generator=CopyingGenerator())
        rag.ingest([tmp_path / "a.md"])
        assert rag.ask("VPN はいつ使う？").text
        rag.close()
    assert attempts == []
