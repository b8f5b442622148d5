"""The first hour with ragkit (issue 18), fast tier: what a walk skips and why, failures that are
remembered, progress as it happens, one JSON object per command, and the rough edges a new user
met, each ending in one line that says what to do. Fakes stand in for the models; the real
CLI under a pseudo-terminal and the nightly run are in test_first_hour_cli.py."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from conftest import CORPORA, REPO
from ragkit import cli
from ragkit.errors import ConfigError, EmptyStore, LoadError
from ragkit.loaders import find, inspect_file, load
from ragkit.loaders.cleanup import strip_running_lines
from ragkit.pipeline import RAG
from ragkit.progress import EMBED_STEP, Progress, embed_in_steps
from ragkit.terminal import progress_for
from ragkit.testing import CopyingGenerator, HashingEmbedder
from ragkit.types import Chunk

GOOD = "経費の申請期限は翌月10日です。交通費は実費を支給します。\n"


def _rag(tmp_path: Path, **kw) -> RAG:
    kw.setdefault("ingest_max_file_mb", 1)  # big.txt is skipped, not embedded for a minute
    return RAG(store=tmp_path / "store", embedder=kw.pop("embedder", HashingEmbedder()),
               generator=CopyingGenerator(), **kw)


@pytest.fixture
def docs(tmp_path) -> Path:
    """One good file next to one of each thing a walk leaves out, and one bad file."""
    d = tmp_path / "docs"
    (d / "drafts").mkdir(parents=True)
    (d / "keep").mkdir()
    (d / "good.txt").write_text(GOOD, encoding="utf-8")
    (d / "keep" / "kept.md").write_text("# 保存\n記録は5年間保存する。\n", encoding="utf-8")
    (d / "photo.png").write_bytes(b"\x89PNG\r\n")
    (d / ".env").write_text("SECRET=1", encoding="utf-8")
    (d / ".git").mkdir()
    (d / ".git" / "HEAD.md").write_text("ref", encoding="utf-8")
    (d / "drafts" / "draft.md").write_text("下書き。", encoding="utf-8")
    (d / "debug.log.txt").write_text("ログ。", encoding="utf-8")
    (d / "big.txt").write_bytes("大".encode() * 400_000)  # 1.2 MB
    (tmp_path / "outside.txt").write_text("外の文書。", encoding="utf-8")
    (d / "link.txt").symlink_to(tmp_path / "outside.txt")
    (d / ".ragkitignore").write_text("# comments and blank lines are fine\n\ndrafts/\n*.log.txt\n", encoding="utf-8")
    (d / "empty.md").write_bytes(b"")
    return d


def _kinds(report) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for s in report.skipped:
        out.setdefault(s["kind"], set()).add(Path(s["path"]).name)
    return out


# --- nothing left out silently ------------------------------------------------------------------
def test_a_walk_reports_every_skipped_path_by_reason(tmp_path, docs):
    report = _rag(tmp_path).ingest([docs])
    assert _kinds(report) == {"unsupported": {"photo.png"}, "hidden": {".env", ".git"},
                              "ignored": {"drafts", "debug.log.txt"}, "too_large": {"big.txt"},
                              "outside": {"link.txt"}}
    assert [Path(f["path"]).name for f in report.failed] == ["empty.md"]  # the only failure
    assert report.new == 2 and report.files == 3
    by_path = {Path(s["path"]).name: s for s in report.skipped}
    assert by_path["drafts"]["path"].endswith("drafts/")  # an ignored folder is reported once, not entered
    assert ".ragkitignore" not in by_path  # ragkit's own file is not news
    assert json.loads(json.dumps(report.to_json()))["skipped"] == report.skipped


def test_ragkitignore_follows_gitignore_rules(tmp_path):
    root = tmp_path / "r"
    (root / "a" / "build").mkdir(parents=True)
    for rel in ("top.md", "a/top.md", "a/build/x.md", "a/keep.md", "a/drop.md"):
        (root / rel).write_text("本文。", encoding="utf-8")
    (root / ".ragkitignore").write_text("/top.md\nbuild/\na/*.md\n!a/keep.md\n", encoding="utf-8")
    found = find([root])
    assert sorted(p.relative_to(root).as_posix() for p in found.files) == ["a/keep.md"]
    assert {s.path for s in found.skipped if s.kind == "ignored"} == {
        str(root / "top.md"), str(root / "a" / "build") + "/", str(root / "a" / "top.md"), str(root / "a" / "drop.md")}


def test_an_invalid_ragkitignore_stops_the_run_naming_the_line(tmp_path):
    (tmp_path / "a.md").write_text("本文。", encoding="utf-8")
    (tmp_path / ".ragkitignore").write_text("ok.md\n!\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.ragkitignore:2: invalid pattern '!'.*nothing was ingested"):
        find([tmp_path])


# --- failures are remembered --------------------------------------------------------------------
def test_an_unchanged_bad_file_is_not_retried_and_is_not_a_failure_again(tmp_path, docs):
    embedder = HashingEmbedder()
    rag = _rag(tmp_path, embedder=embedder)
    first = rag.ingest([docs])
    assert [Path(f["path"]).name for f in first.failed] == ["empty.md"]
    assert [Path(f.path).name for f in rag.failures()] == ["empty.md"]
    embedder.calls.clear()
    second = rag.ingest([docs])
    assert second.failed == [] and second.new == 0 and embedder.calls == []
    assert _kinds(second)["failed_before"] == {"empty.md"}
    assert next(s for s in second.skipped if s["kind"] == "failed_before")["reason"] == "empty file"
    retried = rag.ingest([docs], retry_failed=True)  # tried again: fails again, named again
    assert [Path(f["path"]).name for f in retried.failed] == ["empty.md"]
    (docs / "empty.md").write_text("# 直した\n中身があります。\n", encoding="utf-8")  # changed: tried
    fixed = rag.ingest([docs])
    assert fixed.failed == [] and fixed.new == 1 and rag.failures() == []


def test_touching_a_bad_file_does_not_retry_it_but_a_vanished_one_is_forgotten(tmp_path, docs):
    rag = _rag(tmp_path)
    rag.ingest([docs])
    os.utime(docs / "empty.md", (1, 1))  # same bytes, new mtime: still the same bad file
    assert _kinds(rag.ingest([docs]))["failed_before"] == {"empty.md"}
    (docs / "empty.md").unlink()
    rag.ingest([docs])
    assert rag.failures() == []


def test_a_new_ragkit_version_retries(tmp_path, docs, monkeypatch):
    rag = _rag(tmp_path)
    rag.ingest([docs])
    monkeypatch.setattr("ragkit.__version__", "99.0")
    assert [Path(f["path"]).name for f in rag.ingest([docs]).failed] == ["empty.md"]


# --- progress as it happens ---------------------------------------------------------------------
class Recorder(Progress):
    def __init__(self):
        self.events: list[tuple] = []

    def __getattribute__(self, name):
        attr = object.__getattribute__(self, name)
        if name in Progress.__dict__ and callable(attr) and not name.startswith("_"):
            return lambda *a: object.__getattribute__(self, "events").append((name, *a))
        return attr


def test_progress_counts_chunks_and_tells_problems_when_they_happen(tmp_path, docs):
    recorder = Recorder()
    (docs / "long.txt").write_text("".join(f"第{i}条 申請は{i}日以内に行う。理由を書く。\n" for i in range(2000)),
                                   encoding="utf-8")
    report = _rag(tmp_path, progress=recorder).ingest([docs])
    names = [e[0] for e in recorder.events]
    queued = sum(e[2] for e in recorder.events if e[0] == "chunks_queued")
    embedded = [e[2] for e in recorder.events if e[0] == "chunks_embedded"]
    assert queued == sum(embedded) == report.embedded > EMBED_STEP  # the bar counts chunks, in steps
    assert len(embedded) > 1 and max(embedded) <= EMBED_STEP
    assert names.count("file_started") == report.files
    assert names.index("files_found") < names.index("file_started")
    assert names.index("file_failed") < names.index("chunks_embedded")  # not saved for the end
    assert {e[1]["kind"] for e in recorder.events if e[0] == "skipped"} >= {"unsupported", "hidden", "ignored"}


def test_embedding_in_steps_gives_the_vectors_of_one_call_in_order():
    embedder = HashingEmbedder()
    chunks = [Chunk(id=str(i), source=f"f{i % 3}", page=None, index=i, start=0, end=1, text="あ" * (i * 7 % 50 + 1))
              for i in range(150)]
    stepped = embed_in_steps(embedder.embed_documents, chunks, Progress())
    assert (stepped == embedder.embed_documents([c.text for c in chunks])).all()


def test_plain_lines_when_stderr_is_not_a_terminal(tmp_path, docs, capsys):
    import io

    stream = io.StringIO()
    progress = progress_for(quiet=False, stream=stream)
    _rag(tmp_path, progress=progress).ingest([docs])
    text = stream.getvalue()
    assert "good.txt: 1 chunk(s) to embed" in text and "failed: " in text and "\r" not in text
    quiet = io.StringIO()
    _rag(tmp_path / "q", progress=progress_for(quiet=True, stream=quiet)).ingest([docs])
    assert quiet.getvalue() == ""


# --- the CLI: one JSON object per command, one line per error -------------------------------------
@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    """``run(*argv)`` -> (exit code, stdout, stderr) of the real CLI with the fakes at the seams."""
    def fake_rag(args, **overrides):
        return RAG(store=args.store or tmp_path / "store", config=args.config, embedder=HashingEmbedder(),
                   generator=CopyingGenerator(), progress=progress_for(args.quiet or args.json), **overrides)

    monkeypatch.setattr(cli, "_rag", fake_rag)
    monkeypatch.setenv("RAGKIT_INGEST_MAX_FILE_MB", "1")
    monkeypatch.chdir(tmp_path)

    def call(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return call


def _readme_shapes() -> dict[str, set[str]]:
    """The README's `--json` table: command -> its top-level keys (nested ones left out)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("**`--json` shapes.**")
    table = readme[start:readme.index("\n\n", readme.index("\n|", start))]
    shapes = {}
    for row in re.findall(r"^\| (`[^|]+`|any, on error) \| (.+) \|$", table, flags=re.M):
        top = re.sub(r"\[[^\]]*\]|\{[^}]*\}", "", row[1])  # drop what is inside lists and objects
        shapes[row[0].strip("`")] = {k.rstrip("?") for k in re.findall(r"`([^`]+)`", top) if not k.startswith("-")}
    return shapes


