"""Hardening of the store side (issue 17): nothing is wiped by a typo, nothing leaks through
permissions or a symlinked lock, numbers are validated. Fast tier: fake models only."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragkit.errors import UsageError
from ragkit.pipeline import RAG
from ragkit.testing import CopyingGenerator, HashingEmbedder

REPO = Path(__file__).resolve().parents[1]


def _rag(store: Path) -> RAG:
    return RAG(store=store, embedder=HashingEmbedder(), generator=CopyingGenerator())


@pytest.fixture
def docs(tmp_path, monkeypatch):
    """Two folders with two files each; the test runs from ``tmp_path``."""
    for folder in ("docs", "other"):
        (tmp_path / folder).mkdir()
        for name in ("a", "b"):
            (tmp_path / folder / f"{name}.txt").write_text(f"{folder} {name}: 経費の申請は月末までに行う。\n",
                                                            encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _sources(rag: RAG) -> list[str]:
    return [r.source for r in rag.sources()]


# --- remove (defect 2) ---------------------------------------------------------------------------
@pytest.mark.parametrize("arg", ["", " "])
def test_remove_refuses_an_empty_path(docs, arg):
    rag = _rag(docs / "store")
    rag.ingest(["docs", "other"])
    with pytest.raises(UsageError, match="empty path"):
        rag.remove([arg])
    assert len(_sources(rag)) == 4


@pytest.mark.parametrize("args", [["."], [".", "docs"], ["docs", "other"]])
def test_remove_refuses_to_match_every_file_without_all(docs, args):
    rag = _rag(docs / "store")
    rag.ingest(["docs", "other"])
    with pytest.raises(ValueError, match="matches every file.*--all"):
        rag.remove(args)
    assert len(_sources(rag)) == 4
    assert len(rag.remove(args, all=True)) == 4 and _sources(rag) == []


def test_remove_folder_and_dry_run(docs):
    rag = _rag(docs / "store")
    rag.ingest(["docs", "other"])
    assert rag.remove(["docs"], dry_run=True) == ["docs/a.txt", "docs/b.txt"]
    assert len(_sources(rag)) == 4
    assert rag.remove([docs / "docs"]) == ["docs/a.txt", "docs/b.txt"]  # absolute path matches too
    assert _sources(rag) == ["other/a.txt", "other/b.txt"]


def test_remove_by_exact_name_may_empty_a_one_file_store(docs):
    rag = _rag(docs / "store")
    rag.ingest(["docs/a.txt"])
    assert rag.remove(["docs/a.txt"]) == ["a.txt"]  # a file named directly is shown by its name


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "ragkit", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def test_cli_remove_empty_argument_is_a_usage_error(docs):
    _rag(docs / "store").ingest(["docs"])
    for args in ([""], ["."], []):
        done = _cli("--store", "store", "remove", *args, cwd=docs)
        assert done.returncode == 2, done
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    done = _cli("--store", "store", "remove", "--dry-run", "docs/a.txt", cwd=docs)
    assert done.returncode == 0 and "would remove: docs/a.txt" in done.stdout
    assert len(_sources(_rag(docs / "store"))) == 2


# --- prune (defect 3) ----------------------------------------------------------------------------
def test_prune_refuses_a_missing_root(docs):
    rag = _rag(docs / "store")
    rag.ingest([docs / "docs"])
    (docs / "docs").rename(docs / "docs.off")  # an unmounted share
    with pytest.raises(UsageError, match="missing or empty; not pruning"):
        rag.ingest([docs / "docs"], prune=True)
    assert len(_sources(rag)) == 2


def test_prune_refuses_an_empty_root(docs):
    rag = _rag(docs / "store")
    rag.ingest(["docs"])
    for f in (docs / "docs").iterdir():
        f.unlink()
    with pytest.raises(UsageError, match="docs is missing or empty"):
        rag.ingest(["docs"], prune=True)
    assert len(_sources(rag)) == 2


def test_prune_from_inside_a_folder_keeps_other_folders(docs, monkeypatch):
    rag = _rag(docs / "store")
    rag.ingest(["docs", "other"])
    monkeypatch.chdir(docs / "docs")
    (docs / "docs" / "b.txt").unlink()
    report = rag.ingest(["."], prune=True)
    assert report.removed == ["docs/b.txt"]
    assert {"other/a.txt", "other/b.txt", "docs/a.txt"} <= set(_sources(rag))


def test_prune_dry_run_lists_and_removes_nothing(docs):
    rag = _rag(docs / "store")
    rag.ingest(["docs", "other"])
    (docs / "docs" / "b.txt").unlink()
    report = rag.ingest(["docs"], prune=True, dry_run=True)
    assert report.removed == ["docs/b.txt"] and report.dry_run
    assert "docs/b.txt" in _sources(rag)
    done = _cli("--store", "store", "ingest", "docs", "--prune", "--dry-run", cwd=docs)
    assert done.returncode == 0 and "would remove: docs/b.txt" in done.stdout
    done = _cli("--store", "store", "ingest", "docs", "--prune", cwd=docs)
    assert "removed: docs/b.txt" in done.stdout


# --- permissions (defect 1) and the lock file (defect 8) -----------------------------------------
def _modes(root: Path) -> dict[str, int]:
    out = {".": root.stat().st_mode & 0o777}
    for path in root.rglob("*"):
        out[str(path.relative_to(root))] = path.stat().st_mode & 0o777
    return out


def test_new_store_is_private(docs):
    os.umask(0o022)  # a usual umask: the store must be private anyway
    rag = _rag(docs / "store")
    rag.ingest(["docs"])
    rag.remove(["docs/a.txt"])
    modes = _modes(docs / "store")
    names = set(modes)
    assert {"catalog.sqlite", "write.lock", "chroma", "chroma/chroma.sqlite3"} <= names
    assert any(n.endswith("data_level0.bin") for n in names)
    loose = {n: oct(m) for n, m in modes.items() if m & 0o077}
    assert not loose, f"group/world access in a new store: {loose}"
    assert modes["."] == 0o700 and modes["catalog.sqlite"] == 0o600


def test_symlinked_lock_is_refused_and_its_target_untouched(docs):
    from ragkit.errors import StoreError

    rag = _rag(docs / "store")
    rag.ingest(["docs/a.txt"])
    victim = docs / "victim.conf"
    victim.write_text("secret=1\n")
    lock = docs / "store" / "write.lock"
    lock.unlink()
    lock.symlink_to(victim)
    with pytest.raises(StoreError, match="symbolic link"):
        rag.ingest(["docs"])
    assert victim.read_text() == "secret=1\n"
    lock.unlink()
    os.mkfifo(lock)
    with pytest.raises(StoreError, match="not a regular file"):
        rag.remove(["docs/a.txt"])


def test_doctor_warns_on_a_readable_store(tmp_path):
    from ragkit.config import Settings
    from ragkit.doctor import check_store_permissions

    store = tmp_path / "store"
    _rag(store).store(create=True)
    assert check_store_permissions(Settings(store=str(store))).ok
    os.chmod(store / "catalog.sqlite", 0o644)
    check = check_store_permissions(Settings(store=str(store)))
    assert not check.ok and "catalog.sqlite" in check.detail and "chmod -R go-rwx" in check.fix


# --- numbers (defect 12) and config bytes (defect 7) ---------------------------------------------
@pytest.mark.parametrize("toml, key, allowed", [
    ("[llm]\nmax_answer_tokens = -1\n", "llm.max_answer_tokens", "at least 1"),
    ("[llm]\nmax_answer_tokens = 0\n", "llm.max_answer_tokens", "at least 1"),
    ("[embed]\nbatch_size = 0\n", "embed.batch_size", "at least 1"),
    ("[llm]\nn_ctx = 64\n", "llm.n_ctx", "at least 512"),
    ("[retrieve]\nk = 0\n", "retrieve.k", "from 1 to 1000"),
])
def test_numbers_out_of_range_name_the_key(tmp_path, monkeypatch, toml, key, allowed):
    from ragkit.config import load_settings
    from ragkit.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ragkit.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{key}.*must be {allowed}"):
        load_settings(environ={})


def test_config_that_is_not_utf8_is_a_config_error(tmp_path, monkeypatch):
    from ragkit.config import load_settings
    from ragkit.errors import ConfigError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ragkit.toml").write_bytes('store = "資料"\n'.encode("shift_jis"))
    with pytest.raises(ConfigError, match="ragkit.toml: not UTF-8.*save it as UTF-8"):
        load_settings(environ={})


@pytest.mark.parametrize("k", [0, -1])
def test_k_below_one_is_refused(docs, k):
    rag = _rag(docs / "store")
    rag.ingest(["docs"])
    with pytest.raises(UsageError, match="k must be at least 1"):
        rag.retrieve("経費", k=k)
    with pytest.raises(UsageError, match="k must be at least 1"):
        rag.ask("経費", k=k)
    done = _cli("--store", "store", "ask", "経費", "-k", str(k), "--retrieve-only", cwd=docs)
    assert done.returncode == 2 and "must be at least 1" in done.stderr and "Traceback" not in done.stderr


def test_a_huge_question_is_refused_by_its_length(docs):
    rag = _rag(docs / "store")
    rag.ingest(["docs"])
    with pytest.raises(UsageError, match=r"question too long: 100,000 characters, at most 2,000"):
        rag.ask("経" * 100_000)


# --- read-only stores (defect 5) ------------------------------------------------------------------
def _tree_state(root: Path) -> dict[str, tuple[int, float]]:
    """Size and mtime of every file (SQLite's -wal/-shm aside: a reader may create them where it can)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime) for p in root.rglob("*")
            if not p.name.endswith(("-wal", "-shm"))}


