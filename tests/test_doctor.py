"""`ragkit doctor`: healthy on this install; names a missing, truncated or corrupted model."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ragkit.cli import format_doctor_report, main
from ragkit.config import load_settings
from ragkit.doctor import diagnose
from ragkit.models import bundled_gguf_path

REPO = Path(__file__).resolve().parents[1]


def _settings(tmp_path: Path, **overrides):
    """Settings isolated from the caller's environment and config files."""
    return load_settings(environ={}, store=str(tmp_path / "no-store"), **overrides)


def _check(report: dict, name: str) -> dict:
    return next(c for c in report["checks"] if c["name"] == name)


def run_doctor(settings) -> dict:
    """The report as ``ragkit doctor --json`` prints it."""
    return diagnose(settings).to_json()


def _flip_byte(path: Path, offset: int) -> None:
    with path.open("r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


@pytest.fixture(scope="module")
def gguf() -> Path:
    return bundled_gguf_path()


def test_cli_json_ok_on_this_install(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGKIT_")}
    proc = subprocess.run([sys.executable, "-m", "ragkit", "doctor", "--json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    report = json.loads(proc.stdout)
    assert report["ok"] is True, proc.stdout
    assert proc.returncode == 0
    names = [c["name"] for c in report["checks"]]
    assert {"python", "packages", "offline", "llm", "embedder", "store", "network"} <= set(names)
    assert all(set(c) >= {"name", "ok", "detail", "fix"} for c in report["checks"])
    llm = _check(report, "llm")
    assert llm["info"]["architecture"] == "gemma3" and llm["info"]["context_length"] == 32768
    assert llm["info"]["has_chat_template"] is False
    assert "sha256 matches" in llm["detail"] or "sha256 verified" in llm["detail"]
    assert report["versions"]["llama-cpp-python"] and report["versions"]["torch"]
    assert "no store yet" in _check(report, "store")["detail"]
    assert _check(report, "offline")["info"]["env"]["HF_HUB_OFFLINE"] == "1"


def test_corrupted_bundled_gguf_is_named_and_left_alone(tmp_path, gguf):
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    copy = data / "models" / gguf.name
    shutil.copyfile(gguf, copy)
    _flip_byte(copy, copy.stat().st_size // 2)
    report = run_doctor(_settings(tmp_path, data_dir=str(data)))
    llm = _check(report, "llm")
    assert report["ok"] is False and "llm" in report["failed"]
    assert llm["ok"] is False
    assert str(copy) in llm["detail"] and "sha256 mismatch" in llm["detail"]
    assert "delete" in llm["fix"]
    assert _check(report, "embedder")["ok"] is True  # only the broken part is blamed
    assert report["checks"][-1]["name"] == "network" and report["checks"][-1]["ok"]


def test_missing_model_path_fails_the_cli_with_a_fix(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "models" / "calm3-22b-chat.gguf"
    monkeypatch.setenv("RAGKIT_LLM_MODEL_PATH", str(missing))
    monkeypatch.chdir(tmp_path)
    code = main(["--store", str(tmp_path / "s"), "doctor", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["ok"] is False and report["failed"] == ["llm"]
    llm = _check(report, "llm")
    assert llm["ok"] is False and str(missing) in llm["detail"] and "RAGKIT_LLM_MODEL_PATH" in llm["fix"]
    text = format_doctor_report(report).splitlines()
    assert f"[FAIL] llm: {llm['detail']}" in text and f"       fix: {llm['fix']}" in text
    assert text[-1] == "verdict: NOT OK: 1 problem(s): llm"


def test_truncated_user_gguf_does_not_load(tmp_path, gguf):
    broken = tmp_path / "user.gguf"
    with gguf.open("rb") as src:
        broken.write_bytes(src.read(5_000_000))
    llm = _check(run_doctor(_settings(tmp_path, llm_model_path=str(broken))), "llm")
    assert llm["ok"] is False and str(broken) in llm["detail"] and "cannot load" in llm["detail"]


def test_user_gguf_sidecar_sha256_is_checked(tmp_path, gguf):
    model = tmp_path / "my-model.gguf"
    shutil.copyfile(gguf, model)
    good = subprocess.run(["sha256sum", str(model)], capture_output=True, text=True, check=True).stdout
    (tmp_path / "my-model.gguf.sha256").write_text(good)
    ok = _check(run_doctor(_settings(tmp_path, llm_model_path=str(model))), "llm")
    assert ok["ok"] is True and "sha256 matches my-model.gguf.sha256" in ok["detail"]
    assert "gemma3" in ok["detail"] and "no chat template" in ok["detail"]

    _flip_byte(model, model.stat().st_size - 10)
    bad = _check(run_doctor(_settings(tmp_path, llm_model_path=str(model))), "llm")
    assert bad["ok"] is False and "sha256 mismatch" in bad["detail"] and str(model) in bad["detail"]


def test_missing_embedder_folder_is_named(tmp_path):
    folder = tmp_path / "e5-small"
    report = run_doctor(_settings(tmp_path, embed_model_path=str(folder)))
    emb = _check(report, "embedder")
    assert report["ok"] is False and emb["ok"] is False
    assert str(folder) in emb["detail"] and "RAGKIT_EMBED_MODEL_PATH" in emb["fix"]


def test_existing_store_is_counted_and_consistent(corpus_store, tmp_path):
    rag, ingest_report, root = corpus_store
    settings = load_settings(environ={}, store=str(root / "store"))
    store = _check(run_doctor(settings), "store")
    assert store["ok"] is True, store
    assert store["info"]["chunks"] == ingest_report.chunks > 0
    assert "consistent" in store["detail"]
