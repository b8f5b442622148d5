"""`ragkit eval --generate`: answer quality, citation accuracy and abstention over a QA set.

Per question (format of ../shared/data/README.md) three readers run with the same model:
  * with retrieval: ``reader.answer`` over the top ``k`` hits, exactly as ``ragkit ask`` does;
  * reader ceiling: the same reader given only the gold paragraph (no abstention), so retrieval
    loss and reader loss show separately;
  * naive prompt: ``資料: … 質問: … 答え:`` over the gold paragraph, free text to a newline.
Answers score by exact match and character F1 (of the extractive span, ``Answer.span``, where the
answer quotes a sentence; ``sentence_accuracy``: the answer text contains a gold answer) after NFKC, lower-casing and removal of spaces,
punctuation and symbols (``ragkit.citations.content_chars``); an abstention scores 0.

Unanswerable set: each question again, with every paragraph of its gold *article* (same title)
removed. Approximation: instead of re-indexing a store per article, retrieval runs on the full
store and hits from the gold article are dropped (BM25 idf barely moves when one article of 59
leaves, and the ranking of the remaining paragraphs is otherwise the same).
"""
from __future__ import annotations

import time
from collections import Counter
from typing import Callable

from ragkit.citations import content_chars
from ragkit import reader
from ragkit.query import make_query
from ragkit.prompts import naive_prompt
from ragkit.qa import doc_stem, paragraph_text, source_stem
from ragkit.types import Chunk, Hit, chunk_id

ANSWER_K = 3  # sources in the prompt: the 270M model reads 3 paragraphs well, more only costs time
NAIVE_TOKENS = 32


def normalize_answer(text: str) -> str:
    """What answer metrics compare: NFKC, lower case, no spaces, punctuation, symbols or [n]."""
    return content_chars(text)


def exact_match(prediction: str, golds: list[str]) -> float:
    """1.0 when the normalised prediction equals one normalised gold answer."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def char_f1(prediction: str, golds: list[str]) -> float:
    """Best character-multiset F1 of the normalised prediction against the gold answers."""
    pred = Counter(normalize_answer(prediction))
    best = 0.0
    for gold in golds:
        ref = Counter(normalize_answer(gold))
        common = sum((pred & ref).values())
        if common:
            best = max(best, 2 * common / (sum(pred.values()) + sum(ref.values())))
    return best


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def evaluate_answers(rag, questions: list[dict], corpus: list[dict], limit: int | None = None,
                     unanswerable: bool = False, k: int = ANSWER_K,
                     log: Callable[[str], None] | None = None) -> dict:
    """Answer metrics (and, with ``unanswerable``, the abstention rate) for the first ``limit``
    questions; ``rag`` is a RAG whose store holds ``corpus`` as written by ``ragkit.qa.write_docs``."""
    questions = questions[:limit] if limit else list(questions)
    by_stem = {doc_stem(str(r["context_id"])): r for r in corpus}
    by_id = {str(r["context_id"]): r for r in corpus}  # the gold paragraph's text and title come from here
    generator = rag.generator

    def row_of(hit: Hit) -> dict:
        return by_stem.get(source_stem(hit.chunk.source), {})

    exact, f1, ceiling, naive, cited_ok, answered, abstained = [], [], [], [], [], [], []
    contains: list[float] = []
    started = time.perf_counter()
    for i, q in enumerate(questions, 1):
        golds = [str(a) for a in q["answers"]]
        gold_id = str(q["context_id"])
        query = make_query(q["question"])  # read once for the three readers and the unanswerable run
        hits = rag.retrieve(query, k=k)
        answer = reader.answer(generator, query, hits)
        answered.append(0.0 if answer.abstained else 1.0)
        short = answer.span or answer.text
        exact.append(0.0 if answer.abstained else exact_match(short, golds))
        f1.append(0.0 if answer.abstained else char_f1(short, golds))
        contains.append(float(not answer.abstained and any(
            normalize_answer(g) and normalize_answer(g) in normalize_answer(answer.text) for g in golds)))
        if not answer.abstained:
            cited = {str(by_stem.get(source_stem(c.source), {}).get("context_id")) for c in answer.citations}
            cited_ok.append(float(gold_id in cited))
        gold = by_id[gold_id]
        gold_text = paragraph_text(gold)
        gold_hit = Hit(chunk=Chunk(id=chunk_id(gold_id, None, 0, gold_text), source=gold_id, page=None,
                                   index=0, start=0, end=len(gold_text), text=gold_text), score=1.0)
        read = reader.answer(generator, query, [gold_hit], min_evidence=0.0)
        ceiling.append(char_f1(read.span or read.text, golds))
        naive.append(char_f1("".join(generator.stream(naive_prompt(q["question"], str(gold["context"])),
                                                      NAIVE_TOKENS, ["\n"])), golds))
        if unanswerable:
            title = gold.get("title")
            others = [h for h in rag.retrieve(query, k=k + 20) if row_of(h).get("title") != title][:k]
            abstained.append(float(reader.answer(generator, query, others).abstained))
        if log and (i % 5 == 0 or i == len(questions)):
            log(f"answers {i}/{len(questions)}: f1 {_mean(f1):.3f} ceiling {_mean(ceiling):.3f} "
                f"naive {_mean(naive):.3f} cite {_mean(cited_ok):.3f} answered {_mean(answered):.3f}"
                + (f" abstained {_mean(abstained):.3f}" if unanswerable else "")
                + f" ({time.perf_counter() - started:.0f}s)")
    result: dict = {"answers": {
        "n": len(questions), "exact": _mean(exact), "f1": _mean(f1), "reader_ceiling_f1": _mean(ceiling),
        "naive_prompt_f1": _mean(naive), "citation_accuracy": _mean(cited_ok),
        "sentence_accuracy": _mean(contains),
        "answer_rate": _mean(answered), "k": k, "seconds": round(time.perf_counter() - started, 1)}}
    if unanswerable:
        result["unanswerable"] = {"n": len(abstained), "abstention_rate": _mean(abstained)}
    return result