def test_read_only_store_answers_and_writes_nothing(docs):
    from ragkit.store import Store

    rag = _rag(docs / "store")
    rag.ingest(["docs"])
    del rag
    import gc

    gc.collect()
    before = _tree_state(docs / "store")
    store = Store(docs / "store", read_only=True)
    assert store.read_only and store.catalog.read_only
    ro = RAG(store=docs / "store", embedder=HashingEmbedder(), generator=CopyingGenerator())
    ro._store = store
    assert len(ro.sources()) == 2
    hits = ro.retrieve("When is the expense deadline?", mode="dense")  # opens the vectors
    assert hits and hits[0].chunk.source.startswith("docs/")
    assert ro.ask("経費の申請はいつまで？").citations
    assert _tree_state(docs / "store") == before
    with pytest.raises(Exception):
        store.catalog.db.execute("INSERT INTO meta VALUES ('x', '1')")


# --- a long-lived reader sees another process's vectors (defect 11) -----------------------------
_INGEST_ELSEWHERE = """
import sys
from ragkit.pipeline import RAG
from ragkit.testing import HashingEmbedder
print(RAG(store=sys.argv[1], embedder=HashingEmbedder()).ingest([sys.argv[2]]).chunks)
"""


def test_dense_search_sees_vectors_another_process_added(docs):
    rag = _rag(docs / "store")
    rag.ingest(["docs"])
    question = "Which planet has the rings of ice named after Cassini?"
    assert all(h.chunk.source.startswith("docs/") for h in rag.retrieve(question, mode="dense"))
    generation = rag.store().catalog.generation()
    new = docs / "saturn.txt"
    new.write_text("Saturn is the planet with the rings of ice; the Cassini division is named after Cassini.\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-c", _INGEST_ELSEWHERE, str(docs / "store"), str(new)], check=True,
                   env=env, cwd=docs, timeout=60, capture_output=True)
    assert rag.store().catalog.generation() > generation
    hits = rag.retrieve(question, mode="dense")
    assert hits[0].chunk.source == "saturn.txt"


