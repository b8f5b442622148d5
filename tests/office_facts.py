"""Questions over the Office, HTML and CSV files of ``corpora/`` with the unit that answers each.

``answer`` is a substring of the unit's text as ragkit loads it; ``location`` is the citation a
person would open (``slide 2``, ``§2.1 結婚祝金``, ``備品貸出台帳!A7:H10``, ``rows 2–7``).
Japanese questions for the Japanese files, English ones for the English deck.
``tests/test_office.py`` checks each answer sits at its location and is retrieved there.
"""
from __future__ import annotations

OFFICE_FACTS: list[dict] = [
    # keicho_rules.docx (慶弔見舞金規程, Word with headings, a table, a text box and a footnote)
    {"question": "社員本人が結婚したときの結婚祝金はいくらですか？", "answer": "支給額: 50,000円",
     "source": "keicho_rules.docx", "location": "§2.1 結婚祝金"},
    {"question": "災害で住居が全壊したときの見舞金はいくらですか？", "answer": "全壊したときは災害見舞金200,000円",
     "source": "keicho_rules.docx", "location": "§3.2 災害見舞金"},
    {"question": "慶弔見舞金の問い合わせ窓口の内線番号は？", "answer": "福利厚生グループ(内線 2281)",
     "source": "keicho_rules.docx", "location": "§1.2 対象者"},
    {"question": "社員同士が結婚した場合、結婚祝金はどうなりますか？", "answer": "社員同士が結婚した場合は、それぞれに支給する",
     "source": "keicho_rules.docx", "location": "§2.1 結婚祝金"},
    # equipment_ledger.xlsx (備品貸出台帳 with a two-row merged header; 方眼紙 form; hidden sheet)
    {"question": "4Kプロジェクターの保管場所はどこですか？", "answer": "品名: 4Kプロジェクター",
     "source": "equipment_ledger.xlsx", "location": "備品貸出台帳!A7:H10"},
    {"question": "デジタル一眼カメラの返却予定日はいつですか？", "answer": "貸出期間 返却予定: 2025-04-18",
     "source": "equipment_ledger.xlsx", "location": "備品貸出台帳!A1:H6"},
    {"question": "社用車使用申請書の行き先はどこですか？", "answer": "行き先 静岡県浜松市の協力工場",
     "source": "equipment_ledger.xlsx", "location": "車両使用申請書!B2:M10"},
    # quality_review.pptx (English deck with a table and speaker notes)
    {"question": "What was the defect rate of Line B?", "answer": "Defect rate: 0.87%",
     "source": "quality_review.pptx", "location": "slide 2"},
    {"question": "Which carton supplier did they switch to?", "answer": "Kaneda Packaging",
     "source": "quality_review.pptx", "location": "slide 3"},
    {"question": "What is the budget for the torque logging system?", "answer": "4.8 million yen",
     "source": "quality_review.pptx", "location": "slide 4"},
    # hoyojo_sjis.html (intranet page in Shift_JIS)
    {"question": "箱根の保養所の組合員の1泊2食の利用料金はいくらですか？", "answer": "1泊2食の利用料金: 6,500円",
     "source": "hoyojo_sjis.html", "location": "§箱根 湖畔荘"},
    {"question": "保養所の申込は1家族につき年何泊までですか？", "answer": "1家族につき年4泊まで",
     "source": "hoyojo_sjis.html", "location": "§申込方法"},
    # shikaku_shoreikin.csv (CP932)
    {"question": "中小企業診断士の資格取得奨励金はいくらですか？", "answer": "資格名: 中小企業診断士 / 区分: 経営 / 奨励金: 150,000円",
     "source": "shikaku_shoreikin.csv", "location": "rows 2–7"},
]
