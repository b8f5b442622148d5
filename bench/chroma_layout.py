"""How to lay out collections in Chroma: one Chroma collection with a ``collection`` metadata
field, or one Chroma collection per ragkit collection (what ``ragkit.index.vectors`` does).

    .venv/bin/python bench/chroma_layout.py [--vectors 100000]

Chroma alone, no ragkit: random 256-d unit vectors, ten collections of 10% each (documents of 13
chunks), the same 55 query vectors for each case, n_results=30 (retrieval's candidate depth).
Cases: unfiltered; ``where={"collection": ...}``; ``where={"doc": {"$in": <10% of documents>}}``;
one Chroma collection of the 10%; ``ids=`` (the 10%'s chunk ids, how ragkit applies a metadata
filter inside a collection); and ``ids=`` at 1%, 30% and 50%.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import WORK, percentile, table, update_results  # noqa: E402

DIM, GROUPS, PER_DOC = 256, 10, 13


def main() -> dict:
    import chromadb
    from chromadb.config import Settings

    ap = argparse.ArgumentParser()
    ap.add_argument("--vectors", type=int, default=100_000)
    args = ap.parse_args()
    n = args.vectors
    path = WORK / f"chroma_layout_{n}"
    shutil.rmtree(path, ignore_errors=True)
    client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
    space = {"hnsw:space": "cosine"}
    one = client.create_collection("one", metadata=space, embedding_function=None)
    per = [client.create_collection(f"col{i}", metadata=space, embedding_function=None) for i in range(GROUPS)]
    rng = np.random.default_rng(0)
    for lo in range(0, n, 5000):
        vectors = rng.normal(size=(5000, DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids = [f"id{i}" for i in range(lo, lo + 5000)]
        docs = [i // PER_DOC for i in range(lo, lo + 5000)]
        metas = [{"collection": f"c{d % GROUPS}", "doc": f"d{d}"} for d in docs]
        one.add(ids=ids, embeddings=vectors, metadatas=metas)
        for g in range(GROUPS):
            picked = [j for j, d in enumerate(docs) if d % GROUPS == g]
            per[g].add(ids=[ids[j] for j in picked], embeddings=vectors[picked], metadatas=[metas[j] for j in picked])
    queries = rng.normal(size=(60, DIM)).astype(np.float32)

    def p50(fn) -> float:
        for q in queries[:5]:
            fn(q)
        times = []
        for q in queries[5:]:
            started = time.perf_counter()
            fn(q)
            times.append((time.perf_counter() - started) * 1000)
        return round(percentile(times, 0.5), 2)

    def query(collection, **extra):
        return lambda q: collection.query(query_embeddings=[q], n_results=30, include=["distances"], **extra)

    docs_10 = [f"d{d}" for d in range(n // PER_DOC + 1) if d % GROUPS == 3]
    cases = {
        "one collection, unfiltered": p50(query(one)),
        "one collection, where collection": p50(query(one, where={"collection": "c3"})),
        "one collection, where doc $in (10%)": p50(query(one, where={"doc": {"$in": docs_10}})),
        "a collection per group (10%)": p50(query(per[3])),
    }
    for share in (0.01, 0.1, 0.3, 0.5):
        every = round(1 / share)
        ids = [f"id{i}" for i in range(n) if (i // PER_DOC) % every == 0]
        cases[f"one collection, ids= ({share:.0%})"] = p50(query(one, ids=ids))
    print(table(["case", "p50 ms"], list(cases.items())))
    shutil.rmtree(path, ignore_errors=True)
    return update_results({"chroma_layout": {f"{n // 1000}k": cases}})


if __name__ == "__main__":
    main()
