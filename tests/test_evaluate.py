"""`ragkit eval` on a tiny real QA set (real MeCab, real MiniLM, real Chroma) and on the shared dev set."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import shared_data
from ragkit.cli import main
from ragkit.errors import ConfigError
from ragkit import evaluate
from ragkit.evaluate import MemoEmbedder, build_eval_rag, gold_rank, parse_modes, score_ranks
from ragkit.qa import doc_stem

PARAGRAPHS = [
    ("ja-1", "富士山", "富士山は静岡県と山梨県にまたがる活火山で、標高は3776メートルである。日本最高峰の山として知られる。"),
    ("ja-2", "琵琶湖", "琵琶湖は滋賀県にある日本最大の湖である。面積は約670平方キロメートルで、京都や大阪の水源になっている。"),
    ("ja-3", "新幹線", "東海道新幹線は1964年に開業した高速鉄道で、東京駅と新大阪駅を結んでいる。"),
    ("ja-4", "味噌", "味噌は大豆を発酵させて作る調味料である。麹と塩を加えて熟成させる。"),
    ("en-1", "Photosynthesis", "Photosynthesis is the process by which green plants use sunlight to turn carbon "
                               "dioxide and water into glucose and oxygen."),
    ("en-2", "Great_Barrier_Reef", "The Great Barrier Reef off the coast of Queensland, Australia, is the "
                                   "largest coral reef system in the world."),
    ("en-3", "Penicillin", "Alexander Fleming discovered penicillin in 1928 when mould killed bacteria in "
                           "one of his culture dishes."),
    ("en/4", "Volcano", "A volcano is an opening in the crust of a planet through which molten lava, ash "
                        "and gases escape."),
]
QUESTIONS = [
    ("q1", "富士山の標高は何メートルですか？", "ja-1"),
    ("q2", "日本最大の湖はどこにありますか？", "ja-2"),
    ("q3", "東海道新幹線が開業したのは何年ですか？", "ja-3"),
    ("q4", "Who discovered penicillin?", "en-3"),
    ("q5", "Where is the largest coral reef system?", "en-2"),
    ("q6", "What do plants produce from sunlight and carbon dioxide?", "en-1"),
]


@pytest.fixture(scope="module")
def qa_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa")
    corpus = root / "corpus.jsonl"
    questions = root / "questions.jsonl"
    corpus.write_text("".join(json.dumps({"context_id": c, "title": t, "context": x}, ensure_ascii=False) + "\n"
                              for c, t, x in PARAGRAPHS), encoding="utf-8")
    questions.write_text("".join(json.dumps({"id": i, "question": q, "answers": ["x"], "context_id": c},
                                            ensure_ascii=False) + "\n" for i, q, c in QUESTIONS), encoding="utf-8")
    return corpus, questions, root / "cache"


def run_eval(capsys, *argv: str) -> tuple[int, str]:
    code = main(["eval", *argv])
    return code, capsys.readouterr().out


def test_eval_json_shape_and_obvious_matches(qa_files, capsys):
    corpus, questions, cache = qa_files
    code, out = run_eval(capsys, "--corpus", str(corpus), "--questions", str(questions), "--cache", str(cache),
                         "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result["modes"]) == {"dense", "lexical", "hybrid"}
    for mode, m in result["modes"].items():
        assert m["n"] == len(QUESTIONS)
        for key in ("recall@1", "recall@5", "recall@10"):  # each is a count of the 6 questions over 6
            found = m[key] * len(QUESTIONS)
            assert found == pytest.approx(round(found), abs=1e-3), (mode, key, m[key])
        assert m["recall@1"] <= m["recall@5"] <= m["recall@10"]
        assert m["recall@1"] <= m["mrr@10"] <= m["recall@10"], mode  # 1/rank is 1 at rank 1, ≤ 1 below
    # every question shares distinctive words with its paragraph: BM25 must put it first
    assert result["modes"]["lexical"]["recall@1"] == 1.0
    assert result["modes"]["hybrid"]["recall@1"] == 1.0
    # MiniLM understands the English questions
    assert result["modes"]["dense"]["recall@5"] >= 0.5


def test_eval_table_mode_and_limit(qa_files, capsys):
    corpus, questions, cache = qa_files
    code, out = run_eval(capsys, "--corpus", str(corpus), "--questions", str(questions), "--cache", str(cache),
                         "--mode", "lexical", "--limit", "2")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["mode", "n", "R@1"]
    assert lines[1].split()[:3] == ["lexical", "2", "1.000"]
    assert len(lines) == 2


def test_run_eval_returns_figures_and_prints_nothing(qa_files, capsys):
    corpus, questions, cache = qa_files
    result = evaluate.run_eval(corpus, questions, ["lexical"], limit=2, cache=cache, log=lambda msg: None)
    assert list(result) == ["modes"] and result["modes"]["lexical"]["n"] == 2
    assert result["modes"]["lexical"]["recall@1"] == 1.0
    assert capsys.readouterr() == ("", "")  # printing is the CLI's job


def test_memo_embedder_embeds_each_query_once_and_delegates_the_rest():
    class Counting:
        model_id = "fake:1"

        def __init__(self):
            self.calls: list[str] = []

        def embed_query(self, text: str) -> list[float]:
            self.calls.append(text)
            return [float(len(text))]

    inner = Counting()
    memo = MemoEmbedder(inner)
    assert [memo.embed_query(q) for q in ("abc", "de", "abc")] == [[3.0], [2.0], [3.0]]
    assert inner.calls == ["abc", "de"] and memo.model_id == "fake:1"


def test_second_build_reuses_the_cached_store(qa_files):
    corpus, _, cache = qa_files
    logged: list[str] = []
    rag, stems = build_eval_rag(corpus, cache=cache, log=logged.append)  # built by the tests above or now
    logged.clear()
    rag, stems = build_eval_rag(corpus, cache=cache, log=logged.append)
    assert logged == []  # nothing new or changed: nothing embedded
    assert isinstance(rag.embedder, MemoEmbedder)  # dense and hybrid share each question's vector
    assert stems[doc_stem("en/4")] == "en/4"
    hits = rag.retrieve("molten lava ash gases", k=3, mode="lexical")
    assert stems[Path(hits[0].chunk.source).stem] == "en/4"


def test_eval_rejects_questions_about_unknown_paragraphs(qa_files, tmp_path, capsys):
    corpus, _, cache = qa_files
    bad = tmp_path / "q.jsonl"
    bad.write_text(json.dumps({"question": "?", "context_id": "nope"}) + "\n", encoding="utf-8")
    assert main(["eval", "--corpus", str(corpus), "--questions", str(bad), "--cache", str(cache)]) == 1
    assert "nope" in capsys.readouterr().err


def test_generate_json_through_the_cli(qa_files, tmp_path, capsys):
    """`ragkit eval --generate --unanswerable --json` with the real bundled model on 2 questions."""
    corpus, _, cache = qa_files
    context = {c: x for c, _, x in PARAGRAPHS}
    title = {c: t for c, t, _ in PARAGRAPHS}  # the unanswerable set drops the question's article by title
    gold = [("q1", "富士山の標高は何メートルですか？", "ja-1", "3776メートル"),
            ("q3", "東海道新幹線が開業したのは何年ですか？", "ja-3", "1964年")]
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps({"id": i, "question": q, "answers": [a], "context_id": c,
                                             "context": context[c], "title": title[c]}, ensure_ascii=False) + "\n"
                                 for i, q, c, a in gold), encoding="utf-8")
    code, out = run_eval(capsys, "--corpus", str(corpus), "--questions", str(questions), "--cache", str(cache),
                         "--mode", "lexical", "--generate", "--unanswerable", "--json")
    assert code == 0
    result = json.loads(out)
    answers = result["answers"]
    assert {"n", "exact", "f1", "reader_ceiling_f1", "naive_prompt_f1", "citation_accuracy",
            "answer_rate"} <= answers.keys()
    assert answers["n"] == 2 and answers["answer_rate"] == 1.0 and answers["citation_accuracy"] == 1.0
    # the extractive reader copies a span around the answer: F1 well above 0, exact match rarely
    assert answers["f1"] > 0.3 and answers["reader_ceiling_f1"] > 0.3
    assert answers["exact"] in (0.0, 0.5, 1.0) and answers["exact"] <= answers["f1"]
    # with its article gone, no other paragraph mentions Mt Fuji or the Shinkansen
    assert result["unanswerable"] == {"n": 2, "abstention_rate": 1.0}


@pytest.mark.parametrize("hits, gold, expected", [
    (["a", "a", "b", "c"], "b", 2),  # repeated paragraphs count once
    (["a", "b"], "z", None),
    (["z"], "z", 1),
])
def test_gold_rank_counts_distinct_paragraphs(hits, gold, expected):
    assert gold_rank(hits, gold) == expected


def test_score_ranks():
    m = score_ranks([1, 2, None, 7], ks=(1, 5, 10))
    assert m == {"n": 4, "recall@1": 0.25, "recall@5": 0.5, "recall@10": 0.75,
                 "mrr@10": round((1 + 0.5 + 1 / 7) / 4, 4)}


def test_parse_modes():
    assert parse_modes("lexical, hybrid") == ["lexical", "hybrid"]
    with pytest.raises(ConfigError, match="comma-separated"):
        parse_modes("dense,bm25")


def test_shared_ja_dev_first_30(capsys, tmp_path):
    """The real dev set: the first 30 questions over every paragraph of their articles (158
    paragraphs, same-article distractors included), so CI embeds a slice, not all 1,145."""
    corpus = shared_data("qa", "ja_dev_corpus.jsonl")
    questions = shared_data("qa", "ja_dev_questions.jsonl")
    first = [json.loads(line) for line in questions.read_text(encoding="utf-8").splitlines()[:30]]
    titles = {q["title"] for q in first}
    rows = [line for line in corpus.read_text(encoding="utf-8").splitlines() if json.loads(line)["title"] in titles]
    (tmp_path / "c.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "q.jsonl").write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in first) + "\n",
                                      encoding="utf-8")
    code, out = run_eval(capsys, "--corpus", str(tmp_path / "c.jsonl"), "--questions", str(tmp_path / "q.jsonl"),
                         "--cache", str(tmp_path / "cache"), "--mode", "lexical,hybrid", "--json")
    assert code == 0
    modes = json.loads(out)["modes"]
    assert modes["lexical"]["n"] == 30
    assert modes["lexical"]["recall@5"] >= 0.9
    # the weak English embedder must not drag Japanese hybrid below lexical
    for key in ("recall@1", "recall@5", "mrr@10"):
        assert modes["hybrid"][key] >= modes["lexical"][key] - 0.034, key
