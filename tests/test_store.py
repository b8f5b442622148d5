"""Catalog (SQLite manifest + FTS5) and vectors (real Chroma) stay in agreement."""
import numpy as np
import pytest

from ragkit.errors import StoreError, StoreLocked
from ragkit.index.catalog import FileRecord
from ragkit.index.lexical import fts_query
from ragkit.store import FileUpdate, Store
from ragkit.types import Chunk, chunk_id


def make_chunks(source, texts):
    out, pos = [], 0
    for i, t in enumerate(texts):
        out.append(Chunk(id=chunk_id(source, 1, pos, t), source=source, page=1, index=i, start=pos,
                         end=pos + len(t), text=t, doc=source))
        pos += len(t) + 1
    return out


def write(store, source, texts, sha="x"):
    chunks = make_chunks(source, texts)
    old = store.chunk_ids(source)
    fresh = [c for c in chunks if c.id not in old]
    vecs = np.random.default_rng(0).normal(size=(len(fresh), 8)).astype(np.float32)
    record = FileRecord(source, sha, 1, 1.0, pages=1, id=source, path=f"/docs/{source}", chunk_key=source)
    store.write([FileUpdate(record, chunks, [t.lower().split() for t in texts])], fresh, vecs)
    return chunks


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="ragkit ingest"):
        Store(tmp_path / "none")


def test_add_replace_delete_keep_catalog_lexical_and_vectors_equal(tmp_path):
    store = Store(tmp_path / "s", create=True)
    write(store, "a.txt", ["alpha beta", "gamma delta"])
    write(store, "b.txt", ["beta epsilon"])
    assert store.check()["consistent"]
    assert {cid for cid, _ in store.search_lexical(["beta"], 10)} == \
        store.chunk_ids("a.txt") - {make_chunks("a.txt", ["alpha beta", "gamma delta"])[1].id} \
        | store.chunk_ids("b.txt")
    new = write(store, "a.txt", ["alpha zeta"], sha="y")  # replace
    assert store.chunk_ids("a.txt") == {new[0].id}
    assert store.search_lexical(["gamma"], 10) == []
    assert store.vectors.ids() == store.chunk_ids()
    b_ids = store.chunk_ids("b.txt")
    assert store.remove(["b.txt"]) == b_ids
    assert store.search_lexical(["epsilon"], 10) == []
    assert store.vectors.ids() == store.chunk_ids() == {new[0].id}
    report = store.check()
    assert report["consistent"] and report["chunks"] == 1 and report["vectors"] == 1


def test_reconcile_drops_orphan_vectors_and_forgets_incomplete_files(tmp_path):
    store = Store(tmp_path / "s", create=True)
    write(store, "a.txt", ["one", "two"])
    write(store, "b.txt", ["three"])
    # a crash after step 1 (vectors added, catalog not committed) leaves an orphan vector
    store.vectors.add("default", ["orphan"], np.ones((1, 8), dtype=np.float32), ["c.txt"])
    # a vector lost for a committed file
    lost = next(iter(store.chunk_ids("b.txt")))
    store.vectors.delete([lost])
    report = store.check()
    assert not report["consistent"]
    assert report["orphan_vectors"] == 1 and report["files_incomplete"] == ["b.txt"]
    fixed = store.reconcile()
    assert fixed["orphan_vectors_deleted"] == 1 and fixed["files_forgotten"] == ["b.txt"]
    assert store.check()["consistent"]
    assert [f.source for f in store.files()] == ["a.txt"]


@pytest.mark.parametrize("tokens, expected", [
    (["東京"], '"東京"'),
    (['a"b'], '"a""b"'),
    (["NEAR", "AND", "*", "x:y"], '"NEAR" OR "AND" OR "*" OR "x:y"'),
    (["dup", "dup"], '"dup"'),
    ([], ""),
])
def test_fts_query_quotes_every_token(tokens, expected):
    assert fts_query(tokens) == expected


def test_fts_syntax_tokens_do_not_break_search(tmp_path):
    store = Store(tmp_path / "s", create=True)
    [chunk] = write(store, "a.txt", ["near and or not"])
    for words in (["NEAR"], ["AND", "OR"], ["not", "x:y"]):  # FTS5 operators are searched as words
        assert [cid for cid, _ in store.search_lexical(words, 5)] == [chunk.id], words
    for marks in (['"'], ["(", ")"], ["*"], ["-x"], ["^"]):  # FTS5 syntax alone matches nothing
        assert store.search_lexical(marks, 5) == [], marks


def test_second_writer_times_out_with_a_clear_error(tmp_path):
    store = Store(tmp_path / "s", create=True)
    other = Store(tmp_path / "s")
    messages = []
    with store.writer(timeout=5):
        with pytest.raises(StoreLocked, match="another ragkit process"):
            with other.writer(timeout=0.5, on_wait=messages.append):
                pass
    assert messages and "waiting" in messages[0]
    with other.writer(timeout=1):  # released
        pass


def test_store_refuses_other_embedder(tmp_path):
    store = Store(tmp_path / "s", create=True)
    store.check_built_with({"embed_model": "all-MiniLM-L6-v2:384", "chunk_max_tokens": 256})
    store.check_built_with({"embed_model": "all-MiniLM-L6-v2:384", "chunk_max_tokens": 256})
    with pytest.raises(StoreError, match="embed_model"):
        store.check_built_with({"embed_model": "ruri-v3:768", "chunk_max_tokens": 256})
