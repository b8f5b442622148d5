"""Which MeCab token form should the BM25 index use? Measure it.

For each QA set in ../shared/data/qa and each token form (surface, lemma, orthBase, combinations),
index one paragraph per row in an in-memory SQLite FTS5 table, query with every question's tokens
(content words only, or all tokens), rank by bm25 and print recall@1/5/10 and MRR@10.

    .venv/bin/python bench/lexical_tokens.py [--sets ja_dev,ja_jaquad,en] [--forms lemma,orth] [--title]
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ragkit.text.japanese import tokenize  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "qa"
FORMS = ["surface", "lemma", "orth", "surface+lemma", "surface+orth"]


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def doc_text(row: dict, title: bool) -> str:
    """The paragraph, optionally under its article title as a heading line (as a page would be)."""
    return f"{row['title']}\n{row['context']}" if title and row.get("title") else row["context"]


def fts_query(tokens: list[str]) -> str:
    """Every token double-quoted (internal quotes doubled), OR-ed: no FTS syntax can leak through."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in dict.fromkeys(tokens))


def evaluate(corpus: list[dict], questions: list[dict], form: str, title: bool) -> dict[str, dict]:
    db = sqlite3.connect(":memory:")
    db.execute('CREATE VIRTUAL TABLE t USING fts5(tokens, tokenize="unicode61 remove_diacritics 0")')
    ids = [row["context_id"] for row in corpus]
    db.executemany("INSERT INTO t(rowid, tokens) VALUES (?, ?)",
                   ((i + 1, " ".join(tokenize(doc_text(row, title), form))) for i, row in enumerate(corpus)))
    results = {}
    for mode, content_only in (("content", True), ("all", False)):
        hits = {1: 0, 5: 0, 10: 0}
        mrr = 0.0
        for q in questions:
            toks = tokenize(q["question"], form, content_only) or tokenize(q["question"], form)
            rows = db.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10",
                              (fts_query(toks),)).fetchall() if toks else []
            ranked = [ids[r[0] - 1] for r in rows]
            if q["context_id"] in ranked:
                rank = ranked.index(q["context_id"]) + 1
                mrr += 1 / rank
                for k in hits:
                    hits[k] += rank <= k
        n = len(questions)
        results[f"{form} / query {mode}"] = {
            "n": n, **{f"recall@{k}": round(v / n, 4) for k, v in hits.items()},
            "mrr@10": round(mrr / n, 4),
        }
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="ja_dev,ja_jaquad,en")
    ap.add_argument("--forms", default=",".join(FORMS))
    ap.add_argument("--title", action="store_true", help="index each paragraph under its title")
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"no QA data at {DATA}: this benchmark needs ../shared/data/qa beside the repo")
    for name in args.sets.split(","):
        corpus = load(DATA / f"{name}_corpus.jsonl")
        questions = load(DATA / f"{name}_questions.jsonl")
        how = "title + paragraph" if args.title else "paragraph only"
        print(f"\n## {name}: {len(questions)} questions, {len(corpus)} paragraphs ({how})")
        print(f"| {'variant':<32} | R@1   | R@5   | R@10  | MRR@10 | s    |")
        print(f"|{'-' * 34}|-------|-------|-------|--------|------|")
        for form in args.forms.split(","):
            t0 = time.perf_counter()
            res = evaluate(corpus, questions, form, args.title)
            secs = time.perf_counter() - t0
            for variant, m in res.items():
                print(f"| {variant:<32} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | "
                      f"{m['recall@10']:.3f} | {m['mrr@10']:.4f} | {secs:4.1f} |")


if __name__ == "__main__":
    main()
