"""Whether one path met by ``discover`` may be read, and if not, the reason to report.

The rules, in the order they are checked: a path must fit the system's limit (4,096 bytes);
it must exist; a symbolic link must not be broken and, unless ``follow_symlinks``, must lead to
somewhere inside one of the given roots (``ln -s /etc/shadow docs/`` or ``ln -s .. docs/up`` must
not pull other files into the index); folders are walked; only regular files are read (a FIFO
would block the reader forever, a device never ends); the name must be valid UTF-8 (on Linux
other bytes decode to surrogates, which neither SQLite nor a terminal accepts: such files are
skipped with their name shown as the legacy encoding it most likely is); and a file must not be
larger than ``max_bytes``.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ragkit.display import display_path, is_utf8_name

PATH_MAX = 4096  # bytes, terminating NUL included (Linux)
_MB = 1024 * 1024
_LEGACY_NAMES = (("cp932", "Shift_JIS"), ("euc_jp", "EUC-JP"))


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

    def check(self, path: Path, named: bool = False) -> tuple[str | None, str | None]:
        """(kind, reason): kind "dir" or "file" to use, or None; reason when worth reporting.

        Files that are not documents (by suffix) are skipped silently unless ``named``."""
        size = len(os.fsencode(path))
        if size >= PATH_MAX:
            return None, f"path too long ({size} bytes, limit {PATH_MAX - 1}); move it higher up the folder tree"
        try:
            mode = os.lstat(path).st_mode
        except OSError as exc:
            return None, os_reason(exc)
        if stat.S_ISLNK(mode):
            return self._check_link(path, named)
        return self._check_target(path, mode, named)

    def _check_link(self, path: Path, named: bool) -> tuple[str | None, str | None]:
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            broken = "broken symbolic link" if exc.errno in (errno.ENOENT, errno.ENOTDIR) else os_reason(exc)
            return None, broken if named or self.supported(path) else None
        real = os.path.realpath(path)
        if not self.follow_symlinks and not within(real, self.roots):
            if not (named or stat.S_ISDIR(mode) or self.supported(path)):
                return None, None
            return None, (f"symbolic link to outside the ingested folders ({display_path(real)}); "
                          "pass --follow-symlinks to include it")
        return self._check_target(path, mode, named)

    def _check_target(self, path: Path, mode: int, named: bool) -> tuple[str | None, str | None]:
        if stat.S_ISDIR(mode):
            return ("dir", None) if is_utf8_name(path) else (None, non_utf8_reason(path, "folder"))
        if not stat.S_ISREG(mode):
            return None, "not a regular file (FIFO, socket or device): skipped without opening it"
        if not (named or self.supported(path)):
            return None, None
        if not is_utf8_name(path):
            return None, non_utf8_reason(path, "file")
        return self._sized(path)

    def _sized(self, path: Path) -> tuple[str | None, str | None]:
        if self.max_bytes is None:
            return "file", None
        try:
            size = os.stat(path).st_size
        except OSError as exc:
            return None, os_reason(exc)
        if size <= self.max_bytes:
            return "file", None
        return None, (f"skipped: too large ({size / _MB:.1f} MB > limit {self.max_bytes / _MB:g} MB; "
                      "raise [ingest] max_file_mb)")
