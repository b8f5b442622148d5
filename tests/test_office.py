"""Word, Excel, PowerPoint, HTML and CSV: facts at their locations, forms read as a person
sees them, and every kind of bad Office input named with its reason."""
from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from pathlib import Path

import pytest

from ragkit.errors import LoadError
from ragkit.loaders import discover, inspect_file, load
from ragkit.loaders.office import OLE_MAGIC

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpora"
OFFICE_SUFFIXES = {".docx", ".xlsx", ".pptx", ".html", ".csv"}


def _load_facts() -> list[dict]:
    spec = importlib.util.spec_from_file_location("office_facts", Path(__file__).with_name("office_facts.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.OFFICE_FACTS


FACTS = _load_facts()
OFFICE_FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in OFFICE_SUFFIXES)


def _units(name: str) -> dict[str | None, str]:
    return {d.location: d.text for d in load(CORPUS / name)}


def test_corpus_has_one_file_of_each_new_type_and_every_one_answers_a_fact() -> None:
    assert {p.suffix for p in OFFICE_FILES} == OFFICE_SUFFIXES
    assert {f["source"] for f in FACTS} == {p.name for p in OFFICE_FILES}
    assert any(f["question"].isascii() for f in FACTS) and any(not f["question"].isascii() for f in FACTS)


@pytest.mark.parametrize("fact", FACTS, ids=lambda f: f"{f['source']}:{f['location']}")
def test_fact_answer_is_at_its_location_only(fact: dict) -> None:
    units = _units(fact["source"])
    assert fact["answer"] in units[fact["location"]]
    assert [loc for loc, text in units.items() if fact["answer"] in text] == [fact["location"]]


def test_merged_cell_form_reads_as_the_sentences_a_person_sees() -> None:
    form = _units("equipment_ledger.xlsx")["車両使用申請書!B2:M10"]
    assert form.splitlines() == [
        "[車両使用申請書]",
        "社用車使用申請書",
        "申請日 2025年6月3日",  # 申/請/日 typed one character per 方眼紙 square
        "申請者 品質保証部 中村 美咲",
        "使用車両 品川 500 さ 12-34(ハイブリッド車)",
        "行き先 静岡県浜松市の協力工場",
        "使用目的 量産前の工程監査に立ち会うため",
        "運転前にアルコールチェックを受け、結果を安全運転管理者に報告すること。",
    ]


def test_merged_header_names_every_column_and_merged_category_every_row() -> None:
    ledger = _units("equipment_ledger.xlsx")["備品貸出台帳!A1:H6"]
    assert ("管理番号: EQ-0102 / 区分: 撮影機材 / 品名: ワイヤレスマイク / 借用者: 総務部 鈴木 / "
            "貸出期間 開始: 2025-04-10 / 貸出期間 返却予定: 2025-04-11 / 保管場所: 本社3階 備品庫B / "
            "評価額: 42,000") in ledger.splitlines()


def test_formula_reads_as_its_cached_value_and_hidden_sheet_is_reported() -> None:
    docs = load(CORPUS / "equipment_ledger.xlsx")
    assert "合計 531,000" in docs[1].text
    hidden = [d for d in docs if not d.text]
    assert [(d.location, d.extractor) for d in hidden] == [("旧データ", "skipped: hidden sheet '旧データ' not indexed")]


def test_docx_keeps_heading_path_table_rows_text_box_and_footnote() -> None:
    units = _units("keicho_rules.docx")
    marriage = units["§2.1 結婚祝金"].splitlines()
    assert marriage[0] == "慶弔見舞金規程 > 第2章 慶事 > 2.1 結婚祝金"
    assert "区分: 子の結婚 / 支給額: 20,000円 / 申請期限: 挙式日から3か月以内" in marriage
    assert "問い合わせ窓口:人事部 福利厚生グループ(内線 2281)" in units["§1.2 対象者"]


def test_pptx_slide_is_a_page_with_title_first_and_notes_last() -> None:
    docs = load(CORPUS / "quality_review.pptx")
    assert [(d.page, d.location) for d in docs] == [(n, f"slide {n}") for n in range(1, 5)]
    lines = docs[1].text.splitlines()
    assert lines[0] == "Defect rate by line" and lines[-1].startswith("Notes: Line B missed")


def test_html_drops_scripts_navigation_and_footer_and_decodes_shift_jis() -> None:
    docs = load(CORPUS / "hoyojo_sjis.html")
    text = "\n".join(d.text for d in docs)
    assert docs[0].extractor == "html:cp932"
    for dropped in ("visits", "font-family", "ホーム", "Copyright", "最近の更新", "社内ポータル"):
        assert dropped not in text.replace("社内ポータルの予約フォーム", "")


def test_csv_cp932_rows_carry_the_header() -> None:
    (doc,) = load(CORPUS / "shikaku_shoreikin.csv")
    assert doc.extractor == "csv:cp932" and doc.location == "rows 2–7"
    assert doc.text.splitlines()[0] == "資格名: 第一種電気工事士 / 区分: 技術 / 奨励金: 30,000円 / 対象部門: 製造部・設備保全課"


@pytest.mark.parametrize("path", OFFICE_FILES, ids=lambda p: p.name)
def test_inspect_works_for_every_new_type(path: Path, capsys) -> None:
    from ragkit.cli import main

    assert main(["inspect", str(path), "--json"]) == 0
    units = json.loads(capsys.readouterr().out)["pages"]
    assert units and all(u["location"] for u in units) and any(u["text"] for u in units)
    assert inspect_file(path) == units


# --- bad input ----------------------------------------------------------------------------
def _ole(extra: bytes = b"") -> bytes:
    return OLE_MAGIC + b"\0" * 504 + extra + b"\0" * 1024


def _big_sheet(path: Path, rows: int) -> None:
    """The bench's generated sales sheet (bench/office.py), loaded by path: one generator."""
    spec = importlib.util.spec_from_file_location("bench_office", ROOT / "bench" / "office.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_big_sheet(path, rows)


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory) -> Path:
    import openpyxl

    root = tmp_path_factory.mktemp("bad")
    (root / "old.doc").write_bytes(_ole())
    (root / "old.xls").write_bytes(_ole())
    (root / "old.ppt").write_bytes(_ole())
    (root / "secret.docx").write_bytes(_ole("EncryptionInfo".encode("utf-16-le") + b"\0" * 8
                                            + "EncryptedPackage".encode("utf-16-le")))
    (root / "renamed.xlsx").write_bytes(_ole())  # an old .xls renamed
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "not a workbook")
    (root / "zip.xlsx").write_bytes(buf.getvalue())
    (root / "truncated.pptx").write_bytes((CORPUS / "quality_review.pptx").read_bytes()[:3000])
    openpyxl.Workbook().save(root / "empty.xlsx")
    (root / "good.docx").write_bytes((CORPUS / "keicho_rules.docx").read_bytes())
    (root / "good.csv").write_bytes((CORPUS / "shikaku_shoreikin.csv").read_bytes())
    return root


