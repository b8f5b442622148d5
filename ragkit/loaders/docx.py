"""Word (.docx) → one Document per section, read with python-docx (pure Python, offline).

Body paragraphs and tables come in reading order (``iter_inner_content``). A paragraph styled
``Title`` or ``Heading N`` starts a section (see ``structured.Sections``: heading path as context,
``§heading`` as location). Tables become ``見出し: 値`` rows. Text boxes (``w:txbxContent``,
the VML fallback copy skipped) and footnotes (from the footnotes part, placed after the paragraph
that cites them) are read too: python-docx's ``paragraph.text`` leaves both out.
"""
from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from ragkit.loaders.office import check_ooxml
from ragkit.loaders.structured import Sections, table_lines
from ragkit.types import Document

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
FOOTNOTES_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"
_HEADING = re.compile(r"(?:heading|見出し)\s*(\d)", re.IGNORECASE)


def _heading_level(paragraph) -> int | None:
    """0 for Title, N for Heading N (English or Japanese style names), None for body text."""
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name.lower() == "title" or name == "表題":
        return 0
    m = _HEADING.match(name)
    return int(m.group(1)) if m else None


def _xml_text(element) -> str:
    """Text of the paragraphs under ``element`` (w:t runs, tabs as spaces), one line each."""
    lines = []
    for p in element.iter(W + "p"):
        lines.append("".join(t.text or "" if t.tag == W + "t" else " "
                             for t in p.iter(W + "t", W + "tab")))
    return "\n".join(lines)


def _text_boxes(p_element) -> list[str]:
    """Text boxes anchored in a paragraph, each once (Word stores a VML copy as a fallback)."""
    out = []
    for box in p_element.iter(W + "txbxContent"):
        if any(a.tag == MC_FALLBACK for a in box.iterancestors()):
            continue
        text = _xml_text(box).strip()
        if text:
            out.append(text)
    return out


def _footnotes(document) -> dict[str, str]:
    """Footnote id → text, from the document's footnotes part (absent in most files)."""
    for rel in document.part.rels.values():
        if rel.reltype == FOOTNOTES_REL and not rel.is_external:
            root = etree.fromstring(rel.target_part.blob)
            return {fn.get(W + "id"): _xml_text(fn).strip() for fn in root.iter(W + "footnote")
                    if fn.get(W + "type") in (None, "normal")}
    return {}


def _table_rows(table) -> list[list[str]]:
    """Cell texts per row; a merged cell (the same cell repeated by python-docx) counted once."""
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(cell.text)
        rows.append(cells)
    return rows


def load_docx(path: Path) -> list[Document]:
    """Load a .docx as one Document per heading section (see module doc); raises LoadError."""
    import docx
    from docx.table import Table

    path = Path(path)
    check_ooxml(path)
    document = docx.Document(str(path))
    notes = _footnotes(document)
    sections = Sections(str(path), "docx")
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for line in table_lines(_table_rows(block)):
                sections.line(line)
            continue
        level = _heading_level(block)
        if level is not None:
            sections.heading(level, block.text)
        else:
            sections.line(block.text)
        for box in _text_boxes(block._p):
            sections.line(box)
        for ref in block._p.iter(W + "footnoteReference"):
            note = notes.get(ref.get(W + "id"))
            if note:
                sections.line(f"（注）{note}")
    return sections.documents()
