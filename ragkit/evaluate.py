"""`ragkit eval`: retrieval recall@k and MRR over a QA set (the format of ../shared/data/README.md).

The corpus JSONL (``context_id``, ``title``, ``context``) becomes one text file per paragraph in a
cached folder and is ingested like any user's documents, so the figures measure the real pipeline
(loader, chunker, both indexes, fusion). The cache key covers the corpus bytes, the embedding model
and the chunk settings, so a re-run reuses the store and embeds nothing.

A question is answered by retrieval when a hit comes from its gold paragraph. Several chunks may
come from one paragraph: ranks are counted over distinct paragraphs in hit order. ``run_eval``
returns the figures as a dict; ``ragkit.cli`` prints them.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .config import MODES, load_settings
from .errors import ConfigError, RagkitError
from .filters import WhereSpec
from .pipeline import RAG
from .qa import read_jsonl, source_stem, write_docs

RETRIEVE_K = 10
DEFAULT_KS = (1, 5, 10)
Log = Callable[[str], None]


# --- the cached eval store --------------------------------------------------------------------
def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ragkit-eval"


def code_fingerprint() -> str:
    """Hash of the code that turns text into chunks and lexical tokens: a store built by other
    code would mix old index tokens with new query tokens, so it must not be reused."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*(here / "text").glob("*.py"), *(here / "loaders").glob("*.py"),
                        here / "index" / "catalog.py", here / "index" / "lexical.py", here / "store.py",
                        here / "pipeline.py"]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def cache_key(corpus_bytes: bytes, embed_model: str, chunk_settings: dict) -> str:
    """Hash of everything that decides the store's content (corpus, model, settings, code)."""
    digest = hashlib.sha256(corpus_bytes)
    digest.update(json.dumps({"embed": embed_model, "code": code_fingerprint(), **chunk_settings},
                             sort_keys=True).encode())
    return digest.hexdigest()[:16]


def build_eval_rag(corpus_path: str | Path, embed_model: str | None = None, cache: str | Path | None = None,
                   config: str | None = None, log: Log | None = None,
                   collection: str | None = None) -> tuple[RAG, dict]:
    """A RAG over the corpus, ingested into a cached store (into ``collection``, if given);
    returns it with the stem → id map.

    Its embedder remembers query vectors (``MemoEmbedder``): every mode asks the same questions.
    """
    from .index.embedder import Embedder, resolve_dtype
    from .models import resolve_embedder

    corpus_path = Path(corpus_path)
    corpus = read_jsonl(corpus_path, ("context_id", "context"))
    s = load_settings(config, embed_model_path=embed_model)
    model_path = resolve_embedder(s.embed_model_path)
    key = cache_key(corpus_path.read_bytes(), str(model_path.resolve()),
                    {"chunk_max_tokens": s.chunk_max_tokens, "chunk_overlap_sentences": s.chunk_overlap_sentences,
                     "embed_dtype": resolve_dtype(s.embed_dtype), "collection": collection})
    root = Path(cache) if cache else default_cache()
    root = root.expanduser() / key
    stems = write_docs(corpus, root / "docs")
    embedder = MemoEmbedder(Embedder(model_path, batch_size=s.embed_batch_size, dtype=s.embed_dtype))
    rag = RAG(store=root / "store", settings=s, embedder=embedder)  # store= overrides the configured one
    started = time.perf_counter()
    report = rag.ingest([root / "docs"], prune=True, collection=collection)
    if report.failed:
        first = report.failed[0]
        raise RagkitError(f"{len(report.failed)} corpus paragraph(s) failed to ingest, "
                          f"e.g. {first['path']}: {first['reason']}")
    if log and (report.new or report.changed):
        log(f"eval store {root}: {report.chunks} chunks, {report.embedded} embedded "
            f"in {time.perf_counter() - started:.1f}s")
    return rag, stems


# --- metrics ------------------------------------------------------------------------------------
def gold_rank(hit_ids: Iterable[str], gold: str) -> int | None:
    """1-based rank of ``gold`` among the distinct ids in hit order, or None."""
    seen: list[str] = []
    for cid in hit_ids:
        if cid not in seen:
            seen.append(cid)
            if cid == gold:
                return len(seen)
    return None


