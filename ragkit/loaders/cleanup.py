"""Cleanup of extracted PDF text: spaced Japanese and running headers/footers.

* Glyph-by-glyph layouts (vertical novels, Ichitaro output) come out as 「吾 輩 は 猫 で あ る」.
  Such spaces break MeCab tokens and phrase search, so on every line where most neighbouring CJK
  characters are separated by one space, the spaces between CJK characters (and digits next to
  them) are removed. Lines of normal Japanese and English text are left alone.
* Running headers/footers and page numbers repeat across pages and pollute every chunk: a line
  among the first/last ``EDGE`` lines of a page whose digit-masked form (page numbers at either
  end ignored, as odd and even pages mirror them) recurs at the same edge on at least 40% of the
  pages (and on at least 3) is dropped. A line that is nothing but a page number (``3``,
  ``3 / 4``, ``- 3 -``, ``p. 3``, ``Page 3 of 4``; not a bare ``3``) needs only 2 pages. Single-character lines (a
  glyph of vertical text) are never treated as headers.
Line joining and de-hyphenation are left to ``ragkit.text.normalize.normalize``.
"""
from __future__ import annotations

import math
import re
from collections import Counter

from ragkit.loaders.quality import spaced_ratio
from ragkit.text.script import CJK_CLASS

EDGE = 3
MAX_RUNNING_CHARS = 200  # longer repeated lines are body text (a header with a title and a company runs to ~90)
_INNER_SPACE = re.compile(rf"(?<={CJK_CLASS}) (?={CJK_CLASS}|\d)|(?<=\d) (?={CJK_CLASS})")
_DIGITS = re.compile(r"\d+")
_WS = re.compile(r"\s+")
# a page-number line once digits are masked and spaces removed: #, #/#, -#-, (#), p.#, page#of#, …
_PAGE_NUMBER = re.compile(r"[-–—(\[<]*(?:p\.|page|ページ)?#(?:[/／]#|of#)?(?:ページ|頁)?[-–—)\]>]*", re.IGNORECASE)


def despace_line(line: str) -> str:
    """Remove the inter-character spaces of a spaced Japanese line; other lines unchanged."""
    if line.count(" ") < 2 or spaced_ratio(line) <= 0.5:
        return line
    return _INNER_SPACE.sub("", line)


def despace(text: str) -> str:
    """``despace_line`` on every line."""
    return "\n".join(despace_line(line) for line in text.split("\n"))


def _key(line: str) -> str:
    """Digits masked, page numbers at either end ignored (odd/even pages mirror them); a line
    that is only a page number keeps its form (``#/#``)."""
    masked = _DIGITS.sub("#", _WS.sub("", line))
    return masked if _PAGE_NUMBER.fullmatch(masked) else masked.strip("#") or "#"


def _edges(lines: list[str]) -> tuple[set[int], set[int]]:
    idx = [i for i, ln in enumerate(lines) if ln.strip()]
    return set(idx[:EDGE]), set(idx[-EDGE:])


def strip_running_lines(pages: list[str], min_pages: int = 3) -> list[str]:
    """Drop headers/footers/page numbers that repeat at the top or bottom of most pages."""
    texted = [p for p in pages if p.strip()]
    if len(texted) < 2:
        return pages
    split = [p.split("\n") for p in pages]
    top, bottom = Counter(), Counter()
    for lines in split:
        head, tail = _edges(lines)
        top.update({_key(lines[i]) for i in head})
        bottom.update({_key(lines[i]) for i in tail})
    need = max(min_pages, math.ceil(0.4 * len(texted)))
    need_number = max(2, math.ceil(0.4 * len(texted)))

    def running(key: str, counts: Counter) -> bool:
        if key != "#" and _PAGE_NUMBER.fullmatch(key):  # a bare number could be a table's last cell
            return counts[key] >= need_number
        return counts[key] >= need and (len(key) >= 2 or key == "#") and len(key) <= MAX_RUNNING_CHARS

    out = []
    for lines in split:
        head, tail = _edges(lines)
        kept = [ln for i, ln in enumerate(lines)
                if not ((i in head and running(_key(ln), top))
                        or (i in tail and running(_key(ln), bottom)))]
        out.append("\n".join(kept))
    return out
