"""End to end with the real bundled models, real Chroma and real fugashi over corpora/."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from corpus_facts import FACTS
from conftest import CORPORA, REPO
from ragkit import netguard

JA_PDF_FACTS = [f for f in FACTS if f["page"] and not f["question"].isascii()]


def run_cli(*args, cwd, env=None, check=True):
    proc = subprocess.run([sys.executable, "-m", "ragkit", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"ragkit {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def test_ingest_report_counts_the_corpus(corpus_store):
    rag, report, _ = corpus_store
    visible = [p for p in CORPORA.iterdir() if not p.name.startswith(".")]
    assert report.files == len(visible)
    assert report.failed == []
    assert report.embedded == report.chunks > 0
    assert {Path(r.source).name for r in rag.sources()} == {p.name for p in visible}


@pytest.mark.parametrize("fact", JA_PDF_FACTS, ids=[f["question"][:12] for f in JA_PDF_FACTS])
def test_top_hit_is_the_right_file_and_page_for_japanese_questions(corpus_store, fact):
    rag, _, _ = corpus_store
    top = rag.retrieve(fact["question"], k=3)[0]
    assert Path(top.chunk.source).name == fact["source"]
    assert top.chunk.page == fact["page"]


def test_every_fact_is_in_the_top_three(corpus_store):
    rag, _, _ = corpus_store
    misses = []
    for fact in FACTS:
        hits = rag.retrieve(fact["question"], k=3)
        if not any(Path(h.chunk.source).name == fact["source"] and h.chunk.page == fact["page"] for h in hits):
            misses.append(fact["question"])
    assert misses == []


def test_reingest_unchanged_embeds_nothing(corpus_store):
    rag, _, root = corpus_store
    os.chdir(root)
    try:
        again = rag.ingest(["corpora"])
    finally:
        os.chdir(REPO)
    assert again.embedded == 0 and again.unchanged == again.files and again.chunks == 0


def test_reingest_unchanged_loads_no_model(corpus_store):
    from ragkit.pipeline import RAG

    _, _, root = corpus_store
    fresh = RAG(store=root / "store")
    os.chdir(root)
    try:
        report = fresh.ingest(["corpora"])
    finally:
        os.chdir(REPO)
    assert report.embedded == 0 and report.unchanged == report.files
    assert fresh._embedder is None  # nightly re-ingest of an unchanged folder stays cheap


def test_lexical_retrieval_needs_no_model(corpus_store):
    from ragkit.pipeline import RAG

    _, _, root = corpus_store
    fresh = RAG(store=root / "store")
    top = fresh.retrieve("暗号化USBメモリの貸出期間は最長何日ですか？", k=1, mode="lexical")[0]
    assert Path(top.chunk.source).name == "it_security.pdf" and top.chunk.page == 3
    assert top.dense_score is None and top.lexical_score > 0
    assert fresh._embedder is None


def test_hybrid_skips_the_dense_side_only_when_its_weight_is_zero(corpus_store, monkeypatch):
    rag, _, _ = corpus_store
    calls = []
    real = rag.embedder.embed_query
    monkeypatch.setattr(rag.embedder, "embed_query", lambda text: calls.append(text) or real(text))
    ja = rag.retrieve("暗号化USBメモリの貸出期間は最長何日ですか？", k=3)  # MiniLM coverage ~0: weight 0
    assert calls == [] and all(h.dense_score is None for h in ja)
    en = rag.retrieve("How many days of paid leave do new employees get?", k=3)  # full coverage
    assert len(calls) == 1 and any(h.dense_score is not None for h in en)


def test_ask_gives_a_cited_answer_with_page(corpus_store):
    rag, _, _ = corpus_store
    answer = rag.ask("国内出張の日当は1日あたりいくらですか？")
    assert answer.text.strip()
    assert "[1]" in answer.text or answer.citations
    top = answer.citations[0]
    assert Path(top.source).name == "expense_policy.pdf" and top.page == 3


def test_cli_json_outputs_parse(tmp_path):
    store = tmp_path / "store"
    ing = run_cli("--store", str(store), "ingest", str(CORPORA), "--json", cwd=tmp_path)
    summary = json.loads(ing.stdout)
    assert {"files", "chunks", "embedded", "failed"} <= summary.keys() and summary["failed"] == []
    ret = run_cli("--store", str(store), "ask", "在宅勤務手当は月額いくらですか？", "--retrieve-only", "--json",
                  cwd=tmp_path)
    hits = json.loads(ret.stdout)["hits"]
    assert hits and {"source", "page", "score", "text"} <= hits[0].keys()
    assert hits[0]["source"].endswith("work_rules.pdf") and hits[0]["page"] == 4
    assert "在宅勤務" in ret.stdout  # Japanese is not \u-escaped
    ask = run_cli("--store", str(store), "ask", "在宅勤務手当は月額いくらですか？", "--json", cwd=tmp_path)
    out = json.loads(ask.stdout)
    assert out["answer"].strip() and out["citations"]
    assert {"n", "source", "page", "score", "text"} <= out["citations"][0].keys()
    listing = json.loads(run_cli("--store", str(store), "sources", "--json", cwd=tmp_path).stdout)
    sources = listing["files"]
    assert listing["failed"] == [] and {"source", "pages", "chunks", "sha256", "ingested_at"} <= sources[0].keys()
    assert sum(s["chunks"] for s in sources) == summary["chunks"]
    pages = json.loads(run_cli("--store", str(store), "sources", "--pages", "--json", cwd=tmp_path).stdout)["pages"]
    pdf_pages = [p for p in pages if p["source"].endswith("work_rules.pdf")]
    assert [p["page"] for p in pdf_pages] == [1, 2, 3, 4, 5]
    assert all(p["extractor"] and p["quality"] >= 0.9 for p in pdf_pages)
    check = json.loads(run_cli("--store", str(store), "check", "--json", cwd=tmp_path).stdout)
    assert check["consistent"] is True and check["vectors"] == summary["chunks"]
    inspect = json.loads(run_cli("inspect", str(CORPORA / "expense_policy.pdf"), "--json", cwd=tmp_path).stdout)
    assert [p["page"] for p in inspect["pages"]] == [1, 2, 3, 4]
    assert "2,800円" in inspect["pages"][2]["text"]


def test_cli_errors_are_one_line_without_traceback(tmp_path):
    proc = run_cli("--store", str(tmp_path / "none"), "ask", "質問", cwd=tmp_path, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("ragkit: error:") and "Traceback" not in proc.stderr


def test_help_is_fast_and_loads_no_model(tmp_path):
    code = ("import sys, ragkit.cli\n"
            "try:\n    ragkit.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'chromadb', 'llama_cpp', 'sentence_transformers') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert "HEAVY []" in proc.stdout, proc.stdout + proc.stderr


def test_ingest_and_ask_work_with_every_connection_refused(tmp_path):
    guard = tmp_path / "guard"
    guard.mkdir()
    log = tmp_path / "net.log"
    (guard / "sitecustomize.py").write_text(netguard.sitecustomize(log, allow=()))  # not even loopback
    path = os.pathsep.join(filter(None, [str(guard), os.environ.get("PYTHONPATH")]))  # keep the ragkit under test
    env = {"PYTHONPATH": path, "HF_HUB_OFFLINE": "", "TRANSFORMERS_OFFLINE": ""}
    store = str(tmp_path / "store")
    run_cli("--store", store, "ingest", str(CORPORA), cwd=tmp_path, env=env)
    ask = run_cli("--store", store, "ask", "パスワードは何文字以上にする必要がありますか？", "--no-stream",
                  cwd=tmp_path, env=env)
    assert "it_security.pdf" in ask.stdout
    assert not log.exists() or log.read_text() == "", f"connection attempts: {log.read_text()}"


def test_example_script_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "quickstart.py"), str(tmp_path / "store")],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "expense_policy.pdf p.3" in proc.stdout
