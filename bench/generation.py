"""Generation: tokens/s and time to first token through ragkit vs `llama_cpp.Llama` directly.

    .venv/bin/python bench/generation.py [--questions 6]

Both sides load the same GGUF (the bundled Gemma 3 270M) with the same n_ctx, threads and seed,
and get the same prompt: the one ``generate_answer`` builds from the question and its gold ja_dev
paragraph (+ two neighbours). ragkit: ``generate_answer(..., on_token=...)`` (what `ragkit ask`
streams); direct: ``Llama.create_completion(prompt, stream=True)`` greedy with the same stops.
Questions alternate between the two sides. Two scenarios: the shipped settings (stop sequences,
short answers) and a fixed 64-token answer (stops off) for a steadier tokens/s.
Tokens are counted the same way on both sides (model tokenizer over the generated text).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import QA, read_jsonl, table, update_results  # noqa: E402
from ragkit.generate import Generator, fit_sources, generate_answer  # noqa: E402
from ragkit.models import resolve_gguf  # noqa: E402
from ragkit.prompts import build_prompt, question_language  # noqa: E402
from ragkit.types import Chunk, Hit  # noqa: E402

ANSWER_TOKENS = 64


def hits_for(question: dict, paragraphs: dict[str, dict], order: list[str]) -> list[Hit]:
    gold = question["context_id"]
    i = order.index(gold)
    ids = [gold] + [order[j % len(order)] for j in (i + 1, i + 2)]
    out = []
    for rank, cid in enumerate(ids, 1):
        text = paragraphs[cid]["context"]
        chunk = Chunk(id=cid, source=f"{cid}.txt", page=None, index=0, start=0, end=len(text), text=text)
        out.append(Hit(chunk=chunk, score=1.0 / rank))
    return out


def run_ragkit(gen: Generator, question: str, hits: list[Hit]) -> tuple[float, float]:
    t0 = time.perf_counter()
    first: list[float] = []
    generate_answer(gen, question, hits, on_token=lambda p: first or first.append(time.perf_counter()),
                    max_answer_tokens=ANSWER_TOKENS)
    t1 = time.perf_counter()
    return (first[0] if first else t1) - t0, t1 - t0


def run_direct(llm, prompt: str, stop: list[str]) -> tuple[float, float, str]:
    t0 = time.perf_counter()
    first = None
    pieces = []
    for chunk in llm.create_completion(prompt, max_tokens=ANSWER_TOKENS, temperature=0.0, top_k=1,
                                       repeat_penalty=1.0, seed=0, stop=stop, stream=True):
        text = chunk["choices"][0].get("text")
        if text:
            first = first or time.perf_counter()
            pieces.append(text)
    t1 = time.perf_counter()
    return (first or t1) - t0, t1 - t0, "".join(pieces)


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=6)
    args = ap.parse_args()
    from llama_cpp import Llama

    path = resolve_gguf(None, None)
    threads = os.cpu_count() or 1
    gen = Generator(path, n_ctx=4096, n_threads=threads)
    llm = Llama(model_path=str(path), n_ctx=4096, seed=0, n_threads=threads, verbose=False)
    rows = read_jsonl(QA / "ja_dev_corpus.jsonl")
    paragraphs = {r["context_id"]: r for r in rows}
    order = [r["context_id"] for r in rows]
    questions = read_jsonl(QA / "ja_dev_questions.jsonl")[::50][:args.questions]
    shipped = gen.profile
    scenarios = {"shipped": shipped, "fixed64": dataclasses.replace(shipped, stop=())}
    out: dict = {"model": path.name, "threads": threads, "answer_tokens": ANSWER_TOKENS, "scenarios": {}}
    table_rows = []
    run_ragkit(gen, questions[0]["question"], hits_for(questions[0], paragraphs, order))  # warm-up
    run_direct(llm, "質問: テスト\n答え:", [])
    for name, profile in scenarios.items():
        gen.profile = profile
        acc = {side: {"ttft": [], "wall": 0.0, "tokens": 0} for side in ("ragkit", "direct")}
        for q in questions:
            hits = hits_for(q, paragraphs, order)
            lang = question_language(q["question"])
            sources = fit_sources(gen, q["question"], [h.chunk.text for h in hits], lang, ANSWER_TOKENS)
            prompt = build_prompt(profile, q["question"], sources, lang)
            for side in ("ragkit", "direct"):
                if side == "ragkit":
                    ttft, wall = run_ragkit(gen, q["question"], hits)
                    n = gen.last_token_count
                else:
                    ttft, wall, text = run_direct(llm, prompt, list(profile.stop))
                    n = gen.count_tokens(text)
                acc[side]["ttft"].append(ttft)
                acc[side]["wall"] += wall
                acc[side]["tokens"] += n
        res = {}
        for side, a in acc.items():
            res[side] = {"tokens": a["tokens"], "wall_s": round(a["wall"], 3),
                         "tokens_per_s": round(a["tokens"] / a["wall"], 2) if a["wall"] else 0.0,
                         "ttft_ms_mean": round(1000 * sum(a["ttft"]) / len(a["ttft"]), 1)}
            table_rows.append([name, side, res[side]["tokens"], res[side]["tokens_per_s"], res[side]["ttft_ms_mean"]])
        res["tps_ratio"] = round(res["ragkit"]["tokens_per_s"] / res["direct"]["tokens_per_s"], 3)
        out["scenarios"][name] = res
    gen.profile = shipped
    print(f"\nGeneration, {len(questions)} ja_dev questions, {path.name}, {threads} threads")
    print(table(["scenario", "side", "tokens", "tokens/s", "TTFT ms"], table_rows))
    ratio = out["scenarios"]["fixed64"]["tps_ratio"]
    print(f"\ngen_tps_over_llama_cpp = {ratio} (fixed 64-token answers; shipped settings: "
          f"{out['scenarios']['shipped']['tps_ratio']}) target >= 0.95")
    return update_results({"gen_tps_over_llama_cpp": ratio, "generation": out})


if __name__ == "__main__":
    main()
