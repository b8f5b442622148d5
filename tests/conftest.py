"""Shared fixtures: real bundled models loaded once per session, corpus paths, shared data.

Two tiers. Tests that load a real model (torch or llama-cpp) carry the ``models`` marker: set by
hand on a module (``pytestmark``) or here, for every test that uses a model fixture. ``make
test-fast`` runs the rest (``-m "not models"``) in about a minute, and fails if that tier imported
torch or llama_cpp after all; ``make test`` runs both.
"""
from __future__ import annotations

import os
import shutil
import sys
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
    rag = RAG(store=root / "store", embedder=embedder)
    os.chdir(root)
    try:
        report = rag.ingest(["corpora"])
    finally:
        os.chdir(REPO)
    return rag, report, root


MODEL_FIXTURES = {"embedder", "corpus_store", "generator", "chat_generator"}
# modules whose tests load models themselves (directly or through the CLI in a subprocess)
MODEL_MODULES = {"test_embedder", "test_generate", "test_e2e", "test_ingest_robust", "test_doctor",
                 "test_evaluate", "test_bundle", "test_models", "test_cold_start", "test_remote_llm",
                 "test_remote_chat", "test_remote_embed"}
HEAVY_MODULES = ("torch", "llama_cpp")


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = getattr(item, "module", None)
        if (MODEL_FIXTURES & set(getattr(item, "fixturenames", ()))
                or (module is not None and module.__name__ in MODEL_MODULES)):
            item.add_marker(pytest.mark.models)


def pytest_sessionfinish(session, exitstatus):
    """The fast tier must stay fast: a test there that loads a model is a mistake to fix."""
    if session.config.getoption("markexpr", "") == "not models":
        loaded = [m for m in HEAVY_MODULES if m in sys.modules]
        if loaded:
            print(f"\nfast tier imported {', '.join(loaded)}: mark the test that did with "
                  "@pytest.mark.models or give it a fake from ragkit.testing", file=sys.stderr)
            session.exitstatus = 1
