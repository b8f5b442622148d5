"""Plain-text and Markdown files: encoding detection and one Document per file.

Japanese text files come in UTF-8 (with or without a BOM), CP932 (Windows Shift_JIS) and EUC-JP.
Strict decoding alone separates UTF-8 from the legacy codes (legacy Japanese bytes are almost never
valid UTF-8), but some byte strings decode both as CP932 and as EUC-JP; there the decoding that
looks most like Japanese wins (share of hiragana, katakana, common kanji and ASCII versus half-width
katakana and rare characters — EUC-JP read as CP932 turns into half-width katakana).

Line handling differs by type, on purpose:
* ``.txt`` is normalised with line joining (``normalize(text)``): plain text files are often
  hard-wrapped, and a break inside a Japanese sentence would split words for the tokenizer.
* ``.md``/``.markdown``: prose blocks are joined the same way (Markdown renders a single newline
  as a space anyway), but fenced code blocks and table rows keep their line structure
  (``normalize(block, join=False)``), because there the newline is the meaning.
"""
from __future__ import annotations

import codecs
from pathlib import Path

from ragkit.errors import LoadError
from ragkit.text.normalize import normalize
from ragkit.text.script import CJK_PUNCTUATION, FULLWIDTH_ASCII, KANA, KANJI, in_ranges
from ragkit.types import Document

LEGACY_ENCODINGS = ("cp932", "euc_jp")
_TRIED = "utf-8, cp932, euc-jp"
# kana, common kanji, Japanese punctuation and full-width ASCII: what real Japanese text is made of
_COMMON_JAPANESE = KANA + KANJI + CJK_PUNCTUATION + FULLWIDTH_ASCII
_ALLOWED_CONTROLS = set(b"\t\n\r\x0c\x1b")
_BAD_SHARE = 0.01
_VALID_PER_BAD = 4  # valid multi-byte characters per bad one for "UTF-8 with a few errors" (CP932 text: ~0)


def looks_binary(raw: bytes) -> bool:
    """NUL bytes, or more than 10% control bytes, in the first 64 KiB."""
    head = raw[:65536]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 0x20 and b not in _ALLOWED_CONTROLS)
    return controls > 0.1 * len(head)


def _plausibility(text: str) -> float:
    """How Japanese/English-like a decoding is: common characters minus rare ones, per char."""
    good = rare = 0
    for ch in text:
        if ord(ch) < 0x80 or in_ranges(ch, _COMMON_JAPANESE):
            good += 1
        else:
            rare += 1  # half-width katakana, symbols, rare ideographs, PUA
    return (good - rare) / max(1, len(text))


def _lenient_utf8(raw: bytes) -> tuple[str, int, int]:
    """(text with bad bytes replaced by U+FFFD, replaced characters, valid non-ASCII characters)."""
    text = raw.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd") - raw.count(b"\xef\xbf\xbd")  # minus U+FFFD written as such
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    return text, replaced, non_ascii - replaced


def decode_text(raw: bytes) -> tuple[str, str, int]:
    """Decode Japanese/English text bytes; returns (text, encoding, replaced characters).

    A UTF-8 file with a few bad bytes (a truncated copy, one stray Latin-1 byte) is read with
    those replaced by U+FFFD rather than rejected: when it has ``_VALID_PER_BAD`` valid
    multi-byte characters per bad one (before trying legacy codes), or when no legacy code fits
    and at most ``_BAD_SHARE`` of its characters are bad. Raises ValueError."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return raw.decode(enc), enc, 0
    try:
        return raw.decode("utf-8"), "utf-8", 0
    except UnicodeDecodeError:
        pass
    lenient, replaced, valid = _lenient_utf8(raw)
    if valid >= _VALID_PER_BAD * replaced:  # legacy Japanese read as UTF-8 is nearly all errors
        return lenient, "utf-8", replaced
    candidates = []
    for enc in LEGACY_ENCODINGS:
        try:
            candidates.append((raw.decode(enc), enc))
        except UnicodeDecodeError:
            continue
    if not candidates and replaced <= _BAD_SHARE * len(lenient):
        return lenient, "utf-8", replaced  # e.g. English with one stray Latin-1 byte
    if not candidates:
        raise ValueError(f"cannot decode text (tried {_TRIED})")
    # max() keeps the first of equal scores, so CP932 (the commoner one) wins ties
    text, enc = max(candidates, key=lambda c: _plausibility(c[0]))
    return text, enc, 0


def decode_bytes(raw: bytes) -> tuple[str, str]:
    """Decode Japanese/English text bytes; returns (text, encoding). Raises ValueError."""
    text, encoding, _ = decode_text(raw)
    return text, encoding


def _normalize_markdown(text: str) -> str:
    """Join prose lines; keep fenced code and table rows line by line."""
    blocks: list[tuple[bool, list[str]]] = []  # (keep_lines, lines)
    in_fence = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = line.strip()
        fence = stripped.startswith("```") or stripped.startswith("~~~")
        keep = in_fence or fence or stripped.startswith("|")
        if fence:
            in_fence = not in_fence
        if blocks and blocks[-1][0] == keep:
            blocks[-1][1].append(line)
        else:
            blocks.append((keep, [line]))
    parts = [normalize("\n".join(lines), join=not keep) for keep, lines in blocks]
    return "\n\n".join(p for p in parts if p)


def read_nonempty(path: Path) -> bytes:
    """A text-like file's bytes; LoadError("empty file") when it holds only whitespace bytes."""
    raw = Path(path).read_bytes()
    if not raw.strip():
        raise LoadError(str(path), "empty file")
    return raw


def load_text(path: Path) -> list[Document]:
    """Read a .txt/.md file as one Document (page None); LoadError with the reason if unreadable."""
    raw = read_nonempty(path)
    is_utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not is_utf16 and looks_binary(raw):
        raise LoadError(str(path), "binary file, not text")
    try:
        text, encoding, replaced = decode_text(raw)
    except ValueError as exc:
        raise LoadError(str(path), str(exc)) from None
    warnings = (f"{replaced} undecodable byte sequence(s) replaced by U+FFFD (not UTF-8); the rest is indexed",) if replaced else ()
    if path.suffix.lower() in (".md", ".markdown"):
        text = _normalize_markdown(text)
    else:
        text = normalize(text)
    if not text.strip():
        raise LoadError(str(path), "empty file (only whitespace)")
    return [Document(source=str(path), text=text, page=None, extractor=f"text:{encoding}",
                     warnings=warnings)]
