"""Everyday words and the words office documents use for the same thing (残業 → 時間外労働).

An employee asks with the everyday word; the rules say it formally. The abstention check
(``ragkit.abstain.missing_topic``) accepts a question's topic word when its source sentence holds
the word itself or one of these. Keys are match forms (``ragkit.text.japanese.match_form``); values
are written as a document would write them and are looked for as text. Written for Japanese business
documents in general (pay, leave, expenses, IT, facilities), not for one corpus; extend with care:
an entry that maps a word to a neighbour (国内 for 海外) would answer near misses wrongly.
"""
from __future__ import annotations

SYNONYMS: dict[str, tuple[str, ...]] = {
    # work time and leave
    "残業": ("時間外労働", "時間外勤務", "超過勤務"),
    "朝": ("始業", "午前"),
    "夕方": ("終業", "午後"),
    "休み": ("休暇", "休日", "休業"),
    "有休": ("有給休暇", "年次有給"),
    "繰り越し": ("繰越", "繰り越"),
    "最大": ("上限", "限度"),
    "仕事": ("業務", "作業"),
    "夏休み": ("夏季休業", "夏季休暇"),
    "育休": ("育児休業",),
    "産休": ("産前産後休業", "産前休業"),
    "テレワーク": ("在宅勤務", "リモートワーク"),
    "リモート": ("在宅勤務", "テレワーク"),
    # pay and benefits
    "給料": ("給与", "賃金", "基本給"),
    "ボーナス": ("賞与",),
    "交通費": ("旅費", "運賃", "通勤手当"),
    "ホテル": ("宿泊",),
    "宿": ("宿泊",),
    "出費": ("支出", "経費", "費用"),
    "お金": ("金額", "費用", "代金"),
    "値段": ("価格", "料金", "金額"),
    "本": ("書籍", "図書"),
    "弁当": ("飲食", "会議費"),
    "飲み会": ("懇親会", "交際費"),
    "接待": ("交際費", "会食"),
    "ガソリン": ("燃料",),
    "車": ("自動車", "自家用車", "社用車", "車両"),
    "一人": ("1人",),
    "超える": ("以上", "超"),
    # people and places
    "上司": ("所属長", "上長", "所属部長", "所属課長"),
    "会場": ("会議室", "場所", "ホール", "会館"),
    "住所": ("所在地",),
    "集まる": ("集合",),
    "問い合わせ": ("窓口", "連絡先", "ヘルプデスク"),
    "連絡": ("窓口", "内線", "ヘルプデスク", "連絡先"),
    "病院": ("クリニック", "医療機関", "診療所"),
    "医者": ("医師", "産業医"),
    # IT
    "パソコン": ("pc", "端末", "ノート"),
    "パスワード": ("暗証",),
    "メール": ("電子メール", "e-mail"),
    "ネット": ("インターネット", "ネットワーク"),
    "ウイルス": ("マルウェア",),
    # English
    "help": ("support", "assist"),
    "heavy": ("weight", "weigh"),
    "ask": ("contact", "question", "inquir"),
}


def alternatives(word: str) -> tuple[str, ...]:
    """What a document may write for ``word`` (a match form); () when nothing is listed."""
    return SYNONYMS.get(word, ())
