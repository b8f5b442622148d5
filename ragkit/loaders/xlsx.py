"""Excel (.xlsx/.xlsm) → Documents of rows, each located by its range (``売上!A10:F25``).

Read with openpyxl in read-only mode (rows stream from the zip; memory stays flat on a 50,000-row
sheet) and ``data_only`` (formulas give the values Excel cached when it last saved). Read-only mode
does not know merged cells, so ``merged_ranges`` scans the sheet's XML for ``<mergeCell>`` first
(a byte scan, also streaming). With them the sheet reads the way a person sees it:

* a value merged down several rows (a category column) belongs to each of those rows;
* a header merged across columns names each of them; a second header row under it adds to it
  (``貸出期間 開始``); data rows then read ``見出し: 値 / 見出し: 値``;
* a "方眼紙" form (many rows hold cells merged across columns) has no table header: each row reads as its
  cells in order, and characters typed one per cell are joined back into words.

Hidden sheets are skipped and reported (``structured.skipped``). Each sheet's Documents have
``page`` = the sheet's 1-based position, and a location naming the sheet and the block's cells.
"""
from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from ragkit.errors import LoadError
from ragkit.loaders.office import check_ooxml
from ragkit.loaders.structured import RowBlocks, row_line, skipped
from ragkit.types import Document

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_ROW = re.compile(rb"<(?:\w+:)?row\b")
_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
FORM_ROWS = 0.4
"""A sheet where at least this share of rows holds a cell merged across columns is a form."""

Merge = tuple[int, int, int, int]  # min_row, min_col, max_row, max_col


def col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def col_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def sheet_ref(sheet: str, first: int, last: int, lo: int, hi: int) -> str:
    """Excel's own reference to a range (type it in the Name Box to go there)."""
    name = sheet if re.fullmatch(r"\w+", sheet) else "'" + sheet.replace("'", "''") + "'"
    return f"{name}!{col_letters(lo)}{first}:{col_letters(hi)}{last}"


def sheet_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → path of its XML inside the zip (workbook.xml + its relationships)."""
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(_NS_PKG + "Relationship")}
    out = {}
    for sheet in ElementTree.fromstring(zf.read("xl/workbook.xml")).iter(_NS_MAIN + "sheet"):
        target = targets.get(sheet.get(_NS_REL + "id"), "")
        out[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else \
            posixpath.normpath(posixpath.join("xl", target))
    return out


def merged_ranges(zf: zipfile.ZipFile, member: str) -> tuple[list[Merge], int]:
    """(merged ranges, number of <row> elements) of one sheet, read in 1 MiB pieces."""
    merges, rows, tail = [], 0, b""
    with zf.open(member) as fh:
        while True:
            piece = fh.read(1 << 20)
            data = tail + piece
            # a tag cut at the piece's end is completed by the next piece: scan up to the last '<'
            cut = len(data) if not piece else data.rfind(b"<")
            cut = len(data) if cut < 0 else cut
            for m in _MERGE.finditer(data, 0, cut):
                c1, r1, c2, r2 = m.group(1), int(m.group(2)), m.group(3) or m.group(1), int(m.group(4) or m.group(2))
                merges.append((r1, col_number(c1.decode()), r2, col_number(c2.decode())))
            rows += len(_ROW.findall(data, 0, cut))
            tail = data[cut:]
            if not piece:
                return merges, rows


def cell_text(value, number_format: str = "General") -> str:
    """A cell as Excel shows it, roughly: thousands separators, percentages, dates without 0:00."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ", "minutes")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (int, float)):
        if "%" in number_format:
            return f"{value * 100:g}%"
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int):
            return f"{value:,}" if "#,##" in number_format else str(value)
        return f"{value:,.{_decimals(number_format)}f}" if "#,##" in number_format else format(value, ".10g")
    return str(value).strip()


def _decimals(number_format: str) -> int:
    m = re.search(r"\.(0+)", number_format)
    return len(m.group(1)) if m else 0


def _join_form_row(cells: list[tuple[int, str]], hspan: dict[tuple[int, int], int], row: int) -> str:
    """A form row as read: cells in order with spaces, except single characters in adjacent
    cells (one character typed per square of Excel 方眼紙), which are joined back together."""
    out = ""
    prev_end = prev_len = None
    for col, text in cells:
        glued = prev_end is not None and col == prev_end + 1 and prev_len == 1 and len(text) == 1
        out += text if glued or not out else " " + text
        prev_end, prev_len = hspan.get((row, col), col), len(text)
    return out


