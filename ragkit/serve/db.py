"""The service's own small database, ``serve.sqlite`` inside the store: API keys (hashes only)
and upload jobs. Kept apart from the catalog so the store's schema and crash protocol stay the
store's; created 0600 like the store's other files. SQLite in WAL mode lets ``ragkit keys`` in
another process change keys while the server runs (a revoked key stops working at once)."""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

FILE = "serve.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, collections TEXT NOT NULL,
    write INTEGER NOT NULL, created_at REAL NOT NULL, revoked_at REAL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, state TEXT NOT NULL, collection TEXT NOT NULL, files TEXT NOT NULL,
    metadata TEXT NOT NULL, key_name TEXT, created_at REAL NOT NULL, started_at REAL,
    finished_at REAL, attempts INTEGER NOT NULL DEFAULT 0, result TEXT, error TEXT);
"""


class ServeDB:
    """One connection shared by the server's threads (a lock around each use)."""

    def __init__(self, store: str | Path):
        path = Path(store) / FILE
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600))
        self.path = path
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        self.lock = threading.Lock()

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.lock:
            return self.db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self.lock:
            self.db.close()
