"""One answer generated on a worker thread and handed to asyncio piece by piece.

The worker calls ``RAG.ask`` with an ``on_token`` that forwards each piece to the event loop and,
once the client has gone (``cancel``), raises ``Cancelled`` inside the generation loop: the model
stops at the next token and the gate slot is given back when the thread is really done.
"""
from __future__ import annotations

import asyncio
import threading
from typing import AsyncIterator, Callable

from ..types import Answer
from .gate import GenerationGate


class Cancelled(Exception):
    """Raised inside the generation when its client disconnected."""


class _End:
    def __init__(self, answer: Answer | None = None, error: BaseException | None = None):
        self.answer, self.error = answer, error


class AnswerRun:
    """Start with ``await AnswerRun.start(gate, work)``; iterate ``pieces()``; ``answer`` after."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._queue: asyncio.Queue = asyncio.Queue()
        self._stop = threading.Event()
        self.answer: Answer | None = None

    @classmethod
    async def start(cls, gate: GenerationGate, work: Callable[[Callable[[str], None]], Answer]) -> "AnswerRun":
        """Admit through ``gate`` (may raise ``Busy``) and start ``work(on_token)`` on a thread."""
        started = await gate.enter()
        run = cls(asyncio.get_running_loop())
        threading.Thread(target=run._work, args=(work, gate, started), name="ragkit-generate", daemon=True).start()
        return run

    def _post(self, callback, *args) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop closed (server stopping): nobody is listening
            pass

    def _on_token(self, piece: str) -> None:
        if self._stop.is_set():
            raise Cancelled()
        self._post(self._queue.put_nowait, piece)

    def _work(self, work, gate: GenerationGate, started: float) -> None:
        end = _End()
        try:
            end.answer = work(self._on_token)
        except BaseException as exc:  # handed to the reader on the loop
            end.error = exc
        finally:
            self._post(gate.leave, started)
            self._post(self._queue.put_nowait, end)

    def cancel(self) -> None:
        self._stop.set()

    async def pieces(self) -> AsyncIterator[str]:
        """The streamed pieces; ends when the answer is ready (then in ``answer``). Leaving the
        iteration early (a disconnect cancels it) stops the generation."""
        try:
            while True:
                item = await self._queue.get()
                if isinstance(item, _End):
                    if item.error is not None:
                        raise item.error
                    self.answer = item.answer
                    return
                yield item
        finally:
            self.cancel()

    async def result(self) -> Answer:
        async for _ in self.pieces():
            pass
        assert self.answer is not None
        return self.answer