class _SheetReader:
    """The row logic of one sheet (see module doc); feeds a ``RowBlocks``."""

    def __init__(self, merges: list[Merge], form: bool, blocks: RowBlocks):
        self.form, self.blocks = form, blocks
        self.hspan = {(r1, c1): c2 for r1, c1, r2, c2 in merges if c2 > c1}
        self.tops = {(r1, c1) for r1, c1, r2, c2 in merges if r2 > r1}
        self.below: dict[int, list[tuple[int, tuple[int, int]]]] = {}  # row → (col, merge top-left)
        for r1, c1, r2, c2 in merges:
            for r in range(r1 + 1, r2 + 1):
                self.below.setdefault(r, []).append((c1, (r1, c1)))
        self.top_values: dict[tuple[int, int], str] = {}
        self.header: dict[int, str] | None = None
        self.candidate: tuple[int, list[tuple[int, str]]] | None = None

    def row(self, number: int, cells: list[tuple[int, str]]) -> None:
        """One sheet row: (column, text) of its non-empty cells, merges not yet applied."""
        filled = dict(cells)
        for col, text in cells:
            if (number, col) in self.tops:
                self.top_values[(number, col)] = text
        for col, top in self.below.get(number, ()):  # a value merged down belongs to this row too
            if col not in filled and top in self.top_values:
                filled[col] = self.top_values[top]
        cells = sorted(filled.items())
        if not cells:
            self.end_block()
        elif self.form:
            self._emit(number, _join_form_row(cells, self.hspan, number), cells)
        else:
            self._table_row(number, cells)

    def _table_row(self, number: int, cells: list[tuple[int, str]]) -> None:
        if self.header is not None:
            cols = range(1, max(max(self.header), cells[-1][0]) + 1)
            values = dict(cells)
            header = [self.header.get(c, "") for c in cols]
            self._emit(number, row_line(header, [values.get(c, "") for c in cols]), cells)
            return
        if self.candidate is None:
            if len(cells) >= 2:
                self.candidate = (number, cells)
            else:
                self._emit(number, cells[0][1], cells)
            return
        top_number, top = self.candidate
        names = self._spread(top_number, top)
        overlap = sum(1 for c, _ in cells if c in names)
        if overlap < 2:  # not a table after all: the candidate was an ordinary line
            self.candidate = None
            self._emit(top_number, " ".join(t for _, t in top), top)
            self._table_row(number, cells)
            return
        self.candidate = None
        if any(c2 > c1 for (r, c1), c2 in self.hspan.items() if r == top_number) and \
                all(not _is_number(t) for _, t in cells):
            for col, text in cells:  # a second header row under a merged header
                names[col] = text if names.get(col) in (None, text) else f"{names[col]} {text}"
            self.header = names
            self._emit(top_number, " / ".join(dict.fromkeys(names.values())), top)
            return
        self.header = names
        self._emit(top_number, " / ".join(dict.fromkeys(names.values())), top)
        self._table_row(number, cells)

    def _spread(self, number: int, cells: list[tuple[int, str]]) -> dict[int, str]:
        """Header names per column, a merged header cell naming every column it spans."""
        names = {}
        for col, text in cells:
            for c in range(col, self.hspan.get((number, col), col) + 1):
                names[c] = text
        return names

    def _emit(self, number: int, text: str, cells: list[tuple[int, str]]) -> None:
        self.blocks.add(number, text, cells[0][0], max(self.hspan.get((number, c), c) for c, _ in cells))

    def end_block(self) -> None:
        """A blank row ends a table: its header no longer applies below it."""
        if self.candidate is not None:
            number, top = self.candidate
            self._emit(number, " ".join(t for _, t in top), top)
        self.header = self.candidate = None


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d,]+(\.\d+)?%?", text))


def load_xlsx(path: Path) -> list[Document]:
    """Load a workbook (see module doc); raises LoadError."""
    import openpyxl

    path = Path(path)
    source = str(path)
    check_ooxml(path)
    with zipfile.ZipFile(path) as zf:
        members = sheet_paths(zf)
        scans = {name: merged_ranges(zf, member) for name, member in members.items()
                 if member in zf.namelist()}
    wb = openpyxl.load_workbook(source, read_only=True, data_only=True, keep_links=False)
    docs: list[Document] = []
    try:
        for index, ws in enumerate(wb.worksheets, start=1):
            name = ws.title
            if ws.sheet_state != "visible":
                docs.append(skipped(source, f"hidden sheet {name!r} not indexed", page=index,
                                    location=name))
                continue
            merges, nrows = scans.get(name, ([], 0))
            blocks = RowBlocks(source, "xlsx", lambda a, b, lo, hi, n=name: sheet_ref(n, a, b, lo, hi),
                               context=f"[{name}]", page=index)
            merged_rows = {r1 for r1, c1, r2, c2 in merges if c2 > c1}
            form = len(merged_rows) >= max(2, FORM_ROWS * nrows)
            reader = _SheetReader(merges, form, blocks)
            ws.reset_dimensions()  # trust the cells, not the sheet's (often stale) dimension tag
            for number, row in enumerate(ws.iter_rows(min_row=1), start=1):
                cells = []
                for cell in row:
                    text = cell_text(cell.value, getattr(cell, "number_format", "General") or "General")
                    if text:
                        cells.append((cell.column, text))
                reader.row(number, cells)
            reader.end_block()
            docs.extend(blocks.documents())
    finally:
        wb.close()
    if not any(d.text for d in docs):
        hidden = [d for d in docs if not d.text]
        raise LoadError(source, "only hidden sheets (nothing visible to index)" if hidden
                        else "empty workbook: no cell holds a value")
    return docs
