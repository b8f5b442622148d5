"""Block outgoing network connections and record what tried: the proof that ragkit stays offline.

One mechanism for ``ragkit doctor`` and the tests: a ``sys.addaudithook`` hook (installed once,
it cannot be removed, so it only acts while a guard is armed) that refuses ``socket.connect`` and
``socket.getaddrinfo`` to any host but the allowed ones, whatever library opened the socket.
Only Python's socket module is seen; C code that opens its own sockets is not (ragkit's C
dependencies, llama.cpp and SQLite, open none).

Standard library only, so a test can load this file by path into a subprocess's
``sitecustomize`` (see ``sitecustomize``) without importing ragkit there.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterable, Iterator

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class _Guard:
    """One armed guard: the hosts it lets through, what it refused, an optional log file."""

    def __init__(self, allow: Iterable[str], log: str | Path | None):
        self.allow = frozenset(allow)
        self.log = log
        self.attempts: list[str] = []


_ARMED: list[_Guard] = []  # innermost guard last
_HOOKED = False


def _target(event: str, args: tuple) -> tuple[str, object] | None:
    """(host, port) that an audited socket event reaches for, or None when it is not outgoing."""
    if event == "socket.connect" and len(args) > 1:
        address = args[1]
        if isinstance(address, tuple) and address:  # AF_INET / AF_INET6; AF_UNIX paths are local
            return str(address[0]), address[1] if len(address) > 1 else ""
    elif event == "socket.getaddrinfo" and args and args[0] is not None:
        host = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
        return host, args[1] if len(args) > 1 else ""
    return None


def _audit(event: str, args: tuple) -> None:
    if not _ARMED or not event.startswith("socket."):
        return
    target = _target(event, args)
    guard = _ARMED[-1]
    if target is None or target[0] in guard.allow:
        return
    where = f"{target[0]}:{target[1]}"
    guard.attempts.append(where)
    if guard.log:
        with open(guard.log, "a", encoding="utf-8") as fh:
            fh.write(f"{event} {where}\n")
    raise OSError(f"network access blocked by ragkit's offline guard: {where}")


def arm(allow: Iterable[str] = LOOPBACK, log: str | Path | None = None) -> list[str]:
    """Block connections to hosts not in ``allow`` from now on; returns the list of refused
    ``host:port`` attempts (also appended to ``log`` when given). Use ``blocked`` to disarm."""
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED = True
    guard = _Guard(allow, log)
    _ARMED.append(guard)
    return guard.attempts


@contextlib.contextmanager
def blocked(allow: Iterable[str] = LOOPBACK, log: str | Path | None = None) -> Iterator[list[str]]:
    """While the block runs, refuse and record outgoing connections except to ``allow``."""
    attempts = arm(allow, log)
    try:
        yield attempts
    finally:
        _ARMED.pop()


def sitecustomize(log: str | Path, allow: Iterable[str] = ()) -> str:
    """Source of a ``sitecustomize.py`` that arms a guard for a whole Python process, logging to
    ``log``. Put it in a folder on the child's ``PYTHONPATH``; it loads this file by path, so the
    child needs no ragkit (an installed bundle's Python, say)."""
    return (f"import importlib.util\n"
            f"_spec = importlib.util.spec_from_file_location('_ragkit_netguard', {str(Path(__file__).resolve())!r})\n"
            f"_guard = importlib.util.module_from_spec(_spec)\n"
            f"_spec.loader.exec_module(_guard)\n"
            f"_guard.arm(allow={tuple(allow)!r}, log={str(log)!r})\n")
