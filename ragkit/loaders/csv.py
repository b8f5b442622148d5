"""CSV / TSV → Documents of rows with the header applied (location ``rows 2–40``).

Bytes are decoded like ``.txt`` (``text.decode_bytes``: UTF-8 with or without BOM, CP932, EUC-JP;
Excel on Japanese Windows writes CP932). The first record is the header when it has no number
in it and the file has more than one record; each later row then reads ``見出し: 値 / ...``.
Row numbers are those a spreadsheet shows (the header is row 1).
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from ragkit.errors import LoadError
from ragkit.loaders.structured import RowBlocks, row_line
from ragkit.loaders.text import decode_bytes, looks_binary, read_nonempty
from ragkit.types import Document

_NUMBER = re.compile(r"[-+]?[\d,]*\.?\d+%?")


def _rows_label(first: int, last: int, lo: int = 0, hi: int = 0) -> str:
    return f"row {first}" if first == last else f"rows {first}–{last}"


def load_csv(path: Path) -> list[Document]:
    """Load a .csv/.tsv (see module doc); raises LoadError."""
    path = Path(path)
    source = str(path)
    raw = read_nonempty(path)
    if looks_binary(raw):
        raise LoadError(source, "binary file, not text (an Excel workbook renamed .csv? save it as .xlsx)")
    try:
        text, encoding = decode_bytes(raw)
    except ValueError as exc:
        raise LoadError(source, str(exc)) from None
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    records = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    numbered = [(n, r) for n, r in enumerate(records, start=1) if any(r)]
    if not numbered:
        raise LoadError(source, "empty file (no values)")
    header = None
    first = numbered[0][1]
    if len(numbered) > 1 and len([c for c in first if c]) >= 2 and not any(_NUMBER.fullmatch(c) for c in first):
        header = first
        numbered = numbered[1:]
    blocks = RowBlocks(source, f"csv:{encoding}", _rows_label)
    for number, row in numbered:
        blocks.add(number, row_line(header, row))
    return blocks.documents()
