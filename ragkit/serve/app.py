"""The HTTP API of ``ragkit serve`` (FastAPI) over one shared ``RAG``.

Every endpoint but ``/health*`` needs ``Authorization: Bearer <key>``; the key's grant decides
which collections a request may read (``Library``) and whether it may upload or delete. Errors
are ``{"error": {"message", "type", "param"}}`` with the matching status.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Optional

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import CollectionNotFound, RagkitError, StoreLocked, UsageError
from ..pipeline import RAG
from ..streaming import rest_of
from ..types import DEFAULT_COLLECTION
from .answering import AnswerRun
from .db import ServeDB
from .gate import Busy, GenerationGate
from .jobs import JobBook, JobWorker
from .keys import ANONYMOUS, Grant, KeyRing
from .library import Library, Scope, UnknownCollection
from .middleware import BodyTooLarge
from .openai_format import DONE, Completion, answer_extras, dify_record, error_body, sse
from .schemas import ChatRequest, DifyRetrieval, RetrieveRequest
from .uploads import Uploads, UnsupportedType, checked_name

log = logging.getLogger("ragkit.serve")
MODEL_ID = "ragkit"


@dataclass(frozen=True)
class ServeOptions:
    """How the service behaves (``ragkit serve`` options and the ``[serve]`` settings)."""

    auth: bool = True
    generation_slots: int = 1  # parallel generations: 1 for the in-process model (one llama context)
    generation_queue: int = 8  # generations that may wait for a slot before 503
    max_upload_files: int = 100
    load_models: bool = True  # load the models before /health/ready says ready
    shutdown_job_wait: float = 30.0  # seconds a stopping server lets the running ingest finish


class ApiError(Exception):
    def __init__(self, status: int, message: str, type: str = "invalid_request_error",
                 param: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.headers = status, message, type, param, headers


class Service:
    """What the endpoints share: the RAG, its grant-aware view, keys, jobs and the gate."""

    def __init__(self, rag: RAG, options: ServeOptions):
        self.rag, self.options = rag, options
        self.library = Library(rag)
        self.db = ServeDB(rag.settings.store)
        self.keys = KeyRing(self.db)
        self.jobs = JobBook(self.db)
        self.uploads = Uploads(rag.settings.store)
        self.worker = JobWorker(self.jobs, self.uploads, self.library)
        self.gate = GenerationGate(options.generation_slots, options.generation_queue)
        self.ready = threading.Event()
        self.load_error: str | None = None

    def warm_up(self) -> None:
        """Open (or create) the store and load the models; ``/health/ready`` waits for this."""
        try:
            self.rag.store(create=True)
            if self.options.load_models:
                self.rag.embedder
                self.rag.generator
            self.ready.set()
            log.info("ready: store %s open, models loaded", self.rag.settings.store)
        except Exception as exc:  # reported by /health/ready; the process stays up for /health
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("not ready: %s", self.load_error)

    def grant(self, request: Request) -> Grant:
        """The caller's grant from its Bearer key (401 when missing, unknown or revoked)."""
        if not self.options.auth:
            grant = ANONYMOUS
        else:
            scheme, _, key = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                raise ApiError(401, "missing API key: send 'Authorization: Bearer <key>' (an admin creates "
                               "one with `ragkit keys add NAME --collections A,B`)", "authentication_error",
                               headers={"WWW-Authenticate": "Bearer"})
            grant = self.keys.grant(key.strip())
            if grant is None:
                raise ApiError(401, "invalid or revoked API key", "authentication_error",
                               headers={"WWW-Authenticate": "Bearer"})
        request.scope.setdefault("state", {})["key_name"] = grant.name
        return grant


