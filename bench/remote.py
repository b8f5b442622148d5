"""Shared engines on loopback: what a server costs over the in-process part, same work.

* ``remote_gen_latency_over_local``: the bundled Gemma 3 270M answering ja_dev questions from their
  gold paragraph (the extractive path: grammar + source-token bias through the server, the span
  constraint in process), through ``python -m llama_cpp.server`` on 127.0.0.1 vs in process;
  total wall time per answer, the two interleaved question by question so machine load hits both.
  Goal <= 1.15.
* ``remote_vectors_query_over_local``: a top-10 query on 10,000 vectors (384-d, unit, seeded), in a
  ``chroma run`` server on 127.0.0.1 vs the on-disk ``PersistentClient``; median of 200 queries
  each, interleaved, 10 s after the writes and 50 warm-up queries (a store is asked after it
  was ingested, not while). Goal <= 2. Every server query is a round trip to
  another process: on shared cores it waits for that process to be scheduled, in-process it does
  not, so load from other work inflates this ratio.

    python bench/remote.py [--questions 10] [--chunks 10000] [--parts vectors,generation]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import QA, ROOT, read_jsonl, update_results

sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from servers import free_port, start, start_chroma  # noqa: E402 - the tests' server starters

from ragkit.config import Settings  # noqa: E402
from ragkit.generate import Generator  # noqa: E402
from ragkit.index.vectors import ChromaServer, VectorIndex  # noqa: E402
from ragkit.models import bundled_gguf_path  # noqa: E402
from ragkit.reader import answer  # noqa: E402
from ragkit.remote import remote_generator  # noqa: E402
from ragkit.types import Chunk, Hit  # noqa: E402


def generation(n_questions: int, work: Path) -> dict:
    rows = read_jsonl(QA / "ja_dev_questions.jsonl")[:n_questions]
    port = free_port()
    server = start([sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf_path()), "--host",
                    "127.0.0.1", "--port", str(port), "--n_ctx", "4096"], f"http://127.0.0.1:{port}", "/v1/models",
                   work / "llama-server.log")
    try:
        local = Generator(bundled_gguf_path())
        remote = remote_generator(Settings(llm_base_url=f"http://127.0.0.1:{port}/v1"))
        times: dict[str, list[float]] = {"local": [], "remote": []}
        same = 0
        for row in rows:
            text = row["context"]
            hit = Hit(chunk=Chunk(id=row["context_id"], source="gold.txt", page=None, index=0, start=0,
                                  end=len(text), text=text), score=1.0)
            texts = {}
            for name, generator in (("local", local), ("remote", remote)):
                started = time.perf_counter()
                texts[name] = answer(generator, row["question"], [hit], min_evidence=0.0).text
                times[name].append(time.perf_counter() - started)
            same += texts["local"] == texts["remote"]
    finally:
        server.stop()
    total = {k: sum(v) for k, v in times.items()}
    return {"remote_gen_latency_over_local": round(total["remote"] / total["local"], 3),
            "remote_generation": {"questions": len(rows), "identical_answers": same,
                                  "local_s_per_answer": round(total["local"] / len(rows), 3),
                                  "remote_s_per_answer": round(total["remote"] / len(rows), 3),
                                  "median_ratio": round(statistics.median(
                                      r / l for r, l in zip(times["remote"], times["local"])), 3)}}


SETTLE_S = 10  # after the writes, before timing: Chroma folds freshly written vectors into its index


def vectors(n_chunks: int, work: Path, queries: int = 200, dim: int = 384) -> dict:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((n_chunks, dim)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    probes = rng.standard_normal((queries, dim)).astype(np.float32)
    ids = [f"c{i:06d}" for i in range(n_chunks)]
    server = start_chroma(work / "chroma-data", free_port(), work)
    try:
        indexes = {"local": VectorIndex(work / "disk" / "chroma"),
                   "remote": VectorIndex(work / "served", server=ChromaServer(server.url), base="bench-10k")}
        took: dict[str, list[float]] = {name: [] for name in indexes}
        for index in indexes.values():
            index.add("default", ids, data, ["bench"] * n_chunks)
        time.sleep(SETTLE_S)
        for index in indexes.values():
            for probe in probes[:50]:  # warm: the HNSW index built and loaded, the connection open
                index.query(probe, 10)
        for probe in probes:  # interleaved, so that load from other work hits both
            for name, index in indexes.items():
                started = time.perf_counter()
                index.query(probe, 10)
                took[name].append(time.perf_counter() - started)
        medians = {name: statistics.median(values) for name, values in took.items()}
    finally:
        server.stop()
    return {"remote_vectors_query_over_local": round(medians["remote"] / medians["local"], 3),
            "remote_vectors": {"chunks": n_chunks, "queries": queries, "k": 10,
                               "local_ms": round(medians["local"] * 1000, 3),
                               "remote_ms": round(medians["remote"] * 1000, 3)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--parts", default="vectors,generation", help="comma list: vectors, generation")
    args = parser.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="ragkit-bench-remote-") as tmp:
        if "vectors" in args.parts:
            results.update(vectors(args.chunks, Path(tmp)))
            print(results)
        if "generation" in args.parts:
            results.update(generation(args.questions, Path(tmp)))
    print(results)
    update_results(results)


if __name__ == "__main__":
    main()