def test_every_json_output_is_the_object_the_readme_table_shows(run, docs, capsys):
    shapes = _readme_shapes()
    runs = {
        "ingest": ("ingest", str(docs)),
        "ask": ("ask", "経費の申請期限は？"),
        "ask --retrieve-only": ("ask", "経費の申請期限は？", "--retrieve-only"),
        "sources": ("sources",),
        "sources --pages": ("sources", "--pages"),
        "check": ("check", "--repair"),
        "inspect": ("inspect", str(docs / "good.txt")),
        "remove": ("remove", str(docs / "good.txt"), "--dry-run"),
        "collections": ("collections",),
        "any, on error": ("ask", ""),
        "collections drop": ("collections", "drop", "default"),  # last: it empties the store
    }
    # every row is checked here or in their own tests (test_evaluate, test_doctor, test_serve)
    assert set(runs) | {"eval", "doctor", "keys list", "keys add", "keys revoke"} == set(shapes)
    for name, argv in runs.items():
        data = json.loads(run(*argv, "--json")[1])
        assert isinstance(data, dict) and set(data) == shapes[name], (name, sorted(data))
    error = json.loads(run("ask", "", "--json")[1])
    assert error["exit_code"] == 2 and "empty" in error["error"]
    with pytest.raises(SystemExit):
        run("ask", "q", "-k", "0", "--json")  # argparse refuses it, and says why on stderr
    assert set(json.loads(capsys.readouterr().out)) == shapes["any, on error"]


