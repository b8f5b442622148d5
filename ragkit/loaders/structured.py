"""Shared shapes for the structured formats (Word, Excel, PowerPoint, HTML, CSV).

All of them come down to three things, built here once:

* ``Sections``: lines under headings. Each heading starts a Document whose first line is the
  heading path (``第3章 休暇 > 3.2 年次有給休暇``), so every chunk carries its context, and whose
  ``location`` is the innermost heading (``§3.2 年次有給休暇``) for citations.
* ``row_line``: a table row as ``見出し: 値 / 見出し: 値``, so a row found alone still says what
  each value means.
* ``RowBlocks``: rows of a sheet or CSV grouped into Documents of about ``BLOCK_CHARS``
  characters, each located by its row range; a block is about one chunk, so the range a citation
  shows is close to the rows that matched.

A unit a loader leaves out on purpose (a hidden sheet or slide) becomes an empty Document made
by ``skipped``; the pipeline reports ``skip_reason(doc)`` as a warning and indexes nothing.
"""
from __future__ import annotations

from typing import Callable, Sequence

from ragkit.text.normalize import normalize
from ragkit.types import Document

BLOCK_CHARS = 400
"""Characters of row text per Document: about one chunk of Japanese for a 256-token embedder."""
SKIPPED = "skipped: "
PATH_SEP = " > "


def clean(text: str) -> str:
    """NFKC and collapsed spaces, lines kept (structured text is never hard-wrapped)."""
    return normalize(text, join=False)


def skipped(source: str, reason: str, page: int | None = None, location: str | None = None) -> Document:
    """An empty Document that tells the pipeline a unit was left out and why."""
    return Document(source=source, text="", page=page, extractor=SKIPPED + reason, quality=0.0,
                    location=location)


def skip_reason(doc: Document) -> str | None:
    """The reason a unit was skipped, or None when it is an ordinary (maybe empty) unit."""
    return doc.extractor[len(SKIPPED):] if doc.extractor.startswith(SKIPPED) else None


def row_line(header: Sequence[str] | None, values: Sequence[str], sep: str = " / ") -> str:
    """One table row as ``見出し: 値`` pairs (empty cells left out); plain values without a header."""
    if not header:
        return sep.join(v for v in values if v)
    pairs = []
    for i, value in enumerate(values):
        if not value:
            continue
        name = header[i] if i < len(header) else ""
        pairs.append(f"{name}: {value}" if name else value)
    return sep.join(pairs)


def table_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    """A small table (Word, PowerPoint, HTML): its first row is the header of the others."""
    rows = [[clean(c).replace("\n", " ") for c in row] for row in rows]
    rows = [r for r in rows if any(r)]
    if len(rows) < 2:
        return [row_line(None, r) for r in rows]
    header = rows[0]
    return [row_line(None, header)] + [row_line(header, r) for r in rows[1:]]


class Sections:
    """Lines grouped under headings; ``documents()`` gives one Document per non-empty section."""

    def __init__(self, source: str, extractor: str):
        self.source, self.extractor = source, extractor
        self.path: list[tuple[int, str]] = []  # (level, heading) from outermost to innermost
        self.lines: list[str] = []
        self.done: list[Document] = []

    def heading(self, level: int, text: str) -> None:
        text = clean(text).replace("\n", " ")
        if not text:
            return
        self._close()
        self.path = [(lv, t) for lv, t in self.path if lv < level] + [(level, text)]

    def line(self, text: str) -> None:
        text = clean(text)
        if text:
            self.lines.append(text)

    def _close(self) -> None:
        if not self.lines:
            return
        head = PATH_SEP.join(t for _, t in self.path)
        body = "\n".join(self.lines)
        text = f"{head}\n{body}" if head else body
        location = f"§{self.path[-1][1]}" if self.path else None
        self.done.append(Document(source=self.source, text=text, extractor=self.extractor,
                                  location=location))
        self.lines = []

    def documents(self) -> list[Document]:
        self._close()
        return self.done


class RowBlocks:
    """Rows (number, text) packed into Documents of about ``BLOCK_CHARS``; see module doc.

    ``context`` (a sheet name) opens every block; ``locate(first, last, lo, hi)`` names the rows
    (and the columns ``lo``..``hi`` they used) of a block for citations.
    """

    def __init__(self, source: str, extractor: str, locate: Callable[[int, int, int, int], str],
                 context: str = "", page: int | None = None):
        self.source, self.extractor, self.locate = source, extractor, locate
        self.context, self.page = context, page
        self.rows: list[tuple[int, str]] = []
        self.size, self.lo, self.hi = 0, 0, 0
        self.done: list[Document] = []

    def add(self, number: int, text: str, lo: int = 1, hi: int = 1) -> None:
        text = clean(text).replace("\n", " ")
        if not text:
            return
        if self.rows and self.size + len(text) > BLOCK_CHARS:
            self.flush()
        if not self.rows:
            self.lo, self.hi = lo, hi
        self.rows.append((number, text))
        self.size += len(text) + 1
        self.lo, self.hi = min(self.lo, lo), max(self.hi, hi)

    def flush(self) -> None:
        """End the current block: it is full, or its sheet or file ends."""
        if not self.rows:
            return
        body = "\n".join(t for _, t in self.rows)
        text = f"{self.context}\n{body}" if self.context else body
        self.done.append(Document(source=self.source, text=text, page=self.page, extractor=self.extractor,
                                  location=self.locate(self.rows[0][0], self.rows[-1][0], self.lo, self.hi)))
        self.rows, self.size = [], 0

    def documents(self) -> list[Document]:
        self.flush()
        return self.done
