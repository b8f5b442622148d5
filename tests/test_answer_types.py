"""Answers that can fail their check: the expected kind of answer, quoted sentences, junk (fast tier)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ragkit.abstain import evidence, missing_identifiers
from ragkit.answer_quality import contains_gold, load_answer_set, summarize
from ragkit.answer_types import amount_bands, asked_amount, expected_kind, has_kind, in_band
from ragkit.reader import answer, is_junk
from ragkit.testing import COPYING, CopyingGenerator
from ragkit.types import Chunk, Hit, chunk_id

SECURITY = ("第5条（パスワードの長さ） 社内システムのパスワードは14文字以上とし、英大文字、英小文字、数字、"
            "記号のうち3種類以上を含めなければならない。\n第7条（アカウントロック） ログインに10回連続で失敗"
            "したアカウントは、30分間ロックされる。")
QUESTION = "社内システムのパスワードは何文字以上必要ですか？"


def hit(text: str, source: str = "it_security.pdf") -> Hit:
    return Hit(chunk=Chunk(id=chunk_id(source, 2, 0, text), source=source, page=2, index=0, start=0,
                           end=len(text), text=text), score=1.0)


@pytest.mark.parametrize("question, kind", [
    ("経費の申請期限はいつですか？", "datetime"), (QUESTION, "count"), ("出張の日当っていくらもらえますか？", "amount"),
    ("20万円以上の経費は誰が承認しますか？", "person"), ("入社初日はどこに集まればいいですか？", "place"),
    ("副業の上限は1か月何時間ですか？", "count"), ("始業時刻は何時ですか？", "datetime"),
    ("私物のUSBメモリを業務で使ってもいいですか？", "yesno"), ("What should I do when the machine shows error E-33?", "procedure"),
    ("How much does the PX-7 cost?", "amount"), ("How many parking spaces are there?", "count"),
    ("CSIRT窓口の連絡先は？", "contact"), ("経費について誰に問い合わせればいいですか？", "person"),
])
def test_question_words_give_the_kind(question, kind):
    assert expected_kind(question) == kind


def test_shapes():
    assert has_kind("amount", "1日あたり2,800円") and not has_kind("amount", "社内システム")
    assert has_kind("count", "14文字以上") and not has_kind("count", "社内システム")
    assert has_kind("datetime", "翌月8日まで") and has_kind("datetime", "9:00 to 17:00")
    assert has_kind("person", "管理本部長") and has_kind("person", "高橋 恵子")
    assert has_kind("place", "本社4階") and has_kind("yesno", "anything")


def test_wrong_kind_is_not_supported_free_text():
    """A model steered to a noun phrase of the wrong kind (a system name for 何文字): cited, but not
    supported, although the phrase is in the source."""
    result = answer(CopyingGenerator(answer="社内システム[1]"), QUESTION, [hit(SECURITY)])
    assert not result.abstained and result.citations
    assert [c.supported for c in result.citations] == [False]
    right = answer(CopyingGenerator(answer="14文字以上です[1]"), QUESTION, [hit(SECURITY)])
    assert [c.supported for c in right.citations] == [True]


def extractive(answer_text: str) -> CopyingGenerator:
    gen = CopyingGenerator(answer=answer_text)
    gen.profile = dataclasses.replace(COPYING, extractive=True, max_sources=1)
    return gen


def test_wrong_kind_span_falls_back_to_the_sentence():
    result = answer(extractive("社内システム"), QUESTION, [hit(SECURITY)])
    assert result.text.startswith("「第5条") and "14文字以上" in result.text and result.text.endswith("[1]")
    assert result.span == "社内システム" and result.citations[0].supported is True


def test_right_span_is_given_first_then_the_quote():
    result = answer(extractive("14文字以上"), QUESTION, [hit(SECURITY)])
    assert result.text.startswith("14文字以上 — 「第5条") and result.citations[0].supported


@pytest.mark.parametrize("junk", ["1.", "1)", "（2）", "。", "[1]", " ", "は", "には"])
def test_junk_is_never_an_answer(junk):
    assert is_junk(junk)
    result = answer(CopyingGenerator(answer=junk), QUESTION, [hit(SECURITY)])
    assert result.abstained and all(c.supported is False for c in result.citations)


def test_a_particle_span_gets_no_tie_break_and_is_not_shown():
    """The 270M model copied ``は``; it must not lift the sentence it sits in over a better one."""
    text = "第22条(勤務場所) 在宅勤務の場所は自宅に限る。カフェでの業務は禁止する。\n第23条(手当) 在宅勤務を月に4日以上行った者には手当を支給する。"
    result = answer(extractive("は"), "在宅勤務の日にカフェで仕事をしてもいいですか？", [hit(text)])
    assert result.text == "「カフェでの業務は禁止する。」[1]" and result.span is None


def test_contact_wants_a_number_or_an_address_not_a_department():
    text = "第16条(CSIRT窓口) CSIRT窓口は情報システム部に置く。連絡先は内線4119、メールcsirt@example.jp とする。"
    result = answer(extractive("情報システム部"), "ウイルスに感染したとき、CSIRT窓口の連絡先は？", [hit(text)])
    assert result.text == "「連絡先は内線4119、メールcsirt@example.jp とする。」[1]"
    assert has_kind("contact", "ext. 1210") and not has_kind("contact", "情報システム部")


def test_an_article_title_names_the_subject_of_its_sentences():
    """第15条(繰越と保有上限): the cap sentence says 上限 and 繰越; the title and the sentence
    before it say the rest (有給休暇). The previous article's sentences lend it nothing."""
    text = ("第14条(年次有給休暇) 従業員には年次有給休暇を12日付与する。\n"
            "第15条(繰越と保有上限) 使用しなかった年次有給休暇は翌年度に限り繰り越すことができる。"
            "繰越分を含む保有日数の上限は44日とする。")
    result = answer(extractive("12日"), "有給休暇は繰り越しを含めて最大何日まで持てますか？", [hit(text, "rules.pdf")])
    assert result.text == "「繰越分を含む保有日数の上限は44日とする。」[1]"