EXPECTED = {
    "old.doc": "save as .docx", "old.xls": "save as .xlsx", "old.ppt": "save as .pptx",
    "secret.docx": "password-protected Word document", "renamed.xlsx": "old binary Office file named .xlsx",
    "zip.xlsx": "not an Excel workbook", "truncated.pptx": "damaged PowerPoint presentation",
    "empty.xlsx": "empty workbook",
}


def test_each_bad_file_is_named_with_its_reason_and_the_good_ones_are_searchable(bad_corpus, embedder):
    from ragkit.pipeline import RAG

    files, problems = discover([bad_corpus])
    assert problems == [] and {p.name for p in files} == set(EXPECTED) | {"good.docx", "good.csv"}
    rag = RAG(store=bad_corpus.parent / "bad-store")
    rag._embedder = embedder
    report = rag.ingest([bad_corpus])
    reasons = {Path(f["path"]).name: f["reason"] for f in report.failed}
    assert set(reasons) == set(EXPECTED)
    for name, phrase in EXPECTED.items():
        assert phrase in reasons[name], reasons[name]
    assert report.new == 2
    hits = rag.retrieve("中小企業診断士の奨励金はいくらですか？", k=3)
    assert Path(hits[0].chunk.source).name == "good.csv" and hits[0].chunk.location == "rows 2–7"
    assert hits[0].to_json()["location"] == "rows 2–7"


def test_50000_row_sheet_loads_in_blocks_located_by_row_range(tmp_path) -> None:
    path = tmp_path / "big.xlsx"
    _big_sheet(path, 50_000)
    docs = load(path)
    assert docs[0].location.startswith("売上!A1:E") and docs[-1].location.endswith(":E50001")
    assert "伝票番号: S050000 / 日付: 2025-09-01 / 得意先: 得意先45 / 品目: 品目28 / 金額: 500000" in docs[-1].text
    assert all(len(d.text) < 600 for d in docs)


# --- retrieval and citations over the whole sample corpus -----------------------------------
def test_every_office_fact_location_is_in_the_top_three(corpus_store) -> None:
    rag, report, _ = corpus_store
    assert {Path(w["path"]).name for w in report.warnings} >= {"equipment_ledger.xlsx"}
    misses = []
    for fact in FACTS:
        hits = rag.retrieve(fact["question"], k=3)
        if not any(Path(h.chunk.source).name == fact["source"] and h.chunk.location == fact["location"]
                   for h in hits):
            misses.append((fact["question"], [(Path(h.chunk.source).name, h.chunk.location) for h in hits]))
    assert misses == []


def test_ask_cites_the_file_and_location(corpus_store) -> None:
    rag, _, _ = corpus_store
    answer = rag.ask("What was the defect rate of Line B?")
    top = answer.citations[0]
    assert Path(top.source).name == "quality_review.pptx" and top.location == "slide 2" and top.page == 2
    assert top.to_json()["location"] == "slide 2"
