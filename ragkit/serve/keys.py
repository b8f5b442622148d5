"""API keys: ``ragkit keys add NAME --collections A,B [--write]`` prints a key once; only its
SHA-256 is stored (a key is 32 random bytes, so a fast hash cannot be brute-forced back).

A key grants reading its collections (``*``: all) and, with ``write``, uploading and deleting
documents in them.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Iterable

from ..errors import UsageError
from .db import ServeDB

PREFIX = "rk-"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class Grant:
    """Who is asking and what they may touch; ``collections`` None means every collection."""

    name: str
    collections: frozenset[str] | None
    write: bool

    def to_json(self) -> dict:
        return {"name": self.name, "write": self.write,
                "collections": ["*"] if self.collections is None else sorted(self.collections)}


ANONYMOUS = Grant("anonymous", None, True)  # --no-auth on loopback: the machine's own user


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class KeyRing:
    """The keys of one store."""

    def __init__(self, db: ServeDB):
        self.db = db

    def add(self, name: str, collections: Iterable[str], write: bool = False) -> str:
        """Create key ``name``; returns the key itself (shown once, never stored)."""
        if not _NAME.match(name):
            raise UsageError(f"key name {name!r} must be 1-64 letters, digits, '.', '_', '@' or '-'")
        wanted = sorted({c.strip() for c in collections if c.strip()})
        if not wanted:
            raise UsageError("name the collections this key may read: --collections A,B (or '*' for all)")
        if "*" in wanted and len(wanted) > 1:
            raise UsageError("--collections '*' already means every collection; give it alone")
        if self.db.execute("SELECT 1 FROM keys WHERE name = ? AND revoked_at IS NULL", (name,)):
            raise UsageError(f"a key named {name!r} exists; revoke it first or choose another name")
        key = PREFIX + secrets.token_urlsafe(32)
        self.db.execute("INSERT OR REPLACE INTO keys VALUES (?, ?, ?, ?, ?, NULL)",
                        (name, _digest(key), json.dumps(wanted, ensure_ascii=False), int(write), time.time()))
        return key

    def revoke(self, name: str) -> None:
        if not self.db.execute("SELECT 1 FROM keys WHERE name = ? AND revoked_at IS NULL", (name,)):
            raise UsageError(f"no active key named {name!r} (see `ragkit keys list`)")
        self.db.execute("UPDATE keys SET revoked_at = ? WHERE name = ?", (time.time(), name))

    def list(self) -> list[dict]:
        rows = self.db.execute("SELECT name, collections, write, created_at, revoked_at FROM keys ORDER BY name")
        return [{"name": n, "collections": json.loads(c), "write": bool(w),
                 "created_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)),
                 "revoked": r is not None} for n, c, w, t, r in rows]

    def grant(self, key: str) -> Grant | None:
        """The grant of an active key, else None."""
        rows = self.db.execute("SELECT name, collections, write FROM keys WHERE hash = ? AND revoked_at IS NULL",
                               (_digest(key),))
        if not rows:
            return None
        name, collections, write = rows[0]
        names = json.loads(collections)
        return Grant(name, None if names == ["*"] else frozenset(names), bool(write))
