"""Turn the model's ``[n]`` markers into checked citations.

A marker must point at a source that was in the prompt; valid markers are renumbered by first
appearance so the reader sees [1], [2], … in order, and markers that point nowhere are dropped.
A weak model often writes no marker at all: then the source whose text best covers the answer is
cited. Each citation is checked: ``supported`` says whether the claim it is attached to (the
sentence before the marker, or the whole answer) is covered by the cited chunk's characters.
"""
from __future__ import annotations

import difflib
import re
import unicodedata

from ragkit.types import Citation, Hit

SUPPORT_THRESHOLD = 0.5  # share of the claim's character bigrams found in the cited chunk
SNIPPET_CHARS = 200

_MARKER = re.compile(r"[\[［]\s*([0-9０-９]+(?:\s*[,，、]\s*[0-9０-９]+)*)\s*[\]］]")
_SENTENCE_END = re.compile(r"[。！？!?\n]|\.(?:\s|$)")


def content_chars(text: str) -> str:
    """NFKC, lower case, markers, punctuation, symbols and spaces removed: what a claim says."""
    text = _MARKER.sub("", unicodedata.normalize("NFKC", text)).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZSC")


def _grams(text: str) -> set[str]:
    if len(text) < 2:
        return {text} if text else set()
    return {text[i:i + 2] for i in range(len(text) - 1)}


def coverage(claim: str, chunk_text: str) -> float:
    """Share of the claim's character bigrams (after ``content_chars``) that occur in the chunk."""
    claim_grams = _grams(content_chars(claim))
    if not claim_grams:
        return 0.0
    return len(claim_grams & _grams(content_chars(chunk_text))) / len(claim_grams)


def snippet(chunk_text: str, claim: str, width: int = SNIPPET_CHARS) -> str:
    """At most ``width`` characters of the chunk, centred on the part the claim quotes."""
    text = " ".join(chunk_text.split())
    if len(text) <= width:
        return text
    match = difflib.SequenceMatcher(None, text, claim, autojunk=False).find_longest_match(
        0, len(text), 0, len(claim))
    start = 0 if match.size < 2 else max(0, min(match.a - width // 3, len(text) - width))
    return text[start:start + width]


def _claims(text: str) -> list[tuple[int, int, str]]:
    """(start, end, claim) per marker group. The claim is the last sentence before the marker
    (since the previous marker group); adjacent groups like ``[1][2]`` share one claim."""
    out, prev, claim = [], 0, ""
    for m in _MARKER.finditer(text):
        before = text[prev:m.start()]
        if content_chars(before):
            body = re.sub(r"[。！？!?.\s]+$", "", before)
            cuts = [e.end() for e in _SENTENCE_END.finditer(body)]
            claim = body[cuts[-1]:] if cuts else body
        elif not claim:  # a marker that opens the answer vouches for what follows it
            claim = _SENTENCE_END.split(_MARKER.sub("", text[m.end():]).strip(), maxsplit=1)[0]
        out.append((m.start(), m.end(), claim))
        prev = m.end()
    return out


def attach_citations(answer_text: str, sources: list[Hit]) -> tuple[str, list[Citation]]:
    """Keep, renumber and check the ``[n]`` markers of an answer; cite the best source if none.

    Returns the answer text with its final markers and one ``Citation`` per cited source,
    numbered in order of first appearance.
    """
    text = answer_text.strip()
    new_number: dict[int, int] = {}  # index in sources -> new n
    claims: dict[int, list[str]] = {}
    pieces, last = [], 0
    for start, end, claim in _claims(text):
        numbers = [int(unicodedata.normalize("NFKC", n)) for n in re.split(r"[,，、]", _MARKER.match(
            text, start).group(1))]
        kept = []
        for n in dict.fromkeys(numbers):
            if 1 <= n <= len(sources):
                new_number.setdefault(n - 1, len(new_number) + 1)
                claims.setdefault(n - 1, []).append(claim)
                kept.append(f"[{new_number[n - 1]}]")
        pieces.append(text[last:start].rstrip() if not kept else text[last:start])
        pieces.append("".join(kept))
        last = end
    pieces.append(text[last:])
    text = "".join(pieces).strip()

    if not new_number and sources and content_chars(text):
        scores = [coverage(text, h.chunk.text) for h in sources]
        best = max(range(len(sources)), key=lambda i: (scores[i], -i))
        if scores[best] > 0:
            new_number[best] = 1
            claims[best] = [text]
            text = f"{text}[1]"

    citations = []
    for index, n in sorted(new_number.items(), key=lambda item: item[1]):
        hit = sources[index]
        claim_list = claims[index]
        support = max(coverage(c, hit.chunk.text) for c in claim_list)
        citations.append(Citation.of(n, hit, snippet(hit.chunk.text, content_chars(claim_list[0])),
                                     supported=support >= SUPPORT_THRESHOLD))
    return text, citations