# --- error paths end in one line with advice that works (defect 7) -------------------------------
def _one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    return done.stderr


@pytest.mark.parametrize("damage", ["garbage", "middle"])
def test_damaged_catalog_is_one_line_with_advice_that_works(docs, damage):
    from ragkit.errors import StoreError

    _rag(docs / "store").ingest(["docs", "other"])
    catalog = docs / "store" / "catalog.sqlite"
    data = bytearray(catalog.read_bytes())
    if damage == "garbage":
        data = bytearray(b"not a database " * 300)
    else:
        data[4096:len(data)] = b"\x07" * (len(data) - 4096)  # every page after the first
    catalog.write_bytes(bytes(data))
    for wal in docs.glob("store/catalog.sqlite-*"):
        wal.unlink()
    for args in (["sources"], ["ask", "--retrieve-only", "経費"], ["check"], ["check", "--repair"],
                 ["ingest", "docs"], ["remove", "docs/a.txt"]):
        line = _one_line_error(_cli("--store", "store", *args, cwd=docs))
        assert "damaged" in line and "mv " in line and "check --repair" not in line, (args, line)
    with pytest.raises(StoreError, match="damaged"):
        _rag(docs / "store").sources()
    (docs / "store").rename(docs / "store.damaged")  # the advice, in a new process as a user would
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", _INGEST_ELSEWHERE, "store", "docs"], env=env, cwd=docs,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and int(done.stdout) > 0, done.stderr


def test_damaged_vector_index_is_one_line_with_advice(docs):
    from ragkit.errors import StoreError

    _rag(docs / "store").ingest(["docs"])
    chroma = docs / "store" / "chroma" / "chroma.sqlite3"
    chroma.write_bytes(b"not a database " * 300)
    with pytest.raises(StoreError, match=r"damaged\. Move it aside"):
        _rag(docs / "store").retrieve("When is the deadline?", mode="dense")


class _FullDisk:
    """Stands in for the catalog's SQLite connection: the first ``INSERT INTO chunks`` fails as a
    full disk does (a real 1 MiB tmpfs made Chroma's own writer retry forever, so it is not used)."""

    def __init__(self, raw):
        self.raw, self.failed = raw, False

    def execute(self, sql, params=()):
        if sql.startswith("INSERT INTO chunks") and not self.failed:
            self.failed = True
            raise __import__("sqlite3").OperationalError("database or disk is full")
        return self.raw.execute(sql, params)

    def __getattr__(self, name):
        return getattr(self.raw, name)


def test_disk_full_mid_ingest_is_one_error_and_rerunning_completes(docs):
    from ragkit.errors import StoreError

    rag = _rag(docs / "store")
    rag.ingest(["docs/a.txt"])
    catalog = rag.store().catalog
    catalog.db.raw = _FullDisk(catalog.db.raw)
    with pytest.raises(StoreError, match="disk is full.*nothing was half-written.*run the command again"):
        rag.ingest(["docs", "other"])
    report = rag.ingest(["docs", "other"])  # the advice: run it again
    assert len(rag.sources()) == 4 and report.failed == []
    assert rag.check()["consistent"]


def test_disk_full_in_the_vector_index_says_so(docs, monkeypatch):
    import errno

    from ragkit.errors import StoreError

    rag = _rag(docs / "store")
    rag.ingest(["docs/a.txt"])
    vectors = rag.store().vectors

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(vectors.collection, "upsert", full)
    with pytest.raises(StoreError, match="disk is full.*run the command again"):
        rag.ingest(["other"])
