"""`ragkit serve` as users run it: `python -m ragkit serve` in a subprocess with the real models,
on 127.0.0.1 and a free port, started once for the module (the models load once). The official
`openai` package is the client for chat; httpx drives the rest. The server runs under the
offline guard (only loopback allowed); the last tests check it reached nothing else, then kill
it during an upload ingest and restart it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from ragkit import netguard
from ragkit.serve.db import ServeDB
from ragkit.serve.keys import KeyRing

from conftest import CORPORA, REPO
from serving import ProcessServer, sse_events, wait_job

pytestmark = [pytest.mark.models, pytest.mark.slow]

QUESTION = "国内出張の日当は1日あたりいくらですか？"
QUESTIONS = [QUESTION, "パスワードは何文字以上にする必要がありますか？", "在宅勤務手当は月額いくらですか？",
             "年次有給休暇は何日付与されますか？"]
SOAK_SECONDS = float(os.environ.get("RAGKIT_SERVE_SOAK_SECONDS", "30"))
QUEUE = 4  # 8 clients, 1 generating + 4 waiting: the rest get deliberate 503s


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve-models")
    guard = root / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(netguard.sitecustomize(root / "net.log", allow=("127.0.0.1",)))
    keys = KeyRing(ServeDB(root / "store"))
    return {"root": root, "store": root / "store", "net_log": root / "net.log",
            "env": {"PYTHONPATH": os.pathsep.join([str(REPO), str(guard)]), "HF_HUB_OFFLINE": "",
                    "TRANSFORMERS_OFFLINE": "", "RAGKIT_SERVE_GENERATION_QUEUE": str(QUEUE)},
            "admin": keys.add("admin", ["*"], write=True), "reader": keys.add("reader", ["*"])}


@pytest.fixture(scope="module")
def server(site):
    proc = ProcessServer(site["store"], site["root"] / "server.log", env=site["env"]).start()
    admin = httpx.Client(base_url=proc.url, headers={"Authorization": f"Bearer {site['admin']}"}, timeout=60)
    files = [("file", (p.name, p.read_bytes())) for p in sorted(CORPORA.iterdir()) if not p.name.startswith(".")]
    job = admin.post("/v1/documents", files=files).json()["job"]
    assert wait_job(admin, job["id"], 600)["state"] == "done"
    yield proc
    proc.stop()


def openai_client(server, key):
    from openai import OpenAI

    return OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=120)


def test_openai_client_gets_a_cited_japanese_answer(server, site):
    completion = openai_client(server, site["reader"]).chat.completions.create(
        model="ragkit", messages=[{"role": "user", "content": QUESTION}])
    text = completion.choices[0].message.content
    extra = completion.model_extra
    assert "2,800" in text and "[1]" in text and extra["abstained"] is False
    assert extra["sources"][0]["source"].endswith("expense_policy.pdf") and "2,800円" in extra["sources"][0]["text"]


def test_openai_client_streams_the_same_answer(server, site):
    client = openai_client(server, site["reader"])
    whole = client.chat.completions.create(model="ragkit", messages=[{"role": "user", "content": QUESTION}])
    chunks = list(client.chat.completions.create(model="ragkit", stream=True,
                                                 messages=[{"role": "user", "content": QUESTION}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content and "2,800" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["sources"][0]["source"].endswith("expense_policy.pdf")


def test_eight_clients_at_once_with_an_upload_ingesting(server, site):
    """8 clients ask for SOAK_SECONDS (half streamed): every reply is a complete answer or a
    deliberate 503; an upload ingests meanwhile and answers keep finishing during it."""
    stop_at = time.monotonic() + SOAK_SECONDS
    finished: list[float] = []  # when each answer completed
    refused: list[int] = []
    problems: list[str] = []

    def ask(i: int) -> None:
        c = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {site['reader']}"}, timeout=300)
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            body = {"messages": [{"role": "user", "content": QUESTIONS[(i + n) % len(QUESTIONS)]}],
                    "stream": (i + n) % 2 == 0}
            try:
                with c.stream("POST", "/v1/chat/completions", json=body) as r:
                    if r.status_code == 503:
                        r.read()
                        refused.append(int(r.headers["retry-after"]))
                        time.sleep(min(2.0, 0.2 * (i + 1)))
                        continue
                    if r.status_code != 200:
                        problems.append(f"{r.status_code} {r.read()[:200]!r}")
                        continue
                    if body["stream"]:
                        events = sse_events(r.iter_lines())
                        ok = (events[-1] == "[DONE]" and events[-2]["choices"][0]["finish_reason"] == "stop"
                              and all(isinstance(e, dict) and "error" not in e for e in events[:-1]))
                    else:
                        reply = json.loads(r.read())
                        ok = bool(reply["choices"][0]["message"]["content"])
                    if not ok:
                        problems.append(f"malformed reply to {body}")
                    finished.append(time.monotonic())
            except Exception as exc:  # a dropped connection, a half stream
                problems.append(f"{type(exc).__name__}: {exc}")

    ingest_window: list[float] = []

    def upload() -> None:
        admin = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {site['admin']}"}, timeout=60)
        text = "".join(f"第{i}条 備品の貸出は総務課の台帳に記録し、返却期限は{i % 28 + 1}日とする。\n" for i in range(6000))
        job = admin.post("/v1/documents", data={"collection": "default"},
                         files={"file": ("備品貸出規程.txt", text.encode())}).json()["job"]
        while (state := admin.get(f"/v1/jobs/{job['id']}").json()["job"])["state"] in ("queued", "running"):
            if state["state"] == "running" and not ingest_window:
                ingest_window.append(time.monotonic())
            time.sleep(0.2)
        ingest_window.append(time.monotonic())
        assert state["state"] == "done", state

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)] + [threading.Thread(target=upload)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not problems, problems[:5]
    assert len(finished) >= 4 and all(r >= 1 for r in refused)
    start, end = ingest_window[0], ingest_window[-1]
    assert any(start < t < end for t in finished), "no answer finished while the upload was ingesting"


def test_server_reached_nothing_but_its_own_socket(server, site):
    openai_client(server, site["reader"]).chat.completions.create(
        model="ragkit", messages=[{"role": "user", "content": QUESTION}])
    log = site["net_log"]
    assert not log.exists() or log.read_text() == "", f"connection attempts: {log.read_text()}"


def test_sigkill_during_an_upload_ingest_then_restart(server, site):
    admin = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {site['admin']}"}, timeout=60)
    text = "".join(f"第{i}条 会議室の予約は前日までに行い、利用後は机を元に戻すこと。番号{i}。\n" for i in range(8000))
    job = admin.post("/v1/documents", files={"file": ("会議室規程.txt", text.encode())}).json()["job"]
    deadline = time.monotonic() + 120
    while admin.get(f"/v1/jobs/{job['id']}").json()["job"]["state"] == "queued" and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(3)  # into the embedding and writing
    server.kill()
    server.start()
    resumed = wait_job(admin, job["id"], 600)
    assert resumed["state"] == "done" and resumed["attempts"] == 2 and resumed["resumed"] is True, resumed
    hits = admin.post("/v1/retrieve", json={"query": "会議室の予約", "mode": "lexical", "k": 1}).json()["hits"]
    assert "会議室の予約" in hits[0]["text"]
    assert server.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down
    assert "Application shutdown complete" in server.log.read_text()
    check = subprocess.run([sys.executable, "-m", "ragkit", "--store", str(site["store"]), "check", "--json"],
                           capture_output=True, text=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert check.returncode == 0 and json.loads(check.stdout)["consistent"] is True, check.stdout + check.stderr
