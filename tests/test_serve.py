"""`ragkit serve` with fake models (fast tier): the real uvicorn server on 127.0.0.1 in a thread,
driven over HTTP by httpx. Real models and the official openai client: test_serve_models.py."""
from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from ragkit import RAG, UsageError
from ragkit.serve.app import ServeOptions
from ragkit.serve.db import ServeDB
from ragkit.serve.gate import Busy, GenerationGate
from ragkit.serve.jobs import MAX_ATTEMPTS, JobBook
from ragkit.serve.keys import KeyRing
from ragkit.serve.server import build, run
from ragkit.serve.uploads import safe_name
from ragkit.testing import CopyingGenerator, HashingEmbedder

from conftest import CORPORA
from serving import ThreadServer, sse_events, wait_job

QUESTION = "国内出張の日当は1日あたりいくらですか？"
STREAMED = {"stream": True, "messages": [{"role": "user", "content": QUESTION}]}


class SlowGenerator(CopyingGenerator):
    """CopyingGenerator that takes ``delay`` seconds per piece, one generation at a time like the
    real model, and counts the pieces it produced."""

    def __init__(self, delay: float, **kw):
        super().__init__(piece_chars=1, **kw)
        self.delay = delay
        self.produced = 0
        self.lock = threading.Lock()

    def stream(self, prompt, max_tokens, stop, constrain=None):
        with self.lock:
            for piece in super().stream(prompt, max_tokens, stop, constrain):
                time.sleep(self.delay)
                self.produced += 1
                yield piece


def _store(tmp_path, generator=None, **settings) -> tuple[RAG, dict[str, str]]:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("expense_policy.pdf", "onboarding_ja.md"):
        shutil.copy(CORPORA / name, docs / name)
    rag = RAG(store=tmp_path / "store", embedder=HashingEmbedder(), generator=generator or CopyingGenerator(),
              **settings)
    rag.ingest([docs])
    ring = KeyRing(ServeDB(tmp_path / "store"))
    keys = {"admin": ring.add("admin", ["*"], write=True), "reader": ring.add("reader", ["*"]),
            "gone": ring.add("gone", ["*"], write=True)}
    ring.revoke("gone")
    return rag, keys


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    rag, keys = _store(tmp_path_factory.mktemp("serve"), serve_max_body_mb=0.2)
    with ThreadServer(build(rag, ServeOptions())) as server:
        yield server, keys, rag


def client(server, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body["error"]) >= {"message", "type"}, body
    return body["error"]


# --- health and auth ------------------------------------------------------------------------------
def test_health_needs_no_key_and_ready_once_loaded(served):
    server, _, _ = served
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    assert httpx.get(server.url + "/health/ready").status_code == 200


@pytest.mark.parametrize("method,path", [("GET", "/v1/models"), ("GET", "/v1/collections"),
                                         ("GET", "/v1/documents"), ("POST", "/v1/chat/completions"),
                                         ("POST", "/v1/retrieve"), ("POST", "/retrieval"),
                                         ("POST", "/v1/documents"), ("GET", "/v1/jobs/x"),
                                         ("DELETE", "/v1/documents/x")])
@pytest.mark.parametrize("who", [None, "wrong", "gone"])
def test_every_endpoint_refuses_missing_wrong_and_revoked_keys(served, method, path, who):
    server, keys, _ = served
    key = keys.get(who, "rk-not-a-key") if who else None
    response = client(server, key).request(method, path, json={})
    assert response.status_code == 401
    assert error_of(response)["type"] == "authentication_error"
    assert response.headers["www-authenticate"] == "Bearer"


def test_revoking_takes_effect_while_the_server_runs(served, tmp_path):
    server, _, rag = served
    ring = KeyRing(ServeDB(rag.settings.store))  # as `ragkit keys` in another process would
    key = ring.add("temp", ["*"])
    assert client(server, key).get("/v1/models").status_code == 200
    ring.revoke("temp")
    assert client(server, key).get("/v1/models").status_code == 401


