"""Answers in the shapes clients expect: OpenAI chat completions (whole or as SSE chunks), ragkit
hits, and Dify's external-knowledge records. Japanese stays readable (``ensure_ascii=False``)."""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field

from ..types import Answer, Hit

DONE = "data: [DONE]\n\n"


def sse(data: dict) -> str:
    """One server-sent event frame."""
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def dify_record(h: Hit) -> dict:
    """One record of Dify's external knowledge API: content, score, title, metadata."""
    return {"content": h.chunk.text, "score": h.score, "title": os.path.basename(h.chunk.source),
            "metadata": h.metadata | {"source": h.chunk.source, "page": h.chunk.page,
                                      "location": h.chunk.location, "collection": h.collection}}


def answer_extras(answer: Answer, include_sources: bool) -> dict:
    """ragkit's additions to a completion: whether it abstained, and the cited sources."""
    extras: dict = {"abstained": answer.abstained}
    if include_sources:
        extras["sources"] = [c.to_json() for c in answer.citations]
    return extras


def error_body(status: int, message: str, type: str, param: str | None = None, path: str = "") -> dict:
    """The error object of every endpoint; Dify's ``/retrieval`` also gets its two fields."""
    body = {"error": {"message": message, "type": type, "param": param}}
    if path == "/retrieval":
        body |= {"error_code": {401: 1002, 403: 1002, 404: 2001}.get(status, status), "error_msg": message}
    return body


@dataclass
class Completion:
    """The id, time and model name one completion's chunks share."""

    model: str
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    def whole(self, answer: Answer, include_sources: bool) -> dict:
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                             "finish_reason": "stop", "logprobs": None}]} | answer_extras(answer, include_sources)

    def chunk(self, delta: dict, finish_reason: str | None = None, **extras) -> dict:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]} | extras
