"""Questions over the sample corpus in ``corpora/`` with the one file and page that answers each.

``answer`` is a substring of the source text (compare after removing whitespace: PDF extraction
inserts line breaks); ``page`` is 1-based for PDFs and ``None`` for text files. Each answer occurs
in exactly one file and, for PDFs, on exactly one page (``tests/test_corpus.py`` checks this),
so the facts can serve as a small retrieval / citation benchmark.
"""
from __future__ import annotations

FACTS: list[dict] = [
    # work_rules.pdf (就業規則)
    {"question": "試用期間は入社日から何か月ですか？", "answer": "4か月を試用期間",
     "source": "work_rules.pdf", "page": 1},
    {"question": "始業時刻は何時ですか？", "answer": "始業時刻は午前8時50分",
     "source": "work_rules.pdf", "page": 2},
    {"question": "フレックスタイム制のコアタイムは何時から何時までですか？",
     "answer": "午前10時30分から午後2時30分まで", "source": "work_rules.pdf", "page": 2},
    {"question": "年次有給休暇は入社6か月後に何日付与されますか？", "answer": "年次有給休暇を12日付与",
     "source": "work_rules.pdf", "page": 3},
    {"question": "在宅勤務は1週あたり何日まで認められますか？", "answer": "1週あたり3日まで",
     "source": "work_rules.pdf", "page": 4},
    {"question": "在宅勤務手当は月額いくらですか？", "answer": "在宅勤務手当月額3,500円",
     "source": "work_rules.pdf", "page": 4},
    {"question": "副業の労働時間の上限は1か月何時間ですか？", "answer": "1か月30時間以内",
     "source": "work_rules.pdf", "page": 5},
    # expense_policy.pdf (経費精算規程)
    {"question": "経費の申請期限はいつまでですか？", "answer": "支出した月の翌月8日まで",
     "source": "expense_policy.pdf", "page": 2},
    {"question": "20万円以上の経費は誰が承認しますか？", "answer": "20万円以上：管理本部長",
     "source": "expense_policy.pdf", "page": 2},
    {"question": "国内出張の日当は1日あたりいくらですか？", "answer": "1日あたり2,800円",
     "source": "expense_policy.pdf", "page": 3},
    {"question": "東京23区に出張したときの宿泊費の上限はいくらですか？",
     "answer": "名古屋市：13,000円", "source": "expense_policy.pdf", "page": 3},
    {"question": "取引先の接待の上限は1人あたりいくらですか？", "answer": "参加者1人あたり8,000円",
     "source": "expense_policy.pdf", "page": 4},
    # it_security.pdf (情報セキュリティ規程)
    {"question": "情報セキュリティの最高責任者（CISO）は誰ですか？",
     "answer": "取締役 山本 修一とする", "source": "it_security.pdf", "page": 1},
    {"question": "パスワードは何文字以上にする必要がありますか？", "answer": "14文字以上",
     "source": "it_security.pdf", "page": 2},
    {"question": "暗号化USBメモリの貸出期間は最長何日ですか？", "answer": "貸出期間は最長14日",
     "source": "it_security.pdf", "page": 3},
    {"question": "セキュリティインシデントを発見したらどこへ連絡しますか？", "answer": "内線4119",
     "source": "it_security.pdf", "page": 4},
    # product_manual_en.pdf (English)
    {"question": "What is the spindle speed range of the PX-7?", "answer": "800 to 24,000 rpm",
     "source": "product_manual_en.pdf", "page": 2},
    {"question": "How long should the warm-up program run before precision work?",
     "answer": "(program number O9001) for 15 minutes",
     "source": "product_manual_en.pdf", "page": 3},
    {"question": "How often must the coolant be replaced?",
     "answer": "replace the coolant completely every 3 months",
     "source": "product_manual_en.pdf", "page": 4},
    {"question": "What does error E-12 mean?", "answer": "E-12 (door interlock open)",
     "source": "product_manual_en.pdf", "page": 5},
    {"question": "How long is the PX-7 warranty?",
     "answer": "24 months from delivery or 4,000 operating hours",
     "source": "product_manual_en.pdf", "page": 5},
    # minutes_2024-06-14.txt (議事録, UTF-8)
    {"question": "2024年の夏季休業はいつからいつまでですか？",
     "answer": "8月10日（土）から8月18日（日）までの9日間", "source": "minutes_2024-06-14.txt",
     "page": None},
    {"question": "後継機PX-8の開発予算はいくらですか？", "answer": "開発予算は1億2,000万円",
     "source": "minutes_2024-06-14.txt", "page": None},
    {"question": "新横浜第二工場の稼働開始日はいつですか？", "answer": "稼働開始日は2024年11月5日",
     "source": "minutes_2024-06-14.txt", "page": None},
    # soumu_notice_sjis.txt (CP932)
    {"question": "今年度の定期健康診断はいつ実施されますか？",
     "answer": "2024年10月21日（月）～10月25日（金）", "source": "soumu_notice_sjis.txt",
     "page": None},
    {"question": "社員食堂の日替わり定食はいくらですか？", "answer": "日替わり定食は450円",
     "source": "soumu_notice_sjis.txt", "page": None},
    {"question": "社員用駐車場の月額利用料はいくらになりますか？", "answer": "10月分から3,000円に改定",
     "source": "soumu_notice_sjis.txt", "page": None},
    # onboarding_ja.md / office_guide_en.md
    {"question": "入社初日は何時に集合しますか？", "answer": "集合時間：午前9時15分",
     "source": "onboarding_ja.md", "page": None},
    {"question": "新入社員研修の期間はいつまでですか？", "answer": "5月24日までの8週間",
     "source": "onboarding_ja.md", "page": None},
    {"question": "What is the name of the guest Wi-Fi network?", "answer": "MINATO-GUEST",
     "source": "office_guide_en.md", "page": None},
    {"question": "How far is the head office from Shin-Yokohama Station?",
     "answer": "9-minute walk from the north exit", "source": "office_guide_en.md", "page": None},
]