def test_read_key_cannot_upload_or_delete(served):
    server, keys, _ = served
    c = client(server, keys["reader"])
    response = c.post("/v1/documents", files={"file": ("a.txt", "テスト".encode())})
    assert response.status_code == 403 and "--write" in error_of(response)["message"]
    doc = c.get("/v1/documents").json()["data"][0]
    assert c.delete(f"/v1/documents/{doc['id']}").status_code == 403
    assert any(d["id"] == doc["id"] for d in c.get("/v1/documents").json()["data"])


def test_keys_store_only_a_hash(served):
    _, keys, rag = served
    data = (rag.settings.store and (ServeDB(rag.settings.store).path)).read_bytes()
    assert keys["admin"].encode() not in data and keys["reader"].encode() not in data


# --- answers --------------------------------------------------------------------------------------
def test_chat_completion_whole_with_sources(served):
    server, keys, _ = served
    body = client(server, keys["reader"]).post("/v1/chat/completions", json={
        "model": "anything", "temperature": 0.2, "messages": [{"role": "system", "content": "丁寧に"},
                                                              {"role": "user", "content": QUESTION}]}).json()
    assert body["object"] == "chat.completion" and body["model"] == "anything"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    assert "[1]" in choice["message"]["content"] and body["abstained"] is False
    source = body["sources"][0]
    assert source["n"] == 1 and source["source"].endswith("expense_policy.pdf") and source["page"] == 3
    assert "2,800円" in source["text"] and set(source) >= {"score", "supported", "collection", "metadata"}


def test_chat_completion_streamed_is_well_formed_and_joins_to_the_answer(served):
    server, keys, _ = served
    c = client(server, keys["reader"])
    whole = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}).json()
    with c.stream("POST", "/v1/chat/completions", json={
            "stream": True, "include_sources": False, "messages": [{"role": "user", "content": QUESTION}]}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.iter_lines())
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert {e["id"] for e in chunks} == {chunks[0]["id"]} and all(e["object"] == "chat.completion.chunk" for e in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [e["choices"][0]["finish_reason"] for e in chunks] == [None] * (len(chunks) - 1) + ["stop"]
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in chunks)
    assert text == whole["choices"][0]["message"]["content"]
    assert "sources" not in chunks[-1] and chunks[-1]["abstained"] is False


def test_retrieve_and_dify_retrieval(served):
    server, keys, _ = served
    c = client(server, keys["reader"])
    hits = c.post("/v1/retrieve", json={"query": "日当", "k": 2, "mode": "hybrid"}).json()["hits"]
    assert len(hits) == 2 and "日当" in hits[0]["text"] and {"score", "source", "page", "metadata"} <= set(hits[0])
    records = c.post("/retrieval", json={"knowledge_id": "default", "query": "日当",
                                         "retrieval_setting": {"top_k": 3, "score_threshold": 0.0}}).json()["records"]
    assert 0 < len(records) <= 3 and "日当" in records[0]["content"]
    assert records[0]["title"] == "expense_policy.pdf" and records[0]["metadata"]["collection"] == "default"
    assert c.post("/retrieval", json={"knowledge_id": "default", "query": "日当",
                                      "retrieval_setting": {"top_k": 3, "score_threshold": 99}}).json() == {"records": []}


def test_models_and_collections(served):
    server, keys, _ = served
    c = client(server, keys["reader"])
    assert c.get("/v1/models").json()["data"][0]["id"] == "ragkit"
    (default,) = c.get("/v1/collections").json()["data"]
    assert default["name"] == "default" and default["files"] >= 2 and default["chunks"] > 0


