"""`ragkit ask` loads only what the question needs: a Japanese question with the bundled English
MiniLM is answered by BM25, so the process never imports torch (bench/cold_start.py times it)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from conftest import REPO

ASK = """
import json, sys
from ragkit.cli import main
code = main(["--store", sys.argv[1], "ask", sys.argv[2], "--json"])
print(json.dumps({"code": code, "torch": "torch" in sys.modules, "llama": "llama_cpp" in sys.modules}))
"""


@pytest.mark.parametrize("question, torch_expected", [("国内出張の日当はいくらですか？", False),
                                                      ("When does the office open?", True)])
def test_ask_imports_torch_only_when_the_dense_side_runs(tmp_path, question, torch_expected):
    store = tmp_path / "store"
    shutil.copytree(REPO / "tests" / "fixtures" / "store-v1", store)
    proc = subprocess.run([sys.executable, "-c", ASK, str(store), question], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout.strip().splitlines()[-1])
    assert status == {"code": 0, "torch": torch_expected, "llama": True}
    assert '"abstained": false' in proc.stdout