def test_check_repair_prints_lines_not_a_python_dict(run, docs):
    run("ingest", str(docs), "-q")
    code, out, _ = run("check", "--repair")
    assert code == 0 and "{" not in out and "[" not in out
    assert "repaired:\n  orphan_vectors_deleted: 0\n  files_forgotten: 0" in out


def test_ingest_summary_lists_skipped_by_reason_and_the_second_run_exits_0(run, docs):
    code, out, err = run("ingest", str(docs))
    assert code == 3 and "failed: " in err and "--retry-failed" in out
    assert re.search(r"not a supported document type: 1 \(.*photo\.png\)", err)
    assert re.search(r"excluded by \.ragkitignore: 2 ", err)
    code, out, err = run("ingest", str(docs))
    assert code == 0, err
    assert re.search(r"failed before and unchanged since .*: 1 \(.*empty\.md\)", err)
    assert run("ingest", str(docs), "--retry-failed")[0] == 3


def test_empty_store_says_to_ingest(run, tmp_path):
    (tmp_path / "nothing").mkdir()
    assert run("ingest", str(tmp_path / "nothing"))[1].startswith("found no document to ingest")
    for argv in (("ask", "経費は？"), ("ask", "経費は？", "--retrieve-only")):
        code, out, err = run(*argv)
        assert code == 1 and out == ""
        assert err.strip().splitlines() == [f"ragkit: error: nothing is indexed yet in {tmp_path / 'store'}: "
                                             "run `ragkit ingest PATH`"]
    code, _, err = run("ask", "経費は？", "--store", str(tmp_path / "typo"))
    assert code == 1 and "nothing is indexed yet (no store at" in err and "ragkit ingest PATH" in err


