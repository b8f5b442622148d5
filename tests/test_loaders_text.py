"""Text loading (encodings, empty, binary) and file discovery (hidden, unsupported, symlink loop)."""
import os

import pytest

from ragkit.errors import LoadError
from ragkit.loaders import discover, load
from ragkit.loaders.text import decode_bytes

JA = "吾輩は猫である。名前はまだ無い。\nどこで生れたかとんと見当がつかぬ。"


@pytest.mark.parametrize(
    "encoding, prefix",
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp932", b""), ("euc_jp", b""), ("utf-16", b"")],
)
def test_japanese_encodings_are_detected(tmp_path, encoding, prefix):
    path = tmp_path / "neko.txt"
    path.write_bytes(prefix + JA.encode(encoding))
    (doc,) = load(path)
    assert doc.text.startswith("吾輩は猫である。")
    assert "\ufeff" not in doc.text
    assert "見当がつかぬ" in doc.text
    assert doc.page is None and doc.source == str(path)


@pytest.mark.parametrize("encoding", ["cp932", "euc_jp"])
def test_ambiguous_bytes_pick_the_plausible_decoding(encoding):
    # short kana-heavy texts are the ones that can decode both ways
    text = "あいうえお、かきくけこ。カタカナも少し。"
    decoded, used = decode_bytes(text.encode(encoding))
    assert decoded == text
    assert used == encoding


def test_txt_joins_wrapped_japanese_lines(tmp_path):
    path = tmp_path / "wrapped.txt"
    path.write_text("本日は晴天なり。明日は\n雨が降るでしょう。\n\n次の段落。", encoding="utf-8")
    (doc,) = load(path)
    assert doc.text == "本日は晴天なり。明日は雨が降るでしょう。\n\n次の段落。"


def test_markdown_keeps_code_and_tables(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text(
        "# 見出し\n\n本文は\n折り返し。\n\n```\nline one\nline two\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        encoding="utf-8",
    )
    (doc,) = load(path)
    assert "本文は折り返し。" in doc.text
    assert "line one\nline two" in doc.text
    assert "| a | b |\n|---|---|\n| 1 | 2 |" in doc.text


def test_empty_file_is_an_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(LoadError, match="empty file") as err:
        load(path)
    assert err.value.path == str(path)


def test_binary_named_txt_is_an_error(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(LoadError, match="binary file, not text"):
        load(path)


def test_undecodable_text_names_the_encodings_tried(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"caf\xe9 \xff\xfe\xfd \x80\x81")
    with pytest.raises(LoadError, match=r"cannot decode text \(tried utf-8, cp932, euc-jp\)"):
        load(path)


def test_vanished_file_is_reported(tmp_path):
    with pytest.raises(LoadError, match="file vanished"):
        load(tmp_path / "gone.txt")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file_is_reported(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("x", encoding="utf-8")
    path.chmod(0)
    with pytest.raises(LoadError, match="permission denied"):
        load(path)


def _tree(root):
    (root / "b").mkdir()
    (root / "a.txt").write_text("a", encoding="utf-8")
    (root / "b" / "c.md").write_text("c", encoding="utf-8")
    (root / "b" / "d.PDF").write_bytes(b"%PDF-1.4")
    (root / "b" / "e.rtf").write_bytes(b"{\\rtf1}")
    (root / ".hidden.txt").write_text("h", encoding="utf-8")
    (root / ".git").mkdir()
    (root / ".git" / "notes.md").write_text("n", encoding="utf-8")
    (root / "b" / "loop").symlink_to(root, target_is_directory=True)


def test_discover_walks_sorted_and_skips_hidden_and_unsupported(tmp_path):
    _tree(tmp_path)
    files, problems = discover([tmp_path])
    assert files == [tmp_path / "a.txt", tmp_path / "b" / "c.md", tmp_path / "b" / "d.PDF"]
    assert problems == []


def test_discover_survives_a_symlink_loop_and_duplicates(tmp_path):
    _tree(tmp_path)
    files, _ = discover([tmp_path, tmp_path / "a.txt", tmp_path / "b" / "loop"])
    assert len(files) == len(set(files)) == 3


def test_discover_reports_named_problems(tmp_path):
    _tree(tmp_path)
    files, problems = discover([tmp_path / "b" / "e.rtf", tmp_path / "missing.txt",
                                tmp_path / ".hidden.txt"])
    assert files == [tmp_path / ".hidden.txt"]  # named explicitly: taken even though hidden
    reasons = dict(problems)
    assert "unsupported file type .rtf" in reasons[str(tmp_path / "b" / "e.rtf")]
    assert reasons[str(tmp_path / "missing.txt")] == "no such file or directory"


def test_permission_denied_is_reported(tmp_path, monkeypatch):
    path = tmp_path / "secret.md"
    path.write_text("x", encoding="utf-8")

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(type(path), "read_bytes", refuse)
    with pytest.raises(LoadError, match="permission denied"):
        load(path)


def test_discover_reports_broken_links_but_not_other_suffixes(tmp_path):
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (tmp_path / "dangling.bin").symlink_to(tmp_path / "nowhere.bin")
    files, problems = discover([tmp_path])
    assert files == []
    assert problems == [(str(tmp_path / "dangling.txt"), "broken symbolic link")]
