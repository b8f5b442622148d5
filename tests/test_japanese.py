"""Sentence splitting and lexical tokens (real fugashi + unidic-lite)."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from ragkit.text.japanese import index_tokens, query_tokens, split_sentences


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("今日は晴れです。明日は雨でしょう！本当？はい。",
         ["今日は晴れです。", "明日は雨でしょう！", "本当？", "はい。"]),
        ("本当?はい!そうです", ["本当?", "はい!", "そうです"]),  # NFKC turns ？！ into ?!
        ("えっ！？まさか。", ["えっ！？", "まさか。"]),
        # quotes: 。 inside 「」 does not end the sentence, the closing bracket belongs to it
        ("彼は「行く。」と言った。次の文。", ["彼は「行く。」と言った。", "次の文。"]),
        ("「こんにちは。」「さようなら。」", ["「こんにちは。」", "「さようなら。」"]),
        ("「はい。」彼は答えた。", ["「はい。」", "彼は答えた。"]),
        ("価格は1,000円（税込。）です。", ["価格は1,000円（税込。）です。"]),
        ("【重要。必ず読む】本文。", ["【重要。必ず読む】本文。"]),
        # nesting and mismatched nesting
        ("彼女は『本（上巻。）を読んだ。』と書いた。終わり。",
         ["彼女は『本（上巻。）を読んだ。』と書いた。", "終わり。"]),
        ("「外（内。」と閉じる。次。", ["「外（内。」と閉じる。", "次。"]),
        ("「外（内」で終わる。次。", ["「外（内」で終わる。", "次。"]),
        # English: decimals, abbreviations, initials, list numbers, quotes
        ("The value is 3.5 today. We use tools, e.g. hammers. Next one!",
         ["The value is 3.5 today.", "We use tools, e.g. hammers.", "Next one!"]),
        ("Dr. Smith met J. Doe at 10 a.m. today. Bye.",
         ["Dr. Smith met J. Doe at 10 a.m. today.", "Bye."]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("See example.com and a.php?x=1 now. Done", ["See example.com and a.php?x=1 now.", "Done"]),
        # mixed scripts, full-width period (NFKC makes it '.')
        ("日本語の文です。This is English. Mixed 文も。",
         ["日本語の文です。", "This is English.", "Mixed 文も。"]),
        ("研究は重要である.次の文である.", ["研究は重要である.", "次の文である."]),
        # line structure: headings, list items, blank lines; wrapped English lines stay joined
        ("# 見出し\n本文です。\n- 項目1\n- 項目2\n\n次の段落。",
         ["# 見出し", "本文です。", "- 項目1", "- 項目2", "次の段落。"]),
        ("第1条 目的\n本規則は社員に適用する", ["第1条 目的", "本規則は社員に適用する"]),
        ("1. First item\n2. Second item", ["1. First item", "2. Second item"]),
        ("Line one of a wrapped\nsentence goes on. Second.",
         ["Line one of a wrapped\nsentence goes on.", "Second."]),
        # an unclosed bracket is capped at the paragraph break and is no bracket at all
        ("括弧が（閉じない文。次の文。\n\n次の段落です。", ["括弧が（閉じない文。", "次の文。", "次の段落です。"]),
        ("「閉じない引用。次。\n\n段落。", ["「閉じない引用。", "次。", "段落。"]),
        ("  \n 前後の空白。  \n", ["前後の空白。"]),
        ("", []),
        ("   \n\n  ", []),
    ],
)
def test_split_sentences(text, expected):
    assert sentences(text) == expected


def test_unclosed_bracket_does_not_swallow_a_long_paragraph():
    text = "注意（この括弧は閉じない。" + "これは文です。" * 200
    spans = split_sentences(text)
    assert len(spans) > 150
    assert max(b - a for a, b in spans) < 100


def test_spans_are_ordered_stripped_and_cover_every_character():
    text = "第1章 総則\n\n本規則は、「社員」（正社員。）に適用する。 Section 2.1 applies, e.g. here.\n- 項目"
    spans = split_sentences(text)
    covered = set()
    prev_end = 0
    for a, b in spans:
        assert prev_end <= a < b
        assert text[a:b] == text[a:b].strip()
        covered.update(range(a, b))
        prev_end = b
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


@pytest.mark.parametrize(
    "text, expected",
    [
        ("東京都に行った。", ["東京", "都", "に", "行っ", "た"]),
        ("Hello, World! It's e.g. 3.5", ["hello", "world", "it", "s", "e", "g", "3", "5"]),
        ("ＡＩを使う２０２４年", ["ai", "を", "使う", "2024", "年"]),  # full-width → NFKC
        ("ｶﾀｶﾅ", ["カタカナ"]),  # half-width katakana → NFKC
        ("RAGで検索", ["rag", "で", "検索"]),
        ("「」。、・…※〒", []),
    ],
)
def test_index_tokens(text, expected):
    assert index_tokens(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("富士山の高さは何メートルですか？", ["富士", "山", "高", "さ", "メートル"]),
        ("誰がいつどこで会議をしましたか", ["会議"]),
        ("What is the capital of France?", ["capital", "france"]),
        ("経費精算の締め日はいつ？", ["経費", "精算", "締め日"]),
        ("VPNの接続方法は?", ["vpn", "接続", "方法"]),
    ],
)
def test_query_tokens(text, expected):
    assert query_tokens(text) == expected


@pytest.mark.parametrize("text", ["何？", "what is it?", "それは何ですか"])
def test_query_tokens_fall_back_to_all_tokens(text):
    assert query_tokens(text)
    assert query_tokens(text) == index_tokens(text)


FTS_NASTY = [
    '"', '""', "*", "a*", ":", "col:value", "(", ")", "(a OR b)", "-", "-x", "^", "^start",
    "NEAR", "NEAR(a b, 3)", "AND", "OR", "NOT", "a AND b", '"unbalanced', "+", "{a b}", "'",
]


@pytest.mark.parametrize("text", FTS_NASTY)
def test_fts_syntax_characters_become_harmless_tokens(text):
    for tokens in (index_tokens(text), query_tokens(text)):
        for tok in tokens:
            assert tok and tok == tok.lower()
            assert not set(tok) & set('"*:()^-+{}'), tok


def test_tokens_match_in_fts5():
    """Index and query tokens meet in an FTS5 table even for questions full of syntax characters."""
    db = sqlite3.connect(":memory:")
    db.execute('CREATE VIRTUAL TABLE t USING fts5(tokens, tokenize="unicode61 remove_diacritics 0")')
    docs = ["有給休暇は年間20日付与される。", "VPN接続にはMFAが必要です。", "The NEAR-field reader costs $30."]
    db.executemany("INSERT INTO t(rowid, tokens) VALUES (?, ?)",
                   [(i + 1, " ".join(index_tokens(d))) for i, d in enumerate(docs)])

    def best(question: str) -> int:
        q = " OR ".join('"' + t.replace('"', '""') + '"' for t in query_tokens(question))
        return db.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t)", (q,)).fetchone()[0]

    assert best("有給休暇は何日ですか？") == 1
    assert best('"VPN" (接続) AND MFA*?') == 2
    assert best("NEAR-field reader: cost^2 OR -price?") == 3


def test_import_is_cheap():
    """Importing the module must not load MeCab: the tagger is created on first use."""
    code = "import sys, ragkit.text.japanese as j; print('fugashi' in sys.modules, j._TAGGER is None)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
