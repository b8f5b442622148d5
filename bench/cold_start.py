"""Cold `ragkit ask` against the cost it cannot avoid: loading llama.cpp and generating.

    .venv/bin/python bench/cold_start.py [--rounds 3] [--code DIR]

Ingests ``corpora/`` into a scratch store once, then, per round and interleaved:
* ``ragkit --store S ask Q --no-stream`` as a fresh process (Japanese and English question);
* a fresh ``python -c`` that imports llama_cpp, loads the same GGUF with the same n_ctx and
  threads, and greedily generates from the exact prompt ragkit built, with the same answer budget and stop strings.
``ask_cold_over_llama_load`` is the median Japanese wall time over the median direct one (goal
<= 1.5); ``_en`` the same for English (its dense side loads torch and the embedder). ``--code``
runs the ragkit processes on another checkout (e.g. an older release unpacked with
``git archive``) for a before/after comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MAIN_PY, ROOT, WORK, update_results  # noqa: E402

QUESTIONS = {"ja": "国内出張の日当は1日あたりいくらですか？",
             "en": "How long is the warranty period of the PX-7?"}

DIRECT = """
import sys, json, time
from llama_cpp import Llama
args = json.loads(sys.argv[1])
llm = Llama(model_path=args["model"], n_ctx=args["n_ctx"], n_threads=args["threads"], seed=0, verbose=False)
out = llm.create_completion(args["prompt"], max_tokens=args["tokens"], temperature=0.0, top_k=1, stop=args["stop"])
print(len(out["choices"][0]["text"]))
"""


def timed(argv: list[str], env: dict | None = None) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed: {proc.stderr[-2000:]}")
    return time.perf_counter() - started


def ragkit_prompt(store: Path, question: str) -> dict:
    """The model, context size and exact prompt ragkit uses for ``question`` (built in-process)."""
    from ragkit.pipeline import RAG
    from ragkit.prompts import build_prompt
    from ragkit.query import make_query
    from ragkit.reader import fit_sources, reading_order

    rag = RAG(store=store)
    gen = rag.generator
    query = make_query(question)
    hits = rag.retrieve(query)
    used = reading_order(query, hits)[:gen.profile.max_sources or len(hits)]
    budget = rag.settings.llm_max_answer_tokens or gen.profile.answer_tokens
    sources = fit_sources(gen, query, [h.chunk.text for h in used], budget)
    return {"model": str(gen.model_path), "n_ctx": gen.n_ctx, "threads": os.cpu_count() or 1,
            "prompt": build_prompt(gen.profile, query.normalized, sources, query.language), "tokens": budget,
            "stop": list(gen.profile.stop)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--code", help="checkout whose ragkit the ask processes run (default: this one)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    store = Path(tempfile.mkdtemp(prefix="cold-", dir=WORK)) / "store"
    env = {"PYTHONPATH": str(Path(args.code).resolve())} if args.code else {}
    ragkit = [str(MAIN_PY), "-m", "ragkit", "--store", str(store)]
    timed([*ragkit, "ingest", str(ROOT / "corpora")], env)
    direct_args = {lang: json.dumps(ragkit_prompt(store, q), ensure_ascii=False) for lang, q in QUESTIONS.items()}
    walls: dict[str, list[float]] = {f"{kind}_{lang}": [] for kind in ("ask", "direct") for lang in QUESTIONS}
    for _ in range(args.rounds):
        for lang, question in QUESTIONS.items():
            walls[f"ask_{lang}"].append(timed([*ragkit, "ask", question, "--no-stream"], env))
            walls[f"direct_{lang}"].append(timed([str(MAIN_PY), "-c", DIRECT, direct_args[lang]]))
    med = {key: statistics.median(values) for key, values in walls.items()}
    suffix = "_before" if args.code else ""
    figures = {f"ask_cold_over_llama_load{suffix}": round(med["ask_ja"] / med["direct_ja"], 3),
               f"ask_cold_over_llama_load_en{suffix}": round(med["ask_en"] / med["direct_en"], 3),
               f"ask_cold_s{suffix}": {k: round(v, 2) for k, v in med.items()}}
    print(json.dumps({"walls": walls, **figures}, indent=2))
    update_results(figures)


if __name__ == "__main__":
    main()
