"""What kind of answer a question asks for, and whether a text holds one.

いくら/何円/how much → ``amount``; 何文字/何日/何回/how many → ``count``; いつ/何時/when →
``datetime``; 連絡先/電話番号/contact details → ``contact`` (an extension, a phone number, an
e-mail address); 誰/who → ``person`` (a name or a role); どこ/where → ``place``; どうすれば/how do I
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

KINDS = ("amount", "count", "datetime", "contact", "person", "place", "yesno", "procedure")
TYPED = frozenset({"amount", "count", "datetime", "contact", "person", "place"})

# First match wins: specific question words before general ones (何時間 is a count, 何時 a time).
_QUESTION_KIND = [
    ("procedure", r"どうすれば|どうしたら|どのように|どうやって|手順|方法|what should i do|what do i do|how do i|how can i|how to\b"),
    ("amount", r"いくら|何円|金額|料金|予算|値段|価格|how much (?:does|is|do|money)|\bprice\b|\bcost\b"),
    ("count", r"(?:最大|最長|最高|合計)何日|何(?:文字|日間|日(?!まで)|人|名|回|件|台|か月|ヶ月|カ月|時間|分|年|週|km|キロ|個|歳|割|%|パーセント|世代|種類)"
              r"|どのくらい|どれくらい|how (?:many|long|far|heavy|much \w+)"),
    ("datetime", r"いつ|何時|何日|何月|何曜|期限|締め切り|when\b|what time|how often|what day"),
    ("contact", r"連絡先|問い合わせ先|問合せ先|電話番号|内線番号|メールアドレス|\bcontact (?:details|information|address)|phone number|e-?mail address"),
    ("person", r"誰|どなた|だれ|責任者|担当者|承認者|\bwho\b|\bwhom\b"),
    ("place", r"どこ|どちら|場所|会場|連絡先|\bwhere\b|which floor"),
]
_YESNO = re.compile(r"(?:ですか|ますか|ませんか|でしょうか)[?？]?$|^(?:can|may|is|are|do|does|should|must|am) ", re.I)

_NUM = r"[0-9][0-9,.]*"
_SHAPE = {
    "amount": re.compile(rf"{_NUM}\s*(?:万|億)?円|[¥$]\s*{_NUM}|{_NUM}\s*(?:yen|dollars?|usd|jpy|euros?)\b", re.I),
    "count": re.compile(
        rf"{_NUM}\s*(?:文字|日|人|名|回|件|台|か月|ヶ月|カ月|箇月|時間|分|秒|年|週|km|kg|mm|m|個|歳|割|%|倍|世代|区分|階|円|万|億"
        r"|v\b|kw\b|rpm|litres?|liters?|minutes?|hours?|days?|weeks?|months?|years?|times|characters|spaces|db|a\b)"
        rf"|{_NUM}-(?:minute|hour|day|week|month|year)", re.I),
    "datetime": re.compile(
        rf"{_NUM}\s*(?:月|日|時|年|営業日)|午前|午後|正午|深夜|翌月|毎月|毎年|毎週|前日|初日|翌日|当日|以内|[0-9]{{1,2}}:[0-9]{{2}}"
        r"|\b(?:weekdays?|weekends?|monday|tuesday|wednesday|thursday|friday|saturday|sunday|daily|every|"
        r"january|february|march|april|may|june|july|august|september|october|november|december)\b"
        rf"|{_NUM}\s*(?:minutes?|hours?|days?|weeks?|months?|years?)\b", re.I),
    "contact": re.compile(
        r"内線\s*[0-9]|[0-9]{2,4}-[0-9]{2,4}-[0-9]{3,4}|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+|\b(?:extension|ext\.|tel\.?|phone)\s*[0-9]", re.I),
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


# ---------------------------------------------------------------- amounts against thresholds
# Rules set amounts by bands (・3万円以上20万円未満：所属部長); a question names one amount (5万円の経費,
# 20万円を超える出費). The band that holds the asked amount answers it, the others do not, though
# all of them share its words (万, 円, even 20).
_AMOUNT = r"([0-9][0-9,]*(?:\.[0-9]+)?)\s*(万|千|億)?\s*円"
_MULTIPLIER = {None: 1, "千": 1_000, "万": 10_000, "億": 100_000_000}
_ABOVE = r"(?:以上|超|を超え|より多)"
_BELOW = r"(?:未満|以下|より少)"
_ASKED = re.compile(_AMOUNT + r"\s*(" + _ABOVE + r"|" + _BELOW + r")?")
_BAND = re.compile(_AMOUNT + r"\s*(" + _ABOVE + r"|" + _BELOW + r")(?:\s*" + _AMOUNT + r"\s*(" + _BELOW + r"))?")


def _yen(number: str, unit: str | None) -> float:
    return float(number.replace(",", "")) * _MULTIPLIER[unit]


def asked_amount(question: str) -> tuple[float, str] | None:
    """The amount of money ``question`` names, nudged past a bound it states (20万円を超える →
    just over 200,000), and the text naming it; None when it names none or several."""
    found = list(_ASKED.finditer(unicodedata.normalize("NFKC", question)))
    if len(found) != 1:
        return None
    number, unit, bound = found[0].groups()
    value = _yen(number, unit)
    if bound and re.fullmatch(_ABOVE, bound):
        value += 0.5
    elif bound and re.fullmatch(_BELOW, bound):
        value -= 0.5
    return value, found[0].group(0)


def amount_bands(text: str) -> list[tuple[float, float]]:
    """The amount bands ``text`` states, as [low, high) in yen: 3万円以上20万円未満, 20万円以上,
    3万円未満 (以下 includes its amount). A cap (12,000円まで) is not a band: it limits the answer,
    it does not say to which amounts a rule applies."""
    bands = []
    for m in _BAND.finditer(unicodedata.normalize("NFKC", text)):
        number, unit, bound, number2, unit2, bound2 = m.groups()
        value = _yen(number, unit)
        if re.fullmatch(_ABOVE, bound):
            low = value + (0.25 if bound != "以上" else 0.0)
            high = _yen(number2, unit2) + (0.25 if bound2 == "以下" else 0.0) if number2 else float("inf")
        else:
            low, high = float("-inf"), value + (0.25 if bound == "以下" else 0.0)
        bands.append((low, high))
    return bands


def in_band(amount: float, text: str) -> bool | None:
    """Whether ``amount`` falls in a band ``text`` states; None when it states none."""
    bands = amount_bands(text)
    if not bands:
        return None
    return any(low <= amount < high for low, high in bands)