def test_the_library_raises_empty_store_too(tmp_path):
    rag = _rag(tmp_path)
    rag.store(create=True)
    with pytest.raises(EmptyStore, match="nothing is indexed yet"):
        rag.retrieve("質問")
    with pytest.raises(EmptyStore):
        rag.ask("質問")


@pytest.mark.parametrize("name, make, says", [
    ("nope.pdf", None, "no such file; check the name"),
    ("folder", "dir", "is a folder; inspect shows one file"),
    ("renamed.pdf", "text", r"not a PDF \(no %PDF header\)"),
    ("broken.pdf", b"%PDF-1.4\nnot really", "broken PDF (.*); open it in a PDF viewer and save"),
    ("notes.rtf", b"{\\rtf1}", "unsupported file type .rtf"),
])
def test_inspect_errors_are_one_line_saying_what_to_do(run, tmp_path, name, make, says):
    path = tmp_path / name
    if make == "dir":
        path.mkdir()
    elif make == "text":
        path.write_text(GOOD, encoding="utf-8")
    elif make is not None:
        path.write_bytes(make)
    code, out, err = run("inspect", str(path))
    assert code == 1 and out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and re.search(says, err), err


def test_inspect_a_text_file_shows_its_text_not_a_pdf_error(run, tmp_path):
    (tmp_path / "file.txt").write_text(GOOD, encoding="utf-8")
    code, out, err = run("inspect", "file.txt")
    assert code == 0 and "経費の申請期限" in out and "PDF" not in out + err


def test_sources_pages_shows_what_the_readme_says(run, docs):
    """README: `sources --pages` shows per indexed page the extractor, score and chunk count."""
    run("ingest", str(docs), "-q")
    out = run("sources", "--pages")[1]
    assert re.search(r"good\.txt  extractor=text:utf-8 quality=(-|\d\.\d\d) chunks=1", out), out
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "`ragkit sources --pages` shows the same" not in readme


def test_quiet_and_retry_failed_parse_before_or_after_the_command():
    parser = cli.build_parser()
    assert parser.parse_args(["-q", "ingest", "d"]).quiet and parser.parse_args(["ingest", "d", "--quiet"]).quiet
    assert parser.parse_args(["ingest", "d", "--retry-failed"]).retry_failed
    assert not parser.parse_args(["ask", "q"]).quiet


