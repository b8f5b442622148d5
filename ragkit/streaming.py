"""An answer as an iterator: ``for piece in rag.stream(q)`` instead of an ``on_token`` callback.

The answer is produced on a worker thread that pushes the model's pieces into a queue; iterating
yields them as they come, then the part of the final text that streaming could not show (citation
markers added after generation, or the whole abstention text), so the pieces always join to
``Answer.text`` when the final text extends what was streamed. ``answer`` holds the finished
``Answer`` once the iterator is exhausted. Errors raised while answering are re-raised to the reader.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator

from .types import Answer

_DONE = object()


class AnswerStream:
    """Iterate for text pieces; ``answer`` is the final ``Answer`` after the iteration ends."""

    def __init__(self, run: Callable[[Callable[[str], None]], Answer]):
        self._run = run
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        pieces: queue.Queue = queue.Queue()
        outcome: dict = {}

        def work() -> None:
            try:
                outcome["answer"] = self._run(pieces.put)
            except BaseException as exc:  # handed to the reader's thread below
                outcome["error"] = exc
            finally:
                pieces.put(_DONE)

        worker = threading.Thread(target=work, name="ragkit-answer", daemon=True)
        worker.start()
        shown: list[str] = []
        while (piece := pieces.get()) is not _DONE:
            shown.append(piece)
            yield piece
        worker.join()
        if "error" in outcome:
            raise outcome["error"]
        self.answer = outcome["answer"]
        yield from rest_of(self.answer.text, "".join(shown))


def rest_of(final: str, shown: str) -> Iterator[str]:
    """What to show after ``shown`` so the reader sees ``final``: its remainder when ``final``
    extends the streamed text (markers appended), else nothing (the caller shows ``final``)."""
    if final.startswith(shown) and len(final) > len(shown):
        yield final[len(shown):]
