"""Whether one path met by ``discover`` may be read, and if not, the reason to report.

The rules, in the order they are checked: a path must fit the system's limit (4,096 bytes);
it must exist; a symbolic link must not be broken and, unless ``follow_symlinks``, must lead to
somewhere inside one of the given roots (``ln -s /etc/shadow docs/`` or ``ln -s .. docs/up`` must
not pull other files into the index); folders are walked; only regular files are read (a FIFO
would block the reader forever, a device never ends); the name must be valid UTF-8 (on Linux
other bytes decode to surrogates, which neither SQLite nor a terminal accepts: such files are
skipped with their name shown as the legacy encoding it most likely is); and a file must not be
larger than ``max_bytes``.

What the rules leave out on purpose is *skipped* (``Skipped``, one of ``SKIP_KINDS``), not failed:
files that are not documents, hidden entries, files over the size limit, links leading outside,
paths a ``.ragkitignore`` excludes. Each is reported, so nothing is left out silently, but none
makes an ingest exit 3: they stay skipped on every run until the user changes the rule.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

from ragkit.display import display_path, is_utf8_name

PATH_MAX = 4096  # bytes, terminating NUL included (Linux)
_MB = 1024 * 1024
_LEGACY_NAMES = (("cp932", "Shift_JIS"), ("euc_jp", "EUC-JP"))

SKIP_KINDS = {  # kind -> how a summary names it
    "unsupported": "not a supported document type",
    "hidden": "hidden (name starts with a dot)",
    "too_large": "too large ([ingest] max_file_mb)",
    "outside": "symbolic link to outside the ingested folders (--follow-symlinks reads them)",
    "ignored": "excluded by .ragkitignore",
    "failed_before": "failed before and unchanged since (--retry-failed tries again)",
}


@dataclass(frozen=True)
class Skipped:
    """A path left out by a rule: ``kind`` is a key of ``SKIP_KINDS``, ``reason`` says exactly why."""

    path: str
    kind: str
    reason: str

    def to_json(self) -> dict:
        return {"path": self.path, "kind": self.kind, "reason": self.reason}


class Verdict(NamedTuple):
    """What to do with one path: ``use`` it ("dir": walk, "file": read), or not, because of a
    problem (``reason`` alone) or a rule (``skip``, a key of ``SKIP_KINDS``, with ``reason``)."""

    use: str | None = None
    reason: str | None = None
    skip: str | None = None


def within(real: str, roots: Sequence[str]) -> bool:
    """Whether the real path ``real`` is one of ``roots`` or lies under one."""
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def reported_path(path: Path) -> str:
    """The path as it goes into a report: as is, or escaped when its bytes are not UTF-8 (a
    surrogate string cannot be stored, printed or written as JSON)."""
    return str(path) if is_utf8_name(path) else display_path(path)


def non_utf8_reason(path: Path, kind: str) -> str:
    """Why a ``kind`` ("file"/"folder") whose name is not UTF-8 is skipped, with a readable
    guess at what the name says."""
    raw = os.fsencode(path.name)
    for codec, label in _LEGACY_NAMES:
        try:
            guess = f"looks like {label}: {display_path(raw.decode(codec))}"
            break
        except UnicodeDecodeError:
            continue
    else:
        guess = "unknown encoding"
    return f"{kind} name is not valid UTF-8 ({guess}); rename it to UTF-8"


def os_reason(exc: OSError) -> str:
    """A short reason for an OS error met while looking at a path."""
    if exc.errno == errno.ENAMETOOLONG:
        return f"path too long (over {PATH_MAX} bytes); move it higher up the folder tree"
    if exc.errno == errno.ENOENT:
        return "no such file or directory"
    if exc.errno == errno.EACCES:
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    return f"cannot read: {exc.strerror or exc}"


@dataclass(frozen=True)
class Rules:
    """The checks for one discover run; ``supported`` says which files are documents at all."""

    roots: tuple[str, ...]
    supported: Callable[[Path], bool]
    follow_symlinks: bool = False
    max_bytes: int | None = None

    def check(self, path: Path, named: bool = False) -> Verdict:
        """The verdict for ``path``; a file that is not a document (by suffix) is skipped as
        "unsupported" in a folder walk and a problem when ``named``."""
        size = len(os.fsencode(path))
        if size >= PATH_MAX:
            return Verdict(reason=f"path too long ({size} bytes, limit {PATH_MAX - 1}); move it higher up the folder tree")
        try:
            mode = os.lstat(path).st_mode
        except OSError as exc:
            return Verdict(reason=os_reason(exc))
        if stat.S_ISLNK(mode):
            return self._check_link(path, named)
        return self._check_target(path, mode, named)

    def _check_link(self, path: Path, named: bool) -> Verdict:
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            if not (named or self.supported(path)):
                return _unsupported(path)
            return Verdict(reason="broken symbolic link" if exc.errno in (errno.ENOENT, errno.ENOTDIR) else os_reason(exc))
        real = os.path.realpath(path)
        if not self.follow_symlinks and not within(real, self.roots):
            if not (named or stat.S_ISDIR(mode) or self.supported(path)):
                return _unsupported(path)
            return Verdict(reason=f"symbolic link to outside the ingested folders ({display_path(real)}); "
                                  "pass --follow-symlinks to include it", skip="outside")
        return self._check_target(path, mode, named)

    def _check_target(self, path: Path, mode: int, named: bool) -> Verdict:
        if stat.S_ISDIR(mode):
            return Verdict("dir") if is_utf8_name(path) else Verdict(reason=non_utf8_reason(path, "folder"))
        if not stat.S_ISREG(mode):
            return Verdict(reason="not a regular file (FIFO, socket or device): skipped without opening it")
        if not (named or self.supported(path)):
            return _unsupported(path)
        if not is_utf8_name(path):
            return Verdict(reason=non_utf8_reason(path, "file"))
        return self._sized(path)

    def _sized(self, path: Path) -> Verdict:
        if self.max_bytes is None:
            return Verdict("file")
        try:
            size = os.stat(path).st_size
        except OSError as exc:
            return Verdict(reason=os_reason(exc))
        if size <= self.max_bytes:
            return Verdict("file")
        return Verdict(reason=f"too large ({size / _MB:.1f} MB > limit {self.max_bytes / _MB:g} MB; "
                              "raise [ingest] max_file_mb)", skip="too_large")


def unsupported_reason(path: Path) -> str:
    """Why ``path`` is not read: its suffix is not a document type ragkit reads."""
    return f"unsupported file type {path.suffix or '(none)'}"


def _unsupported(path: Path) -> Verdict:
    return Verdict(reason=unsupported_reason(path), skip="unsupported")
