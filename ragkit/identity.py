"""Which document a discovered file is: a file is the same document however its path is spelled.

A document's identity is its collection and its resolved absolute path (symbolic links resolved
once), so ``docs/``, ``./docs``, ``/srv/docs`` and ``cd docs && ragkit ingest .`` all reach the
same documents. It is shown relative to the folder holding the ingest root (``docs/a.txt`` for
each of those spellings; a file named directly by its name). ``Placer`` also finds the document a
file already is: by path, a migrated document recorded only by the path as typed (read from
here), or a document whose file is gone and whose content this file has (it moved).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import docmeta
from .index.catalog import FileRecord
from .store import Store


def under(path: str, root: str) -> bool:
    """True when absolute ``path`` is ``root`` or inside it (both absolute and normalised)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@dataclass
class Place:
    """Where one discovered file stands: its identity, display name, user metadata, and the
    document it already is (``old``) in the collection."""

    path: Path
    real: str  # resolved absolute path: the identity
    source: str  # display: relative to the folder holding the ingest root
    collection: str
    given: dict
    old: FileRecord | None
    placer: "Placer"

    def moved_from(self, sha256: str) -> FileRecord | None:
        """A document of the collection with this content whose file no longer exists."""
        return self.placer.moved_from(sha256, self.real)


class Placer:
    """Places the files of one ingest run: which root each came from, its display name, its
    sidecar and ``--meta`` fields, and the document it is."""

    def __init__(self, store: Store, collection: str, paths: list[str], given: dict, display_base: str | None):
        self.store = store
        self.collection = collection
        self.given = given
        self.display_base = display_base
        self.roots = sorted(((os.path.abspath(p), os.path.realpath(p)) for p in paths), key=lambda r: -len(r[0]))
        self.sidecars = docmeta.Sidecars()
        self._legacy: dict[str, FileRecord] | None = None
        self.moved: set[str] = set()  # ids of documents re-pointed to a new path this run

    def place(self, path: Path) -> Place:
        absolute, real = os.path.abspath(path), os.path.realpath(path)
        given_root, real_root = next(((g, r) for g, r in self.roots if under(absolute, g)), (absolute, real))
        given = {**self.sidecars.fields(real, real_root), **self.given}
        old = self.store.file(self.collection, real) or self._adopt(real)
        return Place(path, real, self._display(absolute, given_root, real_root), self.collection, given, old, self)

    def _display(self, absolute: str, given_root: str, real_root: str) -> str:
        if self.display_base is not None:
            return os.path.relpath(absolute, self.display_base)
        if absolute == given_root:  # a file named directly
            return os.path.basename(absolute)
        return os.path.join(os.path.basename(real_root), os.path.relpath(absolute, given_root))

    def _adopt(self, real: str) -> FileRecord | None:
        """A document migrated from a store that recorded only the path as typed, if that path
        read from here is this file."""
        if self._legacy is None:
            self._legacy = {os.path.realpath(r.path or r.source): r for r in self.store.files(self.collection)
                            if not os.path.isabs(r.path or "")}
        return self._legacy.get(real)

    def moved_from(self, sha256: str, real: str) -> FileRecord | None:
        for record in self.store.catalog.files_with_sha256(self.collection, sha256):
            if record.id not in self.moved and not os.path.exists(record.abspath):
                self.moved.add(record.id)
                return record
        return None
