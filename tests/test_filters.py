"""``--where`` / ``where=``: the grammar, its one-line errors, and what each operator selects in a
real catalog (documents ingested with metadata, searched through ``RAG.retrieve``)."""
from __future__ import annotations

import pytest

from ragkit.errors import UsageError
from ragkit.filters import Condition, parse_expression, parse_where
from ragkit.pipeline import RAG
from ragkit.testing import HashingEmbedder


@pytest.mark.parametrize("text, expected", [
    ("dept=総務", Condition("dept", "=", "総務")),
    ("dept = 総務", Condition("dept", "=", "総務")),
    ("year>=2023", Condition("year", ">=", 2023)),
    ("year<2025", Condition("year", "<", 2025)),
    ("ratio<=0.5", Condition("ratio", "<=", 0.5)),
    ("year>2023", Condition("year", ">", 2023)),
    ("dept!=人事", Condition("dept", "!=", "人事")),
    ("dept in 総務,人事", Condition("dept", "in", ("総務", "人事"))),
    ("year in 2023, 2024", Condition("year", "in", (2023, 2024))),
    ('code="007"', Condition("code", "=", "007")),
    ("title=就業規則 2024年版", Condition("title", "=", "就業規則 2024年版")),
    ("suffix=.pdf", Condition("suffix", "=", ".pdf")),
])
def test_expressions_parse(text, expected):
    assert parse_expression(text) == expected


@pytest.mark.parametrize("text, message", [
    ("dept~総務", "unknown operator '~'"),
    ("year≧2023", "unknown operator '≧'"),
    ("dept like 総%", "not a condition"),
    ("year=>2023", "unknown operator '=>'"),
    ("year>>2023", "unknown operator '>>'"),
    ("year>=", "a value is missing"),
    ("=総務", "not a condition"),
    ("de pt=x", "not a condition"),
    ("dept", "not a condition"),
])
def test_malformed_expressions_name_themselves(text, message):
    with pytest.raises(UsageError, match=message) as info:
        parse_expression(text)
    assert repr(text) in str(info.value) and "\n" not in str(info.value)


def test_dicts_parse_to_the_same_conditions():
    where = parse_where({"dept": "総務", "year": {">=": 2023, "<": 2025}, "kind": {"in": ["規程", "通知"]}})
    assert where.conditions == (Condition("dept", "=", "総務"), Condition("year", ">=", 2023),
                                Condition("year", "<", 2025), Condition("kind", "in", ("規程", "通知")))
    assert parse_where(["dept=総務", "year>=2023"]).conditions == parse_where(
        {"dept": "総務", "year": {">=": 2023}}).conditions
    assert parse_where(None) is None and parse_where([]) is None


@pytest.mark.parametrize("where, message", [
    ({"year": {"~": 1}}, "unknown operator '~'"),
    ({"year": {}}, "empty condition"),
    ({"dept": {"in": "総務"}}, "non-empty list"),
    ({"flag": True}, "text or numbers"),
    ({"bad name": 1}, "not a field name"),
])
def test_bad_dicts_are_usage_errors(where, message):
    with pytest.raises(UsageError, match=message):
        parse_where(where)


@pytest.fixture(scope="module")
def rag(tmp_path_factory):
    root = tmp_path_factory.mktemp("filters")
    docs = root / "docs"
    docs.mkdir()
    rows = [("a", "総務", 2022), ("b", "総務", 2024), ("c", "人事", 2024), ("d", "経理", "2024")]
    rag = RAG(store=root / "store", embedder=HashingEmbedder())
    for name, dept, year in rows:
        (docs / f"{name}.txt").write_text(f"{name}の規程。社内の手続きについて定める。", encoding="utf-8")
        rag.ingest([docs / f"{name}.txt"], metadata={"dept": dept, "year": year})
    return rag


def _names(rag, where, **kwargs) -> set[str]:
    return {h.chunk.source[0] for h in rag.retrieve("社内の手続きの規程", k=10, where=where, **kwargs)}


@pytest.mark.parametrize("where, expected", [
    (None, {"a", "b", "c", "d"}),
    ({"dept": "総務"}, {"a", "b"}),
    (["dept!=総務"], {"c", "d"}),
    (["year>=2023"], {"b", "c"}),  # d's year is the text "2024": numbers compare with numbers only
    (["year<2023"], {"a"}),
    ({"year": "2024"}, {"d"}),
    (["dept in 総務,経理"], {"a", "b", "d"}),
    (["dept=総務", "year>=2023"], {"b"}),
    (["suffix=.txt", "language=ja"], {"a", "b", "c", "d"}),
    (["collection=default"], {"a", "b", "c", "d"}),
    (["dept=法務"], set()),
])
def test_each_operator_selects_before_ranking(rag, where, expected):
    assert _names(rag, where) == expected
    assert _names(rag, where, mode="lexical") == expected
    assert _names(rag, where, mode="dense") == expected


