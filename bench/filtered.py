"""Filtered retrieval at 100k chunks: a metadata filter or a collection selecting 10% of the
documents, against the same retrieval unfiltered.

    PYTHONPATH=. .venv/bin/python bench/filtered.py [--chunks 100000] [--questions 100]

Two stores over the same synthetic Japanese corpus (``bench.common.write_synthetic``: ten
folders of ~10k chunks, written under $BENCH_WORK, never committed), both built by
``RAG.ingest`` with ``ragkit.testing.HashingEmbedder`` (hashed character bigrams: the real
pipeline and Chroma, minus hours of model time; its coverage is 1.0, so hybrid always runs the
dense side too, the dearer case):

- ``one``: every folder in the ``default`` collection, each folder's ``ragkit-meta.toml`` giving
  its files ``dept = "dN"``. Figures: unfiltered hybrid and ``where={"dept": "d3"}`` (10%).
- ``ten``: folder N in collection ``cN``. Figures: hybrid over every collection and with
  ``collections=["c3"]`` (10%).

Prints p50/p95 per case and writes ``hybrid_filtered_p50_ms_100k`` (the metadata filter),
``hybrid_unfiltered_p50_ms_100k_hashing``, ``hybrid_collection_p50_ms_100k`` and their ratios to
bench/results.json.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import QA, WORK, percentile, read_jsonl, table, update_results, write_synthetic  # noqa: E402
from ragkit.pipeline import RAG  # noqa: E402
from ragkit.testing import HashingEmbedder  # noqa: E402

FOLDERS = 10


def corpus(total: int) -> Path:
    """Ten folders of ``total / 10`` chunks each, each with a sidecar naming its dept."""
    root = WORK / f"filtered_{total}"
    done = root / ".complete"
    if not done.is_file():
        shutil.rmtree(root, ignore_errors=True)
        for i in range(FOLDERS):
            folder = root / f"f{i}"
            write_synthetic(folder, total // FOLDERS, seed=100 + i)
            (folder / "ragkit-meta.toml").write_text(f'dept = "d{i}"\n', encoding="utf-8")
        done.touch()
    return root


def build(docs: Path, store: Path, layout: str) -> RAG:
    """The store for ``layout`` (``one`` or ``ten``), built once and reused."""
    rag = RAG(store=store, embedder=HashingEmbedder())
    if (store / ".complete").is_file():
        return rag
    shutil.rmtree(store, ignore_errors=True)
    started = time.perf_counter()
    for i in range(FOLDERS):
        collection = "default" if layout == "one" else f"c{i}"
        report = rag.ingest([docs / f"f{i}"], collection=collection)
        assert not report.failed, report.failed[:3]
        print(f"  {layout}: f{i} -> {collection}: {report.chunks} chunks ({time.perf_counter() - started:.0f}s)",
              flush=True)
    (store / ".complete").touch()
    return rag


def timed(rag: RAG, questions: list[str], **scope) -> dict:
    for q in questions[:5]:  # warm-up: HNSW indexes in memory, SQLite pages, MeCab
        rag.retrieve(q, k=5, mode="hybrid", **scope)
    times = []
    for q in questions:
        started = time.perf_counter()
        hits = rag.retrieve(q, k=5, mode="hybrid", **scope)
        times.append((time.perf_counter() - started) * 1000)
        assert hits, f"no hits for {q!r} with {scope}"
    return {"p50_ms": round(percentile(times, 0.5), 2), "p95_ms": round(percentile(times, 0.95), 2)}


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--questions", type=int, default=100)
    args = ap.parse_args()
    label = f"{args.chunks // 1000}k"
    docs = corpus(args.chunks)
    questions = [q["question"] for q in read_jsonl(QA / "ja_dev_questions.jsonl")][:args.questions]
    one = build(docs, WORK / f"filtered_store_one_{label}", "one")
    ten = build(docs, WORK / f"filtered_store_ten_{label}", "ten")
    chunks = one.store().count_chunks()
    cases = {
        "one: unfiltered": timed(one, questions),
        "one: where dept=d3": timed(one, questions, where={"dept": "d3"}),
        "ten: every collection": timed(ten, questions),
        "ten: collections=[c3]": timed(ten, questions, collections=["c3"]),
    }
    rows = [[name, chunks, m["p50_ms"], m["p95_ms"]] for name, m in cases.items()]
    print(f"\nHybrid retrieval (dense side on: HashingEmbedder), k=5, {len(questions)} ja_dev questions")
    print(table(["case", "chunks", "p50 ms", "p95 ms"], rows))
    base, where = cases["one: unfiltered"]["p50_ms"], cases["one: where dept=d3"]["p50_ms"]
    every, picked = cases["ten: every collection"]["p50_ms"], cases["ten: collections=[c3]"]["p50_ms"]
    results = {
        f"hybrid_filtered_p50_ms_{label}": where,
        f"hybrid_unfiltered_p50_ms_{label}_hashing": base,
        f"hybrid_filtered_over_unfiltered_{label}": round(where / base, 3),
        f"hybrid_collection_p50_ms_{label}": picked,
        f"hybrid_every_collection_p50_ms_{label}": every,
        f"hybrid_collection_over_one_unfiltered_{label}": round(picked / base, 3),
        "filtered": {label: {"chunks": chunks, "questions": len(questions), "cases": cases}},
    }
    print(f"\nwhere dept=d3 / unfiltered: {where / base:.3f}; collections=[c3] / one unfiltered: {picked / base:.3f}; "
          f"every collection (10) / one collection: {every / base:.3f}")
    return update_results(results)


if __name__ == "__main__":
    main()