# --- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path,body,field", [
    ("/v1/chat/completions", {"messages": []}, "messages"),
    ("/v1/chat/completions", {}, "messages"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": QUESTION}], "k": 0}, "k"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": QUESTION}], "mode": "magic"}, "mode"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": QUESTION}], "stream": "yes please"}, "stream"),
    ("/v1/chat/completions", {"messages": [{"role": "assistant", "content": "はい"}]}, "messages"),
    ("/v1/retrieve", {"query": ""}, "query"),
    ("/v1/retrieve", {"query": "日当", "collections": "default"}, "collections"),
    ("/retrieval", {"query": "日当"}, "knowledge_id"),
])
def test_wrong_types_are_422_naming_the_field(served, path, body, field):
    server, keys, _ = served
    response = client(server, keys["reader"]).post(path, json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert error["param"] == field and error["message"].startswith(field)


def test_malformed_json_is_422(served):
    server, keys, _ = served
    response = client(server, keys["reader"]).post("/v1/retrieve", content=b'{"query": ',
                                                   headers={"content-type": "application/json"})
    assert response.status_code == 422 and "not valid JSON" in error_of(response)["message"]


def test_unknown_collection_is_404_everywhere(served):
    server, keys, _ = served
    c = client(server, keys["reader"])
    for response in (c.post("/v1/retrieve", json={"query": "日当", "collections": ["人事"]}),
                     c.post("/v1/chat/completions", json={"collections": ["人事"], "messages": [
                         {"role": "user", "content": QUESTION}]}),
                     c.get("/v1/documents", params={"collection": "人事"}),
                     c.post("/retrieval", json={"knowledge_id": "人事", "query": "日当"})):
        assert response.status_code == 404 and "人事" in error_of(response)["message"]
    assert c.post("/retrieval", json={"knowledge_id": "人事", "query": "日当"}).json()["error_code"] == 2001


def test_bad_where_is_400_naming_it(served):
    server, keys, _ = served
    response = client(server, keys["reader"]).post("/v1/retrieve", json={"query": "日当", "where": ["dept~~総務"]})
    assert response.status_code == 400 and "dept~~総務" in error_of(response)["message"]


def test_body_over_the_limit_is_413(served):
    server, keys, _ = served
    response = client(server, keys["admin"]).post("/v1/documents", files={"file": ("big.txt", b"a" * 300_000)})
    assert response.status_code == 413 and "MB" in error_of(response)["message"]


def test_unsupported_type_is_415_with_the_supported_list(served):
    server, keys, _ = served
    response = client(server, keys["admin"]).post("/v1/documents", files={"file": ("tool.exe", b"MZ")})
    assert response.status_code == 415
    message = error_of(response)["message"]
    assert ".exe" in message and ".pdf" in message and ".docx" in message


def test_bad_upload_metadata_is_422(served):
    server, keys, _ = served
    response = client(server, keys["admin"]).post("/v1/documents", data={"metadata": "[1, 2]"},
                                                 files={"file": ("a.txt", "テスト".encode())})
    assert response.status_code == 422 and error_of(response)["param"] == "metadata"


# --- uploads and jobs -----------------------------------------------------------------------------
def test_upload_is_sanitised_ingested_in_the_background_answered_and_deleted(served):
    server, keys, rag = served
    c = client(server, keys["admin"])
    text = "社内VPNへの接続には二要素認証アプリの登録が必要です。"
    response = c.post("/v1/documents", data={"collection": "default", "metadata": json.dumps({"dept": "情報システム"})},
                      files={"file": ("../../..\\secret/../vpn手順.md", text.encode())})
    assert response.status_code == 202
    job = response.json()["job"]
    assert job["files"] == ["vpn手順.md"] and response.headers["location"] == f"/v1/jobs/{job['id']}"
    done = wait_job(c, job["id"])
    assert done["state"] == "done" and done["result"]["new"] == 1, done
    assert "/" not in json.dumps(done["result"]["failed"])
    stored = Path(rag.settings.store)
    placed = [p for p in (stored / "uploads").rglob("vpn手順.md")]
    assert len(placed) == 1 and placed[0].parent.parent == stored / "uploads"
    hits = c.post("/v1/retrieve", json={"query": "VPN 二要素認証", "mode": "lexical", "k": 1}).json()["hits"]
    assert hits[0]["text"] == text
    doc = next(d for d in c.get("/v1/documents").json()["data"] if d["name"] == "vpn手順.md")
    assert c.delete(f"/v1/documents/{doc['id']}").json() == {"deleted": doc["id"], "removed": 1}
    assert not placed[0].exists()
    assert all(d["name"] != "vpn手順.md" for d in c.get("/v1/documents").json()["data"])
    assert c.delete(f"/v1/documents/{doc['id']}").status_code == 404


@pytest.mark.parametrize("given,expected", [("../../etc/passwd.txt", "passwd.txt"), ("C:\\Users\\a\\報告.pdf", "報告.pdf"),
                                            (".hidden.md", "hidden.md"), ("a\x00b|c?.txt", "abc.txt"),
                                            ("x" * 300 + ".md", "x" * 197 + ".md")])
def test_safe_names(given, expected):
    assert safe_name(given) == expected


@pytest.mark.parametrize("given", ["", "..", "../", "///"])
def test_names_with_nothing_left_are_refused(given):
    with pytest.raises(UsageError):
        safe_name(given)


def test_interrupted_jobs_resume_then_fail_after_max_attempts(tmp_path):
    book = JobBook(ServeDB(tmp_path))
    job_id = book.new_id()
    book.add(job_id, "default", ["a.txt"], {}, "admin")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        book.start(job_id)  # a server took it, then was killed
        assert book.recover() == [job_id]
        job = book.get(job_id)
        if attempt < MAX_ATTEMPTS:
            assert job["state"] == "queued" and job["attempts"] == attempt
    assert job["state"] == "failed" and "upload the files again" in job["error"]


def test_a_start_sweeps_uploads_received_only_in_part(tmp_path):
    from ragkit.serve.uploads import Uploads

    uploads, book = Uploads(tmp_path), JobBook(ServeDB(tmp_path))
    uploads.stage("half-received", "a.txt", io.BytesIO(b"abc"))
    uploads.stage("queued-job", "b.txt", io.BytesIO(b"def"))
    book.add("queued-job", "default", ["b.txt"], {}, "admin")
    assert uploads.sweep(book.pending()) == ["half-received"]
    assert [p.name for p in (uploads.root / ".incoming").iterdir()] == ["queued-job"]


# --- concurrency ----------------------------------------------------------------------------------
def test_gate_admits_slots_plus_queue_then_refuses():
    async def scenario():
        gate = GenerationGate(slots=1, queue=1)
        first = await gate.enter()
        waiting = asyncio.ensure_future(gate.enter())
        await asyncio.sleep(0)
        with pytest.raises(Busy) as busy:
            await gate.enter()
        assert busy.value.retry_after >= 1
        gate.leave(first)
        gate.leave(await waiting)
        assert gate.admitted == 0
        running = await gate.enter()
        queued = asyncio.ensure_future(gate.enter())
        await asyncio.sleep(0)
        assert gate.admitted == 2
        queued.cancel()  # a client that leaves while queued gives its place back
        await asyncio.sleep(0)
        assert gate.admitted == 1
        gate.leave(running)

    asyncio.run(scenario())


@pytest.fixture
def slow_server(tmp_path):
    generator = SlowGenerator(delay=0.05)
    rag, keys = _store(tmp_path, generator=generator)
    with ThreadServer(build(rag, ServeOptions(generation_queue=0))) as server:
        yield server, keys, generator


def test_full_queue_is_503_with_retry_after_and_never_cuts_a_stream(slow_server):
    server, keys, _ = slow_server
    c = client(server, keys["reader"])
    with c.stream("POST", "/v1/chat/completions", json=STREAMED) as first:
        lines = first.iter_lines()
        next(line for line in lines if line.startswith("data: "))  # generating now
        refused = client(server, keys["reader"]).post("/v1/chat/completions", json=dict(STREAMED, stream=False))
        assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
        assert error_of(refused)["type"] == "overloaded"
        events = sse_events(lines)
    assert events[-1] == "[DONE]" and events[-2]["choices"][0]["finish_reason"] == "stop"


def test_a_client_that_leaves_mid_stream_frees_its_slot(slow_server):
    server, keys, generator = slow_server
    c = client(server, keys["reader"])
    with c.stream("POST", "/v1/chat/completions", json=STREAMED) as first:
        lines = first.iter_lines()
        next(line for line in lines if '"content": "' in line and '"content": ""' not in line)
    c.close()  # hang up mid-answer
    deadline = time.monotonic() + 10
    while True:
        response = client(server, keys["reader"]).post("/v1/chat/completions", json=dict(STREAMED, stream=False))
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert response.status_code == 200
    answer = response.json()["choices"][0]["message"]["content"]
    assert generator.produced < 2 * len(answer.replace("[1]", "")) + 3  # the first answer stopped early


def test_answers_continue_while_an_upload_ingests(slow_server, monkeypatch):
    server, keys, _ = slow_server
    admin = client(server, keys["admin"])
    body = ("経費の精算は翌月10日までに申請する。\n" * 4000).encode()
    job = admin.post("/v1/documents", files={"file": ("big.txt", body)}).json()["job"]
    answered = client(server, keys["reader"]).post("/v1/retrieve", json={"query": "日当", "k": 1})
    assert answered.status_code == 200
    assert wait_job(admin, job["id"], timeout=60)["state"] == "done"


# --- operations -----------------------------------------------------------------------------------
def test_access_log_has_no_keys_questions_or_text(served, caplog):
    server, keys, _ = served
    with caplog.at_level(logging.INFO, logger="ragkit.serve.access"):
        client(server, keys["reader"]).post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]})
        client(server, None).get("/v1/models")
        time.sleep(0.2)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "ragkit.serve.access"]
    chat = next(line for line in lines if line["path"] == "/v1/chat/completions")
    assert chat["status"] == 200 and chat["key"] == "reader" and chat["method"] == "POST" and chat["ms"] > 0
    assert any(line["status"] == 401 and line["key"] is None for line in lines)
    logged = caplog.text
    assert keys["reader"] not in logged and QUESTION not in logged and "2,800" not in logged


