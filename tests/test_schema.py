"""Stores written by earlier releases keep working; a store from a newer ragkit is refused.

``tests/fixtures/store-v1`` was written by ragkit 0.1.0 (``tests/fixtures/build_store.py``) with
the bundled MiniLM. Nothing here loads a model: the embedder's identity comes from its folder.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import REPO
from ragkit.errors import StoreError
from ragkit.index.catalog import SCHEMA_VERSION
from ragkit.pipeline import RAG
from ragkit.store import Store
from ragkit.testing import CopyingGenerator

FIXTURE = REPO / "tests" / "fixtures" / "store-v1"


@pytest.fixture
def old_store(tmp_path) -> Path:
    target = tmp_path / "store-v1"
    shutil.copytree(FIXTURE, target)
    return target


def _meta(path: Path) -> dict:
    # the committed fixture is read immutable: reading it must not create -wal/-shm files in it
    uri = f"file:{path / 'catalog.sqlite'}" + ("?mode=ro&immutable=1" if path == FIXTURE else "")
    db = sqlite3.connect(uri, uri=True)
    try:
        return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
    finally:
        db.close()


def test_the_fixture_predates_schema_versions():
    assert "schema_version" not in _meta(FIXTURE)
    assert _meta(FIXTURE)["built_with"]["embed_model"] == "model:384"  # name:dim, no fingerprint


def test_a_version_1_store_migrates_and_answers(old_store):
    rag = RAG(store=old_store, generator=CopyingGenerator())
    hits = rag.retrieve("国内出張の日当はいくらですか？", k=3)
    assert Path(hits[0].chunk.source).name == "kitei.txt"
    answer = rag.ask("国内出張の日当はいくらですか？")
    assert not answer.abstained and "2,800円" in answer.text
    assert [Path(c.source).name for c in answer.citations] == ["kitei.txt"]
    meta = _meta(old_store)
    assert meta["schema_version"] == SCHEMA_VERSION
    # the fingerprint-less record was upgraded to the configured model's full identity
    assert meta["built_with"]["embed_model"].startswith("model:384:")
    assert rag.check()["consistent"]
    assert all(h.chunk.location is None for h in hits)  # version 3 added chunks.location, NULL here


def test_a_store_from_a_newer_ragkit_is_refused(old_store):
    with sqlite3.connect(old_store / "catalog.sqlite") as db:
        db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (json.dumps(SCHEMA_VERSION + 1),))
    with pytest.raises(StoreError, match="newer ragkit.*upgrade ragkit"):
        Store(old_store)


def test_a_new_store_records_the_current_version(tmp_path):
    Store(tmp_path / "new", create=True)
    assert _meta(tmp_path / "new")["schema_version"] == SCHEMA_VERSION


def test_another_model_under_the_same_name_is_refused(old_store, tmp_path):
    from ragkit.models import bundled_embedder_path

    impostor = tmp_path / "model"  # same folder name and dimension as the bundled MiniLM
    shutil.copytree(bundled_embedder_path(), impostor)
    weights = next(p for p in impostor.rglob("*") if p.suffix in (".safetensors", ".bin"))
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one changed weight byte: another model
    weights.write_bytes(bytes(data))
    RAG(store=old_store).retrieve("国内出張の日当は？", k=1)  # records the real model's fingerprint
    with pytest.raises(StoreError, match="embed_model"):
        RAG(store=old_store, embed_model_path=str(impostor)).retrieve("国内出張の日当は？", k=1)



def test_a_migrated_store_is_the_default_collection_and_flags_unknown_paths(old_store):
    rag = RAG(store=old_store, generator=CopyingGenerator())
    [info] = rag.collections()
    assert info.name == "default" and info.files == len(rag.sources()) > 0
    records = rag.sources()
    assert all(r.id and r.collection == "default" and r.metadata["suffix"] for r in records)
    # ragkit 0.1.0 recorded only the path as typed: kept, and listed by check
    assert rag.check()["files_relative_path"] == [r.source for r in records]
    hits = rag.retrieve("国内出張の日当はいくらですか？", k=3, collections=["default"], where={"suffix": ".txt"})
    assert Path(hits[0].chunk.source).name == "kitei.txt" and hits[0].collection == "default"
    # chunk ids were kept (derived from the old source), so nothing needs re-embedding
    assert {r.chunk_key for r in records} == {r.source for r in records}
    assert rag.store().vectors.ids() == rag.store().chunk_ids()
