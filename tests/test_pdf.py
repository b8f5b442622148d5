"""PDF loading: the extraction chain on the real shared PDFs, page numbers, encryption, errors."""
from pathlib import Path

import pytest

from ragkit.errors import LoadError
from ragkit.loaders import load
from ragkit.loaders import pdf as pdf_mod
from ragkit.loaders.pdf import inspect_pdf
from ragkit.loaders.quality import SUSPECT_BELOW

PDFS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pdfs"
needs_data = pytest.mark.skipif(not PDFS.is_dir(), reason="shared data (../shared/data) is absent")
JA_PDFS = sorted(p.name for p in PDFS.glob("ja_*.pdf")) if PDFS.is_dir() else []

_cache: dict[str, list] = {}


def _load(name: str):
    if name not in _cache:
        _cache[name] = load(PDFS / name)
    return _cache[name]


@needs_data
@pytest.mark.parametrize("name", JA_PDFS)
def test_japanese_pdfs_have_no_mojibake_pages(name):
    docs = _load(name)
    assert [d.page for d in docs] == list(range(1, len(docs) + 1))
    texted = [d for d in docs if d.text]
    assert texted, "no page with text"
    for d in texted:
        assert d.quality >= SUSPECT_BELOW, (d.page, d.extractor, d.quality, d.text[:80])
        assert "\ufffd" not in d.text and "(cid:" not in d.text


@needs_data
@pytest.mark.parametrize(
    "name, expected",
    [
        ("ja_anlp_nlp2024_sample_2col.pdf", "文書クラス"),
        ("ja_pdfminer_jo_vertical.pdf", "わたくしといふ現象は"),
        ("ja_azlayout_wagahai_61p_vertical.pdf", "吾輩は猫である"),
        ("ja_pdfjs_noembed_sjis.pdf", "あいうえお"),
        ("ja_pdfjs_noembed_eucjp.pdf", "あいうえお"),
    ],
)
def test_expected_japanese_strings(name, expected):
    text = "\n".join(d.text for d in _load(name))
    assert expected in text


@needs_data
def test_vertical_novel_has_no_inter_character_spaces():
    docs = _load("ja_azlayout_wagahai_61p_vertical.pdf")
    assert "吾 輩" not in docs[0].text
    assert all(d.quality >= 0.9 for d in docs if d.text)


@needs_data
def test_vertical_novel_furigana_is_not_read_into_the_body():
    text = "\n".join(d.text for d in _load("ja_azlayout_wagahai_61p_vertical.pdf"))
    assert "とんと見当がつかぬ" in text and "一番獰悪な種族" in text
    assert "けんとう" not in text and "わがはい" not in text


def test_only_small_kana_only_lines_are_dropped_as_ruby():
    from ragkit.loaders.extractors import drop_ruby_lines

    text = "吾輩は猫である\r\nわがはい\r\n注記\r\nちいさい\r\nおおきい"
    small = {text.index("わがはい"), text.index("注記"), text.index("ちいさい")}
    sizes = {i: 5.0 if any(s <= i < s + 4 for s in small) else 11.0 for i in range(len(text))}
    kept = drop_ruby_lines(text, sizes.__getitem__)
    # small kana-only lines go; small print with kanji and full-size kana lines stay
    assert kept == "吾輩は猫である\r\n注記\r\nおおきい"
    assert drop_ruby_lines("本文だけ", sizes.__getitem__) == "本文だけ"


@needs_data
def test_scanned_pdf_has_no_text_layer():
    with pytest.raises(LoadError, match=r"no text layer \(OCR is not supported\)"):
        load(PDFS / "en_ocrmypdf_linn_scanned.pdf")


@needs_data
def test_inspect_shows_the_text_as_chunked():
    path = PDFS / "ja_anlp_nlp2024_sample_2col.pdf"
    pages = inspect_pdf(path)
    assert [p["text"] for p in pages] == [d.text for d in _load(path.name)]
    assert set(pages[0]) == {"page", "extractor", "quality", "text"}


# --- generated PDFs ------------------------------------------------------------------------
MARKERS = ["あおぞら", "いなずま", "うみかぜ", None, "えだまめ", "おにぎり"]  # None: a blank page


def _make_pdf(path: Path, markers, encrypt: str | None = None) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
    c = canvas.Canvas(str(path), encrypt=encrypt)
    for n, marker in enumerate(markers, start=1):
        if marker is not None:
            c.setFont("HeiseiKakuGo-W5", 10)
            c.drawString(72, 800, "社外秘 ragkit 試験文書")  # running header
            c.setFont("HeiseiKakuGo-W5", 12)
            body = [f"この頁の目印は「{marker}」です。", f"{marker}について述べる。",
                    "本文の中ほどには共通の説明が書かれている。",  # not at an edge: must stay
                    f"{marker}の続き。", f"{marker}の話はここまで。"]
            for k, line in enumerate(body):
                c.drawString(72, 700 - 20 * k, line)
            c.setFont("HeiseiKakuGo-W5", 10)
            c.drawString(290, 40, f"- {n} -")  # page number footer
        c.showPage()
    c.save()


@pytest.mark.parametrize("force_fallbacks", [False, True])
def test_page_numbers_survive_fallbacks_and_cleanup(tmp_path, monkeypatch, force_fallbacks):
    if force_fallbacks:  # every page goes through the fallbacks, and the last one wins
        monkeypatch.setattr(pdf_mod, "FALLBACK_BELOW", 1.01)
        monkeypatch.setattr(pdf_mod, "MARGIN", -1.0)
    path = tmp_path / "markers.pdf"
    _make_pdf(path, MARKERS)
    docs = load(path)
    assert [d.page for d in docs] == [1, 2, 3, 4, 5, 6]
    for d, marker in zip(docs, MARKERS):
        assert d.source == str(path)
        if marker is None:
            assert (d.text, d.extractor, d.quality) == ("", "none", 0.0)
            continue
        assert f"「{marker}」" in d.text
        others = [m for m in MARKERS if m and m != marker]
        assert not any(m in d.text for m in others)
        assert "社外秘" not in d.text and f"- {d.page} -" not in d.text  # header/footer dropped
        assert "共通の説明" in d.text
        assert d.quality >= 0.9
        assert d.extractor == ("pypdf" if force_fallbacks else "pypdfium2")


def test_encrypted_pdf_needs_the_password(tmp_path):
    path = tmp_path / "locked.pdf"
    _make_pdf(path, ["ひみつ"], encrypt="secret")
    with pytest.raises(LoadError, match=r"encrypted PDF: pass --pdf-password"):
        load(path)
    (doc,) = load(path, pdf_password="secret")
    assert "「ひみつ」" in doc.text
    with pytest.raises(LoadError, match="wrong --pdf-password"):
        load(path, pdf_password="nope")


def test_pdf_encrypted_with_empty_password_is_read(tmp_path):
    from pypdf import PdfReader, PdfWriter

    plain, locked = tmp_path / "plain.pdf", tmp_path / "aes.pdf"
    _make_pdf(plain, ["あける"])
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-256")
    with open(locked, "wb") as fh:
        writer.write(fh)
    assert PdfReader(locked).is_encrypted
    (doc,) = load(locked)
    assert "「あける」" in doc.text


@pytest.mark.parametrize("content, reason", [(b"", "empty file"), (b"%PDF-1.4\nnot really", "broken PDF")])
def test_broken_pdfs_are_errors(tmp_path, content, reason):
    path = tmp_path / "bad.pdf"
    path.write_bytes(content)
    with pytest.raises(LoadError, match=reason) as err:
        load(path)
    assert err.value.path == str(path)
