"""Generation: tokens/s and time to first token through ragkit vs `llama_cpp.Llama` directly.

    .venv/bin/python bench/generation.py [--questions 12]

Both sides load the same GGUF (the bundled Gemma 3 270M) with the same n_ctx, threads and seed.
ragkit: ``reader.answer(..., on_token=...)``, what `ragkit ask` streams, over the question's
gold ja_dev paragraph and two neighbours. Every prompt ragkit sends to the model is recorded
(``Generator.stream`` is wrapped in this process, nothing is added to ragkit), and the direct
side gets exactly those prompts: ``Llama.create_completion(prompt, stream=True)``, greedy, same
stops and token budget. Questions alternate between the sides.

Decode tokens/s = (tokens - 1) / (time from first to last token), summed over answers.
ragkit's extractive answers end where the copied span ends, so they are shorter than free text;
"direct, same length" cuts each direct answer where it reached the token count of ragkit's answer
to the same prompt, so both sides decode the same number of tokens at the same positions; the
ratio against it is ``gen_tps_over_llama_cpp``, the ratio against direct's whole answers is kept
as ``tps_ratio_all_tokens``. TTFT: call to first streamed piece (ragkit's
includes choosing and fitting the sources and building the prompt). Two scenarios: the shipped
settings (stop sequences, short answers) and stops off with a 64-token budget. Tokens are counted
the same way on both sides (model tokenizer over the generated text).
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
from ragkit.generate import Generator  # noqa: E402
from ragkit import reader  # noqa: E402
from ragkit.models import resolve_gguf  # noqa: E402
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


def recording(gen: Generator) -> list[dict]:
    """Wrap ``gen.stream`` so every generation ragkit runs is recorded: prompt, settings, times."""
    calls: list[dict] = []
    real = gen.stream

    def stream(prompt, max_tokens, stop, constrain=None):
        rec = {"prompt": prompt, "max_tokens": max_tokens, "stop": list(stop), "first": None}
        calls.append(rec)
        for piece in real(prompt, max_tokens, stop, constrain):
            rec["first"] = rec["first"] or time.perf_counter()
            yield piece
        rec["end"], rec["tokens"] = time.perf_counter(), gen.last_token_count

    gen.stream = stream
    return calls


def run_ragkit(gen: Generator, calls: list[dict], question: str, hits: list[Hit]) -> tuple[float, list[dict]]:
    """TTFT of one answer and the generations it ran."""
    before = len(calls)
    t0 = time.perf_counter()
    first: list[float] = []
    reader.answer(gen, question, hits, on_token=lambda p: first or first.append(time.perf_counter()),
                    max_answer_tokens=ANSWER_TOKENS)
    t1 = time.perf_counter()
    return (first[0] if first else t1) - t0, calls[before:]


def run_direct(llm, gen: Generator, call: dict) -> tuple[float, dict]:
    t0 = time.perf_counter()
    first = None
    pieces, marks = [], []
    for chunk in llm.create_completion(call["prompt"], max_tokens=call["max_tokens"], temperature=0.0, top_k=1,
                                       repeat_penalty=1.0, seed=0, stop=call["stop"], stream=True):
        text = chunk["choices"][0].get("text")
        if text:
            first = first or time.perf_counter()
            pieces.append(text)
            marks.append((time.perf_counter(), len(pieces)))
    t1 = time.perf_counter()
    # tokens so far at each streamed piece, counted after the timing
    marks = [(t, gen.count_tokens("".join(pieces[:n]))) for t, n in marks]
    return (first or t1) - t0, {"first": first, "end": t1, "tokens": gen.count_tokens("".join(pieces)),
                                "marks": marks}


def same_length(direct: dict, tokens: int) -> dict:
    """The direct record cut where it had generated as many tokens as ragkit's answer: both sides
    then decode the same number of tokens at the same positions (short answers otherwise carry the
    first single-token decode, which is slower, over fewer tokens)."""
    for t, n in direct["marks"]:
        if n >= tokens:
            return {"first": direct["first"], "end": t, "tokens": n}
    return direct


def decode_figures(records: list[dict]) -> tuple[int, float]:
    """Tokens after the first, and the seconds they took, over answers that had at least two."""
    done = [r for r in records if r.get("first") and r["tokens"] > 1]
    return sum(r["tokens"] - 1 for r in done), sum(r["end"] - r["first"] for r in done)


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=12)
    args = ap.parse_args()
    from llama_cpp import Llama

    path = resolve_gguf(None, None)
    threads = os.cpu_count() or 1
    gen = Generator(path, n_ctx=4096, n_threads=threads)
    llm = Llama(model_path=str(path), n_ctx=4096, seed=0, n_threads=threads, verbose=False)
    rows = read_jsonl(QA / "ja_dev_corpus.jsonl")
    paragraphs = {r["context_id"]: r for r in rows}
    order = [r["context_id"] for r in rows]
    questions = read_jsonl(QA / "ja_dev_questions.jsonl")[::25][:args.questions]
    shipped = gen.profile
    scenarios = {"shipped": shipped, "nostop64": dataclasses.replace(shipped, stop=())}
    out: dict = {"model": path.name, "threads": threads, "answer_tokens": ANSWER_TOKENS, "scenarios": {}}
    table_rows = []
    calls = recording(gen)
    run_ragkit(gen, calls, questions[0]["question"], hits_for(questions[0], paragraphs, order))  # warm-up
    run_direct(llm, gen, calls[-1])
    for name, profile in scenarios.items():
        gen.profile = profile
        acc = {side: {"ttft": [], "records": []} for side in ("ragkit", "direct", "direct, same length")}
        for q in questions:
            ttft, ran = run_ragkit(gen, calls, q["question"], hits_for(q, paragraphs, order))
            acc["ragkit"]["ttft"].append(ttft)
            acc["ragkit"]["records"] += ran
            for call in ran:  # the same prompts, straight to llama_cpp
                d_ttft, rec = run_direct(llm, gen, call)
                acc["direct"]["records"].append(rec)
                acc["direct, same length"]["records"].append(same_length(rec, call["tokens"]))
            acc["direct"]["ttft"].append(d_ttft)
            acc["direct, same length"]["ttft"].append(d_ttft)
        res = {}
        for side, a in acc.items():
            tokens, seconds = decode_figures(a["records"])
            res[side] = {"generations": len(a["records"]), "tokens": sum(r["tokens"] for r in a["records"]),
                         "decode_tokens": tokens, "decode_s": round(seconds, 3),
                         "tokens_per_s": round(tokens / seconds, 2) if seconds else 0.0,
                         "ttft_ms_mean": round(1000 * sum(a["ttft"]) / len(a["ttft"]), 1)}
            table_rows.append([name, side, res[side]["generations"], res[side]["tokens"], res[side]["tokens_per_s"],
                               res[side]["ttft_ms_mean"]])
        res["tps_ratio_all_tokens"] = round(res["ragkit"]["tokens_per_s"] / res["direct"]["tokens_per_s"], 3)
        res["tps_ratio"] = round(res["ragkit"]["tokens_per_s"] / res["direct, same length"]["tokens_per_s"], 3)
        out["scenarios"][name] = res
    gen.profile = shipped
    print(f"\nGeneration, {len(questions)} ja_dev questions, {path.name}, {threads} threads")
    print(table(["scenario", "side", "generations", "tokens", "decode tokens/s", "TTFT ms"], table_rows))
    ratio = out["scenarios"]["nostop64"]["tps_ratio"]
    print(f"\ngen_tps_over_llama_cpp = {ratio} (stops off, 64-token budget, direct cut to ragkit's answer "
          f"length; shipped settings: {out['scenarios']['shipped']['tps_ratio']}; against direct's whole "
          f"answers: {out['scenarios']['nostop64']['tps_ratio_all_tokens']} / "
          f"{out['scenarios']['shipped']['tps_ratio_all_tokens']}) target >= 0.95")
    return update_results({"gen_tps_over_llama_cpp": ratio, "generation": out})


if __name__ == "__main__":
    main()
