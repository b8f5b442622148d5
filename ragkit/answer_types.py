"""What kind of answer a question asks for, and whether a text holds one.

いくら/何円/how much → ``amount``; 何文字/何日/何回/how many → ``count``; いつ/何時/when →
``datetime``; 誰/who → ``person`` (a name or a role); どこ/where → ``place``; どうすれば/how do I
→ ``procedure``; a question without a question word (…してもいいですか？) → ``yesno``. Amounts,
counts and dates are patterns (a number with 円, 文字, 日, 時, か月, %, …); people and places are
MeCab's 名詞-固有名詞-人名/地名 or a role/place word (部長, 窓口, 4階, 内線, floor, room, …).

The reader uses the kind twice: to choose the source sentence that answers (it must hold an item
of the kind), and to check a citation (an answer of the wrong kind is not ``supported``). Kinds
without a shape (``yesno``, ``procedure``, None) check nothing.
"""
from __future__ import annotations

import re
import unicodedata

from ragkit.query import Query, as_query

KINDS = ("amount", "count", "datetime", "person", "place", "yesno", "procedure")
TYPED = frozenset({"amount", "count", "datetime", "person", "place"})

# First match wins: specific question words before general ones (何時間 is a count, 何時 a time).
_QUESTION_KIND = [
    ("procedure", r"どうすれば|どうしたら|どのように|どうやって|手順|方法|what should i do|what do i do|how do i|how can i|how to\b"),
    ("amount", r"いくら|何円|金額|料金|予算|値段|価格|how much (?:does|is|do|money)|\bprice\b|\bcost\b"),
    ("count", r"(?:最大|最長|最高|合計)何日|何(?:文字|日間|日(?!まで)|人|名|回|件|台|か月|ヶ月|カ月|時間|分|年|週|km|キロ|個|歳|割|%|パーセント|世代|種類)"
              r"|どのくらい|どれくらい|how (?:many|long|far|heavy|much \w+)"),
    ("datetime", r"いつ|何時|何日|何月|何曜|期限|締め切り|when\b|what time|how often|what day"),
    ("person", r"誰|どなた|だれ|責任者|担当者|承認者|\bwho\b|\bwhom\b"),
    ("place", r"どこ|どちら|場所|会場|連絡先|\bwhere\b|which floor"),
]
_YESNO = re.compile(r"(?:ですか|ますか|ませんか|でしょうか)[?？]?$|^(?:can|may|is|are|do|does|should|must|am) ", re.I)

_NUM = r"[0-9][0-9,.]*"
_SHAPE = {
    "amount": re.compile(rf"{_NUM}\s*(?:万|億)?円|[¥$]\s*{_NUM}|{_NUM}\s*(?:yen|dollars?|usd|jpy|euros?)\b|{_NUM}\s*%", re.I),
    "count": re.compile(
        rf"{_NUM}\s*(?:文字|日|人|名|回|件|台|か月|ヶ月|カ月|箇月|時間|分|秒|年|週|km|kg|mm|m|個|歳|割|%|倍|世代|区分|階|円|万|億"
        r"|v\b|kw\b|rpm|litres?|liters?|minutes?|hours?|days?|weeks?|months?|years?|times|characters|spaces|db|a\b)"
        rf"|{_NUM}-(?:minute|hour|day|week|month|year)", re.I),
    "datetime": re.compile(
        rf"{_NUM}\s*(?:月|日|時|年|営業日)|午前|午後|正午|深夜|翌月|毎月|毎年|毎週|前日|初日|翌日|当日|以内|[0-9]{{1,2}}:[0-9]{{2}}"
        r"|\b(?:weekdays?|weekends?|monday|tuesday|wednesday|thursday|friday|saturday|sunday|daily|every|"
        r"january|february|march|april|may|june|july|august|september|october|november|december)\b"
        rf"|{_NUM}\s*(?:minutes?|hours?|days?|weeks?|months?|years?)\b", re.I),
    "person": re.compile(
        r"(?:本部|部|課|室|係|班)?長|社長|取締役|役員|担当|責任者|窓口|上司|所属|人事部|総務部|経理部|情報システム部|センター"
        r"|\b(?:manager|director|officer|department|team|center|centre|desk|staff|[A-Z][a-z]+ [A-Z][a-z]+)\b"),
    "place": re.compile(
        r"[0-9]+\s*階|階|室|区|市|県|町|公園|カウンター|受付|窓口|内線|部|センター|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+"
        r"|\b(?:floor|room|station|desk|building|exit|office|center|centre|reception|extension)\b", re.I),
}
_MECAB_NAMES = {"person": "人名", "place": "地名"}


def expected_kind(question: "str | Query") -> str | None:
    """The kind of answer ``question`` asks for (``KINDS``), or None when it does not say."""
    text = unicodedata.normalize("NFKC", as_query(question).normalized).lower()
    for kind, pattern in _QUESTION_KIND:
        if re.search(pattern, text):
            return kind
    return "yesno" if _YESNO.search(text.strip()) else None


def has_kind(kind: str | None, text: str, question: str = "") -> bool:
    """Whether ``text`` holds an answer of ``kind``; True for kinds without a shape. What the
    ``question`` itself says does not count (入社初日の流れ holds no time for 入社初日の集合は何時)."""
    if kind not in TYPED:
        return True
    text = unicodedata.normalize("NFKC", text)
    asked = unicodedata.normalize("NFKC", question)
    if any(not asked or m.group() not in asked for m in _SHAPE[kind].finditer(text)):
        return True
    return kind in _MECAB_NAMES and _has_proper_noun(text, _MECAB_NAMES[kind])


def _has_proper_noun(text: str, pos3: str) -> bool:
    """MeCab (unidic) tags a token of ``text`` 名詞-固有名詞-``pos3`` (人名, 地名)."""
    from ragkit.text.japanese import _tagger  # the one shared tagger

    return any(w.feature.pos2 == "固有名詞" and w.feature.pos3 == pos3 for w in _tagger()(text))
