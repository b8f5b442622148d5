"""The sample corpus: generated files match their sources, and every fact sits where it claims."""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from ragkit.text.normalize import normalize

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpora"
BUILD = CORPUS / ".src" / "build_corpus.py"
CP932_FILE = CORPUS / "soumu_notice_sjis.txt"
# Office, HTML and CSV files have their own facts and checks (tests/office_facts.py, test_office.py)
OFFICE_SUFFIXES = {".docx", ".xlsx", ".pptx", ".html", ".csv"}


def _load_facts() -> list[dict]:
    """Import tests/corpus_facts.py by path, so it works whether or not tests/ is a package."""
    path = Path(__file__).with_name("corpus_facts.py")
    spec = importlib.util.spec_from_file_location("corpus_facts", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FACTS


FACTS = _load_facts()


def squash(text: str) -> str:
    """Remove all whitespace: PDF extraction breaks lines where the layout wrapped them."""
    return re.sub(r"\s+", "", text)


def pdf_pages(path: Path) -> list[str]:
    """Text of each page, extracted with pypdfium2."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def pypdf_pages(path: Path) -> list[str]:
    """Text of each page, extracted with pypdf (the other extractor a loader may use)."""
    return [page.extract_text() for page in PdfReader(path).pages]


@cache
def corpus_texts() -> dict[str, list[str]]:
    """Every visible corpus file as a list of page texts (one entry for text files)."""
    texts = {}
    for path in sorted(p for p in CORPUS.iterdir() if p.is_file() and not p.name.startswith(".")):
        if path.suffix in OFFICE_SUFFIXES:
            continue
        if path.suffix == ".pdf":
            texts[path.name] = pdf_pages(path)
        else:
            encoding = "cp932" if path == CP932_FILE else "utf-8"
            texts[path.name] = [path.read_text(encoding=encoding)]
    return texts


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the build script into a fresh folder, the way a maintainer would."""
    out = tmp_path_factory.mktemp("rebuilt")
    subprocess.run([sys.executable, str(BUILD), "--out", str(out)], check=True, capture_output=True)
    return out


def test_build_writes_exactly_the_committed_generated_files(rebuilt: Path) -> None:
    built = sorted(p.name for p in rebuilt.iterdir())
    committed = sorted(p.name for p in CORPUS.glob("*.pdf")) + [CP932_FILE.name]
    committed += [p.name for p in CORPUS.iterdir() if p.suffix in OFFICE_SUFFIXES]
    assert built == sorted(committed)


def test_committed_office_files_match_their_sources(rebuilt: Path) -> None:
    """Same units, locations and text as a rebuild (bytes may differ across library versions)."""
    from ragkit.loaders import load

    for built in sorted(p for p in rebuilt.iterdir() if p.suffix in OFFICE_SUFFIXES):
        committed = CORPUS / built.name
        assert [(d.location, d.text) for d in load(built)] == [(d.location, d.text) for d in load(committed)], (
            f"{built.name} is stale: run python corpora/.src/build_corpus.py")


def test_committed_pdfs_match_their_sources(rebuilt: Path) -> None:
    for built in sorted(rebuilt.glob("*.pdf")):
        committed = pdf_pages(CORPUS / built.name)
        assert [squash(t) for t in pdf_pages(built)] == [squash(t) for t in committed], (
            f"{built.name} is stale: run python corpora/.src/build_corpus.py")


def test_committed_cp932_file_matches_its_source(rebuilt: Path) -> None:
    assert (rebuilt / CP932_FILE.name).read_bytes() == CP932_FILE.read_bytes()


def test_build_is_deterministic(rebuilt: Path, tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(BUILD), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    for first in rebuilt.iterdir():
        assert (tmp_path / first.name).read_bytes() == first.read_bytes(), first.name


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.pdf")), ids=lambda p: p.name)
def test_pdf_has_3_to_6_pages_of_text_inside_the_page(path: Path) -> None:
    pdf = pdfium.PdfDocument(str(path))
    try:
        assert 3 <= len(pdf) <= 6
        for page in pdf:
            width, height = page.get_size()
            textpage = page.get_textpage()
            assert textpage.count_chars() > 200
            for i in range(textpage.count_chars()):
                left, bottom, right, top = textpage.get_charbox(i)
                if right > left:  # generated spaces and line breaks have empty boxes
                    assert 0 <= left and right <= width and 0 <= bottom and top <= height
    finally:
        pdf.close()


def test_facts_table_is_large_enough() -> None:
    assert len(FACTS) >= 12
    assert sum(1 for f in FACTS if f["page"] is not None and f["page"] > 1) >= 6
    assert sum(1 for f in FACTS if f["source"] == CP932_FILE.name) >= 2
    assert all(f["question"].rstrip().endswith(("?", "？")) for f in FACTS)


@pytest.mark.parametrize("fact", FACTS, ids=lambda f: f"{f['source']}:{f['page']}:{f['answer']}")
def test_fact_answer_is_on_the_stated_page(fact: dict) -> None:
    pages = corpus_texts()[fact["source"]]
    if fact["source"].endswith(".pdf"):
        assert fact["page"] is not None and 1 <= fact["page"] <= len(pages)
        assert squash(fact["answer"]) in squash(pages[fact["page"] - 1])
    else:
        assert fact["page"] is None
        assert fact["answer"] in pages[0]


@pytest.mark.parametrize("fact", FACTS, ids=lambda f: f"{f['source']}:{f['answer']}")
def test_fact_survives_pypdf_extraction_and_ragkit_normalisation(fact: dict) -> None:
    """Both PDF extractors find the answer, and normalise() (NFKC + line joining) keeps it whole."""
    text = corpus_texts()[fact["source"]][(fact["page"] or 1) - 1]
    assert normalize(fact["answer"]) in normalize(text)
    if fact["page"] is not None:
        page = pypdf_pages(CORPUS / fact["source"])[fact["page"] - 1]
        assert squash(fact["answer"]) in squash(page)


@pytest.mark.parametrize("fact", FACTS, ids=lambda f: f"{f['source']}:{f['answer']}")
def test_fact_answer_occurs_on_exactly_one_page_of_the_corpus(fact: dict) -> None:
    needle = squash(fact["answer"])
    where = [(name, i + 1) for name, pages in corpus_texts().items()
             for i, text in enumerate(pages) if needle in squash(text)]
    assert len(where) == 1, where


def test_every_visible_file_answers_some_fact() -> None:
    assert set(corpus_texts()) == {f["source"] for f in FACTS}
    visible = {p.name for p in CORPUS.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert visible - set(corpus_texts()) == {p.name for p in CORPUS.iterdir() if p.suffix in OFFICE_SUFFIXES}


def test_cp932_file_is_not_utf8_but_is_cp932() -> None:
    data = CP932_FILE.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = data.decode("cp932")
    assert "健康診断" in text and "髙木" in text  # 髙 exists only in CP932's IBM extensions
    with pytest.raises(UnicodeDecodeError):
        data.decode("shift_jis")  # a loader must try cp932, not plain shift_jis


def test_markdown_files_in_both_languages() -> None:
    md = {p.name: p.read_text(encoding="utf-8") for p in CORPUS.glob("*.md")}
    assert any(re.search(r"[\u3040-\u30ff]", t) for t in md.values())
    assert any(not re.search(r"[\u3040-\u30ff]", t) for t in md.values())


def test_corpus_is_small() -> None:
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    assert total < 1_000_000