def score_ranks(ranks: Sequence[int | None], ks: Sequence[int] = DEFAULT_KS) -> dict:
    """recall@k for each k and MRR@max(k) over gold ranks (None = not found)."""
    n = len(ranks)
    top = max(ks)
    out: dict = {"n": n}
    for k in ks:
        out[f"recall@{k}"] = round(sum(1 for r in ranks if r is not None and r <= k) / n, 4) if n else 0.0
    out[f"mrr@{top}"] = round(sum(1.0 / r for r in ranks if r is not None and r <= top) / n, 4) if n else 0.0
    return out


def evaluate_retrieval(rag: RAG, questions: list[dict], modes: list[str], ks: Sequence[int] = DEFAULT_KS,
                       stems: dict[str, str] | None = None, collections: Sequence[str] | None = None,
                       where: WhereSpec = None) -> dict:
    """Per mode: ``{"n", "recall@k"…, "mrr@K", "seconds"}`` with K = max(ks) chunks retrieved,
    searching only ``collections`` / documents passing ``where`` when given."""
    stems = stems or {}
    k = max(max(ks), 1)
    result: dict = {"modes": {}}
    for mode in modes:
        started = time.perf_counter()
        ranks = []
        for q in questions:
            hits = rag.retrieve(q["question"], k=k, mode=mode, collections=collections, where=where)
            ids = [stems.get(source_stem(h.chunk.source), source_stem(h.chunk.source)) for h in hits]
            ranks.append(gold_rank(ids, str(q["context_id"])))
        metrics = score_ranks(ranks, ks)
        metrics["seconds"] = round(time.perf_counter() - started, 2)
        result["modes"][mode] = metrics
    return result


class MemoEmbedder:
    """An embedder that embeds each query text once: dense and hybrid ask the same questions.

    Wraps a real embedder: ``embed_query`` is memoised, everything else is the wrapped one's.
    """

    def __init__(self, embedder):
        self.inner = embedder
        self._queries: dict[str, object] = {}

    def embed_query(self, text: str):
        if text not in self._queries:
            self._queries[text] = self.inner.embed_query(text)
        return self._queries[text]

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def parse_modes(text: str) -> list[str]:
    """``"dense,lexical"`` → ``["dense", "lexical"]``; a ConfigError for unknown modes."""
    modes = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise ConfigError(f"--mode takes a comma-separated list of {', '.join(MODES)}; got {text!r}")
    return modes


def run_eval(corpus: str | Path, questions: str | Path, modes: str | Sequence[str] = MODES, limit: int | None = None,
             generate: bool = False, unanswerable: bool = False, cache: str | Path | None = None,
             embed_model: str | None = None, config: str | None = None, log: Log | None = None,
             collection: str | None = None) -> dict:
    """Build (or reuse) the eval store and measure each retrieval mode, plus answers with
    ``generate`` and abstention with ``unanswerable``. ``modes``: a list or ``"dense,lexical"``.
    Progress goes to ``log``, if given."""
    modes = parse_modes(modes if isinstance(modes, str) else ",".join(modes))
    rows = read_jsonl(questions, ("question", "context_id"))
    if limit is not None:
        if limit < 1:
            raise ConfigError("--limit must be at least 1")
        rows = rows[:limit]
    rag, stems = build_eval_rag(corpus, embed_model=embed_model, cache=cache, config=config, log=log,
                                collection=collection)
    orphans = sorted({str(q["context_id"]) for q in rows} - set(stems.values()))
    if orphans:
        raise ConfigError(f"{questions}: {len(orphans)} question(s) name a context_id missing from "
                          f"{corpus}, e.g. {orphans[0]!r}")
    result = evaluate_retrieval(rag, rows, modes, stems=stems, collections=[collection] if collection else None)
    if generate or unanswerable:  # --unanswerable needs the generator too: abstention is the answer step's call
        from .answer_eval import evaluate_answers

        result.update(evaluate_answers(rag, rows, read_jsonl(corpus, ("context_id", "context")),
                                       unanswerable=unanswerable, log=log))
    return result
