"""Document metadata: what ragkit records about each file by itself, and what the user gives.

Automatic fields (``automatic``): ``name``, ``suffix``, ``title`` (a PDF's Title, else the first
heading or line), ``modified`` (the file's mtime, ``2024-06-14T10:00:00``) and ``language``
(``ja``/``en``); the catalog adds ``collection``, ``source`` and ``pages`` as columns.

User fields come from ``ingest --meta dept=総務`` and from ``ragkit-meta.toml`` files in the
ingested folders (``sidecar_fields``)::

    # docs/ragkit-meta.toml: top-level keys apply to every file in this folder and below
    dept = "総務"
    ["規程/*.pdf"]              # a glob relative to this folder; later matches override earlier
    year = 2024

Sidecars from the ingest root down to the file's folder apply in that order (inner ones win);
``--meta`` wins over all. Field names are letters, digits, ``_``, ``.`` and ``-``; values text or
numbers (``ragkit.filters`` compares them).
"""
from __future__ import annotations

import fnmatch
import os
import re
import time
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .errors import UsageError
from .filters import FIELD, Value, parse_value
from .text.script import language_of
from .types import Document

SIDECAR = "ragkit-meta.toml"
RESERVED = frozenset({"collection", "source", "pages", "path"})  # columns of the catalog, not metadata
MAX_VALUE_CHARS = 1000
TITLE_CHARS = 100
COLLECTION_NAME = re.compile(r"[\w.-]{1,64}")


def automatic(path: Path, mtime: float, documents: Sequence[Document]) -> dict[str, Value]:
    """The fields ragkit derives from a file and its loaded documents."""
    text = "\n".join(d.text for d in documents[:3])
    return {"name": path.name, "suffix": path.suffix.lower(), "title": _title(path, documents),
            "modified": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(mtime)),
            "language": language_of(text)}


def _title(path: Path, documents: Sequence[Document]) -> str:
    if path.suffix.lower() == ".pdf":
        title = _pdf_title(path)
        if title:
            return title
    for doc in documents:
        for line in doc.text.splitlines():
            line = line.strip().lstrip("#").strip()
            if line:
                return line[:TITLE_CHARS]
    return path.stem


def _pdf_title(path: Path) -> str:
    try:
        import pypdfium2

        pdf = pypdfium2.PdfDocument(str(path))
        try:
            title = str(pdf.get_metadata_dict().get("Title") or "").strip()
        finally:
            pdf.close()
    except Exception:  # noqa: BLE001 - a title is a nicety; the loader reports real problems
        return ""
    return "" if title.lower() in ("", "untitled") else title[:TITLE_CHARS]


def collection_name(name: object, where: str = "collection") -> str:
    """``name`` if it can name a collection (letters of any script, digits, ``_ . -``; at most
    64), else a UsageError."""
    if not isinstance(name, str) or not COLLECTION_NAME.fullmatch(name):
        raise UsageError(f"{where}: {name!r} cannot name a collection (letters, digits, '_', '.', '-'; "
                         "at most 64), e.g. 総務 or hr-2024")
    return name


def checked(metadata: Mapping[str, object] | None, where: str = "metadata") -> dict[str, Value]:
    """``metadata`` validated (field names, text or number values); UsageError naming the field."""
    out: dict[str, Value] = {}
    for key, value in (metadata or {}).items():
        key = str(key)
        if not FIELD.fullmatch(key):
            raise UsageError(f"{where}: {key!r} is not a field name (letters, digits, '_', '.', '-'; at most 64)")
        if key in RESERVED:
            raise UsageError(f"{where}: {key!r} is set by ragkit itself; choose another field name")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise UsageError(f"{where}: {key} must be text or a number, got {type(value).__name__}")
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            raise UsageError(f"{where}: {key} is longer than {MAX_VALUE_CHARS} characters")
        out[key] = value
    return out


def parse_meta_args(items: Iterable[str]) -> dict[str, Value]:
    """``["dept=総務", "year=2024"]`` → ``{"dept": "総務", "year": 2024}`` (``--meta``)."""
    out: dict[str, Value] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--meta {item!r}: write FIELD=VALUE, e.g. --meta dept=総務")
        out[key.strip()] = parse_value(raw.strip(), item) if raw.strip() else ""
    return checked(out, "--meta")


class Sidecars:
    """Reads each folder's ``ragkit-meta.toml`` once per ingest and merges them for a file."""

    def __init__(self) -> None:
        self._cache: dict[str, list[tuple[str | None, dict[str, Value]]]] = {}

    def fields(self, file: str, root: str) -> dict[str, Value]:
        """The sidecar fields for absolute ``file`` under ingest root ``root`` (a folder or the file)."""
        from .identity import under

        top = root if os.path.isdir(root) else os.path.dirname(root)
        folder = os.path.dirname(file)
        chain = []
        while True:
            chain.append(folder)
            if folder == top or os.path.dirname(folder) == folder or not under(folder, top):
                break
            folder = os.path.dirname(folder)
        out: dict[str, Value] = {}
        for folder in reversed(chain):
            relative = os.path.relpath(file, folder).replace(os.sep, "/")
            for pattern, values in self._read(folder):
                if pattern is None or fnmatch.fnmatchcase(relative, pattern) or (
                        "/" not in pattern and fnmatch.fnmatchcase(os.path.basename(file), pattern)):
                    out.update(values)
        return out

    def _read(self, folder: str) -> list[tuple[str | None, dict[str, Value]]]:
        if folder not in self._cache:
            self._cache[folder] = _read_sidecar(Path(folder) / SIDECAR)
        return self._cache[folder]


def _read_sidecar(path: Path) -> list[tuple[str | None, dict[str, Value]]]:
    """(glob or None for "every file", fields) in file order; UsageError naming the sidecar."""
    from .config import tomllib

    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, OSError) as exc:
        raise UsageError(f"{path}: not a readable ragkit-meta.toml ({exc}); fix or remove it") from None
    common = {k: v for k, v in data.items() if not isinstance(v, dict)}
    rules: list[tuple[str | None, dict[str, Value]]] = [(None, checked(common, str(path)))] if common else []
    for pattern, values in data.items():
        if isinstance(values, dict):
            rules.append((pattern, checked(values, f"{path} [{pattern}]")))
    return rules
