"""Where uploaded files go: names made safe, kept inside the store's ``uploads/`` folder.

An upload is first written to ``uploads/.incoming/<job id>/`` (the request returns once the
bytes are on disk), then the ingest worker moves it to ``uploads/<collection>/<name>`` and
ingests it there. The same name uploaded again into the same collection replaces the file, so
an updated document replaces its old version instead of adding a duplicate.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import unicodedata
from pathlib import Path
from typing import BinaryIO

from ..errors import UsageError
from ..loaders import SUPPORTED_SUFFIXES

FOLDER = "uploads"
INCOMING = ".incoming"
MAX_NAME_BYTES = 200
_FORBIDDEN = set('<>:"|?*')


class UnsupportedType(UsageError):
    """An uploaded file's type is not one ragkit reads (HTTP 415)."""

    def __init__(self, name: str):
        suffix = Path(name).suffix or "(none)"
        super().__init__(f"{name}: unsupported file type {suffix}; supported: {', '.join(supported())}")


def supported() -> list[str]:
    return sorted(SUPPORTED_SUFFIXES)


def safe_name(name: str) -> str:
    """A file name that cannot leave its folder: the last path part only (browsers on Windows
    send ``C:\\...``), no control or shell-special characters, no leading dots, at most
    ``MAX_NAME_BYTES`` bytes with its suffix kept. UsageError when nothing usable is left."""
    base = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in _FORBIDDEN).strip().lstrip(".").strip()
    if not base:
        raise UsageError(f"file name {name!r} has nothing usable as a name; give the file a name")
    stem, suffix = os.path.splitext(base)
    while len((stem + suffix).encode("utf-8")) > MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    return stem + suffix


def checked_name(name: str) -> str:
    """``safe_name`` of a file whose type ragkit reads, else ``UnsupportedType``."""
    clean = safe_name(name)
    if Path(clean).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UnsupportedType(clean)
    return clean


def collection_folder(collection: str) -> str:
    """A folder name for a collection: its own name when already safe, else made safe and told
    apart by a short hash (two names must not share a folder)."""
    clean = safe_name(collection) if collection.strip(". ") else ""
    if clean == collection:
        return clean
    return f"{clean or 'collection'}-{hashlib.sha256(collection.encode('utf-8')).hexdigest()[:8]}"


class Uploads:
    """The upload folder of one store."""

    def __init__(self, store: str | Path):
        self.root = Path(store) / FOLDER

    def stage(self, job_id: str, name: str, data: BinaryIO) -> None:
        """Write one uploaded file under the job's incoming folder (0600, like the store's files)."""
        folder = self.root / INCOMING / job_id
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as fh:
            shutil.copyfileobj(data, fh, 1 << 20)
            fh.flush()
            os.fsync(fh.fileno())

    def place(self, job_id: str, collection: str, names: list[str]) -> list[Path]:
        """Move a job's staged files into their collection's folder (idempotent: a job resumed
        after a crash finds the files already moved); returns their final paths."""
        target = self.root / collection_folder(collection)
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        placed = []
        for name in names:
            staged = self.root / INCOMING / job_id / name
            if staged.exists():
                os.replace(staged, target / name)
            if not (target / name).is_file():
                raise FileNotFoundError(f"uploaded file {name} is gone from {target}")
            placed.append(target / name)
        shutil.rmtree(self.root / INCOMING / job_id, ignore_errors=True)
        return placed

    def discard(self, job_id: str) -> None:
        shutil.rmtree(self.root / INCOMING / job_id, ignore_errors=True)

    def sweep(self, keep: set[str]) -> list[str]:
        """Delete staged uploads of no pending job (a server stopped while receiving them)."""
        incoming = self.root / INCOMING
        orphans = sorted(p.name for p in incoming.iterdir() if p.name not in keep) if incoming.is_dir() else []
        for name in orphans:
            self.discard(name)
        return orphans
