"""The first hour with ragkit (issue 18) through the real CLI and the real embedder: what a person
sees on a terminal (a pseudo-terminal here), and the nightly cron run over a folder with one bad
file. Each test runs ragkit in a subprocess, so the models load there, not in pytest."""
from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import pytest

from conftest import CORPORA, REPO

pytestmark = pytest.mark.models
ENV = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="120")


def _scanned_pdf(path: Path) -> None:
    """A PDF page that is a drawing, no text layer: the kind of file a nightly run met every night."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.rect(100, 100, 300, 300, fill=1)
    c.showPage()
    c.save()


@pytest.fixture
def docs(tmp_path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    shutil.copy(CORPORA / "minutes_2024-06-14.txt", d)
    shutil.copy(CORPORA / "expense_policy.pdf", d)
    (d / "photo.png").write_bytes(b"\x89PNG\r\n")
    (d / "notes.rtf").write_bytes(b"{\\rtf1}")
    (d / ".DS_Store").write_bytes(b"\0")
    _scanned_pdf(d / "scan.pdf")
    return d


def _on_a_terminal(argv: list[str], cwd: Path, timeout: float = 600) -> tuple[int, str]:
    """Run ``ragkit argv`` with stdout and stderr on a pseudo-terminal 120 columns wide."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "ragkit", *argv], stdin=slave, stdout=slave, stderr=slave,
                            cwd=cwd, env=ENV, close_fds=True)
    os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            out += data
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=60), out.decode("utf-8")


def test_a_terminal_shows_model_loading_chunks_embedded_and_skipped_by_reason(tmp_path, docs):
    code, screen = _on_a_terminal(["--store", "store", "ingest", "docs"], cwd=tmp_path)
    assert code == 3, screen  # scan.pdf has no text layer
    assert re.search(r"loading embedder… \d+\.\d s", screen), screen
    embedded = int(re.search(r"(\d+) embedded in", screen).group(1))
    assert embedded > 2  # more chunks than files: the bar below counts chunks, not files
    counts = [(int(n), int(t)) for n, t in re.findall(r"(\d+)/(\d+)\+? chunks embedded", screen)]
    assert (embedded, embedded) in counts, counts  # the bar ends at every chunk, not at 3 files
    assert re.search(r"files 3/3 · docs/", screen)  # and names the file being worked on
    assert screen.count("failed: docs/scan.pdf: no text layer") == 2  # as it happened, and in the summary
    summary = screen[screen.index("skipped 3 path(s)"):]
    assert re.search(r"not a supported document type: 2 \(docs/notes\.rtf, docs/photo\.png\)", summary)
    assert re.search(r"hidden \(name starts with a dot\): 1 \(docs/\.DS_Store\)", summary)
    assert "Traceback" not in screen


PROBE = textwrap.dedent("""
    import json, sys, time
    from ragkit.cli import main
    started = time.perf_counter()
    code = main(sys.argv[2:])
    seconds = time.perf_counter() - started
    heavy = [m for m in ("torch", "llama_cpp", "sentence_transformers") if m in sys.modules]
    with open(sys.argv[1], "w") as fh:
        json.dump({"code": code, "seconds": seconds, "heavy": heavy}, fh)
""")


def _probe(tmp_path: Path, *argv: str) -> dict:
    """``ragkit argv`` in a fresh process: exit code, seconds inside ``main`` and the heavy
    modules it imported."""
    result = tmp_path / "probe.json"
    subprocess.run([sys.executable, "-c", PROBE, str(result), *argv], cwd=tmp_path, env=ENV,
                   capture_output=True, timeout=600, check=False)
    return json.loads(result.read_text())


def test_a_nightly_run_with_one_unchanged_bad_file_exits_0_and_loads_no_model(tmp_path, docs):
    first = _probe(tmp_path, "--store", "store", "ingest", "docs")
    assert first["code"] == 3 and "torch" in first["heavy"]  # the good files needed the embedder
    again = [_probe(tmp_path, "--store", "store", "ingest", "docs") for _ in range(3)]
    assert [r["code"] for r in again] == [0, 0, 0]
    assert all(r["heavy"] == [] for r in again)
    (tmp_path / "empty").mkdir()
    empty = [_probe(tmp_path, "--store", "store", "ingest", "empty") for _ in range(3)]
    assert [r["code"] for r in empty] == [0, 0, 0]
    ratio = min(r["seconds"] for r in again) / min(r["seconds"] for r in empty)
    print(f"unchanged run with a remembered bad file / empty run: {ratio:.2f}")
    assert ratio <= 1.2
    assert _probe(tmp_path, "--store", "store", "ingest", "docs", "--retry-failed")["code"] == 3
