"""Answer metrics: normalisation, exact match, character F1, and the table."""
from __future__ import annotations

import pytest

from ragkit.answer_eval import char_f1, exact_match, normalize_answer
from ragkit.cli import format_answer_table


def test_normalisation_drops_width_case_space_punctuation_and_markers():
    assert normalize_answer(" Ｔｏｋｙｏ、東京。[1] ") == "tokyo東京"
    assert normalize_answer("「５月上旬」") == "5月上旬"


def test_exact_match_against_any_gold():
    assert exact_match("5月上旬。", ["5月中旬", "５月上旬"]) == 1.0
    assert exact_match("5月", ["5月上旬"]) == 0.0


@pytest.mark.parametrize("pred, golds, expected", [
    ("5月上旬", ["5月上旬"], 1.0),
    ("5月", ["5月上旬"], 2 * 2 / (2 + 4)),
    ("勢力が弱くなり", ["勢力が弱くなり、次第に北上していく。"], 2 * 7 / (7 + 16)),
    ("樺太", ["北海道"], 0.0),
    ("", ["樺太"], 0.0),
    ("北側", ["樺太", "北側の分流"], 2 * 2 / (2 + 5)),  # best gold counts
])
def test_char_f1(pred, golds, expected):
    assert char_f1(pred, golds) == pytest.approx(expected)


def test_table_shows_every_metric():
    result = {"answers": {"n": 60, "exact": 0.1, "f1": 0.35, "reader_ceiling_f1": 0.38, "naive_prompt_f1": 0.25,
                          "citation_accuracy": 0.95, "answer_rate": 0.93},
              "unanswerable": {"n": 60, "abstention_rate": 0.9}}
    table = format_answer_table(result)
    for figure in ("60", "0.100", "0.350", "0.380", "0.250", "0.950", "0.930", "0.900"):
        assert figure in table
    del result["unanswerable"]
    assert "unanswerable" not in format_answer_table(result)
