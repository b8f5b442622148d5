"""Find input files and load them into Documents: dispatch by suffix, one clear error per file.

``find`` turns the paths a user named into a sorted, de-duplicated file list (walking folders,
skipping hidden entries and what ``.ragkitignore`` excludes, surviving symlink loops, never leaving
the named paths through a link, never opening what is not a regular file) plus the problems worth
reporting and every path a rule skipped; ``load``
reads one file and raises ``LoadError(path, reason)`` for anything that keeps it out of the index,
so that the caller can report it and go on with the next file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ragkit.errors import LoadError
from ragkit.loaders.csv import load_csv
from ragkit.loaders.docx import load_docx
from ragkit.loaders.html import load_html
from ragkit.loaders.entries import Rules, Skipped, Verdict, os_reason, reported_path, unsupported_reason
from ragkit.loaders.ignore import IGNORE_FILE, IgnoreRules
from ragkit.loaders.office import LEGACY, OOXML, damaged_reason, legacy_reason
from ragkit.loaders.pdf import inspect_pdf, load_pdf
from ragkit.loaders.pptx import load_pptx
from ragkit.loaders.quality import SUSPECT_BELOW, score_text
from ragkit.loaders.structured import skip_reason
from ragkit.loaders.text import load_text
from ragkit.loaders.xlsx import load_xlsx
from ragkit.types import Document

LOADERS = {
    ".txt": load_text, ".md": load_text, ".markdown": load_text,
    ".docx": load_docx, ".xlsx": load_xlsx, ".xlsm": load_xlsx, ".pptx": load_pptx,
    ".html": load_html, ".htm": load_html, ".csv": load_csv, ".tsv": load_csv,
}
SUPPORTED_SUFFIXES = {".pdf", *LOADERS}

__all__ = ["SUPPORTED_SUFFIXES", "SUSPECT_BELOW", "Found", "discover", "find", "inspect_file", "inspect_pdf", "load",
           "score_text", "skip_reason"]


def _supported(path: Path) -> bool:
    """Files ragkit reads, and old Office files it names with advice instead of skipping."""
    return path.suffix.lower() in SUPPORTED_SUFFIXES or path.suffix.lower() in LEGACY


def _unsupported_reason(path: Path) -> str:
    return f"{unsupported_reason(path)} (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"


@dataclass
class Found:
    """What ``find`` found: the files to read, the problems (path, reason) to report as failures,
    and what the rules skipped (``loaders.entries.Skipped``)."""

    files: list[Path] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def add(self, path: Path, verdict: Verdict, shown: str | None = None) -> None:
        """Record a verdict that is not "use": as skipped (a rule) or as a problem."""
        where = shown or reported_path(path)
        if verdict.skip:
            self.skipped.append(Skipped(where, verdict.skip, verdict.reason))
        elif verdict.reason:
            self.problems.append((where, verdict.reason))


def _walk(root: Path, rules: Rules, found: Found) -> None:
    """Depth-first, sorted, iterative walk (no recursion limit on deep trees); each folder is
    entered once (by device and inode: symlink loops end); hidden entries and what the root's
    ``.ragkitignore`` excludes are skipped (reported) and never entered."""
    ignore = IgnoreRules(root)
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            found.problems.append((reported_path(folder), f"{os_reason(exc)} (folder skipped)"))
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue  # a symlink loop or a second link to the same folder
        seen.add((st.st_dev, st.st_ino))
        subfolders = []
        for entry in entries:
            path = Path(folder, entry.name)
            is_dir = _is_dir(entry)
            shown = reported_path(path) + ("/" if is_dir else "")
            if ignore.ignored(path, is_dir):
                found.add(path, Verdict(reason=f"matches {ignore.file}", skip="ignored"), shown)
                continue
            if entry.name.startswith("."):
                if not (folder == root and entry.name == IGNORE_FILE):
                    found.add(path, Verdict(reason="hidden", skip="hidden"), shown)
                continue
            verdict = rules.check(path)
            if verdict.use == "dir":
                subfolders.append(path)
            elif verdict.use == "file":
                found.files.append(path)
            else:
                found.add(path, verdict)
        stack.extend(reversed(subfolders))


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def find(paths: Iterable[str | Path], follow_symlinks: bool = False,
         max_file_mb: float | None = None) -> Found:
    """Expand files and folders into supported files, problems and skipped paths.

    Problems are ``(path, reason)``: named files that do not exist or have an unsupported
    suffix, unreadable or over-long paths, broken links, FIFOs/sockets/devices (never opened),
    names that are not UTF-8 (the path then escaped). Skipped (``loaders.entries``): files that are
    not documents, hidden entries, files over ``max_file_mb``, links that lead outside every named
    path (unless ``follow_symlinks``), what a root's ``.ragkitignore`` excludes. The file list is
    sorted per folder and holds each real file once; a file named directly is a root of its own
    (taken even when hidden).
    """
    given = [Path(p) for p in paths]
    max_bytes = None if max_file_mb is None else int(max_file_mb * 1024 * 1024)
    roots = tuple(os.path.realpath(p) for p in given)  # nothing outside these is read unless asked
    rules = Rules(roots, _supported, follow_symlinks, max_bytes)
    found = Found()
    for path in given:
        verdict = rules.check(path, named=True)
        if verdict.use == "dir":
            _walk(path, rules, found)
        elif verdict.use == "file" and _supported(path):
            found.files.append(path)
        elif verdict.use == "file":
            found.problems.append((str(path), _unsupported_reason(path)))
        else:
            found.add(path, verdict)
    unique: dict[str, Path] = {}
    for f in found.files:  # the same file reached twice (named twice, or via a link) is loaded once
        unique.setdefault(os.path.realpath(f), f)
    found.files = list(unique.values())
    return found


def discover(paths: Iterable[str | Path], follow_symlinks: bool = False,
             max_file_mb: float | None = None) -> tuple[list[Path], list[tuple[str, str]]]:
    """``find`` as (files, problems), for callers that do not report skipped paths."""
    found = find(paths, follow_symlinks=follow_symlinks, max_file_mb=max_file_mb)
    return found.files, found.problems


def load(path: Path, pdf_password: str | None = None) -> list[Document]:
    """Load one file into Documents (PDF: one per page, slides, sheets' row blocks, sections of
    Word and HTML; text: one); raises LoadError."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in LEGACY:
        raise LoadError(str(path), legacy_reason(path))
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(str(path), _unsupported_reason(path))
    try:
        if suffix == ".pdf":
            return load_pdf(path, pdf_password=pdf_password)
        return LOADERS[suffix](path)
    except FileNotFoundError:
        raise LoadError(str(path), "file vanished") from None
    except PermissionError:
        raise LoadError(str(path), "permission denied") from None
    except IsADirectoryError:
        raise LoadError(str(path), "is a folder, not a file") from None
    except OSError as exc:
        raise LoadError(str(path), f"cannot read file: {exc.strerror or exc}") from None
    except (LoadError, RecursionError, MemoryError):
        raise
    except Exception as exc:  # parser errors inside an Office zip that passed check_ooxml
        if suffix in OOXML:
            raise LoadError(str(path), damaged_reason(path, exc)) from None
        raise


def inspect_file(path: Path, pdf_password: str | None = None) -> list[dict]:
    """Per unit (page, slide, sheet rows, section): where it is and the text as it will be chunked.
    Raises LoadError (one line, with what to do) for a path that is not one readable document."""
    path = Path(path)
    if path.is_dir():
        raise LoadError(str(path), "is a folder; inspect shows one file (ingest takes folders)")
    if not path.exists():
        raise LoadError(str(path), "no such file; check the name and the current folder")
    if path.suffix.lower() == ".pdf":
        return [{**u, "location": None} for u in inspect_pdf(path, pdf_password)]
    return [{"page": d.page, "location": d.location, "extractor": d.extractor, "quality": d.quality,
             "skipped": skip_reason(d), "text": d.text} for d in load(path, pdf_password)]
