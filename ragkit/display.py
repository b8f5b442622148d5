"""Paths made safe to print: one helper for every place that shows a file name to a person.

File names may hold anything but ``/`` and NUL: newlines and terminal escape codes (which can
rewrite what a terminal shows), bidirectional overrides (which reorder it), and on Linux bytes
that are not UTF-8 (Python decodes them to lone surrogates, which no encoder accepts).
``display_path`` escapes exactly those; everything else, Japanese included, is shown as is.
"""
from __future__ import annotations

import unicodedata

_ESCAPED_CATEGORIES = {"Cc", "Cs", "Cf", "Zl", "Zp"}  # controls, surrogates, format, line breaks
_KEPT_FORMAT = {"\u200d"}  # zero-width joiner: part of emoji sequences, harmless


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def display_path(path: object) -> str:
    """``path`` as printable text: control, format and surrogate characters become ``\\xNN`` /
    ``\\uNNNN`` escapes. Idempotent (its output only escapes with printable ASCII)."""
    text = str(path)
    if text.isprintable():
        return text
    return "".join(_escape(ch) if unicodedata.category(ch) in _ESCAPED_CATEGORIES
                   and ch not in _KEPT_FORMAT else ch for ch in text)


def is_utf8_name(path: object) -> bool:
    """Whether ``path`` came from valid UTF-8 bytes (no surrogates from os.fsdecode)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
