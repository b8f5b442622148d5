"""PowerPoint (.pptx) → one Document per slide (``page`` = slide number, location ``slide 7``).

Read with python-pptx (pure Python, offline). Per slide: the title first, then the other shapes
in reading order (top to bottom, then left to right; groups opened), tables as ``見出し: 値``
rows, and last the speaker notes, which often hold what the presenter actually says. Hidden
slides and slides without any text are reported (``structured.skipped``), not indexed.
"""
from __future__ import annotations

from pathlib import Path

from ragkit.loaders.office import check_ooxml
from ragkit.loaders.structured import clean, skipped, table_lines
from ragkit.types import Document

NOTES_LABEL = "Notes: "


def _shape_lines(shapes, title_id: int | None) -> list[str]:
    """Text of shapes in reading order, recursing into groups; the title shape left out."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    lines: list[str] = []
    ordered = sorted(shapes, key=lambda s: (s.top if s.top is not None else 0, s.left if s.left is not None else 0))
    for shape in ordered:
        if shape.shape_id == title_id:
            continue
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            lines += _shape_lines(shape.shapes, title_id)
        elif getattr(shape, "has_table", False) and shape.has_table:
            lines += table_lines([[cell.text for cell in row.cells] for row in shape.table.rows])
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            lines.append(shape.text_frame.text.replace("\x0b", "\n"))
    return lines


def load_pptx(path: Path) -> list[Document]:
    """Load a .pptx as one Document per slide (see module doc); raises LoadError."""
    import pptx

    path = Path(path)
    source = str(path)
    check_ooxml(path)
    docs = []
    for number, slide in enumerate(pptx.Presentation(source).slides, start=1):
        location = f"slide {number}"
        if slide._element.get("show") == "0":
            docs.append(skipped(source, "hidden slide not indexed", page=number, location=location))
            continue
        title = slide.shapes.title
        lines = [title.text_frame.text] if title is not None and title.has_text_frame else []
        lines += _shape_lines(slide.shapes, title.shape_id if title is not None else None)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text.strip()
            if notes:
                lines.append(NOTES_LABEL + notes)
        text = "\n".join(t for t in (clean(x) for x in lines) if t)
        if not text:
            docs.append(skipped(source, "no text on the slide (pictures are not read)", page=number,
                                location=location))
            continue
        docs.append(Document(source=source, text=text, page=number, extractor="pptx", location=location))
    return docs