def test_no_auth_is_refused_off_loopback(tmp_path):
    rag = RAG(store=tmp_path / "store", embedder=HashingEmbedder(), generator=CopyingGenerator())
    with pytest.raises(UsageError, match="only allowed on 127.0.0.1"):
        run(rag, host="0.0.0.0", auth=False)


# --- the CLI --------------------------------------------------------------------------------------
def test_keys_cli_prints_a_key_once_lists_and_revokes(tmp_path, capsys):
    from ragkit.cli import main

    store = str(tmp_path / "store")
    assert main(["--store", store, "keys", "add", "helpdesk", "--collections", "総務,人事"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("rk-") and len(key) > 40
    assert KeyRing(ServeDB(store)).grant(key).collections == frozenset({"総務", "人事"})
    assert main(["--store", store, "keys", "list", "--json"]) == 0
    listed = capsys.readouterr().out
    assert key not in listed
    keys = json.loads(listed)["keys"]
    assert keys == [dict(keys[0], name="helpdesk", collections=["人事", "総務"], write=False, revoked=False)]
    assert main(["--store", store, "keys", "add", "helpdesk", "--collections", "総務"]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["--store", store, "keys", "revoke", "helpdesk"]) == 0
    assert KeyRing(ServeDB(store)).grant(key) is None
    assert main(["--store", store, "keys", "add", "nobody"]) == 2
    assert "--collections" in capsys.readouterr().err


def test_serve_cli_refuses_no_auth_off_loopback(tmp_path, capsys):
    from ragkit.cli import main

    assert main(["--store", str(tmp_path / "s"), "serve", "--host", "0.0.0.0", "--no-auth"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--no-auth" in err and "ragkit keys add" in err


# --- access: key A never sees a byte of collection B ---------------------------------------------
SOUMU_TEXT = "総務部の備品発注は毎月第二火曜日に締め切る。合言葉はアオバズク。"
JINJI_TEXT = "人事部の給与改定は毎年四月に行う。査定資料の保管番号はKJW-7731である。"
JINJI_SECRETS = ("KJW-7731", "給与改定", "査定資料", "jinji_kitei")


@pytest.fixture(scope="module")
def two_collections(tmp_path_factory):
    root = tmp_path_factory.mktemp("acl")
    for name, text in (("soumu", SOUMU_TEXT), ("jinji", JINJI_TEXT)):
        (root / name).mkdir()
        (root / name / f"{name}_kitei.md").write_text(f"{text}\n", encoding="utf-8")
    rag = RAG(store=root / "store", embedder=HashingEmbedder(), generator=CopyingGenerator())
    rag.ingest([root / "soumu"], collection="総務", metadata={"dept": "総務"})
    rag.ingest([root / "jinji"], collection="人事", metadata={"dept": "人事"})
    ring = KeyRing(ServeDB(root / "store"))
    keys = {"a": ring.add("a", ["総務"], write=True), "admin": ring.add("admin", ["*"], write=True)}
    with ThreadServer(build(rag, ServeOptions())) as server:
        admin = client(server, keys["admin"])
        job = admin.post("/v1/documents", data={"collection": "人事"},
                         files={"file": ("jinji_kitei_2.md", f"# 人事\n\n{JINJI_TEXT}".encode())}).json()["job"]
        assert wait_job(admin, job["id"])["state"] == "done"
        jinji_doc = next(d["id"] for d in admin.get("/v1/documents", params={"collection": "人事"}).json()["data"])
        yield server, keys, job["id"], jinji_doc


def every_endpoint(c: httpx.Client, job_id: str, doc_id: str) -> list[httpx.Response]:
    """Every endpoint, asked in every way that could reach collection 人事's text."""
    out = [c.get("/v1/models"), c.get("/v1/collections"), c.get("/v1/documents"),
           c.get("/v1/documents", params={"collection": "人事"}), c.get(f"/v1/jobs/{job_id}"),
           c.post("/v1/documents", data={"collection": "人事"}, files={"file": ("x.md", b"x")})]
    for question in (JINJI_TEXT, "給与改定は何月？", "KJW-7731"):
        for extra in ({}, {"collections": ["人事"]}, {"collections": ["総務", "人事"]}, {"where": ["dept=人事"]},
                      {"where": {"collection": "人事"}}, {"k": 50, "mode": "lexical"}, {"k": 50, "mode": "dense"}):
            ask = {"messages": [{"role": "user", "content": question}], **extra}
            out.append(c.post("/v1/chat/completions", json=ask))
            with c.stream("POST", "/v1/chat/completions", json=dict(ask, stream=True)) as r:
                r.read()
                out.append(r)
            out.append(c.post("/v1/retrieve", json={"query": question, **extra}))
        for knowledge in ("人事", "総務"):
            out.append(c.post("/retrieval", json={"knowledge_id": knowledge, "query": question,
                                                  "retrieval_setting": {"top_k": 50}}))
    out.append(c.delete(f"/v1/documents/{doc_id}"))
    return out


def test_key_a_never_sees_a_byte_of_collection_b(two_collections):
    server, keys, job_id, doc_id = two_collections
    replies = every_endpoint(client(server, keys["a"]), job_id, doc_id)
    for r in replies:
        body, asked = r.content.decode("utf-8"), r.request.read().decode("utf-8", "replace")
        leaked = [s for s in JINJI_SECRETS if body.count(s) > asked.count(s)]  # beyond echoing the question
        assert not leaked, f"{r.request.method} {r.request.url.path} {r.request.content[:120]!r} leaked {leaked}: {body[:300]}"
    statuses = {(r.request.method, r.request.url.path, r.status_code) for r in replies}
    assert ("GET", f"/v1/jobs/{job_id}", 404) in statuses and ("DELETE", f"/v1/documents/{doc_id}", 404) in statuses
    assert ("POST", "/v1/documents", 404) in statuses and ("POST", "/retrieval", 404) in statuses
    names = [c["name"] for c in client(server, keys["a"]).get("/v1/collections").json()["data"]]
    assert names == ["総務"]
    # the same requests with a key for both collections do reach 人事: the test can fail
    admin = every_endpoint(client(server, keys["admin"]), job_id, "not-deleting")
    assert sum(r.content.decode("utf-8").count("KJW-7731") > r.request.read().decode("utf-8", "replace").count("KJW-7731")
               for r in admin) > 20


def test_key_a_still_answers_from_its_own_collection(two_collections):
    server, keys, _, _ = two_collections
    c = client(server, keys["a"])
    body = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "備品発注の締め切りは？"}]}).json()
    assert "第二火曜日" in body["choices"][0]["message"]["content"]
    assert {s["collection"] for s in body["sources"]} == {"総務"}
    hits = c.post("/v1/retrieve", json={"query": "備品発注", "where": ["dept=総務"]}).json()["hits"]
    assert hits and hits[0]["metadata"]["dept"] == "総務"
    assert c.post("/v1/retrieve", json={"query": "備品発注", "where": ["dept=経理"]}).json()["hits"] == []


