"""Vectors in a real Chroma server (``chroma run`` on 127.0.0.1, started once for the module): the
same hits as an on-disk store, one store per server collection, and the crash guarantees hold
when the ingest or the Chroma server itself is killed midway. The embedder is the hashing fake:
what is under test is where the vectors live, not what they mean."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import CORPORA, REPO
from servers import free_port, start_chroma
from ragkit.errors import ServerError, StoreError
from ragkit.pipeline import RAG
from ragkit.testing import HashingEmbedder

QUESTIONS = ["国内出張の日当は1日あたりいくらですか？", "VPN はいつ使う必要がありますか？", "有給休暇の申請期限は？",
             "What is the travel allowance?"]


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    root = tmp_path_factory.mktemp("chroma")
    server = start_chroma(root / "data", free_port(), root)
    yield server, root
    server.stop()


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    shutil.copytree(CORPORA, folder, ignore=shutil.ignore_patterns(".*", "*.pdf"))
    return folder


def served(store, server) -> RAG:
    return RAG(store=store, embedder=HashingEmbedder(), chroma_url=server.url)


def test_same_hits_as_an_on_disk_store(chroma, docs, tmp_path):
    server, _ = chroma
    on_disk = RAG(store=tmp_path / "disk", embedder=HashingEmbedder())
    remote = served(tmp_path / "served", server)
    assert on_disk.ingest([docs]).chunks == remote.ingest([docs]).chunks > 0
    assert not (tmp_path / "served" / "chroma").exists()  # the vectors went to the server
    for question in QUESTIONS:
        for mode in ("dense", "hybrid"):
            here, there = on_disk.retrieve(question, k=5, mode=mode), remote.retrieve(question, k=5, mode=mode)
            assert [h.chunk.id for h in there] == [h.chunk.id for h in here], (question, mode)
            assert [round(h.score, 4) for h in there] == [round(h.score, 4) for h in here]
    assert remote.check()["consistent"]


def test_stores_sharing_a_server_keep_their_own_vectors(chroma, docs, tmp_path):
    server, _ = chroma
    first, second = served(tmp_path / "one", server), served(tmp_path / "two", server)
    first.ingest([docs / "office_guide_en.md"])
    second.ingest([docs])
    assert first.check()["vectors"] == first.check()["chunks"] < second.check()["vectors"]
    assert {h.chunk.source for h in first.retrieve("VPN", k=10, mode="dense")} == {"office_guide_en.md"}


def test_a_store_never_switches_sides(chroma, docs, tmp_path):
    server, _ = chroma
    RAG(store=tmp_path / "disk", embedder=HashingEmbedder()).ingest([docs])
    with pytest.raises(StoreError, match=r"keeps its vectors on disk; unset \[chroma\] url"):
        served(tmp_path / "disk", server).retrieve("VPN", mode="dense")
    served(tmp_path / "served", server).ingest([docs])
    with pytest.raises(StoreError, match=r"keeps its vectors in a Chroma server .*set \[chroma\] url"):
        RAG(store=tmp_path / "served", embedder=HashingEmbedder()).retrieve("VPN", mode="dense")


def test_server_down_or_wrong_url_is_one_line(tmp_path, docs):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerError, match=f"Chroma server at {url} .*chroma\\] url"):
        RAG(store=tmp_path / "s", embedder=HashingEmbedder(), chroma_url=url).ingest([docs])
    with pytest.raises(ServerError, match="must look like http://chroma-host:8000"):
        RAG(store=tmp_path / "s", embedder=HashingEmbedder(), chroma_url="chroma-host:8000").ingest([docs])


# Runs an ingest into a store whose vectors live in the Chroma server at argv[2]; at the nth
# VectorIndex.add (after it wrote), SIGKILLs either this process or the Chroma server (argv[4]).
KILLER = """
import os, signal, sys
from ragkit.index.vectors import VectorIndex
from ragkit.pipeline import RAG, EMBED_BATCH_CHUNKS
from ragkit.testing import HashingEmbedder
import ragkit.pipeline
ragkit.pipeline.EMBED_BATCH_CHUNKS = 8  # many small writes, so a kill lands between them
store, url, nth, victim, docs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
original = VectorIndex.add
calls = {"n": 0}
def add(self, *args, **kwargs):
    original(self, *args, **kwargs)
    calls["n"] += 1
    if calls["n"] == nth:
        os.kill(victim or os.getpid(), signal.SIGKILL)
VectorIndex.add = add
try:
    RAG(store=store, embedder=HashingEmbedder(), chroma_url=url).ingest([docs])
except Exception as exc:
    print(type(exc).__name__, exc)
    sys.exit(3)
"""


@pytest.mark.parametrize("victim", ["ingest", "chroma server"])
def test_killed_midway_the_next_ingest_repairs(tmp_path, docs, victim):
    root = tmp_path / "chroma"
    port = free_port()
    server = start_chroma(root / "data", port, tmp_path)
    try:
        script = tmp_path / "killer.py"
        script.write_text(textwrap.dedent(KILLER))
        pid = server.process.pid if victim == "chroma server" else 0
        proc = subprocess.run([sys.executable, str(script), str(tmp_path / "store"), server.url, "2", str(pid),
                               str(docs)], capture_output=True, text=True, timeout=300, cwd=REPO,
                              env=dict(os.environ, PYTHONPATH=str(REPO)))
        if victim == "ingest":
            assert proc.returncode == -signal.SIGKILL, proc.stderr
        else:
            assert proc.returncode == 3 and "ServerError" in proc.stdout, proc.stdout + proc.stderr
            assert server.url in proc.stdout and len(proc.stdout.strip().splitlines()) == 1
            server.process.wait(timeout=30)
            server = start_chroma(root / "data", port, tmp_path)  # back up, same data and port
        rag = served(tmp_path / "store", server)
        assert not rag.check()["consistent"] or victim == "chroma server"
        report = rag.ingest([docs])
        state = rag.check()
        assert state["consistent"], state
        assert {Path(r.source).name for r in rag.sources()} == {p.name for p in docs.iterdir()}
        assert state["vectors"] == state["chunks"] == sum(r.chunks for r in rag.sources())
        assert report.embedded > 0 and rag.ingest([docs]).embedded == 0
    finally:
        server.stop()
