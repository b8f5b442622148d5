"""Child process: retrieval latency of one store, per mode, question embedding included.

    python bench/retrieve_child.py STORE [--questions 100] [--k 5]

Times ``RAG.retrieve`` (what `ragkit ask` does before generating) on ja_dev questions after a
warm-up; prints one JSON line with p50/p95/mean in milliseconds per mode. With the bundled English
MiniLM a Japanese question gets dense weight 0, so plain ``hybrid`` skips the dense side; the
``hybrid-dense`` row forces the dense weight to 1 (what an English question, or a multilingual
embedder with ``dense_weight = 1.0``, costs): question embedding and vector query included.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import QA, percentile, read_jsonl  # noqa: E402
from ragkit.pipeline import RAG  # noqa: E402

MODES = ("dense", "lexical", "hybrid", "hybrid-dense")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument("--k", type=int, default=5)
    args = ap.parse_args()
    questions = [q["question"] for q in read_jsonl(QA / "ja_dev_questions.jsonl")][:args.questions]
    rags = {"auto": RAG(store=args.store), "forced": RAG(store=args.store, retrieve_dense_weight="1.0")}
    rag = rags["auto"]

    def run(q: str, mode: str) -> list:
        if mode == "hybrid-dense":
            return rags["forced"].retrieve(q, k=args.k, mode="hybrid")
        return rag.retrieve(q, k=args.k, mode=mode)

    for mode in MODES:  # warm-up: model, MeCab, Chroma's HNSW index in memory, SQLite pages
        for q in questions[:5]:
            run(q, mode)
    out: dict = {"chunks": rag.store().catalog.count_chunks(), "questions": len(questions), "modes": {}}
    for mode in MODES:
        times = []
        for q in questions:
            t = time.perf_counter()
            hits = run(q, mode)
            times.append((time.perf_counter() - t) * 1000)
            assert hits, f"no hits for {q!r} in {mode} mode"
        out["modes"][mode] = {"p50_ms": round(percentile(times, 0.5), 2), "p95_ms": round(percentile(times, 0.95), 2),
                              "mean_ms": round(sum(times) / len(times), 2)}
    # where hybrid time goes: the parts, timed separately on the same questions
    from ragkit.text.japanese import query_tokens

    store, emb = rag.store(), rag.embedder
    parts = {"embed_query": [], "chroma_query": [], "fts5_bm25": []}
    for q in questions:
        t0 = time.perf_counter()
        v = emb.embed_query(q)
        t1 = time.perf_counter()
        store.vectors.query(v, 30)
        t2 = time.perf_counter()
        store.catalog.lexical_search(query_tokens(q), 30)
        t3 = time.perf_counter()
        for key, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2)):
            parts[key].append(dt * 1000)
    out["hybrid_parts_p50_ms"] = {k: round(percentile(v, 0.5), 2) for k, v in parts.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