def test_uploading_the_same_name_again_replaces_the_document(served):
    server, keys, _ = served
    c = client(server, keys["admin"])
    for version in ("旧版: 社用車の予約は総務課へ電話で行う。", "新版: 社用車の予約は予約システムで行う。"):
        job = c.post("/v1/documents", files={"file": ("社用車.md", version.encode())}).json()["job"]
        assert wait_job(c, job["id"])["state"] == "done"
    docs = [d for d in c.get("/v1/documents").json()["data"] if d["name"] == "社用車.md"]
    assert len(docs) == 1
    hit = c.post("/v1/retrieve", json={"query": "社用車の予約", "mode": "lexical", "k": 1}).json()["hits"][0]
    assert hit["text"].startswith("新版")
    c.delete(f"/v1/documents/{docs[0]['id']}")


def test_a_broken_upload_fails_in_its_job_named_as_uploaded(served):
    server, keys, rag = served
    c = client(server, keys["admin"])
    job = c.post("/v1/documents", files={"file": ("壊れた.pdf", b"%PDF-1.4 not really a pdf")}).json()["job"]
    done = wait_job(c, job["id"])
    assert done["state"] == "done" and done["result"]["new"] == 0
    (failed,) = done["result"]["failed"]
    assert failed["path"] == "壊れた.pdf" and failed["reason"]
    assert str(rag.settings.store) not in json.dumps(done, ensure_ascii=False)


def test_stopping_lets_the_answer_in_flight_finish(tmp_path):
    rag, keys = _store(tmp_path, generator=SlowGenerator(delay=0.05))
    server = ThreadServer(build(rag, ServeOptions())).__enter__()
    with client(server, keys["reader"]).stream("POST", "/v1/chat/completions", json=STREAMED) as r:
        lines = r.iter_lines()
        next(line for line in lines if line.startswith("data: "))
        server.server.should_exit = True  # what SIGTERM does
        events = sse_events(lines)
    server.thread.join(30)
    assert not server.thread.is_alive()
    assert events[-1] == "[DONE]" and events[-2]["choices"][0]["finish_reason"] == "stop"
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/health", timeout=2)
