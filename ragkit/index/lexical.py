"""The lexical side: a BM25 index (SQLite FTS5) over MeCab tokens, inside the catalog database.

Rows are keyed by the chunk's rowid in the catalog's ``chunks`` table, so a file's chunks and their
lexical entries change in the same transaction (``ragkit.index.catalog``). Tokens are stored
pre-tokenised (``ragkit.text.japanese.index_tokens``: MeCab surfaces, lower-cased Latin words)
and joined by spaces; FTS5's ``unicode61`` tokenizer then only splits on those spaces.
"""
from __future__ import annotations

import sqlite3
from typing import Iterable, Sequence

SCHEMA = 'CREATE VIRTUAL TABLE IF NOT EXISTS lexical USING fts5(tokens, tokenize="unicode61 remove_diacritics 0");'


def fts_query(tokens: Sequence[str]) -> str:
    """An FTS5 MATCH expression that ORs the tokens, each quoted so no token is FTS syntax."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in dict.fromkeys(tokens) if t.strip()]
    return " OR ".join(quoted)


class LexicalIndex:
    """BM25 search over the ``lexical`` FTS5 table of a catalog connection (callers own transactions)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def add(self, rowid: int, tokens: Sequence[str]) -> None:
        self.db.execute("INSERT INTO lexical (rowid, tokens) VALUES (?, ?)", (rowid, " ".join(tokens)))

    def delete_doc(self, doc: str) -> None:
        """Drop the rows of every chunk of document ``doc`` (before the chunks themselves go)."""
        self.db.execute("DELETE FROM lexical WHERE rowid IN (SELECT rowid FROM chunks WHERE doc = ?)", (doc,))

    def search(self, tokens: Sequence[str], k: int,
               docs: tuple[str, Sequence] | None = None) -> list[tuple[str, float]]:
        """Best ``k`` chunk ids by BM25 with a score where larger is better. ``docs``: an SQL
        query (with its parameters) selecting the document ids whose chunks may be ranked; the
        restriction is part of the ranking query, so the top ``k`` are the best allowed ones."""
        expr = fts_query(tokens)
        if not expr:
            return []
        if docs is not None:
            sql, params = docs
            rows = self.db.execute(
                "SELECT c.id, bm25(lexical) AS s FROM lexical JOIN chunks c ON c.rowid = lexical.rowid "
                f"WHERE lexical MATCH ? AND c.doc IN ({sql}) ORDER BY s LIMIT ?", (expr, *params, k))
            return [(cid, -float(score)) for cid, score in rows]
        rows = self.db.execute(
            # rank inside FTS5 first, join only the k winners: joining every matched row before
            # sorting cost 2x at 100k chunks (bench/README.md)
            "SELECT c.id, top.s FROM (SELECT rowid, bm25(lexical) AS s FROM lexical WHERE lexical MATCH ? "
            "ORDER BY s LIMIT ?) AS top JOIN chunks c ON c.rowid = top.rowid ORDER BY top.s", (expr, k))
        return [(cid, -float(score)) for cid, score in rows]

    def consistent(self) -> bool:
        """Every chunk has exactly one lexical row and no lexical row is orphaned."""
        n_lex = self.db.execute("SELECT count(*) FROM lexical").fetchone()[0]
        n_join = self.db.execute("SELECT count(*) FROM lexical JOIN chunks c ON c.rowid = lexical.rowid").fetchone()[0]
        n_chunks = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return n_lex == n_join == n_chunks

    def rebuild(self, rows: Iterable[tuple[int, str]]) -> None:
        """Re-tokenise every (rowid, chunk text) from scratch."""
        from ragkit.text.japanese import index_tokens

        self.db.execute("DELETE FROM lexical")
        for rowid, text in rows:
            self.add(rowid, index_tokens(text))
