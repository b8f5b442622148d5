"""The data that flows through ragkit: frozen dataclasses with content-derived ids.

``Document`` is one loaded unit (one PDF page, or a whole text file), ``Chunk`` a piece of a
document sized for the embedder, ``Hit`` a retrieved chunk with its scores, ``Answer`` the
generated text with the citations that back it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

DEFAULT_COLLECTION = "default"  # where documents go when no collection is named

@dataclass(frozen=True)
class Document:
    """One unit of loaded text: a PDF page (``page`` 1-based) or a whole text file (``page`` None);
    ``warnings`` are what the loader wants reported without rejecting it (e.g. replaced bytes)."""

    source: str
    text: str
    page: int | None = None
    extractor: str = ""
    quality: float | None = None
    location: str | None = None  # the unit a person opens: "slide 7", "売上!A10:F25", "§3.2 休暇"
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A span ``text == document.text[start:end]`` of one document, sized for the embedder."""

    id: str
    source: str
    page: int | None
    index: int
    start: int
    end: int
    text: str
    extractor: str = ""
    quality: float | None = None
    location: str | None = None
    doc: str = ""  # the id of the document (catalog file) it belongs to; "" before it is stored


def chunk_id(key: str, page: int | None, start: int, text: str, location: str | None = None) -> str:
    """Deterministic id: the same text at the same place of the same document gets the same id.

    ``key`` names the document: its stable id (``FileRecord.chunk_key``), so a file that moves
    keeps its chunk ids and vectors; stores from before collections used the source path."""
    key = f"{key}\0{page if page is not None else ''}\0{start}\0{text}"
    if location is not None:  # only then, so ids of located-less chunks stay as they were
        key += f"\0{location}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk; ``score`` is the fused score, the side scores say why it ranked."""

    chunk: Chunk
    score: float
    dense_score: float | None = None
    lexical_score: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    collection: str = DEFAULT_COLLECTION
    metadata: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "id": self.chunk.id,
            "source": self.chunk.source,
            "page": self.chunk.page,
            "location": self.chunk.location,
            "collection": self.collection,
            "metadata": self.metadata,
            "score": round(self.score, 6),
            "dense_score": None if self.dense_score is None else round(self.dense_score, 6),
            "lexical_score": None if self.lexical_score is None else round(self.lexical_score, 6),
            "dense_rank": self.dense_rank,
            "lexical_rank": self.lexical_rank,
            "text": self.chunk.text,
        }


@dataclass(frozen=True)
class Citation:
    """Source ``[n]`` of an answer; ``supported`` says whether the answer's words occur in it."""

    n: int
    source: str
    page: int | None
    score: float
    text: str
    supported: bool | None = None
    location: str | None = None
    collection: str = DEFAULT_COLLECTION
    metadata: dict = field(default_factory=dict)

    @classmethod
    def of(cls, n: int, hit: Hit, text: str, supported: bool | None) -> "Citation":
        """Source ``[n]`` backed by ``hit``, quoting ``text`` of it."""
        return cls(n=n, source=hit.chunk.source, page=hit.chunk.page, score=hit.score, text=text,
                   supported=supported, location=hit.chunk.location, collection=hit.collection,
                   metadata=hit.metadata)

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "source": self.source,
            "page": self.page,
            "location": self.location,
            "collection": self.collection,
            "metadata": self.metadata,
            "score": round(self.score, 6),
            "text": self.text,
            "supported": self.supported,
        }


@dataclass(frozen=True)
class Answer:
    """The model's answer with numbered citations; ``abstained`` when the documents lack it.
    ``span``: the short span an extractive model picked (the answer text quotes its sentence)."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    abstained: bool = False
    span: str | None = None

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
        }
