"""The lexical side: BM25 indexes (SQLite FTS5) over MeCab tokens, inside the catalog database.

Rows are keyed by the chunk's rowid in the catalog's ``chunks`` table, so a file's chunks and their
lexical entries change in the same transaction (``ragkit.index.catalog``). Tokens are stored
pre-tokenised (``ragkit.text.japanese.index_tokens``: MeCab surfaces, lower-cased Latin words)
and joined by spaces; FTS5's ``unicode61`` tokenizer then only splits on those spaces.

One FTS5 table per collection (``table_for``; ``default`` keeps the ``lexical`` table of older
stores). BM25 weighs a word by how rare it is in the table, so with one shared table another
collection's documents would change a collection's ranking (and its scores would hint at what
those documents say): with a table each, asking one collection of a shared store ranks exactly
as a store holding only that collection (``tests/test_filtered_recall.py``).
"""
from __future__ import annotations

import hashlib
import sqlite3
from typing import Iterable, Sequence

DEFAULT_TABLE = "lexical"
_CREATE = 'CREATE VIRTUAL TABLE IF NOT EXISTS {} USING fts5(tokens, tokenize="unicode61 remove_diacritics 0")'
SCHEMA = _CREATE.format(DEFAULT_TABLE) + ";"
_RANKED = "SELECT rowid, bm25({0}) AS s FROM {0} WHERE {0} MATCH ?{1} ORDER BY s LIMIT ?"  # best k rows of {0}, if {1}


def table_for(collection: str) -> str:
    """The FTS5 table of ``collection`` (an SQL name whatever script the collection is named in)."""
    if collection == "default":
        return DEFAULT_TABLE
    return "lexical_c_" + hashlib.sha256(collection.encode("utf-8")).hexdigest()[:24]


def fts_query(tokens: Sequence[str]) -> str:
    """An FTS5 MATCH expression that ORs the tokens, each quoted so no token is FTS syntax."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in dict.fromkeys(tokens) if t.strip()]
    return " OR ".join(quoted)


class LexicalIndex:
    """BM25 search over the FTS5 tables of a catalog connection (callers own transactions)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def ensure(self, collection: str) -> None:
        """Create ``collection``'s table if it has none yet (before its first ``add``)."""
        self.db.execute(_CREATE.format(table_for(collection)))

    def add(self, collection: str, rowid: int, tokens: Sequence[str]) -> None:
        self.db.execute(f"INSERT INTO {table_for(collection)} (rowid, tokens) VALUES (?, ?)", (rowid, " ".join(tokens)))

    def delete_doc(self, collection: str, doc: str) -> None:
        """Drop the rows of every chunk of document ``doc`` (before the chunks themselves go)."""
        if self._exists(table_for(collection)):
            self.db.execute(f"DELETE FROM {table_for(collection)} WHERE rowid IN (SELECT rowid FROM chunks WHERE doc = ?)",
                            (doc,))

    def drop(self, collection: str) -> None:
        """Drop ``collection``'s table whole (the default one is emptied: older code reads it)."""
        table = table_for(collection)
        if table == DEFAULT_TABLE:
            self.db.execute(f"DELETE FROM {table}")
        else:
            self.db.execute(f"DROP TABLE IF EXISTS {table}")

    def search(self, collection: str, tokens: Sequence[str], k: int,
               docs: tuple[str, Sequence] | None = None, with_doc: bool = False) -> list[tuple]:
        """Best ``k`` chunk ids of ``collection`` by BM25 with a score where larger is better.
        ``docs``: an SQL query (with its parameters) selecting the document ids whose chunks may
        be ranked; the restriction is part of the ranking query, so the top ``k`` are the best
        allowed ones. ``with_doc``: (chunk id, score, document id) triples."""
        expr, table = fts_query(tokens), table_for(collection)
        if not expr or not self._exists(table):
            return []
        if docs is not None:
            sql, params = docs
            rows = self.db.execute(
                f"SELECT c.id, bm25({table}) AS s FROM {table} JOIN chunks c ON c.rowid = {table}.rowid "
                f"WHERE {table} MATCH ? AND c.doc IN ({sql}) ORDER BY s LIMIT ?", (expr, *params, k))
            return [(cid, -float(score)) for cid, score in rows]
        rows = self.db.execute(
            # rank inside FTS5 first, join only the k winners: joining every matched row before
            # sorting cost 2x at 100k chunks (bench/README.md)
            f"SELECT c.id, top.s, c.doc FROM ({_RANKED.format(table, '')}) AS top JOIN chunks c ON c.rowid = top.rowid "
            "ORDER BY top.s", (expr, k))
        return [(cid, -float(score), doc) if with_doc else (cid, -float(score)) for cid, score, doc in rows]

    def rows(self, collection: str, tokens: Sequence[str], k: int,
             runs: Sequence[tuple[int, int]] | None = None) -> list[tuple[int, float]]:
        """Best ``k`` (rowid, score) of ``collection`` by BM25, larger score is better. ``runs``:
        rank only rowids within these (first, last) runs, one query each (FTS5 skips to a rowid
        range; its BM25 statistics stay the whole table's, so scores do not change)."""
        expr, table = fts_query(tokens), table_for(collection)
        if not expr or not self._exists(table):
            return []
        if runs is None:
            rows = self.db.execute(_RANKED.format(table, ""), (expr, k))
        else:
            rows = [row for first, last in runs for row in self.db.execute(
                _RANKED.format(table, " AND rowid BETWEEN ? AND ?"), (expr, first, last, k))]
        return sorted(((rowid, -float(score)) for rowid, score in rows), key=lambda row: -row[1])[:k]

    def consistent(self, collections: Iterable[str]) -> bool:
        """Every chunk has exactly one row, in its collection's table, and no row is orphaned."""
        total = 0
        for collection in collections:
            table = table_for(collection)
            chunks = self.db.execute("SELECT count(*) FROM chunks c JOIN files f ON f.id = c.doc WHERE f.collection = ?",
                                     (collection,)).fetchone()[0]
            if not self._exists(table):
                if chunks:
                    return False
                continue
            rows = self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            joined = self.db.execute(
                f"SELECT count(*) FROM {table} t JOIN chunks c ON c.rowid = t.rowid JOIN files f ON f.id = c.doc "
                "WHERE f.collection = ?", (collection,)).fetchone()[0]
            if not rows == joined == chunks:
                return False
            total += rows
        others = [t for t in self._tables() if t not in {table_for(c) for c in collections}]
        stray = sum(self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in others)
        return stray == 0 and total == self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def rebuild(self, rows: Iterable[tuple[int, str, str]]) -> None:
        """Re-tokenise every (rowid, collection, chunk text) from scratch."""
        from ragkit.text.japanese import index_tokens

        for table in self._tables():
            self.db.execute(f"DELETE FROM {table}")
        for rowid, collection, text in rows:
            self.ensure(collection)
            self.add(collection, rowid, index_tokens(text))

    def _tables(self) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%fts5%'")]

    def _exists(self, table: str) -> bool:
        return bool(self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)))
