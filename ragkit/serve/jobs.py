"""Upload jobs: recorded in ``serve.sqlite`` and ingested one at a time by a background worker.

The worker holds the store's writer lock only inside ``RAG.ingest`` (the store's crash-safe
protocol); questions keep being answered meanwhile. States: ``queued`` → ``running`` → ``done``
or ``failed``. A server killed mid-ingest finds the job ``running`` when it starts again and runs
it once more (the ingest is incremental and starts by reconciling the store), reported in the
job as ``attempts`` and ``resumed``; a job interrupted ``MAX_ATTEMPTS`` times is reported failed.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import TYPE_CHECKING

from ..errors import RagkitError
from .db import ServeDB
from .uploads import Uploads

if TYPE_CHECKING:
    from .library import Library

log = logging.getLogger("ragkit.serve")
MAX_ATTEMPTS = 3
_COLUMNS = "id, state, collection, files, metadata, key_name, created_at, started_at, finished_at, attempts, result, error"


def _stamp(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t))


class JobBook:
    """The job records."""

    def __init__(self, db: ServeDB):
        self.db = db

    def new_id(self) -> str:
        return uuid.uuid4().hex

    def add(self, job_id: str, collection: str, files: list[str], metadata: dict, key_name: str) -> dict:
        self.db.execute("INSERT INTO jobs (id, state, collection, files, metadata, key_name, created_at) "
                        "VALUES (?, 'queued', ?, ?, ?, ?, ?)",
                        (job_id, collection, json.dumps(files, ensure_ascii=False),
                         json.dumps(metadata, ensure_ascii=False), key_name, time.time()))
        return self.get(job_id)

    def get(self, job_id: str) -> dict | None:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return _as_json(rows[0]) if rows else None

    def next_queued(self) -> dict | None:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE state = 'queued' ORDER BY created_at LIMIT 1")
        return _as_json(rows[0]) if rows else None

    def start(self, job_id: str) -> None:
        self.db.execute("UPDATE jobs SET state = 'running', started_at = ?, attempts = attempts + 1 WHERE id = ?",
                        (time.time(), job_id))

    def finish(self, job_id: str, result: dict | None = None, error: str | None = None) -> None:
        self.db.execute("UPDATE jobs SET state = ?, finished_at = ?, result = ?, error = ? WHERE id = ?",
                        ("failed" if error else "done", time.time(),
                         None if result is None else json.dumps(result, ensure_ascii=False), error, job_id))

    def pending(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM jobs WHERE state IN ('queued', 'running')")}

    def recover(self) -> list[str]:
        """Jobs a previous server left ``running`` (killed mid-ingest): queued again, or failed
        after ``MAX_ATTEMPTS``. Returns their ids."""
        rows = self.db.execute("SELECT id, attempts FROM jobs WHERE state = 'running'")
        for job_id, attempts in rows:
            if attempts >= MAX_ATTEMPTS:
                self.finish(job_id, error=f"the server stopped during this ingest {attempts} times; "
                                          "upload the files again (the store is consistent)")
            else:
                self.db.execute("UPDATE jobs SET state = 'queued' WHERE id = ?", (job_id,))
        return [r[0] for r in rows]


def _as_json(row: tuple) -> dict:
    (job_id, state, collection, files, metadata, key_name, created, started, finished, attempts,
     result, error) = row
    return {"id": job_id, "state": state, "collection": collection, "files": json.loads(files),
            "metadata": json.loads(metadata), "key": key_name, "created_at": _stamp(created),
            "started_at": _stamp(started), "finished_at": _stamp(finished), "attempts": attempts,
            "resumed": attempts > 1, "result": None if result is None else json.loads(result), "error": error}


def summary(report, names: dict[str, str]) -> dict:
    """What a job tells its uploader: counts and per-file problems named as uploaded (the
    server's own paths stay private)."""
    data = report.to_json()

    def named(items: list[dict]) -> list[dict]:
        return [dict(i, path=names.get(str(i.get("path")), i.get("path"))) for i in items]

    return {k: data[k] for k in ("files", "new", "changed", "unchanged", "chunks", "embedded", "seconds")} | {
        "failed": named(data["failed"]), "warnings": named(data["warnings"])}


class JobWorker:
    """One thread ingesting queued jobs in order; ``stop`` lets the running job finish."""

    def __init__(self, book: JobBook, uploads: Uploads, library: "Library"):
        self.book, self.uploads, self.library = book, uploads, library
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ragkit-ingest", daemon=True)
        self.current: str | None = None

    def start(self) -> None:
        resumed = self.book.recover()
        if resumed:
            log.warning("resuming %d upload job(s) interrupted by a stop: %s", len(resumed), ", ".join(resumed))
        swept = self.uploads.sweep(self.book.pending())
        if swept:
            log.warning("deleted %d upload(s) received only in part before a stop", len(swept))
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self, timeout: float) -> bool:
        """Ask the worker to stop after its current job; True when it stopped within ``timeout``."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            job = self.book.next_queued()
            if job is None:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            self._run(job)

    def _run(self, job: dict) -> None:
        self.current = job["id"]
        self.book.start(job["id"])
        try:
            paths = self.uploads.place(job["id"], job["collection"], job["files"])
            report = self.library.ingest(paths, job["collection"], job["metadata"])
            self.book.finish(job["id"], summary(report, {key: p.name for p in paths for key in (str(p), str(p.resolve()))}))
        except (RagkitError, OSError) as exc:
            self.book.finish(job["id"], error=str(exc))
        except Exception as exc:  # a bug must fail the job, not kill the worker
            log.exception("upload job %s failed", job["id"])
            self.book.finish(job["id"], error=f"unexpected error: {type(exc).__name__}: {exc}")
        finally:
            self.current = None
