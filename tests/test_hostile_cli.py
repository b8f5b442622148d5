"""The hostile corpus through the real CLI (loads the real embedder in a subprocess): exit code 3,
every bad entry named on stderr in printable form, no raw control bytes on the terminal."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_hostile_corpus import SJIS_NAME, build_hostile_corpus

from ragkit.display import display_path

pytestmark = pytest.mark.models
REPO = Path(__file__).resolve().parents[1]


def test_cli_reports_each_bad_entry_by_safe_name(tmp_path):
    docs = build_hostile_corpus(tmp_path, huge_line=2_000)  # the real embedder is slow
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "ragkit", "--store", str(tmp_path / "store"), "ingest",
                           str(docs)], capture_output=True, env=env, timeout=600)
    err = proc.stderr.decode("utf-8")  # strict: a surrogate or raw non-UTF-8 byte would fail here
    assert proc.returncode == 3, err
    assert "\x1b" not in err and "two\nlines" not in err
    assert "red\\x1b[31mtext.txt" in err and "two\\x0alines.txt" in err  # progress lines, escaped
    for name in ("pipe.txt", "empty.txt", "binary.txt", display_path(SJIS_NAME)):
        assert f"{name}: " in err, name
    outside = next(line for line in err.splitlines() if line.startswith("  symbolic link to outside"))
    assert all(f"docs/{name}" in outside for name in ("passwd.txt", "up", "elsewhere"))  # skipped, listed
    assert "path too long" in err and "looks like Shift_JIS: 経費.txt" in err
    assert "warning: " in err and "bad_byte.txt: 4 undecodable" in err
    assert "Traceback" not in err
