"""Build the Office, HTML and CSV files of the sample corpus from the sources in ``office/``.

Called by ``build_corpus.py``. Sources are reviewable text (UTF-8); outputs are byte-for-byte
deterministic: zip entries get a fixed timestamp and the documents' core properties a fixed date.

* ``<name>.docx.txt`` -> Word: ``title:`` line, ``===``, then ``#``/``##``/``###`` headings,
  paragraphs, ``| a | b |`` table rows, ``[textbox] text`` and footnotes (``[^1]`` in a paragraph,
  ``[^1]: text`` on its own line).
* ``<name>.xlsx.json`` -> Excel (XlsxWriter, which stores formulas with their cached values):
  sheets with cells, merged ranges, number formats, ``hidden`` and ``column_width`` (方眼紙).
* ``<name>.pptx.txt`` -> PowerPoint: ``---slide---`` blocks of ``title:``, lines, ``| table |``
  rows and ``notes:``.
* ``<name>.html`` and ``<name>.csv`` -> the same text re-encoded as CP932 (the HTML declares
  Shift_JIS, as Japanese intranet pages do); the CSV gets CRLF line ends as Excel writes them.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

OFFICE = Path(__file__).resolve().parent / "office"
FIXED = dt.datetime(2025, 4, 1, 9, 0, 0)
ZIP_TIME = (2025, 4, 1, 9, 0, 0)
AUTHOR = "Minato Precision Co., Ltd. (fictional sample)"
_CORE_DATE = re.compile(rb"(<dcterms:(?:created|modified)\b[^>]*>)[^<]*(</dcterms:)")


def freeze_zip(path: Path) -> None:
    """Rewrite an OOXML zip with fixed entry times and core dates, so builds are reproducible."""
    with zipfile.ZipFile(path) as zf:
        entries = [(info.filename, zf.read(info)) for info in zf.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = _CORE_DATE.sub(rb"\g<1>2025-04-01T00:00:00Z\g<2>", data)
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            out.writestr(info, data)
    path.write_bytes(buf.getvalue())


def _split_meta(text: str) -> tuple[dict, str]:
    head, _, body = text.partition("\n===\n")
    meta = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
    return meta, body


# --- Word ---------------------------------------------------------------------------------
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_FOOTNOTES_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
_FOOTNOTES_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"


def _footnotes_xml(notes: dict[str, str]) -> bytes:
    def note(fid: str, body: str, kind: str = "") -> str:
        attr = f' w:type="{kind}"' if kind else ""
        return f'<w:footnote{attr} w:id="{fid}"><w:p>{body}</w:p></w:footnote>'
    parts = [note("-1", "<w:r><w:separator/></w:r>", "separator"),
             note("0", "<w:r><w:continuationSeparator/></w:r>", "continuationSeparator")]
    for fid, text in notes.items():
        parts.append(note(fid, f'<w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr><w:footnoteRef/></w:r>'
                               f'<w:r><w:t xml:space="preserve"> {_esc(text)}</w:t></w:r>'))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:footnotes xmlns:w="{W_NS}">'
            + "".join(parts) + "</w:footnotes>").encode("utf-8")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _textbox_run(text: str):
    from docx.oxml import parse_xml

    return parse_xml(
        f'<w:r xmlns:w="{W_NS}" xmlns:v="urn:schemas-microsoft-com:vml"><w:pict>'
        f'<v:shape style="width:300pt;height:30pt" type="#_x0000_t202"><v:textbox><w:txbxContent>'
        f'<w:p><w:r><w:t>{_esc(text)}</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape></w:pict></w:r>')


def _footnote_ref_run(fid: str):
    from docx.oxml import parse_xml

    return parse_xml(f'<w:r xmlns:w="{W_NS}"><w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
                     f'<w:footnoteReference w:id="{fid}"/></w:r>')


def build_docx(src: Path, out: Path) -> None:
    import docx
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    meta, body = _split_meta(src.read_text(encoding="utf-8"))
    lines = body.splitlines()
    notes = {m.group(1): m.group(2) for m in (re.match(r"\[\^(\d+)\]: (.*)", ln) for ln in lines) if m}
    document = docx.Document()
    table: list[list[str]] = []

    def flush_table() -> None:
        if table:
            t = document.add_table(rows=len(table), cols=len(table[0]))
            t.style = "Table Grid"
            for r, row in enumerate(table):
                for c, value in enumerate(row):
                    t.cell(r, c).text = value
            table.clear()

    for line in lines:
        if line.startswith("|"):
            table.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        flush_table()
        if not line.strip() or re.match(r"\[\^\d+\]: ", line):
            continue
        heading = re.match(r"(#{1,3}) (.*)", line)
        if heading:
            level = len(heading.group(1))
            document.add_paragraph(heading.group(2), style="Title" if level == 1 else f"Heading {level - 1}")
        elif line.startswith("[textbox] "):
            document.add_paragraph()._p.append(_textbox_run(line[len("[textbox] "):]))
        else:
            paragraph = document.add_paragraph()
            for piece in re.split(r"(\[\^\d+\])", line):
                ref = re.fullmatch(r"\[\^(\d+)\]", piece)
                if ref:
                    paragraph._p.append(_footnote_ref_run(ref.group(1)))
                elif piece:
                    paragraph.add_run(piece)
    flush_table()
    if notes:
        part = Part(PackURI("/word/footnotes.xml"), _FOOTNOTES_CT, _footnotes_xml(notes), document.part.package)
        document.part.relate_to(part, _FOOTNOTES_RT)
    props = document.core_properties
    props.title, props.author, props.last_modified_by = meta.get("title", ""), AUTHOR, AUTHOR
    props.created = props.modified = FIXED
    props.revision = 1
    document.save(str(out))
    freeze_zip(out)


# --- Excel --------------------------------------------------------------------------------
def build_xlsx(src: Path, out: Path) -> None:
    import xlsxwriter

    spec = json.loads(src.read_text(encoding="utf-8"))
    wb = xlsxwriter.Workbook(str(out), {"strings_to_numbers": False, "strings_to_formulas": False,
                                        "strings_to_urls": False})
    wb.set_properties({"title": out.stem, "author": AUTHOR, "created": FIXED})
    for sheet in spec["sheets"]:
        ws = wb.add_worksheet(sheet["name"])
        if sheet.get("hidden"):
            ws.hide()
        if sheet.get("column_width"):
            ws.set_column(0, 30, sheet["column_width"])
        formats = {}
        for rng, number_format in sheet.get("number_formats", {}).items():
            fmt = wb.add_format({"num_format": number_format})
            for ref in _refs(rng):
                formats[ref] = fmt
        cells = dict((ref, value) for ref, value in sheet["cells"])
        for rng in sheet.get("merges", []):
            first = rng.split(":")[0]
            value = cells.pop(first, "")
            ws.merge_range(rng, value if isinstance(value, str) else "", wb.add_format({"valign": "top"}))
        for ref, value in cells.items():
            fmt = formats.get(ref)
            if isinstance(value, dict):
                ws.write_formula(ref, value["formula"], fmt, value["value"])
            elif isinstance(value, str):
                ws.write_string(ref, value, fmt)
            else:
                ws.write_number(ref, value, fmt)
    wb.close()
    freeze_zip(out)


def _refs(rng: str) -> list[str]:
    from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell

    a, b = rng.split(":")
    (r1, c1), (r2, c2) = xl_cell_to_rowcol(a), xl_cell_to_rowcol(b)
    return [xl_rowcol_to_cell(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]


# --- PowerPoint ---------------------------------------------------------------------------
def build_pptx(src: Path, out: Path) -> None:
    import pptx
    from pptx.util import Emu, Pt

    deck = pptx.Presentation()
    width = deck.slide_width
    for block in src.read_text(encoding="utf-8").split("---slide---")[1:]:
        slide = deck.slides.add_slide(deck.slide_layouts[5])  # "Title Only"
        lines = [ln for ln in block.strip().splitlines() if ln.strip()]
        body = [ln for ln in lines if not ln.startswith(("title: ", "notes: ", "|"))]
        rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines if ln.startswith("|")]
        for ln in lines:
            if ln.startswith("title: "):
                slide.shapes.title.text = ln[len("title: "):]
            elif ln.startswith("notes: "):
                slide.notes_slide.notes_text_frame.text = ln[len("notes: "):]
        top = Emu(1_700_000)
        if body:
            box = slide.shapes.add_textbox(Emu(457_200), top, width - Emu(914_400), Emu(1_500_000))
            box.text_frame.word_wrap = True
            box.text_frame.text = body[0]
            for ln in body[1:]:
                box.text_frame.add_paragraph().text = ln
            for p in box.text_frame.paragraphs:
                p.font.size = Pt(20)
            top = Emu(3_400_000)
        if rows:
            shape = slide.shapes.add_table(len(rows), len(rows[0]), Emu(457_200), top,
                                           width - Emu(914_400), Emu(370_000 * len(rows)))
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    shape.table.cell(r, c).text = value
    props = deck.core_properties
    props.title, props.author, props.last_modified_by = out.stem, AUTHOR, AUTHOR
    props.created = props.modified = FIXED
    props.revision = 1
    deck.save(str(out))
    freeze_zip(out)


# --- re-encoded text ----------------------------------------------------------------------
def build_cp932(src: Path, out: Path, crlf: bool = False) -> None:
    text = src.read_text(encoding="utf-8")
    if crlf:
        text = text.replace("\n", "\r\n")
    out.write_bytes(text.encode("cp932"))


def build_office(out_dir: Path) -> list[Path]:
    """Write every office/ source's output into ``out_dir``; returns the paths written."""
    written = []
    for src in sorted(OFFICE.iterdir()):
        name = src.name
        if name.endswith(".docx.txt"):
            target, build = out_dir / name[: -len(".txt")], build_docx
        elif name.endswith(".xlsx.json"):
            target, build = out_dir / name[: -len(".json")], build_xlsx
        elif name.endswith(".pptx.txt"):
            target, build = out_dir / name[: -len(".txt")], build_pptx
        elif name.endswith(".html"):
            target, build = out_dir / name, build_cp932
        elif name.endswith(".csv"):
            target, build = out_dir / name, lambda s, o: build_cp932(s, o, crlf=True)
        else:
            continue
        build(src, target)
        written.append(target)
    return written
