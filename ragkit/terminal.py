"""How the CLI shows progress on stderr: a ``ragkit.progress.Progress`` that renders it.

Three ways, chosen by ``progress_for``:

* a terminal: a bar that counts *chunks embedded* (its total grows as files are read, and says
  "+" while files remain), the number of files checked and the file being worked on; warnings
  and failures are printed above the bar the moment they are found; a model that takes more than
  a second to load says so ("loading embedder… 3.1 s"; a quicker load's line is erased).
* not a terminal (cron, a pipe, a log file): plain lines, no bar: one per file read (with its
  chunk count), a line per warning or failure, an embedding count at most every 10 s, and the
  model loading line.
* ``--quiet`` or ``--json``: nothing; the command's summary still lists what went wrong.

``skipped_lines`` formats the summary of what a walk left out, by reason.
"""
from __future__ import annotations

import sys
import time
from collections import defaultdict
from typing import TextIO

from .display import display_path
from .progress import Progress

SLOW_PHASE_S = 1.0  # a phase shorter than this is not worth a line
LINE_EVERY_S = 10.0  # plain-line mode: at most one embedding count per interval
NAMES_PER_REASON = 5


def progress_for(quiet: bool, stream: TextIO | None = None) -> "_Visible":
    """The renderer for this run: silent, plain lines, or a bar (``stream`` is a terminal)."""
    stream = stream or sys.stderr
    if quiet:
        return Silent(stream)
    return BarProgress(stream) if stream.isatty() else LineProgress(stream)


def fmt_where(page: int | None, location: str | None = None) -> str:
    """Where in a file: the unit a person opens (``slide 7``, ``売上!A10:F25``), else the page."""
    if location:
        return f" {location}"
    return f" p.{page}" if page else ""


def warning_line(item: dict) -> str:
    return f"warning: {display_path(item['path'])}{fmt_where(item.get('page'), item.get('location'))}: {item['reason']}"


def failure_line(item: dict) -> str:
    return f"failed: {display_path(item['path'])}: {item['reason']}"


def skipped_lines(skipped: list[dict]) -> list[str]:
    """``skipped N path(s):`` then one line per reason with its count and the first names."""
    if not skipped:
        return []
    from .loaders.entries import SKIP_KINDS  # not at import: the loaders pull in pypdfium2 and more

    by_kind: dict[str, list[str]] = defaultdict(list)
    for item in skipped:
        by_kind[item["kind"]].append(display_path(item["path"]))
    lines = [f"skipped {len(skipped)} path(s) (--json lists each with its reason):"]
    for kind in sorted(by_kind, key=lambda k: list(SKIP_KINDS).index(k) if k in SKIP_KINDS else len(SKIP_KINDS)):
        names = by_kind[kind]
        shown = ", ".join(names[:NAMES_PER_REASON])
        more = f", … {len(names) - NAMES_PER_REASON} more" if len(names) > NAMES_PER_REASON else ""
        lines.append(f"  {SKIP_KINDS.get(kind, kind)}: {len(names)} ({shown}{more})")
    return lines


class _Visible(Progress):
    """What both visible renderers share: counts, and a line for each problem as it happens."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.files = (0, 0)
        self.queued = 0
        self.embedded = 0
        self.reading = True  # files remain to be read: the chunk total is still growing

    def say(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def warning(self, item: dict) -> None:
        self.say(warning_line(item))

    def file_failed(self, item: dict) -> None:
        self.say(failure_line(item))

    def file_started(self, path: str, index: int, total: int) -> None:
        self.files = (index, total)
        self.reading = index < total

    def chunks_queued(self, path: str, chunks: int) -> None:
        self.queued += chunks

    def chunks_embedded(self, path: str, chunks: int) -> None:
        self.embedded += chunks

    def phase_finished(self, phase: str, seconds: float) -> None:
        if seconds >= SLOW_PHASE_S:
            self.say(f"{phase}… {seconds:.1f} s")

    def close(self) -> None:
        """Called once the command is done."""


class Silent(_Visible):
    """``--quiet`` and ``--json``: nothing on stderr while working."""

    def say(self, line: str) -> None:
        pass


class LineProgress(_Visible):
    """Plain lines for logs: no cursor movement, nothing rewritten."""

    def __init__(self, stream: TextIO):
        super().__init__(stream)
        self._last = time.monotonic()

    def chunks_queued(self, path: str, chunks: int) -> None:
        super().chunks_queued(path, chunks)
        index, total = self.files
        self.say(f"[{index}/{total}] {display_path(path)}: {chunks} chunk(s) to embed")

    def chunks_embedded(self, path: str, chunks: int) -> None:
        super().chunks_embedded(path, chunks)
        if time.monotonic() - self._last >= LINE_EVERY_S:
            self._last = time.monotonic()
            self.say(f"embedded {self.embedded}/{self.queued}{'+' if self.reading else ''} chunks")


class BarProgress(_Visible):
    """A tqdm bar of chunks embedded, lines printed above it, and a live "loading …" phase."""

    def __init__(self, stream: TextIO):
        super().__init__(stream)
        self.bar = None
        self.current = ""
        self._refreshed = 0.0

    # --- the bar ---------------------------------------------------------------------------
    def files_found(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=0, unit="+ chunks embedded", file=self.stream, dynamic_ncols=True, mininterval=0.2,
                        bar_format="{desc}{n_fmt}/{total_fmt}{unit} |{bar}| {elapsed}{postfix}")
        self._show()

    def _show(self, force: bool = True) -> None:
        if self.bar is None:
            return
        index, total = self.files
        name = display_path(self.current)[-40:]
        self.bar.unit = ("+" if self.reading else "") + " chunks embedded"  # "+": files remain to be read
        self.bar.set_postfix_str(f"files {index}/{total}" + (f" · {name}" if name else ""), refresh=False)
        now = time.monotonic()
        if force or now - self._refreshed >= 0.2:
            self._refreshed = now
            self.bar.refresh()

    def file_started(self, path: str, index: int, total: int) -> None:
        super().file_started(path, index, total)
        self.current = path
        self._show(force=False)

    def chunks_queued(self, path: str, chunks: int) -> None:
        super().chunks_queued(path, chunks)
        if self.bar is not None:
            self.bar.total = self.queued
            self._show(force=False)

    def chunks_embedded(self, path: str, chunks: int) -> None:
        super().chunks_embedded(path, chunks)
        self.current = path
        if self.bar is not None:
            self._show(force=False)
            self.bar.update(chunks)

    def say(self, line: str) -> None:
        if self.bar is None:
            super().say(line)
        else:
            self.bar.write(line, file=self.stream)

    # --- phases: live on the bar, or on their own line, erased when they were quick ---------------
    # The line is written when the phase starts, not after a second: llama.cpp points the
    # process's stderr at /dev/null while it loads, so nothing written meanwhile would show.
    def phase_started(self, phase: str) -> None:
        if self.bar is not None:
            self.bar.set_description_str(f"{phase}… ", refresh=True)
        else:
            print(f"{phase}…", end="", file=self.stream, flush=True)

    def phase_finished(self, phase: str, seconds: float) -> None:
        if self.bar is not None:
            self.bar.set_description_str("", refresh=False)
            super().phase_finished(phase, seconds)
        elif seconds >= SLOW_PHASE_S:
            print(f" {seconds:.1f} s", file=self.stream, flush=True)
        else:
            print("\r\x1b[K", end="", file=self.stream, flush=True)  # erase the line: it was quick

    def close(self) -> None:
        if self.bar is not None:
            self._show()
            self.bar.close()
            self.bar = None
