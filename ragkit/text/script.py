"""Which script a character belongs to, and which language a text is in: the one definition of
"CJK" in ragkit.

Every module that asks "is this Japanese?" (line joining, PDF quality scoring, spaced-glyph
cleanup, encoding detection, question language) uses these ranges, so a change here changes them
all at once.
"""
from __future__ import annotations

import re

KANA = ((0x3040, 0x30FF), (0x31F0, 0x31FF))  # hiragana, katakana, katakana extensions
KANJI = ((0x4E00, 0x9FFF),)  # CJK unified ideographs (the common ones)
RARE_KANJI = ((0x3400, 0x4DBF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))  # ext A, compatibility, ext B+
CJK_PUNCTUATION = ((0x3000, 0x303F),)  # 、。「」 and the ideographic space
FULLWIDTH_ASCII = ((0xFF01, 0xFF5E),)  # ＡＢＣ１２３ (NFKC narrows them)
HALFWIDTH_FORMS = ((0xFF5F, 0xFF9F),)  # ｶﾀｶﾅ and half-width punctuation (NFKC widens them)

CJK_RANGES: tuple[tuple[int, int], ...] = tuple(sorted(
    KANA + KANJI + RARE_KANJI + CJK_PUNCTUATION + FULLWIDTH_ASCII + HALFWIDTH_FORMS))
"""Kana, kanji, Japanese punctuation and full/half-width forms."""


def char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    """A regular-expression character class matching the code point ``ranges``."""
    return "[" + "".join(f"{chr(lo)}-{chr(hi)}" if hi > lo else chr(lo) for lo, hi in ranges) + "]"


CJK_CLASS = char_class(CJK_RANGES)
_JAPANESE_WRITING = re.compile(char_class(tuple(sorted(KANA + KANJI + RARE_KANJI + ((0xFF66, 0xFF9F),)))))


def in_ranges(ch: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    """True when the code point of ``ch`` lies in one of ``ranges``."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in ranges)


def is_cjk(ch: str) -> bool:
    """True for kana, kanji, Japanese punctuation and full/half-width forms."""
    return in_ranges(ch, CJK_RANGES)


def language_of(text: str) -> str:
    """``"ja"`` when the text contains kana or kanji, else ``"en"``: answers follow the question."""
    return "ja" if _JAPANESE_WRITING.search(text) else "en"
