"""A plausibility score for extracted text: is this Japanese/English, or mojibake?

PDF extractors fail silently: a font without a usable ToUnicode map comes out as Thai, Devanagari,
Coptic or Arabic presentation forms (pypdf on the NLP2024 paper: ``NLP2024 จॻΫϥε``), as private-use
code points, U+FFFD, ``(cid:123)`` placeholders, or, for glyph-by-glyph vertical text, as Japanese
with a space between every character. ``score_text`` turns that into one number in [0, 1]:

    score = (expected + 0.5 * other) / (chars + 2 * implausible) * spacing_factor

* expected: kana, kanji, CJK punctuation, full-width forms, ASCII/Latin-1 letters, digits,
  punctuation and common symbols — what a Japanese or English business document is made of;
* implausible: scripts that do not occur in such documents but are what mojibake looks like
  (U+0530–U+1CFF: Hebrew, Arabic, Syriac, the Indic scripts, Thai, Tibetan, …; Coptic, Arabic
  presentation forms, PUA, control and unassigned characters, U+FFFD) and every ``(cid:N)`` placeholder; they count three times so that a page with a tenth of
  garbage already drops clearly;
* other: anything else (Greek, Cyrillic, maths symbols, Hangul, …) counts half;
* spacing_factor: 1 when CJK characters touch each other, falling to 0.4 when nearly every pair of
  CJK characters is separated by one space (the glyph-by-glyph pattern).

Empty (or whitespace-only) text scores 0. ``SUSPECT_BELOW`` is the line under which a page is
reported as suspect and kept out of the index.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

from ragkit.text.script import CJK_CLASS, is_cjk

SUSPECT_BELOW = 0.6
"""Pages whose best text scores below this are reported as suspect and not indexed."""

_CID = re.compile(r"\(cid:\d+\)")
_IMPLAUSIBLE_RANGES = (
    (0x0530, 0x1CFF),  # Armenian … Hebrew, Arabic, Syriac, Indic, Thai, Tibetan, Georgian, …
    (0x03E2, 0x03EF),  # Coptic letters inside the Greek block
    (0x2C80, 0x2CFF),  # Coptic
    (0xE000, 0xF8FF),  # private use area
    (0xFB1D, 0xFDFF),  # Hebrew/Arabic presentation forms A
    (0xFE70, 0xFEFF),  # Arabic presentation forms B (+ BOM)
    (0xFFF0, 0xFFFF),  # specials incl. U+FFFD
    (0xF0000, 0x10FFFF),  # supplementary private use
)
_EXPECTED_SYMBOLS = set("・…‥―—–‐‘’“”※〒→←↑↓⇒○●◎△▲▽▼□■◇◆☆★°±×÷§¶†‡•′″€£¥©®™℃")


def _implausible(ch: str) -> bool:
    cp = ord(ch)
    if any(lo <= cp <= hi for lo, hi in _IMPLAUSIBLE_RANGES):
        return True
    return unicodedata.category(ch) in ("Cc", "Co", "Cs", "Cn")


def _expected(ch: str) -> bool:
    cp = ord(ch)
    if cp < 0x80:
        return ch.isprintable()
    if 0xC0 <= cp <= 0x24F and ch.isalpha():  # Latin-1 / Latin Extended letters
        return True
    if 0xA0 <= cp <= 0xBF or ch in _EXPECTED_SYMBOLS:
        return True
    if 0x2000 <= cp <= 0x206F or 0x2150 <= cp <= 0x218F or 0x2460 <= cp <= 0x24FF:
        return True  # general punctuation, roman numerals, circled numbers
    return is_cjk(ch) or 0x2E80 <= cp <= 0x2FDF  # + CJK radicals


_TOUCHING = re.compile(rf"(?={CJK_CLASS}{CJK_CLASS})")
_SPACED = re.compile(rf"(?={CJK_CLASS} {CJK_CLASS})")


def spaced_ratio(text: str) -> float:
    """Share of neighbouring CJK character pairs that are separated by exactly one space."""
    touching = len(_TOUCHING.findall(text))
    spaced = len(_SPACED.findall(text))
    pairs = touching + spaced
    return spaced / pairs if pairs else 0.0


@lru_cache(maxsize=65536)
def _kind(ch: str) -> int:
    """0 whitespace, 1 expected, 2 other, 3 implausible."""
    if ch.isspace():
        return 0
    if _implausible(ch):
        return 3
    return 1 if _expected(ch) else 2


def score_text(text: str) -> float:
    """Plausibility of ``text`` as Japanese/English document text, in [0, 1] (see module doc)."""
    cids = len(_CID.findall(text))
    body = _CID.sub("", text) if cids else text
    counts = [0, 0, 0, 0]
    for ch, n in Counter(body).items():  # classify each distinct character once
        counts[_kind(ch)] += n
    _, expected, other, bad = counts
    bad += cids
    total = expected + other + bad
    if total == 0:
        return 0.0
    share = (expected + 0.5 * other) / (total + 2 * bad)
    spacing = 1.0 - 0.6 * max(0.0, (spaced_ratio(body) - 0.3) / 0.7)
    return round(max(0.0, min(1.0, share * spacing)), 4)
