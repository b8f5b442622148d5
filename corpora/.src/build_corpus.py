"""Build the generated files of the sample corpus from the sources next to this script.

Why generated: PDFs and the Shift_JIS text cannot be reviewed in a diff, so the reviewed
sources live here (UTF-8) and this script turns them into the files under ``corpora/``:

* ``pdf/<name>.txt``   -> ``corpora/<name>.pdf``  (one PDF page per ``---page---`` block)
* ``cp932/<name>.txt`` -> ``corpora/<name>.txt``  (same text, re-encoded as CP932)
* ``office/*``         -> Word, Excel, PowerPoint, HTML and CSV files (see ``build_office.py``)

A PDF source starts with ``key: value`` lines (``title``, ``lang`` = ``ja`` or ``en``), then a
line ``===``. In the body a line starting with ``# `` is a heading, an empty line is a small gap,
every other line is a paragraph that is wrapped to the page width. The output is deterministic
(``invariant=1``): re-running gives the same bytes with the same reportlab version.

Usage: ``python corpora/.src/build_corpus.py [--out DIR]`` (default: ``corpora/``).
"""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from build_office import build_cp932, build_office  # noqa: E402  (next to this script)

SRC = Path(__file__).resolve().parent
CORPUS = SRC.parent
PAGE_BREAK = "---page---"
AUTHOR = "Minato Precision Co., Ltd. (fictional sample)"

JA_FONT = "HeiseiKakuGo-W5"
FONTS = {"ja": (JA_FONT, JA_FONT), "en": ("Helvetica", "Helvetica-Bold")}
BODY_SIZE, HEAD_SIZE, SMALL_SIZE = 10.5, 13.0, 8.0
LEADING, HEAD_LEADING, GAP = 17.0, 24.0, 8.0
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 22 * mm, 25 * mm, 22 * mm

# Characters that must not start a line (kinsoku): they stay on the line before.
NO_LINE_START = set("、。，．・：；？！）」』】〕＞ー～,.;:!?)]")
# One wrap unit: a run of printable ASCII (a word), a run of spaces, or one other character.
_UNIT = re.compile(r"[!-~]+|[ \u3000]+|.")


@dataclass(frozen=True)
class Source:
    """One PDF source: metadata and pages, each page a list of source lines."""

    name: str
    title: str
    lang: str
    pages: list[list[str]]


def parse_source(path: Path) -> Source:
    """Read a PDF source file (metadata, ``===``, body split by ``---page---``)."""
    text = path.read_text(encoding="utf-8")
    head, sep, body = text.partition("\n===\n")
    if not sep:
        raise SystemExit(f"{path}: missing the '===' line after the metadata; add it.")
    meta = dict(line.split(":", 1) for line in head.splitlines() if ":" in line)
    meta = {k.strip(): v.strip() for k, v in meta.items()}
    lang = meta.get("lang", "")
    if lang not in FONTS or "title" not in meta:
        raise SystemExit(f"{path}: need 'title:' and 'lang: ja|en' in the metadata.")
    pages = [block.strip("\n").split("\n") for block in body.split(f"\n{PAGE_BREAK}\n")]
    return Source(path.stem, meta["title"], lang, pages)


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy wrap by measured glyph width; Latin words are not split, kinsoku is respected."""
    lines: list[str] = []
    cur = ""
    for unit in _UNIT.findall(text):
        trial = cur + unit
        fits = pdfmetrics.stringWidth(trial, font, size) <= width
        if fits or not cur or unit[0] in NO_LINE_START:
            cur = trial
            continue
        lines.append(cur.rstrip())
        cur = "" if unit.isspace() else unit
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def _draw_page(canvas: Canvas, src: Source, lines: list[str], number: int, total: int) -> None:
    """Draw header, body and footer of one page; fail if the body does not fit."""
    body_font, head_font = FONTS[src.lang]
    page_w, page_h = A4
    width = page_w - 2 * MARGIN_X
    canvas.setFont(body_font, SMALL_SIZE)
    canvas.drawString(MARGIN_X, page_h - 14 * mm, f"{src.title}  |  {AUTHOR}")
    y = page_h - MARGIN_TOP
    for line in lines:
        if not line.strip():
            y -= GAP
            continue
        heading = line.startswith("# ")
        font, size = (head_font, HEAD_SIZE) if heading else (body_font, BODY_SIZE)
        leading = HEAD_LEADING if heading else LEADING
        for row in wrap(line[2:] if heading else line, font, size, width):
            if y < MARGIN_BOTTOM:
                raise SystemExit(f"{src.name}: page {number} overflows; move text after a "
                                 f"'{PAGE_BREAK}' line.")
            canvas.setFont(font, size)
            canvas.drawString(MARGIN_X, y, row)
            y -= leading
    canvas.setFont(body_font, SMALL_SIZE)
    canvas.drawRightString(page_w - MARGIN_X, 12 * mm, f"{number} / {total}")


def build_pdf(src: Source, out: Path) -> None:
    """Write one PDF, one page per source page."""
    canvas = Canvas(str(out), pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle(src.title)
    canvas.setAuthor(AUTHOR)
    for i, lines in enumerate(src.pages, start=1):
        _draw_page(canvas, src, lines, i, len(src.pages))
        canvas.showPage()
    canvas.save()


def build_all(out_dir: Path) -> list[Path]:
    """Build every PDF, CP932 and Office/HTML/CSV file into ``out_dir``; return the written paths."""
    pdfmetrics.registerFont(UnicodeCIDFont(JA_FONT))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted((SRC / "pdf").glob("*.txt")):
        target = out_dir / f"{path.stem}.pdf"
        build_pdf(parse_source(path), target)
        written.append(target)
    for path in sorted((SRC / "cp932").glob("*.txt")):
        target = out_dir / path.name
        build_cp932(path, target)
        written.append(target)
    return written + build_office(out_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CORPUS,
                        help="output folder (default: corpora/)")
    for path in build_all(parser.parse_args().out):
        print(path)


if __name__ == "__main__":
    main()
