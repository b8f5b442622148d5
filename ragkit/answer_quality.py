"""User-level answer quality: does the answer a user reads hold the right value, and is it honest?

Over a set of realistic questions with short gold values and an answer kind (``tests/answer_set.jsonl``:
one JSON object per line, ``question``, ``answers`` (empty for a question the documents do not
answer), ``kind``), asked of a store exactly as ``ragkit ask`` does:

    answer_accuracy  answerable questions whose answer contains a gold value (NFKC, case, spaces
                     and punctuation ignored: ``ragkit.citations.content_chars``)
    span_accuracy    the same for the extractive model's bare span (``Answer.span``) where there is one
    false_support    questions answered wrongly (any answer to an unanswerable one) with a citation
                     marked supported, over all questions
    answer_rate      answerable questions answered (not abstained)
    abstention_rate  unanswerable questions abstained on
each overall and per kind. ``ragkit eval --answers FILE`` prints them for the store in ``--store``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from ragkit.citations import content_chars
from ragkit.types import Answer


def load_answer_set(path: str | Path) -> list[dict]:
    """The rows of a JSONL answer set; each needs ``question`` and ``answers`` (a list)."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if "question" not in row or not isinstance(row.get("answers"), list):
                raise ValueError(f"{path}:{n}: a row needs 'question' and a list 'answers'")
            rows.append(row)
    return rows


def contains_gold(text: str | None, golds: list[str]) -> bool:
    """Whether ``text`` contains one of ``golds`` after ``content_chars`` normalisation."""
    if not text:
        return False
    have = content_chars(text)
    return any(content_chars(g) and content_chars(g) in have for g in golds)


def judge(row: dict, answer: Answer) -> dict:
    """One question's outcome: answered, correct (text / span), false support."""
    golds = [str(g) for g in row["answers"]]
    answered = not answer.abstained
    correct = answered and contains_gold(answer.text, golds)
    supported = answered and any(c.supported for c in answer.citations)
    return {"id": row.get("id"), "kind": row.get("kind"), "answerable": bool(golds), "answered": answered,
            "correct": correct, "span_correct": answered and contains_gold(answer.span or answer.text, golds),
            "false_support": supported and not correct, "answer": answer.text}


def summarize(outcomes: list[dict]) -> dict:
    """The metrics of a list of ``judge`` outcomes (see the module docstring)."""
    def rate(rows: list[dict], key: str) -> float | None:
        return round(sum(bool(r[key]) for r in rows) / len(rows), 4) if rows else None

    answerable = [o for o in outcomes if o["answerable"]]
    unanswerable = [o for o in outcomes if not o["answerable"]]
    return {"n": len(outcomes), "answerable": len(answerable), "unanswerable": len(unanswerable),
            "answer_accuracy": rate(answerable, "correct"), "span_accuracy": rate(answerable, "span_correct"),
            "false_support": rate(outcomes, "false_support"), "answer_rate": rate(answerable, "answered"),
            "abstention_rate": (round(1 - rate(unanswerable, "answered"), 4) if unanswerable else None)}


def evaluate_answer_set(ask: Callable[[str], Answer], rows: list[dict],
                        log: Callable[[str], None] | None = None) -> dict:
    """Ask every row's question through ``ask`` (e.g. ``RAG.ask``); overall and per-kind metrics
    plus each outcome."""
    started = time.perf_counter()
    outcomes = []
    for row in rows:
        outcomes.append(judge(row, ask(row["question"])))
        if log:
            o = outcomes[-1]
            mark = "abstain" if not o["answered"] else ("ok" if o["correct"] else "WRONG")
            log(f"{mark:<8} {row['question']} -> {o['answer'][:90]}")
    kinds = sorted({str(o["kind"]) for o in outcomes})
    return {"overall": summarize(outcomes),
            "by_kind": {k: summarize([o for o in outcomes if str(o["kind"]) == k]) for k in kinds},
            "seconds": round(time.perf_counter() - started, 1), "outcomes": outcomes}


def format_answer_quality(result: dict) -> str:
    """Fixed-width lines: overall, then one line per kind."""
    def cell(v: float | None) -> str:
        return f"{v:>9.3f}" if v is not None else f"{'-':>9}"

    head = f"{'kind':<10} {'n':>4} {'accuracy':>9} {'span':>9} {'false_sup':>9} {'answered':>9} {'abstained':>9}"
    lines = [head]
    for name, m in [("overall", result["overall"]), *result["by_kind"].items()]:
        lines.append(f"{name:<10} {m['n']:>4}" + "".join(cell(m[k]) for k in (
            "answer_accuracy", "span_accuracy", "false_support", "answer_rate", "abstention_rate")))
    return "\n".join(lines)


def run_answer_set(path: str | Path, store: str | None = None, config: str | None = None,
                   limit: int | None = None, form: str | None = None,
                   log: Callable[[str], None] | None = None) -> dict:
    """`ragkit eval --answers FILE`: ask the set of ``store`` as ``ragkit ask`` does; the metrics."""
    from ragkit.pipeline import RAG
    from ragkit.reader import answer

    rows = load_answer_set(path)[:limit] if limit else load_answer_set(path)
    rag = RAG(store=store, config=config)

    def ask(question: str) -> Answer:
        hits = rag.retrieve(question)
        return answer(rag.generator, question, hits, max_answer_tokens=rag.settings.llm_max_answer_tokens,
                      form=form or "sentence")

    return evaluate_answer_set(ask, rows, log=log)
