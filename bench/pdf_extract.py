"""PDF extraction benchmark: ragkit's chain vs pypdf alone vs pypdfium2 alone.

Speed: pages/s over every PDF in ../shared/data/pdfs (same run, each method best of ``--rounds``).
Quality: character-level F1 of the NLP2024 paper's extracted text against its ``.tex`` source with
the markup stripped: multisets of non-whitespace characters after NFKC.

    .venv/bin/python bench/pdf_extract.py [--rounds 2]

Prints a table and writes bench/pdf_extract.json.
"""
from __future__ import annotations

import argparse
import json
import re
import time
import unicodedata
from collections import Counter
from pathlib import Path

import pypdfium2 as pdfium
from pypdf import PdfReader

from ragkit.errors import LoadError
from ragkit.loaders.pdf import load_pdf

ROOT = Path(__file__).resolve().parents[1]
PDFS = ROOT.parent / "shared" / "data" / "pdfs"
PAPER = "ja_anlp_nlp2024_sample_2col"


def pypdf_pages(path: Path) -> list[str]:
    reader = PdfReader(path)
    if reader.is_encrypted:
        reader.decrypt("")
    out = []
    for page in reader.pages:
        try:
            out.append(page.extract_text() or "")
        except Exception:  # noqa: BLE001 - a failed page counts as empty
            out.append("")
    return out


def pdfium_pages(path: Path) -> list[str]:
    doc = pdfium.PdfDocument(path)
    try:
        out = []
        for page in doc:
            tp = page.get_textpage()
            out.append(tp.get_text_range())
            tp.close()
            page.close()
        return out
    finally:
        doc.close()


def ragkit_pages(path: Path) -> list[str]:
    try:
        return [d.text for d in load_pdf(path)]
    except LoadError:
        return [""] * len(pdfium.PdfDocument(path))  # e.g. no text layer: pages still walked


METHODS = {"ragkit": ragkit_pages, "pypdf": pypdf_pages, "pypdfium2": pdfium_pages}


def strip_tex(tex: str) -> str:
    """The visible text of a LaTeX source, roughly: body only, no comments/commands/braces."""
    tex = re.sub(r"(?<!\\)%.*", "", tex)
    body = tex.split(r"\begin{document}", 1)[-1].split(r"\end{document}", 1)[0]
    body = re.sub(r"\\(begin|end)\{[^}]*\}(\{[^}]*\}|\[[^\]]*\])*", " ", body)
    body = re.sub(r"\\(label|ref|cite|citep|citet|bibliographystyle|bibliography|includegraphics"
                  r"|url|usepackage|vspace|hspace)\*?(\[[^\]]*\])?\{[^}]*\}", " ", body)
    body = re.sub(r"\\[a-zA-Z@]+\*?(\[[^\]]*\])?", " ", body)
    return re.sub(r"[{}$&~^_\\]", " ", body)


def char_f1(predicted: str, reference: str) -> float:
    def bag(s: str) -> Counter:
        return Counter(ch for ch in unicodedata.normalize("NFKC", s) if not ch.isspace())

    p, r = bag(predicted), bag(reference)
    overlap = sum((p & r).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(p.values()), overlap / sum(r.values())
    return 2 * precision * recall / (precision + recall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not PDFS.is_dir():
        raise SystemExit(f"shared PDFs not found at {PDFS}")
    files = sorted(PDFS.glob("*.pdf"))
    for fn in METHODS.values():  # warm up imports and caches
        fn(PDFS / f"{PAPER}.pdf")
    results: dict[str, dict] = {}
    texts: dict[str, str] = {}
    for name, fn in METHODS.items():
        best, pages = float("inf"), 0
        for _ in range(args.rounds):
            start, pages = time.perf_counter(), 0
            for path in files:
                out = fn(path)
                pages += len(out)
                if path.stem == PAPER:
                    texts[name] = "\n".join(out)
            best = min(best, time.perf_counter() - start)
        results[name] = {"pages": pages, "seconds": round(best, 3), "pages_per_s": round(pages / best, 1)}
    reference = strip_tex((PDFS / f"{PAPER}.tex").read_text(encoding="utf-8"))
    for name in METHODS:
        results[name]["f1_nlp2024"] = round(char_f1(texts[name], reference), 4)
    base = results["pypdf"]["pages_per_s"]
    for r in results.values():
        r["speed_vs_pypdf"] = round(r["pages_per_s"] / base, 2)
    print(f"{len(files)} PDFs from {PDFS}")
    print(f"{'method':<10} {'pages':>6} {'seconds':>8} {'pages/s':>8} {'x pypdf':>8} {'F1 NLP2024':>11}")
    for name, r in results.items():
        print(f"{name:<10} {r['pages']:>6} {r['seconds']:>8.3f} {r['pages_per_s']:>8.1f} "
              f"{r['speed_vs_pypdf']:>8.2f} {r['f1_nlp2024']:>11.4f}")
    out = {"files": [p.name for p in files], "rounds": args.rounds, "results": results}
    (ROOT / "bench" / "pdf_extract.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
