"""Two plain ASGI wrappers around the app (plain ASGI so streamed answers pass through as they
come): a request-body limit (413) and a structured access log.

The access log is one JSON object per request on the ``ragkit.serve.access`` logger: time,
client, method, path, status, milliseconds, bytes sent and the key's *name*; never the key,
the query string, a question or any document text.
"""
from __future__ import annotations

import json
import logging
import time

from .openai_format import error_body

access_log = logging.getLogger("ragkit.serve.access")


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"request body over {limit / 1e6:g} MB (serve.max_body_mb); send smaller "
                         "files or several uploads")


class BodyLimit:
    """Refuse bodies over ``limit`` bytes: at once by Content-Length, else while reading."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            body = json.dumps(error_body(413, str(BodyTooLarge(self.limit)), "request_too_large",
                                         path=scope["path"]), ensure_ascii=False).encode("utf-8")
            await send({"type": "http.response.start", "status": 413, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
            return
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


class AccessLog:
    """Log each finished request as one JSON line (see the module docstring for what is left out)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        facts = {"status": None, "bytes": 0}

        async def watched(message):
            if message["type"] == "http.response.start":
                facts["status"] = message["status"]
            elif message["type"] == "http.response.body":
                facts["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            client = scope.get("client") or ("-", 0)
            access_log.info(json.dumps({
                "ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "client": client[0], "method": scope["method"],
                "path": scope["path"], "status": facts["status"] or 499,
                "ms": round((time.perf_counter() - started) * 1000, 1), "bytes": facts["bytes"],
                "key": scope.get("state", {}).get("key_name")}, ensure_ascii=False))
