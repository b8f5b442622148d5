"""The offline guard refuses and records outgoing connections, lets loopback through, and disarms."""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from ragkit import netguard

OUTSIDE = ("192.0.2.1", 9)  # TEST-NET-1 (RFC 5737): never routed, so a leak could not reach anyone


@pytest.fixture
def listener():
    server = socket.create_server(("127.0.0.1", 0))
    yield server.getsockname()
    server.close()


def test_outgoing_connections_are_refused_and_recorded(listener):
    with netguard.blocked() as attempts:
        with pytest.raises(OSError, match="blocked"):
            socket.create_connection(OUTSIDE, timeout=1)
        with pytest.raises(OSError, match="blocked"):
            socket.getaddrinfo("example.com", 443)
        with socket.create_connection(listener, timeout=5):  # loopback is allowed by default
            pass
    assert attempts == ["192.0.2.1:9", "example.com:443"]


def test_empty_allow_list_refuses_loopback_and_guards_disarm(listener, tmp_path):
    log = tmp_path / "net.log"
    with netguard.blocked(allow=(), log=log) as attempts:
        with pytest.raises(OSError):
            socket.create_connection(listener, timeout=5)
    assert attempts == [f"127.0.0.1:{listener[1]}"] and "127.0.0.1" in log.read_text()
    with socket.create_connection(listener, timeout=5):  # disarmed after the block
        pass


def test_sitecustomize_guards_a_whole_child_process(tmp_path, listener):
    (tmp_path / "site").mkdir()
    log = tmp_path / "net.log"
    (tmp_path / "site" / "sitecustomize.py").write_text(netguard.sitecustomize(log))
    code = f"import socket\ntry:\n    socket.create_connection({listener!r}, timeout=5)\nexcept OSError as e:\n    print(e)"
    proc = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(tmp_path / "site")},
                          capture_output=True, text=True, timeout=60)
    assert "blocked" in proc.stdout, proc.stderr
    assert f"127.0.0.1:{listener[1]}" in log.read_text()
