"""The QA set format (../shared/data/README.md): reading it, and one text file per paragraph.

A corpus JSONL holds paragraphs (``context_id``, ``title``, ``context``); a questions JSONL holds
``question``, ``answers`` and the gold ``context_id``. Paragraphs become files named from their
ids, so a retrieved chunk's source names its paragraph. Used by ``evaluate`` (retrieval) and
``answer_eval`` (answers), which therefore need not import each other.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Sequence

from .errors import ConfigError

_UNSAFE = re.compile(r"[^\w.-]")


def read_jsonl(path: str | Path, required: Sequence[str]) -> list[dict]:
    """Objects of a JSONL file; a ConfigError names the file and line of the first bad record."""
    path = Path(path)
    rows: list[dict] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror}); give an existing JSONL file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8; QA files must be UTF-8 JSONL") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
        missing = [k for k in required if k not in row]
        if missing:
            raise ConfigError(f"{path}:{n}: missing field(s) {', '.join(missing)} "
                              "(see the QA format in ../shared/data/README.md)")
        rows.append(row)
    if not rows:
        raise ConfigError(f"{path}: no records")
    return rows


def doc_stem(context_id: str) -> str:
    """A file name stem for a paragraph id (ids are mostly safe already; the rest is escaped)."""
    stem = _UNSAFE.sub("_", context_id)
    if stem != context_id:
        stem += "-" + hashlib.sha1(context_id.encode("utf-8")).hexdigest()[:8]
    return stem


def source_stem(source: str) -> str:
    """The paragraph stem of a retrieved chunk's source file (the inverse of ``write_docs``)."""
    return Path(source).stem


def paragraph_text(row: dict) -> str:
    """What one paragraph file holds: the title (Wikipedia underscores as spaces), then the text."""
    title = str(row.get("title") or "").replace("_", " ").strip()
    return f"{title}\n{row['context']}" if title else str(row["context"])


def write_docs(corpus: list[dict], folder: Path) -> dict[str, str]:
    """One UTF-8 file per paragraph (rewritten only when its text changed); returns stem → context_id."""
    folder.mkdir(parents=True, exist_ok=True)
    stems: dict[str, str] = {}
    for row in corpus:
        cid = str(row["context_id"])
        stem = doc_stem(cid)
        if stem in stems:
            raise ConfigError(f"corpus has context_id {cid!r} twice; ids must be unique")
        stems[stem] = cid
        path = folder / f"{stem}.txt"
        text = paragraph_text(row)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return stems
