"""Dense, lexical and hybrid retrieval over one store.

Hybrid fuses the two ranked lists with weighted reciprocal-rank fusion. The dense side's weight
follows how well the embedding model's vocabulary covers the question (``Embedder.coverage``):
the bundled English MiniLM turns Japanese into single characters and ``[UNK]``, so on a Japanese
question its ranking is mostly noise and lexical BM25 over MeCab tokens should lead.

Measured with ``ragkit eval`` on the shared QA sets (JSQuAD ja_dev, JaQuAD, XQuAD en): equal-weight
RRF helps English (R@1 0.942 lexical, 0.904 dense, 0.958 fused) and any dense weight hurts Japanese
with MiniLM. Japanese questions that mix in Latin words reach coverage 0.5 at most, and even a weight
of coverage² cost recall there, so the weight ramps from 0 at half coverage to 1 at full coverage.
Score fusion (min-max or z-scored BM25 + cosine), RRF k from 2 to 100 and candidate depths from 10
to 60 measured no better than RRF k=60 with this ramp.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Callable

from .types import Hit

if TYPE_CHECKING:
    import numpy as np

    from .filters import Scope
    from .query import Query
    from .store import Store

RRF_K = 60
_LEXICAL_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragkit-bm25")
COVERAGE_FLOOR = 0.5  # below this share of readable word pieces the embedder is not trusted at all


def candidates(k: int) -> int:
    """How many hits to take from each side before fusing."""
    return max(4 * k, 30)


def dense_weight_for(coverage: float, setting: str | float = "auto") -> float:
    """Weight of the dense side: fixed when configured, else 0 up to ``COVERAGE_FLOOR`` coverage,
    rising linearly to 1 at full coverage."""
    if setting != "auto":
        return float(setting)
    coverage = max(0.0, min(1.0, coverage))
    return max(0.0, (coverage - COVERAGE_FLOOR) / (1.0 - COVERAGE_FLOOR))


def rrf_fuse(dense: list[tuple[str, float]], lexical: list[tuple[str, float]],
             dense_weight: float, lexical_weight: float = 1.0, rrf_k: int = RRF_K) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion of two ranked (id, score) lists, best first.

    Ties (same fused score) keep the order of the stronger side so results are deterministic.
    """
    fused: dict[str, float] = {}
    for weight, ranked in ((dense_weight, dense), (lexical_weight, lexical)):
        if weight <= 0:
            continue
        for rank, (cid, _) in enumerate(ranked, start=1):
            fused[cid] = fused.get(cid, 0.0) + weight / (rrf_k + rank)
    order = {cid: i for i, (cid, _) in enumerate(lexical if lexical_weight >= dense_weight else dense)}
    return sorted(fused.items(), key=lambda item: (-item[1], order.get(item[0], len(order))))


def retrieve(store: "Store", query: "Query", k: int = 5, mode: str = "hybrid",
             dense_weight: str | float = "auto", lexical_weight: float = 1.0,
             coverage: Callable[[str], float] | None = None,
             embed_query: "Callable[[str], np.ndarray] | None" = None, scope: "Scope | None" = None) -> list[Hit]:
    """Top ``k`` hits for ``query``; each hit carries the scores and ranks of the sides that ran,
    and its document's collection and metadata.

    ``scope`` (collections, metadata filter) restricts both sides before they rank, so the top
    ``k`` are the best of what it allows (``ragkit.filters``).

    ``coverage`` (the embedder's vocabulary coverage of a text) sets the dense weight in hybrid
    mode; ``embed_query`` is called only when the dense side runs, so a caller can load the
    embedder lazily: with weight 0 (a Japanese question with the English MiniLM) it never loads.
    """
    n = candidates(k)
    dense: list[tuple[str, float]] = []
    lexical: list[tuple[str, float]] = []
    pending = None
    if mode in ("lexical", "hybrid"):
        # BM25 runs in SQLite, which releases the GIL, on a connection of its own (the
        # catalog's): in hybrid mode it overlaps with the question's embedding and the Chroma
        # query instead of adding to them
        pending = _LEXICAL_POOL.submit(store.search_lexical, query.search_tokens, n, scope)
    weight = 1.0
    if mode in ("dense", "hybrid") and embed_query is None:
        raise ValueError("dense retrieval needs an embedder")
    if mode == "hybrid":
        if dense_weight == "auto" and coverage is None:
            raise ValueError("an 'auto' dense weight needs the embedder's coverage")
        weight = dense_weight_for(coverage(query.normalized) if dense_weight == "auto" else 0.0, dense_weight)
    # a dense side with weight 0 cannot change the fused order: skip the question's embedding
    # and the vector query altogether
    if mode == "dense" or (mode == "hybrid" and weight > 0):
        dense = store.search_dense(embed_query(query.normalized), n, scope)
    if pending is not None:
        lexical = pending.result()
    if mode == "dense":
        ranked = dense
    elif mode == "lexical":
        ranked = lexical
    else:
        ranked = rrf_fuse(dense, lexical, weight, lexical_weight)
    ranked = ranked[:k]
    chunks = store.chunks([cid for cid, _ in ranked])
    docs = store.documents([c.doc for c in chunks.values()])
    d_score = {cid: (s, r) for r, (cid, s) in enumerate(dense, start=1)}
    l_score = {cid: (s, r) for r, (cid, s) in enumerate(lexical, start=1)}
    hits = []
    for cid, score in ranked:
        doc = docs.get(chunks[cid].doc) if cid in chunks else None
        if doc is None:  # a vector whose chunk a concurrent writer just replaced
            continue
        ds, dr = d_score.get(cid, (None, None))
        ls, lr = l_score.get(cid, (None, None))
        hits.append(Hit(chunk=chunks[cid], score=score, dense_score=ds, lexical_score=ls,
                        dense_rank=dr, lexical_rank=lr, collection=doc.collection, metadata=doc.metadata))
    return hits