def test_an_unknown_field_matches_nothing_and_says_so(rag, caplog):
    with caplog.at_level("WARNING", logger="ragkit"):
        assert _names(rag, ["owner=山田"]) == set()
    assert "no document has the field owner" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="ragkit"):
        _names(rag, ["dept=法務"])
    assert caplog.text == ""  # a known field with no match is not a mistake


@pytest.mark.parametrize("where", [{"dept": "総務"}, ["year>=2023"], ["dept in 総務,経理"], ["dept=法務"]])
def test_the_deeper_read_gives_what_the_exact_filtered_query_gives(rag, where, monkeypatch):
    import ragkit.store

    def ranked():
        return {mode: [(h.chunk.id, round(h.score, 9)) for h in rag.retrieve("社内の手続きの規程", k=3, where=where, mode=mode)]
                for mode in ("lexical", "dense")}

    first = ranked()  # lexical: FTS5 over the allowed runs of rows; dense: kept by remembered chunk ids
    monkeypatch.setattr(ragkit.store, "MAX_RUNS", 0)  # lexical: the deeper read, kept by remembered rows
    rag.store()._allowed_cache.clear()
    assert ranked() == first
    monkeypatch.setattr(ragkit.store, "CACHED_CHUNKS", 0)  # too many to remember: kept by document
    assert ranked() == first
    monkeypatch.setattr(ragkit.store, "OVERFETCH", 0.01)  # never deep enough: the exact query runs
    assert ranked() == first
    monkeypatch.setattr(ragkit.store, "MAX_OVERFETCH", 0)  # always the exact query
    assert ranked() == first


def test_the_allowed_chunks_are_remembered_until_the_store_changes(rag, tmp_path):
    store = rag.store()
    scope = rag._scope(store, None, {"dept": "総務"})
    (part,) = store.allowed(scope)
    assert len(part.docs) == 2 and part.chunks == set().union(*(store.chunk_ids(doc) for doc in part.docs))
    assert {rowid for rowid, _ in store.catalog.scope_chunks(part.scope)} == part.rows
    assert store.allowed(scope)[0] is part  # remembered
    (tmp_path / "e.txt").write_text("eの規程。総務の新しい手続き。", encoding="utf-8")
    rag.ingest([tmp_path / "e.txt"], metadata={"dept": "総務"})
    try:
        (fresh,) = store.allowed(scope)
        assert len(fresh.docs) == 3 and fresh.chunks > part.chunks  # the write made it look again
        assert "e" in _names(rag, {"dept": "総務"})
    finally:
        rag.remove([str(tmp_path / "e.txt")])
    assert _names(rag, {"dept": "総務"}) == {"a", "b"}


def test_a_remembered_row_now_holding_another_documents_chunk_is_not_returned(rag):
    """Rowids can be reused once a document is rewritten: a remembered row is checked against its
    document again, and when it fails the exact query decides."""
    import dataclasses

    from ragkit.filters import Scope
    from ragkit.query import as_query

    store = rag.store()
    (part,) = store.allowed(rag._scope(store, None, {"dept": "総務"}))
    other = {rowid for rowid, _ in store.catalog.scope_chunks(Scope(("default",), parse_where({"dept": "人事"})))}
    tokens = as_query("社内の手続きの規程").content_tokens
    assert part.runs is not None and len(store._lexical_best(tokens, part, 10)) == 2
    stale_runs = dataclasses.replace(part, rows=part.rows | other, runs=tuple((r, r) for r in sorted(part.rows | other)))
    assert store._lexical_best(tokens, stale_runs, 10) is None  # the exact query runs
    stale_rows = dataclasses.replace(part, rows=part.rows | other, runs=None)
    assert store._lexical_best(tokens, stale_rows, 10) is None
    assert len(store._lexical_best(tokens, dataclasses.replace(part, runs=None), 10)) == 2


def test_rows_make_runs_of_consecutive_rowids(monkeypatch):
    import ragkit.store

    assert ragkit.store._runs([1, 2, 3, 7, 8, 10]) == ((1, 3), (7, 8), (10, 10))
    assert ragkit.store._runs([]) == ()
    monkeypatch.setattr(ragkit.store, "MAX_RUNS", 2)
    assert ragkit.store._runs([1, 2, 3, 7, 8, 10]) is None  # too scattered: the deeper read instead
