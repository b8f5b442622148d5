"""Collections, document metadata and stable identity, through the public API and the CLI (fast
tier: ``ragkit.testing`` fakes; real Chroma, SQLite and fugashi). ``test_collections_models.py``
repeats the isolation check with the bundled models."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPORA, REPO
from ragkit.errors import CollectionNotFound, UsageError
from ragkit.pipeline import RAG
from ragkit.testing import CopyingGenerator, HashingEmbedder

# the same question answered differently in each collection: 総務 must never see 人事's answer
SOUMU = "経費精算の申請期限は翌月10日です。申請は総務部が受け付けます。"
JINJI = "経費精算の申請期限は翌月5日です。人事部の規程による。"
QUESTION = "経費精算の申請期限はいつですか？"


def _rag(store: Path, **kwargs) -> RAG:
    return RAG(store=store, embedder=HashingEmbedder(), generator=CopyingGenerator(), **kwargs)


@pytest.fixture
def two(tmp_path) -> RAG:
    for name, text in (("soumu", SOUMU), ("jinji", JINJI)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "keihi.txt").write_text(text, encoding="utf-8")
        (tmp_path / name / "other.txt").write_text(f"{name}の連絡先は内線1234です。", encoding="utf-8")
    rag = _rag(tmp_path / "store")
    rag.ingest([tmp_path / "soumu"], collection="総務", metadata={"dept": "総務"})
    rag.ingest([tmp_path / "jinji"], collection="人事", metadata={"dept": "人事"})
    return rag


# --- stable identity ---------------------------------------------------------------------------
def test_the_same_folder_is_the_same_files_however_it_is_spelled(tmp_path, monkeypatch):
    work = tmp_path / "work"
    shutil.copytree(CORPORA, work / "corpora", ignore=shutil.ignore_patterns(".*"))
    rag = _rag(tmp_path / "store")
    monkeypatch.chdir(work)
    first = rag.ingest(["corpora/"])
    assert first.new == first.files > 0 and first.embedded > 0
    again = rag.ingest(["./corpora"])
    monkeypatch.chdir(work / "corpora")  # another working directory, the absolute path
    third = rag.ingest([str(work / "corpora")])
    fourth = rag.ingest(["."])
    for report in (again, third, fourth):
        assert (report.new, report.changed, report.embedded) == (0, 0, 0)
        assert report.unchanged == first.files
    listed = [r["source"] for r in json.loads(_cli(tmp_path, "sources", "--json", cwd=work).stdout)]
    assert len(listed) == first.files == len(set(listed))
    assert all(s.startswith("corpora/") for s in listed)  # shown relative to the root's folder
    assert all(os.path.isabs(r.path) for r in rag.sources())


def test_a_moved_file_is_re_pointed_without_re_embedding(tmp_path):
    docs = tmp_path / "docs"
    (docs / "old").mkdir(parents=True)
    (docs / "old" / "kitei.txt").write_text(SOUMU, encoding="utf-8")
    rag = _rag(tmp_path / "store")
    rag.ingest([docs])
    before = rag.sources()[0]
    ids = rag.store().chunk_ids(before.id)
    (docs / "new").mkdir()
    os.rename(docs / "old" / "kitei.txt", docs / "new" / "規程.txt")
    report = rag.ingest([docs], prune=True)
    assert (report.moved, report.embedded, report.new, report.removed) == (1, 0, 0, [])
    [after] = rag.sources()
    assert (after.id, after.source, after.path) == (before.id, "docs/new/規程.txt", str(docs / "new" / "規程.txt"))
    assert rag.store().chunk_ids(after.id) == ids and after.metadata["name"] == "規程.txt"
    assert rag.retrieve(QUESTION, k=1)[0].chunk.source == "docs/new/規程.txt"
    assert rag.check()["consistent"]


def test_remove_takes_any_spelling_the_source_or_the_id(tmp_path, monkeypatch):
    (tmp_path / "docs").mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / "docs" / name).write_text(f"{name} の本文です。", encoding="utf-8")
    rag = _rag(tmp_path / "store")
    monkeypatch.chdir(tmp_path)
    rag.ingest(["docs"])
    monkeypatch.chdir(tmp_path / "docs")
    assert rag.remove(["./a.txt"]) == ["docs/a.txt"]
    assert rag.remove(["docs/b.txt"]) == ["docs/b.txt"]  # the source as listed
    assert rag.remove([rag.sources()[0].id]) == ["docs/c.txt"]
    assert rag.sources() == []


# --- collections: A never returns B ------------------------------------------------------------
def _collections_of(hits_or_citations) -> set[str]:
    return {x.collection for x in hits_or_citations}


def test_a_collection_never_returns_another_collections_chunk(two):
    assert _collections_of(two.retrieve(QUESTION, k=10)) == {"総務", "人事"}  # both are candidates
    for name, text, day in (("総務", SOUMU, "10日"), ("人事", JINJI, "5日")):
        only = {"collections": [name]}
        for mode in ("dense", "lexical", "hybrid"):
            assert _collections_of(two.retrieve(QUESTION, k=10, mode=mode, **only)) == {name}
        answer = two.ask(QUESTION, **only)
        assert not answer.abstained and day in answer.text
        assert _collections_of(answer.citations) == _collections_of(answer.hits) == {name}
        assert all(c.metadata["dept"] == name for c in answer.citations)
        stream = two.stream(QUESTION, **only)
        assert day in "".join(stream) and _collections_of(stream.answer.citations) == {name}
        assert _collections_of(asyncio.run(two.aretrieve(QUESTION, **only))) == {name}
        assert _collections_of(asyncio.run(two.aask(QUESTION, **only)).citations) == {name}
        assert {r.collection for r in two.sources(name)} == {name}
        # abstention: the closest sources listed are from the allowed collection only
        unanswerable = two.ask("社員食堂の営業時間は何時までですか？", **only)
        assert unanswerable.abstained and unanswerable.citations
        assert _collections_of(unanswerable.citations) == {name}


def test_an_empty_set_of_allowed_collections_allows_nothing(two):
    assert two.retrieve(QUESTION, collections=[]) == []
    assert two.ask(QUESTION, collections=[]).abstained


def test_several_collections_give_one_ranked_list(two):
    hits = two.retrieve(QUESTION, k=4, collections=["総務", "人事"])
    assert _collections_of(hits) == {"総務", "人事"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_an_unknown_collection_is_an_error_not_everything(two):
    with pytest.raises(CollectionNotFound, match="no collection '経理'.*総務") as info:
        two.retrieve(QUESTION, collections=["経理"])
    assert isinstance(info.value, UsageError)
    with pytest.raises(CollectionNotFound):
        two.sources("経理")


def test_the_configured_collection_is_the_default(two, monkeypatch):
    monkeypatch.setenv("RAGKIT_COLLECTION", "人事")
    rag = _rag(two.settings.store)
    assert _collections_of(rag.retrieve(QUESTION, k=10)) == {"人事"}
    assert {r.collection for r in rag.sources()} == {"人事"}
    rag.ingest_texts({"memo.md": "人事部の新しいメモ。"})
    assert {(r.source, r.collection) for r in rag.sources()} >= {("memo.md", "人事")}


def test_bad_collection_names_are_refused(tmp_path):
    with pytest.raises(UsageError, match="cannot name a collection"):
        _rag(tmp_path / "s").ingest([tmp_path], collection="a/b")


def test_a_collection_can_be_dropped_whole(two):
    assert [(c.name, c.files) for c in two.collections()] == [("人事", 2), ("総務", 2)]
    assert two.drop_collection("人事") == 2
    assert [c.name for c in two.collections()] == ["総務"]
    assert _collections_of(two.retrieve(QUESTION, k=10)) == {"総務"}
    state = two.check()
    assert state["consistent"] and state["vectors"] == state["chunks"]
    with pytest.raises(CollectionNotFound):
        two.drop_collection("人事")


def test_the_same_file_may_be_in_two_collections(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "kitei.txt").write_text(SOUMU, encoding="utf-8")
    rag = _rag(tmp_path / "store")
    rag.ingest([tmp_path / "docs"], collection="a")
    rag.ingest([tmp_path / "docs"], collection="b")
    assert sorted(r.collection for r in rag.sources()) == ["a", "b"]
    assert rag.remove([tmp_path / "docs" / "kitei.txt"], collection="a") == ["docs/kitei.txt"]
    assert [r.collection for r in rag.sources()] == ["b"]
    assert rag.check()["consistent"]


# --- metadata ------------------------------------------------------------------------------------
def test_metadata_from_meta_and_sidecars_is_stored_shown_and_filterable(tmp_path):
    docs = tmp_path / "docs"
    (docs / "規程").mkdir(parents=True)
    (docs / "ragkit-meta.toml").write_text('dept = "総務"\n["規程/*.txt"]\nkind = "規程"\nyear = 2024\n',
                                           encoding="utf-8")
    (docs / "規程" / "ragkit-meta.toml").write_text('year = 2025\n', encoding="utf-8")  # inner wins
    (docs / "規程" / "keihi.txt").write_text("# 経費精算規程\n" + SOUMU, encoding="utf-8")
    (docs / "oshirase.txt").write_text("総務部からのお知らせ。", encoding="utf-8")
    rag = _rag(tmp_path / "store")
    rag.ingest([docs], metadata={"owner": "山田"})
    meta = {r.source: r.metadata for r in rag.sources()}
    assert meta["docs/規程/keihi.txt"] == {
        "name": "keihi.txt", "suffix": ".txt", "title": "経費精算規程", "language": "ja",
        "modified": meta["docs/規程/keihi.txt"]["modified"], "dept": "総務", "kind": "規程", "year": 2025,
        "owner": "山田"}
    assert {k: meta["docs/oshirase.txt"][k] for k in ("dept", "owner")} == {"dept": "総務", "owner": "山田"}
    assert "kind" not in meta["docs/oshirase.txt"]
    [hit] = rag.retrieve(QUESTION, k=5, where={"kind": "規程", "year": {">=": 2025}})
    assert hit.metadata["year"] == 2025 and hit.to_json()["metadata"]["kind"] == "規程"
    # a changed sidecar re-applies metadata without embedding anything
    (docs / "規程" / "ragkit-meta.toml").write_text('year = 2026\n', encoding="utf-8")
    report = rag.ingest([docs], metadata={"owner": "山田"})
    assert report.embedded == 0 and report.changed == 1
    assert rag.retrieve(QUESTION, k=5, where=["year=2026"])[0].chunk.source == "docs/規程/keihi.txt"


@pytest.mark.parametrize("metadata, message", [
    ({"collection": "x"}, "set by ragkit itself"),
    ({"bad key": 1}, "not a field name"),
    ({"flag": True}, "text or a number"),
])
def test_bad_metadata_is_refused_before_anything_is_written(tmp_path, metadata, message):
    with pytest.raises(UsageError, match=message):
        _rag(tmp_path / "store").ingest([tmp_path], metadata=metadata)
    assert not (tmp_path / "store").exists()


# --- the command line ----------------------------------------------------------------------------
def _cli(store: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    code = ("import sys; from ragkit.testing import HashingEmbedder, CopyingGenerator; import ragkit.pipeline as p; "
            "orig = p.RAG.__init__; "
            "p.RAG.__init__ = lambda self, *a, **k: orig(self, *a, embedder=HashingEmbedder(), "
            "generator=CopyingGenerator(), **k); from ragkit.cli import main; sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, "--store", str(store / "store"), *args], cwd=cwd or store,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory) -> Path:
    """Two collections ingested by the CLI, with --meta; read by the CLI tests below."""
    root = tmp_path_factory.mktemp("cli")
    for name, text in (("soumu", SOUMU), ("jinji", JINJI)):
        (root / name).mkdir()
        (root / name / "keihi.txt").write_text(text, encoding="utf-8")
    assert _cli(root, "ingest", "soumu", "--collection", "総務", "--meta", "dept=総務",
                "--meta", "year=2024").returncode == 0
    assert _cli(root, "ingest", "jinji", "--collection", "人事", "--meta", "year=2023").returncode == 0
    return root


def test_cli_collections_meta_and_where(cli_store, tmp_path):
    listed = json.loads(_cli(cli_store, "collections", "--json").stdout)
    assert listed == [{"name": "人事", "files": 1, "chunks": 1}, {"name": "総務", "files": 1, "chunks": 1}]
    sources = json.loads(_cli(cli_store, "sources", "--json", "--collection", "総務").stdout)
    assert [(s["collection"], s["metadata"]["dept"], s["metadata"]["year"]) for s in sources] == [("総務", "総務", 2024)]
    answer = json.loads(_cli(cli_store, "ask", QUESTION, "--json", "--collection", "人事").stdout)
    assert {c["collection"] for c in answer["citations"]} == {"人事"} and "5日" in answer["answer"]
    shown = _cli(cli_store, "ask", QUESTION, "--retrieve-only", "--collection", "人事", "--collection", "総務").stdout
    assert "[人事] jinji/keihi.txt" in shown and "[総務] soumu/keihi.txt" in shown
    shutil.copytree(cli_store / "store", tmp_path / "store")
    dropped = _cli(tmp_path, "collections", "drop", "人事")
    assert dropped.returncode == 0 and "dropped collection 人事 (1 file(s))" in dropped.stdout
    assert [c.name for c in RAG(store=tmp_path / "store").collections()] == ["総務"]


@pytest.mark.parametrize("args, message", [
    (["--where", "year=>2024"], "--where 'year=>2024': unknown operator '=>'"),
    (["--where", "dept~総務"], "--where 'dept~総務': unknown operator '~'"),
    (["--where", "year>="], "--where 'year>=': a value is missing"),
    (["--collection", "経理"], "no collection '経理'"),
])
def test_cli_bad_where_or_collection_is_one_line(cli_store, args, message):
    done = _cli(cli_store, "ask", QUESTION, "--retrieve-only", *args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr and "Traceback" not in done.stderr


def test_cli_unknown_field_matches_nothing_and_says_so(cli_store):
    done = _cli(cli_store, "ask", QUESTION, "--retrieve-only", "--json", "--where", "owner=山田")
    assert done.returncode == 0 and json.loads(done.stdout)["hits"] == []
    assert "no document has the field owner" in done.stderr
    ok = _cli(cli_store, "ask", QUESTION, "--retrieve-only", "--json", "--where", "dept=総務")
    assert len(json.loads(ok.stdout)["hits"]) == 1 and ok.stderr == ""


@pytest.mark.parametrize("argv", [
    ["ingest", "docs"], ["ask", "q"], ["sources"], ["remove", "a.txt"], ["check"],
    ["eval", "--corpus", "c.jsonl", "--questions", "q.jsonl"],
])
def test_every_command_that_reads_or_writes_documents_takes_collection(argv):
    from ragkit.cli import build_parser

    args = build_parser().parse_args([*argv, "--collection", "総務"])
    assert args.collection in ("総務", ["総務"])
