"""HTML (.html/.htm) → one Document per heading section, with the standard library's parser.

The charset comes from the document: a BOM, else ``<meta charset>`` or ``<meta http-equiv
content="...; charset=...">`` in the first 4 KiB (Shift_JIS is read as CP932, its superset, which
is what Windows tools actually write), else the detection ``.txt`` uses. The main text is kept:
scripts, styles, navigation, headers, footers and asides are dropped, and when the page marks its
``<main>`` (or ``role="main"``) only that is read. Headings start sections (``structured.Sections``);
tables become ``見出し: 値`` rows.
"""
from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from pathlib import Path

from ragkit.errors import LoadError
from ragkit.loaders.structured import Sections, table_lines
from ragkit.loaders.text import decode_bytes, read_nonempty
from ragkit.text.normalize import normalize
from ragkit.types import Document

_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_SJIS_NAMES = {"shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "windows-31j", "cp932", "ms932"}
DROP = {"script", "style", "nav", "header", "footer", "aside", "noscript", "template", "svg",
        "button", "select", "iframe", "object"}
BLOCK = {"p", "div", "br", "li", "dd", "dt", "ul", "ol", "dl", "section", "article", "main",
         "blockquote", "pre", "hr", "figure", "figcaption", "address", "caption", "body"}
HEADINGS = {f"h{n}": n for n in range(1, 7)}


def decode_html(raw: bytes) -> tuple[str, str]:
    """(text, encoding) from the BOM, the declared charset, or detection; raises ValueError."""
    if raw.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_bytes(raw)
    m = _META_CHARSET.search(raw[:4096])
    if m:
        label = m.group(1).decode("ascii").lower()
        encoding = "cp932" if label in _SJIS_NAMES else label
        try:
            return raw.decode(encoding), encoding
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong or unknown label: detect instead
    return decode_bytes(raw)


class _Events(HTMLParser):
    """Collects ("h", level, text), ("line", 0, text) and ("table", 0, rows) events in order,
    each marked whether it lies inside the page's main element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[str, int, object, bool]] = []
        self.title = ""
        self.has_main = False
        self._drop = 0  # depth inside dropped elements
        self._main = 0
        self._stack: list[str] = []
        self._buf: list[str] = []
        self._heading: int | None = None
        self._tables: list[list[list[str]]] = []  # rows of each open table
        self._cell: list[str] | None = None
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "hr", "img", "meta", "link", "input", "wbr"):
            if tag in ("br", "hr") and not self._drop:
                self._flush()
            return
        self._stack.append(tag)
        if tag in DROP or self._drop:
            self._drop += 1
            return
        if tag == "main" or dict(attrs).get("role") == "main":
            self._main += 1
            self.has_main = True
            self._stack[-1] = tag + "#main"
        if tag == "title":
            self._in_title = True
        elif tag in HEADINGS:
            self._flush()
            self._heading = HEADINGS[tag]
        elif tag == "table":
            self._flush()
            self._tables.append([])
        elif tag == "tr" and self._tables:
            self._tables[-1].append([])
        elif tag in ("td", "th") and self._tables:
            self._cell = []
        elif tag in BLOCK:
            self._flush()

    def handle_endtag(self, tag):
        if tag not in self._stack:
            return  # a stray end tag
        while self._stack:  # close everything left open inside it (HTML allows omitted ends)
            open_tag = self._stack.pop()
            self._close(open_tag)
            if open_tag.split("#")[0] == tag:
                break

    def _close(self, tag: str) -> None:
        if self._drop:
            self._drop -= 1
            return
        if tag.endswith("#main"):
            self._main -= 1
            tag = tag.split("#")[0]
        if tag == "title":
            self._in_title = False
        elif tag in HEADINGS:
            self._emit("h", self._heading or 1, self._take())
            self._heading = None
        elif tag in ("td", "th") and self._tables and self._cell is not None:
            if not self._tables[-1]:
                self._tables[-1].append([])
            self._tables[-1][-1].append(_squash("".join(self._cell)))
            self._cell = None
        elif tag == "table" and self._tables:
            self._emit("table", 0, self._tables.pop())
        elif tag in BLOCK:
            self._flush()

    def handle_data(self, data):
        if self._drop:
            return
        if self._in_title:
            self.title += data
        elif self._cell is not None:
            self._cell.append(data)
        else:
            self._buf.append(data)

    def _take(self) -> str:
        text, self._buf = _squash("".join(self._buf)), []
        return text

    def _flush(self) -> None:
        if self._heading is None:
            text = self._take()
            if text:
                self._emit("line", 0, text)

    def _emit(self, kind: str, level: int, value) -> None:
        self.events.append((kind, level, value, self._main > 0))

    def close(self):
        super().close()
        while self._stack:
            self._close(self._stack.pop())
        self._flush()


def _squash(text: str) -> str:
    """HTML whitespace: runs collapse; line breaks inside Japanese text vanish (``normalize``)."""
    text = re.sub(r"[ \t\r\f\v]*\n\s*", "\n", text.strip())
    return normalize(re.sub(r"[ \t\r\f\v]+", " ", text)).replace("\n", " ")


def load_html(path: Path) -> list[Document]:
    """Load an HTML page as one Document per heading section (see module doc); raises LoadError."""
    path = Path(path)
    source = str(path)
    raw = read_nonempty(path)
    try:
        text, encoding = decode_html(raw)
    except ValueError as exc:
        raise LoadError(source, str(exc)) from None
    parser = _Events()
    parser.feed(text)
    parser.close()
    events = [e for e in parser.events if e[3] or not parser.has_main]
    sections = Sections(source, f"html:{encoding}")
    if not any(kind == "h" for kind, *_ in events) and parser.title.strip():
        sections.heading(1, _squash(parser.title))
    for kind, level, value, _ in events:
        if kind == "h":
            sections.heading(level, value)
        elif kind == "table":
            for line in table_lines(value):
                sections.line(line)
        else:
            sections.line(value)
    docs = sections.documents()
    if not docs:
        raise LoadError(source, "no text in the page (only scripts, navigation or markup)")
    return docs
