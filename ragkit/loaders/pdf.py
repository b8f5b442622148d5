"""PDF → one Document per page, through an extraction chain with a per-page quality check.

Per page: pypdfium2 extracts (fast); its text is cleaned (NFKC, spaced Japanese closed up) and
scored with ``quality.score_text``. Only when the score is below ``FALLBACK_BELOW``, or pdfium
could not map many of the page's text objects to characters (its text is then clean but partial),
are the slow fallbacks asked (pdfminer.six with vertical detection, then pypdf). The best-scoring
text wins; a fallback must beat the current best by ``MARGIN`` so that ties keep the fast primary,
or match it while covering 1.5× as many characters (the primary was partial).
After all pages are chosen, running headers/footers are dropped across pages and lines are joined
(``normalize``); the final text is scored again and that is the page's recorded quality. Then
U+FFFD (a glyph no extractor could map, e.g. small kana in ruby) is removed: the score has
counted it, and in the index it would only break tokens.

Pages without any text object get ``text=""``, ``extractor="none"``, ``quality=0.0`` (the pipeline
reports and skips them); a PDF with no text at all raises ``LoadError`` ("no text layer").
Page numbers are the 1-based index in the file and never depend on which extractor won.
"""
from __future__ import annotations

from pathlib import Path

from ragkit.errors import LoadError
from ragkit.loaders.cleanup import despace, strip_running_lines
from ragkit.loaders.extractors import FALLBACKS, PdfiumExtractor
from ragkit.loaders.quality import SUSPECT_BELOW, score_text
from ragkit.text.normalize import join_lines, normalize
from ragkit.types import Document

__all__ = ["FALLBACK_BELOW", "SUSPECT_BELOW", "inspect_pdf", "load_pdf"]

FALLBACK_BELOW = 0.9
"""A primary page text scoring below this is checked against the fallbacks."""
UNMAPPED_ABOVE = 0.5
"""...or when more than this share of its text objects had no text (pdfium dropped glyphs)."""
MARGIN = 0.02
NO_TEXT = "no text layer (OCR is not supported)"


def _clean(raw: str) -> str:
    """Per-extractor cleanup before scoring: NFKC + spaces collapsed, spaced Japanese closed up."""
    return despace(normalize(raw, join=False))


def _coverage(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def _choose(
    index: int, primary: PdfiumExtractor, fallbacks: "_LazyFallbacks"
) -> tuple[str, str, float]:
    """(cleaned text, extractor name, score) of the best extraction of one page."""
    raw, objects, unmapped = primary.page_text(index)
    if not objects and not raw.strip():
        return "", "none", 0.0
    best = (_clean(raw), primary.name)
    best_score = score_text(best[0])
    if best_score >= FALLBACK_BELOW and unmapped <= UNMAPPED_ABOVE:
        return best[0], best[1], best_score
    for fallback in fallbacks:
        text = _clean(fallback.page_text(index))
        score = score_text(text)
        # a much longer text at the same plausibility means the other one was partial
        longer = score >= best_score - MARGIN and _coverage(text) > 1.5 * _coverage(best[0])
        if score > best_score + MARGIN or (longer and score >= SUSPECT_BELOW):
            best, best_score = (text, fallback.name), score
            if best_score >= FALLBACK_BELOW:
                break
    if not best[0].strip():
        return "", "none", 0.0
    return best[0], best[1], best_score


def _extract(path: Path, pdf_password: str | None) -> list[Document]:
    source = str(path)
    data = path.read_bytes()
    if not data:
        raise LoadError(source, "empty file")
    if b"%PDF" not in data[:1024]:  # where the format allows the header to start
        raise LoadError(source, "not a PDF (no %PDF header): another kind of file named .pdf? "
                                "Give it its real suffix")
    primary = PdfiumExtractor(source, data, pdf_password)
    try:
        if len(primary) == 0:
            raise LoadError(source, "broken PDF: no pages")
        fallbacks = _LazyFallbacks(data, pdf_password)
        chosen = [_choose(index, primary, fallbacks) for index in range(len(primary))]
    finally:
        primary.close()
    texts = strip_running_lines([text for text, _, _ in chosen])
    docs = []
    for index, (text, (_, name, _)) in enumerate(zip(texts, chosen)):
        final = join_lines(text) if name != "none" else ""  # already NFKC-normalised
        quality = score_text(final) if final else 0.0
        final = final.replace("\ufffd", "").strip()  # unmappable glyphs: scored, useless to search
        if not final:  # nothing left (e.g. a page that only held a running header)
            name, quality = "none", 0.0
        docs.append(Document(source=source, text=final, page=index + 1, extractor=name,
                             quality=quality))
    if not any(d.text for d in docs):
        raise LoadError(source, NO_TEXT)
    return docs


class _LazyFallbacks:
    """The fallback extractors in order, each opened on first use (most files never need them)."""

    def __init__(self, data: bytes, password: str | None):
        self._args = (data, password)
        self._opened: list = []

    def __iter__(self):
        for i, cls in enumerate(FALLBACKS):
            if i == len(self._opened):
                self._opened.append(cls(*self._args))
            yield self._opened[i]


def load_pdf(path: Path, pdf_password: str | None = None) -> list[Document]:
    """Load a PDF as one Document per page (see module doc); raises LoadError."""
    return _extract(Path(path), pdf_password)


def inspect_pdf(path: Path, pdf_password: str | None = None) -> list[dict]:
    """Per page: extractor, quality and the text exactly as it will be chunked."""
    return [{"page": d.page, "extractor": d.extractor, "quality": d.quality, "text": d.text}
            for d in load_pdf(path, pdf_password)]
