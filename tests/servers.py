"""Real servers for the tests, on 127.0.0.1 and a free port: llama-cpp-python's OpenAI-compatible
server (``python -m llama_cpp.server``) and Chroma's (``chroma run``). Each test module starts the
one it needs once (a module-scoped fixture) and stops it after; a test skips, saying what to
install, only where the server program itself is missing.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

TEST_MODELS = Path(os.environ.get("RAGKIT_TEST_MODELS") or Path.home() / ".cache" / "ragkit" / "test-models")
SMOLLM2 = TEST_MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_GGUF = TEST_MODELS / "all-MiniLM-L6-v2.f32.gguf"


def model_file(path: Path) -> Path:
    """A GGUF that ``scripts/fetch_test_models.py`` (run by ``make install``) puts in place, or skip."""
    if not path.is_file():
        pytest.skip(f"{path.name} not present in {path.parent}: run `python scripts/fetch_test_models.py` "
                    "(make install does)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A started server process: its URL and the file its output goes to."""

    url: str
    process: subprocess.Popen
    log: Path
    command: list[str]

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def start(command: list[str], url: str, ready_path: str, log: Path, timeout: float = 180.0) -> Server:
    """Start ``command`` and wait until ``url + ready_path`` answers (any HTTP status)."""
    import httpx

    out = open(log, "ab")
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    out.close()
    server = Server(url, process, log, command)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[:4]} exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            httpx.get(url + ready_path, timeout=2, trust_env=False)
            return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{command[:4]} not ready after {timeout:g}s: {log.read_text()[-2000:]}")


@contextlib.contextmanager
def llama_server(model: Path, log_dir: Path, *options: str) -> Iterator[Server]:
    """``python -m llama_cpp.server`` serving ``model``; yields it with ``url`` = its /v1 base URL."""
    try:
        import llama_cpp.server.app  # noqa: F401 - the [server] extra: fastapi, uvicorn, sse-starlette, ...
    except ImportError as exc:
        pytest.skip(f"llama-cpp-python's server extra is not installed ({exc}); pip install 'llama-cpp-python[server]'")
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
               "--port", str(port), *options]
    server = start(command, f"http://127.0.0.1:{port}", "/v1/models", log_dir / f"llama-server-{port}.log")
    server.url += "/v1"
    try:
        yield server
    finally:
        server.stop()


def chroma_program() -> str:
    found = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(found).is_file():
        pytest.skip("the `chroma` program (from the chromadb wheel) is not installed")
    return found


def start_chroma(path: Path, port: int, log_dir: Path) -> Server:
    """``chroma run`` over ``path`` on ``port``; started again on the same path and port after a kill."""
    command = [chroma_program(), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    return start(command, f"http://127.0.0.1:{port}", "/api/v2/heartbeat", log_dir / f"chroma-{port}.log")
