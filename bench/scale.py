"""Scale: ingest peak RSS and ragkit's own throughput at 10k and 100k chunks, then retrieval
latency (dense / lexical / hybrid, p50/p95) on those stores.

    .venv/bin/python bench/scale.py [--sizes 10000,100000]

The corpora are synthetic (recombined sentences of the shared Japanese corpora, deterministic,
written under $BENCH_WORK, never committed). Embedding 100k chunks for real would take hours on
2 cores, so these ingests use pooled vectors (bench/ingest_child.py --pool): the real vectors of
the ja_dev chunks (saved by bench/ingest.py) plus small seeded noise. Everything else — loading,
chunking with the model's tokenizer, MeCab, Chroma and SQLite writes — is the real pipeline,
and the embedding model is loaded as usual, so peak RSS includes it.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MAIN_PY, WORK, run_child, table, update_results, write_synthetic  # noqa: E402

POOL = WORK / "pool_vectors.npy"


def ensure_pool() -> Path:
    """The vector pool; if bench/ingest.py has not run, 384-d random unit vectors stand in."""
    WORK.mkdir(parents=True, exist_ok=True)
    if not POOL.is_file():
        rng = np.random.default_rng(0)
        v = rng.normal(size=(2000, 384)).astype(np.float32)
        np.save(POOL, v / np.linalg.norm(v, axis=1, keepdims=True))
    return POOL


def label(n: int) -> str:
    return f"{n // 1000}k"


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--questions", type=int, default=100)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    pool = ensure_pool()
    results: dict = {}
    ingest_rows, latency_rows = [], []
    for n in sizes:
        docs, store = WORK / f"synthetic_{n}", WORK / f"store_{n}"
        shutil.rmtree(store, ignore_errors=True)
        if not docs.is_dir():
            write_synthetic(docs, n)
        ing, rss = run_child([str(MAIN_PY), "bench/ingest_child.py", str(docs), str(store), "--pool", str(pool)],
                             timeout=3600)
        own = ing["wall_s"] - ing["stages_s"]["embed"]
        ingest_rows.append([label(n), ing["files"], ing["chunks"], ing["wall_s"], ing["chunks_per_s"],
                            round(own / ing["chunks"] * 1000, 3), round(rss)])
        update_results({f"ingest_peak_rss_mb_{label(n)}": round(rss, 1),
                        "scale": {label(n): {"ingest": ing, "ingest_peak_rss_mb": round(rss, 1)}}})
        ret, ret_rss = run_child([str(MAIN_PY), "bench/retrieve_child.py", str(store),
                                  "--questions", str(args.questions)])
        for mode, m in ret["modes"].items():
            latency_rows.append([label(n), ret["chunks"], mode, m["p50_ms"], m["p95_ms"]])
        results[f"ingest_peak_rss_mb_{label(n)}"] = round(rss, 1)
        results[f"hybrid_p50_ms_{label(n)}"] = ret["modes"]["hybrid"]["p50_ms"]
        results[f"hybrid_dense_p50_ms_{label(n)}"] = ret["modes"]["hybrid-dense"]["p50_ms"]
        results.setdefault("scale", {})[label(n)] = {"ingest": ing, "ingest_peak_rss_mb": round(rss, 1),
                                                     "retrieval": ret, "retrieval_peak_rss_mb": round(ret_rss, 1)}
        print(f"{label(n)}: ingest {ing['wall_s']}s, RSS {rss:.0f} MiB; hybrid p50 "
              f"{ret['modes']['hybrid']['p50_ms']} ms (dense forced on: {ret['modes']['hybrid-dense']['p50_ms']} ms); parts {ret['hybrid_parts_p50_ms']}", flush=True)
    print("\nSynthetic ingest with pooled vectors (ragkit's own work + model loaded)")
    print(table(["size", "files", "chunks", "wall s", "chunks/s", "own ms/chunk", "peak RSS MiB"], ingest_rows))
    print("\nRetrieval latency, k=5, question embedding included")
    print(table(["size", "chunks", "mode", "p50 ms", "p95 ms"], latency_rows))
    return update_results(results)


if __name__ == "__main__":
    main()
