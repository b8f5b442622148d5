"""`ragkit serve` under load, on loopback: answers/s and latency at 1, 4 and 16 concurrent clients,
and how a warm server answer compares with a cold `ragkit ask`.

    .venv/bin/python bench/serve.py [--requests 8,16,32] [--max-seconds 240]

Ingests the shared ja_dev corpus into a scratch store (kept in $BENCH_WORK/serve for reruns),
starts `python -m ragkit serve` on 127.0.0.1 and a free port with a generation queue deep
enough for 16 clients, and sends ja_dev questions (non-streamed `/v1/chat/completions`) from N
threads until each level's request count or time bound is reached. Latency is the wall time of
one request as its client sees it (queueing included). ``serve_warm_over_cli_cold`` is the median
latency of one question asked alone to the warm server over the median wall time of
``ragkit ask`` for the same question in a fresh process (goal <= 0.1). Skips when the shared data
is absent.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MAIN_PY, QA, ROOT, WORK, read_jsonl, update_results, write_ja_dev  # noqa: E402

PY = str(MAIN_PY if MAIN_PY.exists() else Path(sys.executable))
LEVELS = (1, 4, 16)
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
       "RAGKIT_SERVE_GENERATION_QUEUE": "32"}


def build_store(work: Path) -> Path:
    store = work / "store"
    done = work / "ingested"
    if not done.exists():
        write_ja_dev(work / "ja_dev")
        subprocess.run([PY, "-m", "ragkit", "--store", str(store), "ingest", str(work / "ja_dev"), "--json"],
                       check=True, env=ENV, stdout=subprocess.DEVNULL)
        done.touch()
    return store


def start_server(store: Path, log: Path) -> tuple[subprocess.Popen, str]:
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([PY, "-m", "ragkit", "--store", str(store), "serve", "--port", str(port)],
                            env=ENV, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/health/ready", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("server not ready after 600 s")


def level(url: str, key: str, questions: list[str], clients: int, requests: int, max_seconds: float) -> dict:
    """``requests`` answers from ``clients`` threads (or as many as fit in ``max_seconds``)."""
    import httpx

    latencies: list[float] = []
    refused = errors = 0
    issued = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + max_seconds

    def client(i: int) -> None:
        nonlocal issued, refused, errors
        c = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=600)
        while True:
            with lock:
                if issued >= requests or time.monotonic() > stop_at:
                    return
                question = questions[issued % len(questions)]
                issued += 1
            started = time.perf_counter()
            r = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": question}]})
            took = time.perf_counter() - started
            with lock:
                if r.status_code == 200:
                    latencies.append(took)
                elif r.status_code == 503:
                    refused += 1
                else:
                    errors += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))] if ordered else None
    return {"clients": clients, "answers": len(latencies), "refused_503": refused, "errors": errors,
            "answers_per_s": round(len(latencies) / wall, 3),
            "p50_ms": round(statistics.median(ordered) * 1000, 1) if ordered else None,
            "p95_ms": round(p95 * 1000, 1) if p95 is not None else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", default="8,16,32", help="requests per level (1, 4, 16 clients)")
    parser.add_argument("--max-seconds", type=float, default=240, help="time bound per level")
    parser.add_argument("--cold-rounds", type=int, default=3)
    args = parser.parse_args()
    if not (QA / "ja_dev_corpus.jsonl").is_file():
        print(f"bench/serve.py: skipped, shared data not present at {QA}")
        return
    from ragkit.serve.db import ServeDB
    from ragkit.serve.keys import KeyRing

    work = WORK / "serve"
    work.mkdir(parents=True, exist_ok=True)
    store = build_store(work)
    ring = KeyRing(ServeDB(store))
    if any(k["name"] == "bench" and not k["revoked"] for k in ring.list()):
        ring.revoke("bench")
    key = ring.add("bench", ["*"])
    questions = [q["question"] for q in read_jsonl(QA / "ja_dev_questions.jsonl")[:64]]
    proc, url = start_server(store, work / "server.log")
    try:
        level(url, key, questions[:2], 1, 2, 120)  # first answers warm the caches
        results = {}
        for clients, requests in zip(LEVELS, (int(n) for n in args.requests.split(","))):
            results[f"c{clients}"] = level(url, key, questions, clients, requests, args.max_seconds)
            print(json.dumps(results[f"c{clients}"]), flush=True)
        warm = [level(url, key, questions[:1], 1, 1, 120)["p50_ms"] / 1000 for _ in range(3)]
    finally:
        proc.terminate()
        proc.wait(120)
    cold = []
    for _ in range(args.cold_rounds):
        started = time.perf_counter()
        subprocess.run([PY, "-m", "ragkit", "--store", str(store), "ask", questions[0], "--no-stream"],
                       check=True, env=ENV, stdout=subprocess.DEVNULL)
        cold.append(time.perf_counter() - started)
    figures = {"serve": results,
               "serve_warm_s": round(statistics.median(warm), 3), "serve_cli_cold_s": round(statistics.median(cold), 3),
               "serve_warm_over_cli_cold": round(statistics.median(warm) / statistics.median(cold), 3)}
    print(json.dumps(figures, indent=2))
    update_results(figures)


if __name__ == "__main__":
    main()
