"""``.ragkitignore``: paths a user excludes from one ingest root, in gitignore syntax.

A folder given to ``ragkit ingest`` may hold a ``.ragkitignore`` file; its patterns are matched
(by ``pathspec``'s gitignore rules: ``*.log``, ``drafts/``, ``/top-level-only.md``, ``!keep.md``)
against paths relative to that folder. An ignored folder is not entered, so (as in git) a file
inside it cannot be re-included. Only the root's own file is read: subfolders' files are not.
A file that cannot be read or holds an invalid pattern stops the run with a ``ConfigError``
naming the line: going on would index what the user meant to exclude.
"""
from __future__ import annotations

from pathlib import Path

from ragkit.errors import ConfigError

IGNORE_FILE = ".ragkitignore"


class IgnoreRules:
    """The patterns of one root's ``.ragkitignore`` (none when the file is absent)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.file = self.root / IGNORE_FILE
        self._spec = _read(self.file) if self.file.is_file() else None

    def ignored(self, path: Path, is_dir: bool) -> bool:
        """Whether ``path`` (under ``root``) matches a pattern; folders match as ``name/``."""
        if self._spec is None:
            return False
        relative = path.relative_to(self.root).as_posix() + ("/" if is_dir else "")
        return self._spec.match_file(relative)


def _read(file: Path):
    import pathspec

    try:
        lines = file.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise ConfigError(f"{file}: cannot read ({why}); fix or remove it, nothing was ingested") from None
    for n, line in enumerate(lines, start=1):
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except ValueError as exc:
            raise ConfigError(f"{file}:{n}: invalid pattern {line!r} ({exc}); fix the line (gitignore "
                              "syntax), nothing was ingested") from None
    return pathspec.GitIgnoreSpec.from_lines(lines)
