"""Line joining in normalisation: wrapped lines join, a title keeps its own line."""
from ragkit.text.normalize import join_lines


def test_title_line_is_not_glued_onto_the_first_sentence():
    text = "梅雨\n冬が終わり春が近づくにつれ、シベリア気団は次第に勢力が弱くなる。"
    assert join_lines(text) == text  # not 梅雨冬が終わり…
    assert join_lines("Travel policy\nEmployees book trains through the portal.") == \
        "Travel policy\nEmployees book trains through the portal."


def test_wrapped_lines_still_join():
    assert join_lines("国内出張の日当は1日あたり\n2,800円とする。") == "国内出張の日当は1日あたり2,800円とする。"
    assert join_lines("Employees book trains through\nthe portal.") == "Employees book trains through the portal."


def test_a_short_first_line_with_punctuation_is_a_wrapped_sentence_not_a_title():
    text = "この規程は、出張の\n手続きを定めるものであり、全社員に適用するものとする。"
    assert join_lines(text) == "この規程は、出張の手続きを定めるものであり、全社員に適用するものとする。"