@pytest.mark.parametrize("question, approver", [
    ("20万円を超える出費は誰が承認するんですか？", "管理本部長"), ("5万円の経費精算は誰の承認が必要ですか？", "所属部長"),
    ("1万円の出費は誰が承認しますか？", "所属課長"),
])
def test_the_band_holding_the_asked_amount_answers(question, approver):
    text = ("第6条(承認者) 経費精算の申請金額に応じて、次の者が承認する。\n・3万円未満:所属課長\n・3万円以上20万円未満:所属部長\n"
            "・20万円以上:管理本部長\n第7条(申請期限) 経費は翌月8日までに申請する。")
    result = answer(extractive("所属課長"), question, [hit(text, "expense.pdf")])
    assert result.text.endswith(f":{approver}」[1]"), result.text


def test_amount_bands():
    assert amount_bands("・3万円以上20万円未満:所属部長") == [(30_000, 200_000)]
    assert in_band(200_000.5, "・20万円以上:管理本部長") and not in_band(200_000.5, "・3万円以上20万円未満")
    assert in_band(5_000, "1件5,000円以上の支出") and in_band(12_000, "12,000円以下とする")
    assert in_band(5_000, "月12,000円までとする") is None  # a cap, not a band
    assert asked_amount("20万円を超える出費は？")[0] > 200_000 and asked_amount("経費はいつ？") is None


def test_the_document_title_and_the_asked_noun_in_the_topic_check():
    """経費精算 is named only by the document's title; 略称 is what is asked and the answer states it
    as (UNTSO); 住所 is asked with a typed kind (place) and must be there."""
    rules = dataclasses.replace(hit("第5条(申請期限) 経費は翌月8日までに申請する。\n第6条(承認者) 申請金額に応じて、次の者が承認する。"
                                    "\n・3万円以上20万円未満:所属部長", "expense.pdf"),
                                metadata={"title": "経費精算規程"})
    assert answer(extractive(""), "5万円の経費精算は誰の承認が必要ですか？", [rules]).text.endswith(":所属部長」[1]")
    assert answer(extractive(""), "5万円の経費精算は誰の承認が必要ですか？", [dataclasses.replace(rules, metadata={})]).abstained
    un = hit("停戦後の国際連合休戦監視機構 (UNTSO)が最初の平和維持活動とされる。", "un.txt")
    assert not answer(extractive(""), "国際連合休戦監視機構の略称は", [un]).abstained
    plant = hit("新横浜第二工場の稼働開始日は2024年11月5日とし、製造部が立ち上げる。", "minutes.txt")
    assert answer(extractive(""), "新横浜第二工場の住所はどこですか？", [plant]).abstained


def test_a_procedure_quote_goes_on_to_the_step():
    text = ("The emergency stop button is the red button on the control panel. Turn it clockwise to release it.\n"
            "2. Safety Never open the enclosure while the spindle turns.")
    result = answer(extractive("red button"), "How do I release the emergency stop button?", [hit(text, "manual.pdf")])
    assert "Turn it clockwise to release it." in result.text and "Never open" not in result.text


def test_a_different_model_number_is_a_different_thing():
    assert missing_identifiers("How long is the PX-8 warranty?", "The PX-7 is covered by a warranty") == ["PX-8"]
    assert not missing_identifiers("How long is the PX-7 warranty?", "The PX-7 is covered")
    manual = hit("The PX-7 is covered by a warranty of 24 months from delivery.", "manual.pdf")
    assert answer(extractive("24 months"), "How long is the PX-8 warranty?", [manual]).abstained


