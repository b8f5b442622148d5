"""Admission for generations: ``slots`` run at once, ``queue`` more wait, the rest are turned
away at once (HTTP 503 with ``Retry-After``) instead of piling up until clients time out.

The in-process model is one llama context, so ``slots`` is 1 there; a remote model server that
batches requests can take more (``serve.generation_slots``). A slot is given back only when the
generation has really stopped (the worker thread says so), never when the client merely left, so
the model is never asked for two answers at once.
"""
from __future__ import annotations

import asyncio
import math
import time


class Busy(Exception):
    """Every slot and queue place is taken; ``retry_after`` seconds is a fair wait."""

    def __init__(self, retry_after: int):
        super().__init__("every generation slot is busy and the queue is full")
        self.retry_after = retry_after


class GenerationGate:
    """Counts admitted generations; an asyncio semaphore orders the waiting ones (FIFO)."""

    def __init__(self, slots: int = 1, queue: int = 8):
        self.slots, self.queue = slots, queue
        self._semaphore = asyncio.Semaphore(slots)
        self._admitted = 0
        self._seconds = 5.0  # running estimate of one generation, for Retry-After

    @property
    def admitted(self) -> int:
        return self._admitted

    def retry_after(self) -> int:
        waves = math.ceil((self._admitted + 1) / self.slots)
        return max(1, math.ceil(waves * self._seconds))

    async def enter(self) -> float:
        """Wait for a slot; raises ``Busy`` when the queue is full. Returns the start time."""
        if self._admitted >= self.slots + self.queue:
            raise Busy(self.retry_after())
        self._admitted += 1
        try:
            await self._semaphore.acquire()
        except BaseException:  # the client left while queued: its place is free again
            self._admitted -= 1
            raise
        return time.monotonic()

    def leave(self, started: float) -> None:
        """Give the slot back (on the event loop) once the generation has stopped."""
        self._seconds = 0.8 * self._seconds + 0.2 * (time.monotonic() - started)
        self._admitted -= 1
        self._semaphore.release()
