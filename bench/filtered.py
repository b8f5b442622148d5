"""Filtered retrieval at 100k chunks: a metadata filter or a collection selecting 10% of the
documents, against the same retrieval unfiltered.

    PYTHONPATH=. .venv/bin/python bench/filtered.py [--chunks 100000] [--questions 100]

Two stores over the same synthetic Japanese corpus (``bench.common.write_synthetic``: ten
folders of ~10k paragraphs, written under $BENCH_WORK, never committed), both written through
``Store.write`` (``build``) with ``ragkit.testing.HashingEmbedder`` (hashed character bigrams: real
Chroma, SQLite and MeCab, minus hours of model time; its coverage is 1.0, so hybrid always runs
the dense side too, the dearer case):

- ``one``: every folder in the ``default`` collection, each folder's ``ragkit-meta.toml`` giving
  its files ``dept = "dN"``. Figures: unfiltered hybrid, ``where={"dept": "d3"}`` (10%: one
  folder, ingested together, so its chunks are one run of rows, which FTS5 ranks alone) and a
  filter on ``name`` picking every tenth file name of every folder (10%, scattered: the path
  every filter takes whose rows are not a few runs, ``ragkit.store.Store._filtered``).
- ``ten``: folder N in collection ``cN``. Figures: hybrid over every collection and with
  ``collections=["c3"]`` (10%).

Prints p50/p95 per case and writes ``hybrid_filtered_p50_ms_100k`` (the metadata filter),
``hybrid_unfiltered_p50_ms_100k_hashing``, ``hybrid_filtered_over_unfiltered_100k`` (goal <= 1.2),
``hybrid_scattered_filter_p50_ms_100k``, ``hybrid_scattered_filter_over_unfiltered_100k`` and,
for ``ten``, ``hybrid_collection_p50_ms_100k`` and ``hybrid_collection_over_every_100k`` to
bench/results.json. ``--layouts one`` builds and times only the first store.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import CHUNKS_PER_FILE, QA, WORK, percentile, read_jsonl, table, update_results, write_synthetic  # noqa: E402
from ragkit.pipeline import RAG  # noqa: E402
from ragkit.testing import HashingEmbedder  # noqa: E402

FOLDERS = 10


def corpus(total: int) -> Path:
    """Ten folders of ``total / 10`` chunks each, each with a sidecar naming its dept."""
    root = WORK / f"filtered_{total}_paragraphs"
    done = root / ".complete"
    if not done.is_file():
        shutil.rmtree(root, ignore_errors=True)
        for i in range(FOLDERS):
            folder = root / f"f{i}"
            # write_synthetic sizes files for the chunker (CHUNKS_PER_FILE chunks of 10 paragraphs);
            # ``build`` makes one chunk per paragraph, so ask for files holding total/10 paragraphs
            write_synthetic(folder, round(total / FOLDERS / 10 * CHUNKS_PER_FILE), seed=100 + i)
            (folder / "ragkit-meta.toml").write_text(f'dept = "d{i}"\n', encoding="utf-8")
        done.touch()
    return root


def build(docs: Path, store: Path, layout: str) -> RAG:
    """The store for ``layout`` (``one`` or ``ten``), built once and reused.

    Written through ``Store.write`` (the same crash-safe write ``RAG.ingest`` ends in), one chunk
    per paragraph, skipping only the loader and the chunker: on 2 shared cores the full ingest
    of 2 x 100k chunks ran for hours, and retrieval is what is measured here."""
    from ragkit.index.catalog import FileRecord
    from ragkit.store import FileUpdate, Store
    from ragkit.text.japanese import index_tokens
    from ragkit.types import Chunk, chunk_id

    rag = RAG(store=store, embedder=HashingEmbedder())
    if (store / ".complete").is_file():
        return rag
    shutil.rmtree(store, ignore_errors=True)
    started = time.perf_counter()
    target = Store(store, create=True)
    target.check_built_with(rag.built_with())
    embedder = HashingEmbedder()
    with target.writer():
        for i in range(FOLDERS):
            collection = "default" if layout == "one" else f"c{i}"
            pending: list[FileUpdate] = []
            for path in sorted((docs / f"f{i}").rglob("*.txt")):
                text, real = path.read_text(encoding="utf-8"), str(path.resolve())
                source = str(path.relative_to(docs))
                doc = target.catalog.new_doc_id(collection, real)
                chunks, start = [], 0
                for j, para in enumerate(text.split("\n\n")):
                    chunks.append(Chunk(id=chunk_id(doc, None, start, para), source=source, page=None, index=j,
                                        start=start, end=start + len(para), text=para, doc=doc))
                    start += len(para) + 2
                record = FileRecord(source=source, sha256=str(hash(text)), size=len(text), mtime=0.0, pages=1,
                                    id=doc, collection=collection, path=real, chunk_key=doc,
                                    metadata={"name": path.name, "suffix": ".txt", "dept": f"d{i}"},
                                    given={"dept": f"d{i}"})
                pending.append(FileUpdate(record, chunks, [index_tokens(c.text) for c in chunks]))
                if sum(len(u.chunks) for u in pending) >= 2000:
                    _write(target, pending, embedder)
                    pending = []
            _write(target, pending, embedder)
            print(f"  {layout}: f{i} -> {collection}: {target.count_chunks()} chunks ({time.perf_counter() - started:.0f}s)",
                  flush=True)
    (store / ".complete").touch()
    return rag


def _write(store, updates, embedder) -> None:
    fresh = [c for u in updates for c in u.chunks]
    if fresh:
        store.write(updates, fresh, embedder.embed_documents([c.text for c in fresh]))


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
    ap.add_argument("--layouts", default="one,ten", help="which stores to build and time (one, ten)")
    args = ap.parse_args()
    layouts = args.layouts.split(",")
    label = f"{args.chunks // 1000}k"
    docs = corpus(args.chunks)
    questions = [q["question"] for q in read_jsonl(QA / "ja_dev_questions.jsonl")][:args.questions]
    cases: dict[str, dict] = {}
    results: dict = {}
    if "one" in layouts:
        one = build(docs, WORK / f"filtered_store_one_{label}", "one")
        cases["one: unfiltered"] = timed(one, questions)
        cases["one: where dept=d3"] = timed(one, questions, where={"dept": "d3"})
        base, where = cases["one: unfiltered"]["p50_ms"], cases["one: where dept=d3"]["p50_ms"]
        results.update({f"hybrid_filtered_p50_ms_{label}": where, f"hybrid_unfiltered_p50_ms_{label}_hashing": base,
                        f"hybrid_filtered_over_unfiltered_{label}": round(where / base, 3)})
        # the same share scattered over every folder (each folder's every tenth file name): its
        # rows are not a few runs of consecutive rowids, so each side reads deeper (ragkit.store)
        names = sorted({path.name for path in (docs / "f0").rglob("*.txt")})[::10]
        cases["one: where name in (10%, scattered)"] = timed(one, questions, where={"name": {"in": names}})
        scattered = cases["one: where name in (10%, scattered)"]["p50_ms"]
        results.update({f"hybrid_scattered_filter_p50_ms_{label}": scattered,
                        f"hybrid_scattered_filter_over_unfiltered_{label}": round(scattered / base, 3)})
    if "ten" in layouts:
        ten = build(docs, WORK / f"filtered_store_ten_{label}", "ten")
        cases["ten: every collection"] = timed(ten, questions)
        cases["ten: collections=[c3]"] = timed(ten, questions, collections=["c3"])
        every, picked = cases["ten: every collection"]["p50_ms"], cases["ten: collections=[c3]"]["p50_ms"]
        results.update({f"hybrid_collection_p50_ms_{label}": picked, f"hybrid_every_collection_p50_ms_{label}": every,
                        f"hybrid_collection_over_every_{label}": round(picked / every, 3)})
    chunks = (one if "one" in layouts else ten).store().count_chunks()
    rows = [[name, chunks, m["p50_ms"], m["p95_ms"]] for name, m in cases.items()]
    print(f"\nHybrid retrieval (dense side on: HashingEmbedder), k=5, {len(questions)} ja_dev questions")
    print(table(["case", "chunks", "p50 ms", "p95 ms"], rows))
    print("\n" + ", ".join(f"{k} = {v}" for k, v in results.items()))
    results["filtered"] = {label: {"chunks": chunks, "questions": len(questions), "cases": cases}}
    return update_results(results)


if __name__ == "__main__":
    main()
