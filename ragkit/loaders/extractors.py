"""Three PDF text extractors behind one tiny interface: ``page_text(index) -> str``.

pypdfium2 is the primary (C++, 100–900 pages/s here, reads most Japanese fonts); pdfminer.six
(with vertical-text detection, Adobe-Japan1 CMaps for fonts without ToUnicode) and pypdf are the
fallbacks, opened lazily only when a page needs them. A fallback that fails on a page returns ""
— it is a second opinion, not a reason to lose the file.
"""
from __future__ import annotations

import ctypes
import io
import logging
import re
import statistics
from typing import Callable

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ragkit.errors import LoadError

log = logging.getLogger(__name__)

ENCRYPTED = "encrypted PDF: pass --pdf-password"


def _address(pointer) -> int | None:
    """The address a pdfium handle points to (None for NULL): handles compare by address."""
    return ctypes.cast(pointer, ctypes.c_void_p).value


def _text_objects(page, textpage) -> tuple[int, int]:
    """(text objects, those without any text) on a page, through the raw API (the helper
    objects cost ~10 µs each). Top level only: text inside form XObjects is not counted.

    One pass over the page's characters collects the objects that own text. Asking each object
    for its text instead (``FPDFTextObj_GetText``) scans every character of the page per object:
    quadratic, > 100 s for a one-page PDF of 30k short lines."""
    owners = {_address(pdfium_c.FPDFText_GetTextObject(textpage, i))
              for i in range(pdfium_c.FPDFText_CountChars(textpage))}
    objects = unmapped = 0
    for i in range(pdfium_c.FPDFPage_CountObjects(page)):
        obj = pdfium_c.FPDFPage_GetObject(page, i)
        if pdfium_c.FPDFPageObj_GetType(obj) == pdfium_c.FPDF_PAGEOBJ_TEXT:
            objects += 1
            unmapped += _address(obj) not in owners
    return objects, unmapped


_KANA_LINE = re.compile(r"[\u3041-\u309f\u30a0-\u30ff]{1,16}")
RUBY_MAX_SIZE = 0.65  # ruby (furigana) is set at about half the body size; small print is not
_BODY_SAMPLE = 200


def drop_ruby_lines(text: str, size_of: Callable[[int], float]) -> str:
    """``text`` without its furigana: lines of kana only whose characters are at most
    ``RUBY_MAX_SIZE`` times the page's median character size (``size_of(i)`` is the size of
    character ``i`` of ``text``). pdfium gives ruby its own line next to the word it reads, so a
    vertical novel read 吾輩わがはいは; only kana-only lines are candidates, so small print
    elsewhere (footnotes, tables) is never dropped."""
    lines = text.split("\r\n")
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 2
    candidates = {i for i, line in enumerate(lines) if _KANA_LINE.fullmatch(line)}
    if not candidates:
        return text
    body = [starts[i] + j for i, line in enumerate(lines) if i not in candidates
            for j, ch in enumerate(line) if not ch.isspace()][:_BODY_SAMPLE]
    if not body:
        return text
    median = statistics.median(size_of(k) for k in body)
    ruby = {i for i in candidates
            if max(size_of(starts[i] + j) for j in range(len(lines[i]))) <= RUBY_MAX_SIZE * median}
    return "\r\n".join(line for i, line in enumerate(lines) if i not in ruby)


def _loose_size(textpage, index: int) -> float:
    """A character's size from its font-size box (pdfium's loose box), whatever its ink."""
    left, bottom, right, top = textpage.get_charbox(index, loose=True)
    return max(right - left, top - bottom)


class PdfiumExtractor:
    """The primary: opens the document once (this is where broken/encrypted files are caught)."""

    name = "pypdfium2"

    def __init__(self, path: str, data: bytes, password: str | None):
        try:
            self.doc = pdfium.PdfDocument(data, password=password)
        except pdfium.PdfiumError as exc:
            detail = str(exc)
            if "password" in detail.lower():
                reason = ENCRYPTED if password is None else "encrypted PDF: wrong --pdf-password"
                raise LoadError(path, reason) from None
            raise LoadError(path, f"broken PDF ({detail}); open it in a PDF viewer and save or export it again") from None

    def __len__(self) -> int:
        return len(self.doc)

    def page_text(self, index: int) -> tuple[str, int, float]:
        """(text, number of text objects, share of text objects pdfium could not map to text).

        No text objects means no text layer (scanned page). A high unmapped share means pdfium
        silently dropped glyphs (fonts without ToUnicode, e.g. the jo preface): the text it
        returns then looks clean but is partial, and the fallbacks must be asked.
        """
        page = self.doc[index]
        try:
            textpage = page.get_textpage()
            try:
                # pdfium marks a hyphen at a line break as U+FFFE (a noncharacter)
                text = textpage.get_text_range().replace("\ufffe", "-")
                if len(text) == textpage.count_chars():  # text index = character index
                    text = drop_ruby_lines(text, lambda i: _loose_size(textpage, i))
                objects, unmapped = _text_objects(page.raw, textpage.raw)
            finally:
                textpage.close()
        finally:
            page.close()
        return text, objects, unmapped / objects if objects else 0.0

    def close(self) -> None:
        self.doc.close()


class PdfminerExtractor:
    """pdfminer.six per page, with ``detect_vertical`` for tategaki."""

    name = "pdfminer"

    def __init__(self, data: bytes, password: str | None):
        self.data = data
        self.password = password or ""

    def page_text(self, index: int) -> str:
        from pdfminer.high_level import extract_text
        from pdfminer.layout import LAParams

        try:
            return extract_text(io.BytesIO(self.data), password=self.password,
                                page_numbers=[index], laparams=LAParams(detect_vertical=True))
        except Exception as exc:  # noqa: BLE001 - any parser failure means "no opinion"
            log.debug("pdfminer failed on page %d: %s", index + 1, exc)
            return ""


class PypdfExtractor:
    """pypdf per page (needs ``cryptography`` for AES-encrypted files)."""

    name = "pypdf"

    def __init__(self, data: bytes, password: str | None):
        self.reader = None
        try:
            from pypdf import PdfReader

            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                reader.decrypt(password or "")
            self.reader = reader
        except Exception as exc:  # noqa: BLE001
            log.debug("pypdf cannot open: %s", exc)

    def page_text(self, index: int) -> str:
        if self.reader is None:
            return ""
        try:
            return self.reader.pages[index].extract_text() or ""
        except Exception as exc:  # noqa: BLE001
            log.debug("pypdf failed on page %d: %s", index + 1, exc)
            return ""


FALLBACKS = (PdfminerExtractor, PypdfExtractor)
