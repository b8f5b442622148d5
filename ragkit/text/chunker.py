"""Pack a document's sentences into chunks that fit the embedder's token budget.

Sentences come from ``split_sentences``; each is counted once with the injected ``count_tokens`` (the
embedding model's tokenizer, special tokens included) and packed greedily, with the last
``overlap_sentences`` sentences of a chunk repeated at the start of the next. A sentence over budget
is cut by a cascade (clause punctuation → whitespace → characters) first. The packed text of each
chunk is counted once more, so no chunk is ever over budget even when token counts are not additive.
"""
from __future__ import annotations

import re
from typing import Callable

from ragkit.text.japanese import split_sentences
from ragkit.types import Chunk, Document, chunk_id

_CLAUSE_END = re.compile(r"[、，;；]|,(?!\d)")  # cut after these; "1,000" stays whole
_WHITESPACE = re.compile(r"\s+")

Span = tuple[int, int, int]  # start, end, token cost without the special tokens


class _Counter:
    """``count_tokens`` bound to one text and budget; costs exclude the special-token overhead."""

    def __init__(self, text: str, count_tokens: Callable[[str], int], max_tokens: int):
        self.text = text
        self.count = count_tokens
        self.overhead = count_tokens("")
        self.max = max_tokens
        if max_tokens <= self.overhead:
            raise ValueError(
                f"max_tokens={max_tokens} leaves no room for text (the tokenizer adds "
                f"{self.overhead} special tokens): raise the chunk size"
            )

    def cost(self, start: int, end: int) -> int:
        return self.count(self.text[start:end]) - self.overhead

    def fits(self, start: int, end: int) -> bool:
        return self.count(self.text[start:end]) <= self.max


def _parts(text: str, start: int, end: int, pattern: re.Pattern) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` after each match of ``pattern`` into stripped, non-empty spans."""
    out = []
    prev = start
    for m in pattern.finditer(text, start, end):
        cut = m.end() if pattern is _CLAUSE_END else m.start()
        out.append((prev, cut))
        prev = m.end() if pattern is _WHITESPACE else cut
    out.append((prev, end))
    spans = []
    for a, b in out:
        seg = text[a:b]
        left, right = len(seg) - len(seg.lstrip()), len(seg.rstrip())
        if right > left:
            spans.append((a + left, a + right))
    return spans


def _by_characters(counter: _Counter, start: int, end: int) -> list[Span]:
    """Longest prefixes that fit, found by galloping then bisection.

    The search window doubles from ``counter.max`` characters until a prefix no longer fits, so
    each count reads at most about twice the piece: bisecting over the whole rest of a long line
    instead counted it all per piece (quadratic on a megabyte line without punctuation)."""
    pieces = []
    while start < end:
        if not counter.fits(start, start + 1):
            raise ValueError(
                f"one character {counter.text[start]!r} needs more than max_tokens={counter.max} "
                "tokens: raise the chunk size"
            )
        lo, hi, step = start + 1, end, counter.max  # lo fits; the largest fitting end is in [lo, hi]
        while lo + step < end and counter.fits(start, lo + step):
            lo, step = lo + step, step * 2
        hi = min(end, lo + step)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if counter.fits(start, mid):
                lo = mid
            else:
                hi = mid - 1
        pieces.append((start, lo, counter.cost(start, lo)))
        start = lo
    return pieces


def _split_long(counter: _Counter, start: int, end: int, level: int = 0) -> list[Span]:
    """Pieces of an over-budget span, each within budget: clauses, then words, then characters."""
    cost = counter.cost(start, end)
    if cost + counter.overhead <= counter.max:
        return [(start, end, cost)]
    if level >= 2:
        return _by_characters(counter, start, end)
    parts = _parts(counter.text, start, end, _CLAUSE_END if level == 0 else _WHITESPACE)
    if len(parts) == 1:
        return _split_long(counter, start, end, level + 1)
    pieces: list[Span] = []
    for a, b in parts:
        pieces.extend(_split_long(counter, a, b, level + 1))
    return pieces


def _pack(units: list[Span], counter: _Counter, overlap: int) -> list[tuple[int, int]]:
    """Greedy groups [first, last) of units, consecutive groups sharing up to ``overlap`` units."""
    groups = []
    first, n = 0, len(units)
    budget = counter.max - counter.overhead
    while first < n:
        total, last = units[first][2], first + 1
        while last < n and total + units[last][2] <= budget:
            total += units[last][2]
            last += 1
        while last - first > 1 and not counter.fits(units[first][0], units[last - 1][1]):
            last -= 1  # counts were not additive: give back the last unit
        groups.append((first, last))
        if last >= n:
            break
        nxt = max(last - overlap, first + 1)
        while nxt < last and sum(u[2] for u in units[nxt:last + 1]) > budget:
            nxt += 1  # keep only as much overlap as leaves room for the next new unit
        first = nxt
    return groups


def chunk_document(doc: Document, count_tokens: Callable[[str], int], max_tokens: int,
                   overlap_sentences: int = 1, key: str | None = None, doc_id: str = "") -> list[Chunk]:
    """Chunks of ``doc`` of at most ``max_tokens`` tokens each (as counted by ``count_tokens``),
    ``overlap_sentences`` sentences repeated between neighbours; ids are deterministic, derived
    from ``key`` (default: ``doc.source``; see ``types.chunk_id``). ``doc_id``: the catalog
    document they belong to."""
    text = doc.text
    if not text.strip():
        return []
    counter = _Counter(text, count_tokens, max_tokens)
    units: list[Span] = []
    for start, end in split_sentences(text):
        units.extend(_split_long(counter, start, end))
    chunks = []
    for index, (first, last) in enumerate(_pack(units, counter, max(0, overlap_sentences))):
        start, end = units[first][0], units[last - 1][1]
        piece = text[start:end]
        chunks.append(Chunk(
            id=chunk_id(doc.source if key is None else key, doc.page, start, piece, doc.location),
            source=doc.source, page=doc.page, index=index, start=start, end=end, text=piece,
            extractor=doc.extractor, quality=doc.quality, location=doc.location, doc=doc_id,
        ))
    return chunks
