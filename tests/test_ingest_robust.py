"""Ingestion users can trust: bad files, edits, kills and a second writer (issue 5)."""
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
from ragkit.pipeline import RAG


def _rag(store, embedder, **overrides) -> RAG:
    return RAG(store=store, embedder=embedder, **overrides)  # the session's loaded model, loaded once


def _japanese_pdf(path: Path, pages: list[str]) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    c = canvas.Canvas(str(path), invariant=1)
    for text in pages:
        c.setFont("HeiseiKakuGo-W5", 12)
        c.drawString(72, 720, text)
        c.showPage()
    c.save()


@pytest.fixture
def bad_corpus(tmp_path):
    """Good files next to every kind of bad file, all generated here."""
    from pypdf import PdfReader, PdfWriter

    d = tmp_path / "docs"
    d.mkdir()
    (d / "good.txt").write_text("総務部の電話番号は内線2345です。\n", encoding="utf-8")
    _japanese_pdf(d / "good.pdf", ["保守点検は毎月第2火曜日に行う。", "点検記録は5年間保存する。"])
    (d / "corrupt.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    writer = PdfWriter(clone_from=PdfReader(d / "good.pdf"))
    writer.encrypt(user_password="himitsu", owner_password="owner", algorithm="AES-128")
    with open(d / "locked.pdf", "wb") as fh:
        writer.write(fh)
    (d / "empty.txt").write_bytes(b"")
    (d / "binary.txt").write_bytes(bytes(range(256)) * 20)
    from reportlab.pdfgen import canvas
    c = canvas.Canvas(str(d / "scanned.pdf"))
    c.rect(100, 100, 300, 300, fill=1)  # a drawing, no text layer
    c.showPage()
    c.save()
    loop = d / "loop"
    loop.mkdir()
    (loop / "again").symlink_to(loop, target_is_directory=True)
    (d / "notes.docx").write_bytes(b"PK\x03\x04 not a zip")  # found by the walk, named as damaged
    (d / "notes.rtf").write_bytes(b"{\\rtf1 not supported}")
    return d


def test_bad_files_are_named_and_good_files_stay_searchable(tmp_path, bad_corpus, embedder):
    rag = _rag(tmp_path / "store", embedder)
    report = rag.ingest([bad_corpus, bad_corpus / "notes.rtf"])
    failed = {Path(f["path"]).name: f["reason"] for f in report.failed}
    assert set(failed) == {"corrupt.pdf", "locked.pdf", "empty.txt", "binary.txt", "scanned.pdf", "notes.docx",
                           "notes.rtf"}
    assert "password" in failed["locked.pdf"]
    assert "OCR" in failed["scanned.pdf"]
    assert "empty" in failed["empty.txt"]
    assert "binary" in failed["binary.txt"]
    assert "damaged Word document" in failed["notes.docx"]
    assert "unsupported" in failed["notes.rtf"]
    assert {Path(r.source).name for r in rag.sources()} == {"good.txt", "good.pdf"}
    top = rag.retrieve("点検記録の保存期間は？", k=1, mode="lexical")[0]
    assert Path(top.chunk.source).name == "good.pdf" and top.chunk.page == 2
    assert rag.check()["consistent"]


def test_password_option_opens_the_encrypted_pdf(tmp_path, bad_corpus, embedder):
    rag = _rag(tmp_path / "store", embedder, pdf_password="himitsu")
    report = rag.ingest([bad_corpus / "locked.pdf"])
    assert report.failed == [] and report.pages == 2


def test_cli_exit_code_is_3_when_a_file_failed(tmp_path, bad_corpus):
    proc = subprocess.run([sys.executable, "-m", "ragkit", "--store", str(tmp_path / "s"), "ingest",
                           str(bad_corpus / "good.txt"), str(bad_corpus / "empty.txt")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3, proc.stderr
    assert "empty.txt" in proc.stderr and "failed" in proc.stdout


def test_editing_one_file_replaces_exactly_its_chunks(tmp_path, embedder):
    docs = tmp_path / "docs"
    shutil.copytree(CORPORA, docs, ignore=shutil.ignore_patterns(".*"))
    rag = _rag(tmp_path / "store", embedder)
    rag.ingest([docs])
    store = rag.store()
    target = str(docs / "minutes_2024-06-14.txt")
    shown = "docs/minutes_2024-06-14.txt"  # relative to the folder holding the ingested folder
    doc = store.file("default", os.path.realpath(target)).id
    before_all = store.catalog.chunk_ids()
    before_target = store.catalog.chunk_ids(doc)
    text = Path(target).read_text(encoding="utf-8")
    Path(target).write_text(text + "\n追加議題: 社内報の発行は毎月25日とする。\n", encoding="utf-8")
    report = rag.ingest([docs])
    after_target = store.catalog.chunk_ids(doc)
    assert report.changed == 1 and report.new == 0 and report.unchanged == report.files - 1
    assert store.catalog.chunk_ids() - after_target == before_all - before_target  # others untouched
    assert 0 < report.embedded <= len(after_target)  # only new/changed chunk texts re-embedded
    assert after_target != before_target
    assert store.vectors.ids() == store.catalog.chunk_ids()
    hit = rag.retrieve("社内報の発行日は？", k=1, mode="lexical")[0]
    assert hit.chunk.source == shown
    os.remove(target)
    pruned = rag.ingest([docs], prune=True)
    assert pruned.removed == [shown] and shown not in {r.source for r in rag.sources()}
    assert rag.check()["consistent"]


KILLER = """
import os, signal, sys
from ragkit.index.catalog import Catalog
from ragkit.index.vectors import VectorIndex
target, nth = sys.argv[1], int(sys.argv[2])
owner, name = target.split(".")
cls = {"Catalog": Catalog, "VectorIndex": VectorIndex}[owner]
original = getattr(cls, name)
calls = {"n": 0}
def wrapped(self, *args, **kwargs):
    calls["n"] += 1
    if calls["n"] == nth and name == "_delete_doc":
        original(self, *args, **kwargs)   # inside the open transaction
        os.kill(os.getpid(), signal.SIGKILL)
    result = original(self, *args, **kwargs)
    if calls["n"] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(cls, name, wrapped)
from ragkit.cli import main
sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.parametrize("kill_at", [
    "VectorIndex.add:1",        # vectors written, catalog not committed
    "Catalog._delete_doc:2",     # inside the SQLite transaction of the 2nd file
    "Catalog.replace_file:3",    # 3 files committed, 4th not begun
    "VectorIndex.delete:1",      # re-ingest of a changed file: before stale vectors are deleted
])
def test_sigkill_at_any_point_leaves_a_store_the_next_run_makes_consistent(tmp_path, embedder, kill_at):
    docs = tmp_path / "docs"
    shutil.copytree(CORPORA, docs, ignore=shutil.ignore_patterns(".*", "*.pdf"))
    store = tmp_path / "store"
    if kill_at.startswith("VectorIndex.delete"):
        _rag(store, embedder).ingest([docs])
        minutes = docs / "minutes_2024-06-14.txt"
        minutes.write_text(minutes.read_text(encoding="utf-8").replace("議事録", "議事要録"), encoding="utf-8")
    script = tmp_path / "killer.py"
    script.write_text(textwrap.dedent(KILLER))
    target, nth = kill_at.split(":")
    proc = subprocess.run([sys.executable, str(script), target, nth, "--store", str(store), "ingest", str(docs)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    rag = _rag(store, embedder)
    rag.ingest([docs])
    state = rag.check()
    assert state["consistent"], state
    files = {p for p in docs.iterdir()}
    assert {r.source for r in rag.sources()} == {f"docs/{p.name}" for p in files}
    assert state["vectors"] == state["chunks"] == sum(r.chunks for r in rag.sources())
    again = rag.ingest([docs])
    assert again.embedded == 0


def test_a_second_writer_fails_clearly_while_readers_keep_working(tmp_path, embedder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("有給休暇の申請は3日前までに行う。", encoding="utf-8")
    rag = _rag(tmp_path / "store", embedder)
    rag.ingest([docs])
    env = {**os.environ, "RAGKIT_LOCK_TIMEOUT": "1"}
    with rag.store().writer(timeout=5):
        proc = subprocess.run([sys.executable, "-m", "ragkit", "--store", str(tmp_path / "store"), "ingest",
                               str(docs)], capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 1
        assert "another ragkit process" in proc.stderr and "Traceback" not in proc.stderr
        reader = subprocess.run([sys.executable, "-m", "ragkit", "--store", str(tmp_path / "store"), "ask",
                                 "有給休暇の申請期限は？", "--retrieve-only", "--mode", "lexical"],
                                capture_output=True, text=True, timeout=300, env=env)
        assert reader.returncode == 0 and "a.txt" in reader.stdout
    assert rag.check()["consistent"]
