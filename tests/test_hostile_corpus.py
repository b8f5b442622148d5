"""The hostile corpus (issue 17): a folder built to break ingestion, ingested with the fake
embedder. Good files must be searchable; every bad entry reported by name, in printable form;
nothing outside the folder read; no FIFO opened. The CLI run is in test_hostile_cli.py."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ragkit.display import display_path
from ragkit.loaders import discover
from ragkit.loaders.text import decode_text, load_text
from ragkit.pipeline import RAG
from ragkit.testing import HashingEmbedder

SJIS_NAME = os.fsdecode("経費.txt".encode("cp932"))
ESCAPE_NAME = "red\x1b[31mtext.txt"
NEWLINE_NAME = "two\nlines.txt"
SECRET = "ひみつの合言葉はうぐいす"  # in the folder next to the corpus: must never be indexed
UTF8 = "総務部の電話番号は内線2345です。経費の申請は月末までに行います。"


def _long_path(base: Path) -> Path:
    """Folders nested until the path passes 4,096 bytes, made relative to each parent (the
    whole path is too long for any system call), with a document at the bottom."""
    fd = os.open(base, os.O_RDONLY)
    path = base
    try:
        while len(os.fsencode(path)) < 4200:
            name = "d" * 200
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd, path = inner, path / name
        doc = os.open("buried.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(doc, "深い場所の文書です。".encode())
        os.close(doc)
    finally:
        os.close(fd)
    return path / "buried.txt"


def build_hostile_corpus(root: Path, huge_line: int = 200_000) -> Path:
    """``root/docs``: good files plus one of each hostile entry; ``root/outside`` holds a secret.
    ``huge_line``: repeats of a 3-character word on the one line of ``huge_line.txt``."""
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET + "。", encoding="utf-8")
    (root / "parent_secret.txt").write_text(SECRET + "。", encoding="utf-8")
    docs = root / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text("保守点検は毎月第2火曜日に行う。\n", encoding="utf-8")
    (docs / "good.md").write_text("# 休暇\n\n年次有給休暇は入社半年後に10日付与される。\n", encoding="utf-8")
    (docs / "passwd.txt").symlink_to("/etc/passwd")
    (docs / "up").symlink_to("..", target_is_directory=True)
    (docs / "elsewhere").symlink_to(outside, target_is_directory=True)
    (docs / "inside_link.txt").symlink_to(docs / "good.txt")  # inside: fine, loaded once
    os.mkfifo(docs / "pipe.txt")
    (docs / os.fsencode(SJIS_NAME).decode("utf-8", "surrogateescape")).write_text("古い名前。", encoding="utf-8")
    (docs / ESCAPE_NAME).write_text("エスケープ入りの名前の文書。", encoding="utf-8")
    (docs / NEWLINE_NAME).write_text("改行入りの名前の文書。", encoding="utf-8")
    deep = docs.joinpath(*["深"] * 60)
    deep.mkdir(parents=True)
    (deep / "deep.txt").write_text("深い階層の文書です。", encoding="utf-8")
    _long_path(docs)
    (docs / "huge_line.txt").write_text("長い行" * huge_line, encoding="utf-8")
    raw = UTF8.encode()
    (docs / "bad_byte.txt").write_bytes(raw[:10] + b"\xff" + raw[10:])
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 20)
    return docs


@pytest.fixture
def hostile(tmp_path):
    return build_hostile_corpus(tmp_path)


def _failed(report) -> dict[str, str]:
    return {Path(f["path"]).name: f["reason"] for f in report.failed}


def test_hostile_corpus_ingests_good_files_and_names_each_bad_one(tmp_path, hostile):
    rag = RAG(store=tmp_path / "store", embedder=HashingEmbedder())
    report = rag.ingest([hostile])
    failed = _failed(report)
    assert "outside the ingested folders" in failed["passwd.txt"]
    assert "outside the ingested folders" in failed["up"]
    assert "outside the ingested folders" in failed["elsewhere"]
    assert "not a regular file" in failed["pipe.txt"]
    assert failed[display_path(SJIS_NAME)].startswith("file name is not valid UTF-8 (looks like Shift_JIS: 経費.txt)")
    assert any("path too long" in reason for reason in failed.values())
    assert failed["empty.txt"] == "empty file"
    assert "binary" in failed["binary.txt"]
    assert json.dumps(report.to_json(), ensure_ascii=False)  # printable: no surrogates left
    sources = {Path(r.source).name for r in rag.store().files()}
    assert {"good.txt", "good.md", "deep.txt", "huge_line.txt", "bad_byte.txt",
            ESCAPE_NAME, NEWLINE_NAME} <= sources
    assert not {"passwd", "secret.txt", "parent_secret.txt", "inside_link.txt"} & sources
    assert not any(r.path.startswith(str(hostile.parent / "outside")) for r in rag.store().files())
    warned = {Path(w["path"]).name: w["reason"] for w in report.warnings}
    assert "4 undecodable byte sequence(s)" in warned["bad_byte.txt"]
    for query, name in (("保守点検", "good.txt"), ("電話番号", "bad_byte.txt"), ("深い階層", "deep.txt")):
        assert Path(rag.retrieve(query, k=1, mode="lexical")[0].chunk.source).name == name
    assert all(SECRET not in h.chunk.text for h in rag.retrieve(SECRET, k=5, mode="lexical"))
    assert not any("root:" in h.chunk.text for h in rag.retrieve("root bin bash", k=5, mode="lexical"))


def test_follow_symlinks_opts_in(hostile):
    files, _ = discover([hostile], follow_symlinks=True)
    names = {p.name for p in files}
    assert {"passwd.txt", "secret.txt"} <= names


def test_named_files_are_roots_and_fifos_are_not_opened(hostile):
    files, problems = discover([hostile / "good.txt", hostile / "pipe.txt"])
    assert [p.name for p in files] == ["good.txt"]
    assert problems == [(str(hostile / "pipe.txt"), problems[0][1])]
    assert "not a regular file" in problems[0][1]


def test_size_limit_skips_large_files(tmp_path):
    (tmp_path / "big.txt").write_bytes(b"a" * (2 * 1024 * 1024))
    (tmp_path / "small.txt").write_text("小さい。", encoding="utf-8")
    files, problems = discover([tmp_path], max_file_mb=1)
    assert [p.name for p in files] == ["small.txt"]
    assert problems[0][1] == "skipped: too large (2.0 MB > limit 1 MB; raise [ingest] max_file_mb)"


@pytest.mark.parametrize("name, shown", [
    ("a\nb.txt", "a\\x0ab.txt"), ("\x1b[2Jx.txt", "\\x1b[2Jx.txt"), ("r\u202eexe.txt", "r\\u202eexe.txt"),
    (os.fsdecode(b"\x8co\x94\xef.txt"), "\\x8co\\x94\\xef.txt"), ("全角\u3000名前.txt", "全角\u3000名前.txt"),
])
def test_display_path_escapes_what_a_terminal_would_obey(name, shown):
    assert display_path(name) == shown
    assert display_path(shown) == shown


def test_one_bad_byte_is_replaced_and_counted(tmp_path):
    raw = UTF8.encode()
    (tmp_path / "x.txt").write_bytes(raw[:9] + b"\xff" + raw[9:])
    doc, = load_text(tmp_path / "x.txt")
    assert "電話番号" in doc.text and doc.warnings == (
        "1 undecodable byte sequence(s) replaced by U+FFFD (not UTF-8); the rest is indexed",)
    assert decode_text("総務部の電話番号です。".encode("cp932"))[1:] == ("cp932", 0)
