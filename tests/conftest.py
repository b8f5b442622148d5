"""Shared fixtures: real bundled models loaded once per session, corpus paths, shared data."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO / "corpora"
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test where the data is absent (a user's clone)."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared evaluation data not present: {path}")
    return path


@pytest.fixture(scope="session")
def embedder():
    from ragkit.index.embedder import Embedder
    from ragkit.models import bundled_embedder_path

    return Embedder(bundled_embedder_path())


@pytest.fixture(scope="session")
def corpus_store(tmp_path_factory, embedder):
    """A store with all of corpora/ ingested once, shared by read-only tests."""
    from ragkit.pipeline import RAG

    root = tmp_path_factory.mktemp("corpus")
    docs = root / "corpora"
    shutil.copytree(CORPORA, docs, ignore=shutil.ignore_patterns(".*"))
    rag = RAG(store=root / "store")
    rag._embedder = embedder
    os.chdir(root)
    try:
        report = rag.ingest(["corpora"])
    finally:
        os.chdir(REPO)
    return rag, report, root
