"""Child process: one `RAG.ingest` of a folder, timed per stage from outside the product.

    python bench/ingest_child.py DOCS STORE [--texts OUT.json] [--pool VECTORS.npy]

Stages are timed by wrapping ragkit's functions in this process (nothing is added to ragkit):
load = ``ragkit.loaders.load``, chunk = ``chunk_document`` (sentence split + token counting),
lexical = ``index_tokens`` (MeCab), embed = ``Embedder.embed_documents``, write = Chroma add/delete
+ ``Catalog.replace_file``; other = the rest (discover, hashing, manifest lookups, reconcile).
``--texts`` saves the exact texts embedded (for the raw-encode baseline). ``--pool`` replaces
embedding with a cheap stand-in (a pooled real vector + seeded noise, see bench/README.md) so
stores of 100k chunks can be built quickly; the model is still loaded (its tokenizer chunks).
Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ragkit.loaders  # noqa: E402
import ragkit.text.chunker  # noqa: E402
import ragkit.text.japanese  # noqa: E402
from ragkit.pipeline import RAG  # noqa: E402

STAGES = ("load", "chunk", "lexical", "embed", "write")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("docs")
    ap.add_argument("store")
    ap.add_argument("--texts")
    ap.add_argument("--pool")
    args = ap.parse_args()

    spent = dict.fromkeys(STAGES, 0.0)

    def timed(stage, fn):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[stage] += time.perf_counter() - t
        return wrapper

    started = time.perf_counter()
    rag = RAG(store=args.store)
    embedder = rag.embedder  # model load is not part of the ingest figures
    ragkit.text.japanese.index_tokens("準備")  # MeCab dictionary load likewise
    load_s = time.perf_counter() - started

    embedded: list[str] = []
    real_embed = embedder.embed_documents
    if args.pool:
        pool = np.load(args.pool)

        def fake_embed(texts):
            rows = []
            for t in texts:
                seed = zlib.crc32(t.encode("utf-8"))
                v = pool[seed % len(pool)] + np.random.default_rng(seed).normal(0, 0.05, pool.shape[1])
                rows.append(v / np.linalg.norm(v))
            return np.asarray(rows, dtype=np.float32).reshape(len(texts), pool.shape[1])
        embed_fn = fake_embed
    else:
        embed_fn = real_embed

    def recording(texts):
        if args.texts:
            embedded.extend(texts)
        return embed_fn(texts)

    embedder.embed_documents = timed("embed", recording)
    ragkit.loaders.load = timed("load", ragkit.loaders.load)
    ragkit.text.chunker.chunk_document = timed("chunk", ragkit.text.chunker.chunk_document)
    ragkit.text.japanese.index_tokens = timed("lexical", ragkit.text.japanese.index_tokens)
    store = rag.store(create=True)
    vectors = store.vectors
    vectors.add = timed("write", vectors.add)
    vectors.delete = timed("write", vectors.delete)
    store.catalog.replace_file = timed("write", store.catalog.replace_file)

    t = time.perf_counter()
    report = rag.ingest([args.docs])
    wall = time.perf_counter() - t
    if report.failed:
        raise SystemExit(f"{len(report.failed)} files failed, e.g. {report.failed[0]}")
    if args.texts:
        Path(args.texts).write_text(json.dumps(embedded, ensure_ascii=False), encoding="utf-8")
    spent["other"] = max(0.0, wall - sum(spent.values()))
    print(json.dumps({
        "files": report.files, "pages": report.pages, "chunks": report.chunks, "embedded": report.embedded,
        "wall_s": round(wall, 3), "model_load_s": round(load_s, 3),
        "chunks_per_s": round(report.chunks / wall, 1) if wall else None,
        "stages_s": {k: round(v, 3) for k, v in spent.items()},
        "stage_share": {k: round(v / wall, 3) for k, v in spent.items()} if wall else {},
        "pool_vectors": bool(args.pool), "batch_size": embedder.batch_size, "dtype": embedder.dtype,
    }))


if __name__ == "__main__":
    main()
