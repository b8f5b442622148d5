"""Collection isolation with the real bundled models (MiniLM, Gemma 3 270M), real Chroma and
fugashi: the fast-tier checks of ``test_collections.py`` are not the only test of the feature."""
from __future__ import annotations

import shutil

from conftest import CORPORA
from corpus_facts import FACTS
from ragkit.pipeline import RAG

SOUMU = ("expense_policy.pdf", "soumu_notice_sjis.txt")
JINJI = ("work_rules.pdf", "onboarding_ja.md")


def test_each_collection_answers_only_from_its_own_files(tmp_path, embedder):
    for name, files in (("soumu", SOUMU), ("jinji", JINJI)):
        (tmp_path / name).mkdir()
        for f in files:
            shutil.copy(CORPORA / f, tmp_path / name / f)
    rag = RAG(store=tmp_path / "store", embedder=embedder)
    rag.ingest([tmp_path / "soumu"], collection="総務", metadata={"dept": "総務"})
    rag.ingest([tmp_path / "jinji"], collection="人事", metadata={"dept": "人事"})
    fact = next(f for f in FACTS if f["source"] == "expense_policy.pdf" and not f["question"].isascii())
    answered = rag.ask(fact["question"], collections=["総務"])
    assert not answered.abstained
    assert {c.collection for c in answered.citations} == {"総務"}
    assert all(c.source.endswith("expense_policy.pdf") for c in answered.citations)
    # asked where the answer is not: never a 総務 chunk, whatever the model says
    elsewhere = rag.ask(fact["question"], collections=["人事"])
    assert {h.collection for h in elsewhere.hits} == {"人事"}
    assert {c.collection for c in elsewhere.citations} <= {"人事"}
    filtered = rag.retrieve(fact["question"], k=10, where={"dept": "人事"}, mode="hybrid")
    assert filtered and {h.metadata["dept"] for h in filtered} == {"人事"}
    assert rag.check()["consistent"]