def create_app(rag: RAG, options: ServeOptions = ServeOptions()) -> FastAPI:
    """The ASGI app; the store opens and the models load in the background at startup."""
    service = Service(rag, options)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        service.worker.start()
        threading.Thread(target=service.warm_up, name="ragkit-warm-up", daemon=True).start()
        yield
        if not await asyncio.to_thread(service.worker.stop, options.shutdown_job_wait):
            log.warning("stopping with upload job %s still ingesting; it resumes on the next start",
                        service.worker.current)
        service.db.close()

    app = FastAPI(title="ragkit", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.service = service
    _install_error_handlers(app)
    grant = service.grant

    # --- health and discovery -----------------------------------------------------------------
    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/health/ready")
    async def ready():
        if service.ready.is_set():
            return {"status": "ready"}
        message = service.load_error or "opening the store and loading the models"
        raise ApiError(503, message, "not_ready", headers={"Retry-After": "5"})

    @app.get("/v1/models")
    async def models(_: Grant = Depends(grant)) -> dict:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "ragkit"}]}

    @app.get("/v1/collections")
    async def collections(g: Grant = Depends(grant)) -> dict:
        found = await run_in_threadpool(service.library.collections, g.collections)
        return {"data": [c.to_json() for c in found]}

    # --- answers and retrieval ----------------------------------------------------------------
    @app.post("/v1/chat/completions")
    async def chat(body: ChatRequest, request: Request, g: Grant = Depends(grant)):
        question = body.question()
        if not question or not question.strip():
            raise ApiError(422, "messages: no user message with text (the last user message is the question)",
                           param="messages")
        names = await run_in_threadpool(service.library.resolve, _scope(g, body.collections), body.where)

        def work(on_token):
            return service.library.ask(question, names, k=body.k, mode=body.mode, where=body.where, on_token=on_token)

        run = await AnswerRun.start(service.gate, work)
        completion = Completion(body.model or MODEL_ID)
        if body.stream:
            return StreamingResponse(_stream(run, completion, body.include_sources), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        answer = await _unless_disconnected(request, run)
        return JSONResponse(completion.whole(answer, body.include_sources))

    @app.post("/v1/retrieve")
    async def retrieve(body: RetrieveRequest, g: Grant = Depends(grant)) -> dict:
        names = await run_in_threadpool(service.library.resolve, _scope(g, body.collections), body.where)
        hits = await run_in_threadpool(lambda: service.library.retrieve(body.query, names, k=body.k,
                                                                        mode=body.mode, where=body.where))
        return {"query": body.query, "hits": [h.to_json() for h in hits]}

    @app.post("/retrieval")
    async def dify(body: DifyRetrieval, g: Grant = Depends(grant)) -> dict:
        names = await run_in_threadpool(service.library.resolve, _scope(g, [body.knowledge_id]))
        hits = await run_in_threadpool(lambda: service.library.retrieve(body.query, names,
                                                                        k=body.retrieval_setting.top_k))
        threshold = body.retrieval_setting.score_threshold
        return {"records": [dify_record(h) for h in hits if h.score >= threshold]}

    # --- documents and jobs -------------------------------------------------------------------
    @app.get("/v1/documents")
    async def documents(collection: Optional[str] = None, g: Grant = Depends(grant)) -> dict:
        records = await run_in_threadpool(service.library.documents, g.collections, collection)
        return {"data": [_document_json(r) for r in records]}

    @app.post("/v1/documents", status_code=202)
    async def upload(request: Request, g: Grant = Depends(grant)):
        _need_write(g)
        form = await request.form(max_files=options.max_upload_files, max_fields=20)
        collection = str(form.get("collection") or rag.settings.collection or DEFAULT_COLLECTION).strip()
        metadata = _metadata_field(form.get("metadata"))
        try:
            service.library.check_writable(g.collections, collection)
        except UsageError as exc:
            raise ApiError(422, str(exc), param="collection") from None
        try:
            metadata = service.library.check_metadata(metadata)
        except UsageError as exc:
            raise ApiError(422, str(exc), param="metadata") from None
        files = [f for key in ("file", "files") for f in form.getlist(key) if hasattr(f, "filename")]
        if not files:
            raise ApiError(422, "file: attach at least one file (multipart field 'file')", param="file")
        names = [checked_name(f.filename or "") for f in files]
        if len(set(names)) != len(names):
            raise ApiError(422, "file: two uploaded files have the same name", param="file")
        job_id = service.jobs.new_id()
        try:
            for f, name in zip(files, names):
                await run_in_threadpool(service.uploads.stage, job_id, name, f.file)
        except BaseException:
            service.uploads.discard(job_id)
            raise
        job = service.jobs.add(job_id, collection, names, metadata, g.name)
        service.worker.notify()
        return JSONResponse({"job": job}, status_code=202, headers={"Location": f"/v1/jobs/{job_id}"})

    @app.get("/v1/jobs/{job_id}")
    async def job(job_id: str, g: Grant = Depends(grant)) -> dict:
        found = service.jobs.get(job_id)
        if found is None or (g.collections is not None and found["collection"] not in g.collections):
            raise ApiError(404, f"no job {job_id}", "not_found")
        return {"job": found}

    @app.delete("/v1/documents/{doc_id}")
    async def delete(doc_id: str, g: Grant = Depends(grant)) -> dict:
        _need_write(g)
        try:
            record = await run_in_threadpool(service.library.document, g.collections, doc_id)
        except KeyError:
            raise ApiError(404, f"no document {doc_id}", "not_found") from None
        removed = await run_in_threadpool(service.library.remove, record)
        _forget_upload(service.uploads.root, record.abspath)
        return {"deleted": doc_id, "removed": len(removed)}

    return app


# --- helpers ----------------------------------------------------------------------------------
async def _stream(run: AnswerRun, completion: Completion, include_sources: bool) -> AsyncIterator[str]:
    """SSE frames: the role, each piece, what the final text adds, a last chunk with the
    sources, then ``[DONE]``. A failure mid-answer ends the stream with an error event."""
    yield sse(completion.chunk({"role": "assistant", "content": ""}))
    shown: list[str] = []
    try:
        async for piece in run.pieces():
            shown.append(piece)
            yield sse(completion.chunk({"content": piece}))
    except Exception as exc:
        log.error("answer failed mid-stream: %s", exc)
        yield sse({"error": {"message": _public_message(exc), "type": "server_error", "param": None}})
        yield DONE
        return
    answer = run.answer
    rest = "".join(rest_of(answer.text, "".join(shown)))
    if rest:
        yield sse(completion.chunk({"content": rest}))
    extras = answer_extras(answer, include_sources)
    if not answer.text.startswith("".join(shown)):
        extras["answer"] = answer.text  # citations were renumbered: the final form of the text
    yield sse(completion.chunk({}, "stop", **extras))
    yield DONE


async def _unless_disconnected(request: Request, run: AnswerRun):
    """The finished answer; a client that hangs up meanwhile stops the generation."""
    task = asyncio.ensure_future(run.result())
    try:
        while not task.done():
            done, _ = await asyncio.wait({task}, timeout=0.5)
            if not done and await request.is_disconnected():
                task.cancel()
                run.cancel()
                raise ApiError(499, "client disconnected", "cancelled")
        return task.result()
    finally:
        if not task.done():
            task.cancel()


def _scope(g: Grant, requested: list[str] | None) -> Scope:
    return Scope(g.collections, None if requested is None else tuple(requested))


def _need_write(g: Grant) -> None:
    if not g.write:
        raise ApiError(403, f"key {g.name!r} may only read; uploading and deleting need a key made with --write",
                       "permission_error")


def _metadata_field(value) -> dict:
    if value is None or value == "":
        return {}
    try:
        data = json.loads(value) if isinstance(value, str) else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise ApiError(422, 'metadata: must be a JSON object, like {"dept": "総務", "year": 2024}', param="metadata")
    return data


def _document_json(record) -> dict:
    """A document as its key holder sees it: no server paths."""
    data = {k: v for k, v in record.to_json().items() if k != "path"}
    return data | {"name": os.path.basename(record.source)}


def _forget_upload(root: Path, path: str) -> None:
    """Delete the uploaded file of a deleted document (files the server did not receive stay)."""
    target = Path(path).resolve()
    if root.resolve() in target.parents:
        target.unlink(missing_ok=True)


def _public_message(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, RagkitError) else "internal error (see the server log)"


def _version() -> str:
    from .. import __version__

    return __version__


def _install_error_handlers(app: FastAPI) -> None:
    def reply(request: Request, status: int, message: str, type: str, param: str | None = None,
              headers: dict | None = None) -> JSONResponse:
        return JSONResponse(error_body(status, message, type, param, request.url.path), status_code=status,
                            headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return reply(request, exc.status, exc.message, exc.type, exc.param, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return reply(request, 422, "the request body is not valid JSON", "invalid_request_error", "body")
        loc = list(first.get("loc", ()))
        field = ".".join(str(p) for p in loc[1:] if loc and loc[0] in ("body", "query", "path")) or None
        return reply(request, 422, f"{field or 'body'}: {first.get('msg', 'invalid')}", "invalid_request_error", field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if isinstance(exc.__cause__, BodyTooLarge):
            return reply(request, 413, str(exc.__cause__), "request_too_large")
        return reply(request, exc.status_code, str(exc.detail), "not_found" if exc.status_code == 404 else
                     "invalid_request_error", headers=getattr(exc, "headers", None))

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge):
        return reply(request, 413, str(exc), "request_too_large")

    @app.exception_handler(UnknownCollection)
    async def unknown(request: Request, exc: UnknownCollection):
        return reply(request, 404, f"{exc}; list yours with GET /v1/collections", "not_found", "collections")

    @app.exception_handler(CollectionNotFound)
    async def vanished(request: Request, exc: CollectionNotFound):  # its message lists every collection
        return reply(request, 404, "unknown collection; list yours with GET /v1/collections", "not_found", "collections")

    @app.exception_handler(UnsupportedType)
    async def unsupported(request: Request, exc: UnsupportedType):
        return reply(request, 415, str(exc), "unsupported_media_type", "file")

    @app.exception_handler(UsageError)
    async def usage(request: Request, exc: UsageError):
        return reply(request, 400, str(exc), "invalid_request_error")

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy):
        return reply(request, 503, f"{exc}; retry in {exc.retry_after}s", "overloaded",
                     headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(StoreLocked)
    async def locked(request: Request, exc: StoreLocked):
        return reply(request, 503, str(exc), "store_busy", headers={"Retry-After": "10"})

    @app.exception_handler(RagkitError)
    async def ragkit_error(request: Request, exc: RagkitError):
        return reply(request, 500, str(exc), "server_error")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return reply(request, 500, "internal error (see the server log)", "server_error")