# --- eval --generate with the questions format its --help names ------------------------------------
def test_eval_generate_needs_no_context_in_the_questions(tmp_path):
    from ragkit.answer_eval import evaluate_answers
    from ragkit.qa import write_docs

    corpus = [{"context_id": "p1", "title": "経費", "context": "経費の申請期限は翌月10日です。"},
              {"context_id": "p2", "title": "休暇", "context": "年次有給休暇は20日付与される。"}]
    questions = [{"question": "経費の申請期限はいつですか？", "answers": ["翌月10日"], "context_id": "p1"}]
    write_docs(corpus, tmp_path / "docs")
    rag = _rag(tmp_path)
    rag.ingest([tmp_path / "docs"])
    result = evaluate_answers(rag, questions, corpus, unanswerable=True)
    assert result["answers"]["n"] == 1 and result["answers"]["reader_ceiling_f1"] > 0
    eval_help = " ".join(cli.build_parser()._subparsers._group_actions[0].choices["eval"].format_help().split())
    assert "answers too with --generate" in eval_help


def test_eval_generate_names_missing_answers_before_any_work(tmp_path):
    from ragkit.evaluate import run_eval

    (tmp_path / "q.jsonl").write_text(json.dumps({"question": "q", "context_id": "p1"}) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"q\.jsonl:1: missing field\(s\) answers"):
        run_eval(tmp_path / "nowhere.jsonl", tmp_path / "q.jsonl", generate=True)


# --- running headers and footers ---------------------------------------------------------------------
@pytest.mark.parametrize("footer", ["{n} / {total}", "- {n} -", "p. {n}", "Page {n} of {total}"])
@pytest.mark.parametrize("total", [2, 4])
def test_page_number_lines_are_dropped(footer, total):
    pages = [f"第{n}章 本文\n本文の{n}ページ目です。\n{footer.format(n=n, total=total)}" for n in range(1, total + 1)]
    assert all(footer.format(n=n, total=total) not in page
               for n, page in enumerate(strip_running_lines(pages), start=1))


def test_a_bare_number_at_the_foot_of_two_pages_stays():
    assert strip_running_lines(["金額\n12", "金額\n15"]) == ["金額\n12", "金額\n15"]


def test_corpus_pdf_running_header_is_dropped():
    """The English manual repeats a 100-character title line at the top of every page; quoted
    answers picked it up as part of their sentence."""
    for doc in load(CORPORA / "product_manual_en.pdf"):
        assert "Operator's Manual | Minato Precision" not in doc.text, doc.page


def test_corpus_pdfs_have_no_page_numbers_in_their_text():
    number = re.compile(r"(^|\s)\d+ / \d+($|\s)")
    pdfs = sorted(CORPORA.glob("*.pdf"))
    assert len(pdfs) == 4
    for pdf in pdfs:
        for doc in load(pdf):
            assert not number.search(doc.text), (pdf.name, doc.page, doc.text[-40:])


# --- the API's one rule for lazily built parts -------------------------------------------------------
def test_models_are_properties_and_the_store_a_method(tmp_path):
    assert isinstance(RAG.__dict__["embedder"], property) and isinstance(RAG.__dict__["generator"], property)
    rag = _rag(tmp_path)
    assert rag.store(create=True) is rag.store()  # opened once, as before
    with pytest.raises(LoadError):
        inspect_file(tmp_path / "missing.md")


# --- schema 5: the failures table ------------------------------------------------------------------
def test_old_stores_gain_the_failures_table_and_read_only_old_stores_are_refused(tmp_path):
    import shutil
    import sqlite3

    from ragkit.errors import StoreError
    from ragkit.store import Store

    old = tmp_path / "v1"
    shutil.copytree(REPO / "tests" / "fixtures" / "store-v1", old)
    migrated = Store(old)
    from ragkit.index.catalog import SCHEMA_VERSION

    assert migrated.catalog.schema_version == SCHEMA_VERSION and migrated.failures.all() == []
    migrated.close()
    v4 = tmp_path / "v4"
    Store(v4, create=True).close()
    with sqlite3.connect(v4 / "catalog.sqlite") as db:  # as ragkit before schema 5 left it
        db.execute("DROP TABLE failures")
        db.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    # a read-only open cannot migrate, and schema 6 (collections) is what searching reads
    with pytest.raises(StoreError, match="needs an upgrade"):
        Store(v4, read_only=True)
