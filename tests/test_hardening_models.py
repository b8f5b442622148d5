"""Acceptance tests of issue 17 that need the real bundled models: one RAG shared by 8 threads,
and a read-only store answering through the CLI as a user who cannot write it."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from corpus_facts import FACTS

pytestmark = pytest.mark.models
REPO = Path(__file__).resolve().parents[1]
NOBODY = 65534


def test_eight_threads_share_one_rag(corpus_store):
    """8 threads x 5 asks on one RAG (Gemma 270M + MiniLM): no crash, answers equal the sequential
    ones. Before the locks this ended in SIGSEGV or a GGML_ASSERT."""
    from ragkit.pipeline import RAG

    _, _, root = corpus_store
    rag = RAG(store=root / "store", embedder=corpus_store[0].embedder, llm_max_answer_tokens=48)
    questions = [f["question"] for f in FACTS[:4]] + ["What is the guest Wi-Fi password policy?"]
    expected = {q: rag.ask(q).text for q in questions}
    got: dict[tuple[int, int], str] = {}
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            for i in range(5):
                q = questions[(t + i) % len(questions)]  # every thread asks all five, rotated
                got[(t, i)] = (q, rag.ask(q).text)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=600)
    assert not errors, errors
    assert len(got) == 40
    assert all(text == expected[q] for q, text in got.values())


def _as_nobody() -> list[str]:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run the CLI as another user")
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import ragkit"], capture_output=True, text=True,
                           env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)}, timeout=120)
    if probe.returncode != 0:  # e.g. a checkout under a 0700 folder (mktemp -d): nobody cannot read it
        pytest.skip(f"uid {NOBODY} cannot import this checkout's ragkit: {probe.stderr.strip()[-200:]}")
    return prefix


def _read_only_copy(store: Path) -> tuple[Path, Path]:
    """A copy of ``store`` owned by nobody, with every write bit removed; returns (top, store)."""
    top = Path(tempfile.mkdtemp(prefix="ragkit-ro-test-"))
    os.chmod(top, 0o755)
    copy = top / "store"
    shutil.copytree(store, copy, ignore=shutil.ignore_patterns("*-wal", "*-shm", "write.lock"))
    (top / "home").mkdir()
    for path in [top / "home", copy, *copy.rglob("*")]:
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
    for path in [copy, *copy.rglob("*")]:
        os.chmod(path, stat.S_IMODE(path.stat().st_mode) & ~0o222)
    return top, copy


def test_read_only_store_answers_as_another_user(corpus_store):
    _, _, root = corpus_store
    prefix = _as_nobody()
    top, copy = _read_only_copy(root / "store")
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "HOME": str(top / "home"),
           "RAGKIT_HOME": str(top / "home"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, sys.executable, "-m", "ragkit", "--store", str(copy), *args],
                              cwd=top, env=env, capture_output=True, text=True, timeout=300)

    try:
        before = sorted((str(p), p.stat().st_mtime) for p in copy.rglob("*"))
        done = cli("sources")
        assert done.returncode == 0, done.stderr
        assert "work_rules.pdf" in done.stdout
        done = cli("ask", "--retrieve-only", "What is the spindle speed range of the PX-7?")  # dense side: Chroma
        assert done.returncode == 0, done.stderr
        assert "1. " in done.stdout
        done = cli("ask", "--no-stream", FACTS[0]["question"])
        assert done.returncode == 0, done.stderr
        assert "work_rules.pdf" in done.stdout
        assert sorted((str(p), p.stat().st_mtime) for p in copy.rglob("*")) == before
    finally:
        shutil.rmtree(top, ignore_errors=True)