def test_question_and_document_words_meet_in_match_form():
    notice = hit("今年度の定期健康診断は、2024年10月21日に本社2階で実施します。", "notice.txt")
    assert evidence("今年の健康診断はいつですか？", [notice]) == pytest.approx(1.0)
    guide = hit("業務用ノートパソコンは、入社初日の午後4時に受け取ります。", "guide.md")
    assert evidence("ノートPCはいつ受け取りますか？", [guide]) == pytest.approx(1.0)


def test_answer_set_and_metric():
    rows = load_answer_set(Path(__file__).with_name("answer_set.jsonl"))
    answerable = [r for r in rows if r["answers"]]
    assert len(answerable) >= 40 and len(rows) - len(answerable) >= 10
    assert {r["kind"] for r in rows} >= {"amount", "count", "datetime", "person", "place", "yesno", "procedure"}
    assert contains_gold("2,800円 — 「国内出張の日当は1日あたり２８００円とする。」[1]", ["2,800円"])
    outcomes = [{"answerable": True, "answered": True, "correct": True, "span_correct": False, "false_support": False},
                {"answerable": False, "answered": True, "correct": False, "span_correct": False, "false_support": True}]
    m = summarize(outcomes)
    assert (m["answer_accuracy"], m["false_support"], m["abstention_rate"]) == (1.0, 0.5, 0.0)


EXPENSES = ("第10条（日当） 国内出張の日当は1日あたり2,800円とする。海外出張の日当は1日あたり7,500円とする。\n"
            "第11条（宿泊費） 国内出張の宿泊費は、1泊あたり10,500円を上限として実費を精算する。")
WORK_TIME = "第12条（時間外労働） 時間外労働の上限は、労使協定により1か月40時間、1年360時間とする。"


def test_topic_is_the_phrase_asked_about():
    from ragkit.query import make_query

    assert make_query("海外出張の宿泊費の上限はいくらですか？").topic == ("海外", "出張", "宿泊", "上限")
    assert make_query("新入社員はノートパソコンをいつどこで受け取りますか？").topic == ("ノート", "パソコン")
    assert make_query("今年の夏季休業は何日間ですか？").topic == ("夏季", "休業")  # 今年: a date in the text
    assert make_query("How much does the PX-7 cost?").topic == ()


@pytest.mark.parametrize("question", ["海外出張の宿泊費の上限はいくらですか？", "来客用駐車場の利用料はいくらですか？"])
def test_near_miss_abstains_although_its_other_words_match(question):
    """The sentence about 国内 covers 出張/宿泊費/上限 of a question about 海外: the topic tells them
    apart, whatever span the model copies."""
    text = EXPENSES + "\n社員用駐車場の月額利用料は、10月分から3,000円に改定します。"
    for span in ("10,500円", "3,000円"):
        result = answer(extractive(span), question, [hit(text)])
        assert result.abstained, result.text


def test_everyday_word_meets_the_documents_word():
    """残業 is 時間外労働 in the rules (ragkit.text.synonyms): answered with the quote, not abstained
    (a question naming nothing the rules hold, 賞与, still abstains)."""
    result = answer(extractive("1か月40時間"), "残業は1か月に何時間までできますか？", [hit(WORK_TIME)])
    assert not result.abstained and "「第12条" in result.text and "40時間" in result.text
    assert answer(extractive("1か月40時間"), "賞与は1か月に何時間までですか？", [hit(WORK_TIME)]).abstained


def test_an_amount_question_without_an_amount_in_the_sources_abstains():
    result = answer(extractive("PX-7"), "How much does the PX-7 cost?",
                    [hit("1. Introduction Thank you for choosing the PX-7. Read this manual first.")])
    assert result.abstained


def test_what_the_question_says_is_not_an_answer_of_its_kind():
    assert not has_kind("datetime", "入社初日の流れ", "入社初日の集合は何時ですか？")
    assert has_kind("datetime", "入社初日は午前9時に集合", "入社初日の集合は何時ですか？")


def test_the_quoted_citation_carries_the_hits_location_and_collection():
    source = dataclasses.replace(hit(SECURITY), collection="総務", metadata={"dept": "総務"})
    source = dataclasses.replace(source, chunk=dataclasses.replace(source.chunk, location="Sheet1!A2"))
    result = answer(extractive("14文字以上"), QUESTION, [source])
    [citation] = result.citations
    assert (citation.collection, citation.location, citation.metadata) == ("総務", "Sheet1!A2", {"dept": "総務"})
