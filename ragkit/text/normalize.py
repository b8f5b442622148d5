"""NFKC normalisation and CJK-aware line joining.

PDF extraction and hard-wrapped text files break lines inside sentences. A break between two
Japanese characters is an artefact of layout and is removed without a space; a break between two
Latin words becomes one space (a hyphen at the end of an English line is taken as a word split).
Blank lines (paragraph breaks) survive as a single "\\n\\n".
"""
from __future__ import annotations

import re
import unicodedata

from ragkit.text.script import is_cjk

_SENTENCE_END = set("。！？!?」』）)】")
LIST_MARKER = re.compile(r"^\s*(?:[-*+•・■□◆◇○●※#>]|\d+[.)．、]|[（(]\d+[)）]|第\d+[条章節項])")
_SPACES = re.compile(r"[ \t\u3000\u00a0]+")
# C0/C1 control characters except tab and newline (NFKC keeps them; they only confuse search)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


_HEADING_MAX = 30  # a heading line: at most this long, no punctuation, half the next line or less
_TAIL = _HEADING_MAX + 2  # what _joiner needs to see of the text joined so far
_HEADING_PUNCT = set("。、．，,.!?！？:：;；")


def _is_heading(prev: str, nxt: str) -> bool:
    """A short unpunctuated first line followed by a much longer one (a title above its text):
    joining would glue the title onto the first sentence (梅雨 + 冬が… → 梅雨冬が…)."""
    return (len(prev) <= _HEADING_MAX and "\n" not in prev and len(nxt) >= 2 * len(prev)
            and not any(c in _HEADING_PUNCT for c in prev))


def _joiner(prev: str, nxt: str) -> str | None:
    """How to join two lines, or None to keep the line break."""
    if not prev or not nxt:
        return None
    if _is_heading(prev, nxt):
        return None
    if LIST_MARKER.match(nxt):
        return None
    a, b = prev[-1], nxt[0]
    if a in _SENTENCE_END and is_cjk(a):
        return None
    if is_cjk(a) or is_cjk(b):
        return ""
    if a == "-" and len(prev) > 1 and prev[-2].isalpha() and b.islower():
        return "-"  # marker: drop the hyphen
    return " "


def _join_paragraph(lines: list[str]) -> str:
    """Join one paragraph's stripped, non-empty lines in linear time.

    ``_joiner`` only looks at the last two characters of what was joined so far and, for a
    heading, at all of it when it is at most ``_HEADING_MAX`` long: the last ``_TAIL`` characters
    answer both exactly, so the growing paragraph is never copied or scanned per line."""
    parts = [lines[0]]
    tail = lines[0][-_TAIL:]
    for line in lines[1:]:
        how = _joiner(tail, line)
        if how is None:
            how = "\n"
        elif how == "-":
            parts[-1] = parts[-1][:-1]  # the last part is the line that ended with the hyphen
            tail, how = tail[:-1], ""
        parts += [how, line]
        tail = (tail + how + line)[-_TAIL:]
    return "".join(parts)


def join_lines(text: str) -> str:
    """Join wrapped lines inside paragraphs; keep paragraph breaks and list/heading lines."""
    out = []
    for para in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in para.split("\n") if ln.strip()]
        if lines:
            out.append(_join_paragraph(lines))
    return "\n\n".join(out)


def normalize(text: str, join: bool = True) -> str:
    """NFKC, unified newlines, collapsed spaces and (optionally) wrapped lines joined."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x0c", "\n\n")
    text = _CONTROLS.sub("", text)
    text = "\n".join(_SPACES.sub(" ", ln).strip() for ln in text.split("\n"))
    if join:
        text = join_lines(text)
    else:
        text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text
