"""The mojibake score on constructed strings: clean text high, each kind of garbage low."""
import pytest

from ragkit.loaders.quality import SUSPECT_BELOW, score_text, spaced_ratio

CLEAN_JA = "本研究では、文書クラスの設計について述べる。実験の結果、精度は92.5%に向上した。"
CLEAN_EN = "The quick brown fox jumps over the lazy dog (see Section 3.2, p. 14)."


@pytest.mark.parametrize("text", [CLEAN_JA, CLEAN_EN, "第3条　国は、ＡＢＣ（全角）を定める。", CLEAN_JA + "\n" + CLEAN_EN])
def test_clean_text_scores_high(text):
    assert score_text(text) >= 0.95


@pytest.mark.parametrize(
    "text",
    [
        "NLP2024 จॻΫϥε จॻΫϥεͷઃܭ ΋ͱͷจষ",  # pypdf's mojibake of the NLP2024 paper
        "\ue000\ue001\ue002\ue003 \ue010\ue011",  # private use area
        "\ufffd\ufffd\ufffd \ufffd\ufffd",  # replacement characters
        "(cid:12)(cid:345)(cid:67) (cid:12)(cid:99)",  # pdfminer without a CMap
        "ﺍﻟﻌﺮﺑﻴﺔ ﻣﺮﺣﺒﺎ",  # Arabic presentation forms
        "吾 輩 は 猫 で あ る 。 名 前 は ま だ 無 い 。",  # glyph-by-glyph spacing
        "\x01\x02\x03\x04\x05\x06",  # control characters
    ],
)
def test_garbage_scores_below_suspect(text):
    assert score_text(text) < SUSPECT_BELOW


def test_empty_scores_zero():
    assert score_text("") == 0.0
    assert score_text(" \n\t ") == 0.0


def test_some_garbage_lowers_the_score_proportionally():
    clean = score_text(CLEAN_JA * 3)
    tainted = score_text(CLEAN_JA * 3 + "\ufffd" * 10)
    assert tainted < clean - 0.15  # ~8% garbage costs ~3 times its share
    assert score_text(CLEAN_JA + "(cid:12)") < clean


def test_spaced_ratio_detects_glyph_spacing_only():
    assert spaced_ratio("吾 輩 は 猫 で あ る") == 1.0
    assert spaced_ratio("吾輩は猫である") == 0.0
    assert spaced_ratio("Tokyo と Osaka") == 0.0  # a space next to Latin is normal


def test_score_is_bounded():
    for text in [CLEAN_JA, "ΑΒΓ", "한국어", "x"]:
        assert 0.0 <= score_text(text) <= 1.0
