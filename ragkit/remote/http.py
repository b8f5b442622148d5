"""One HTTP client for the OpenAI-compatible servers a user configures (model and embedding).

Every failure becomes a one-line ``ServerError`` that names the URL and what to check: server
down, wrong URL (404), refused key (401/403), timeout. Requests that may be repeated safely
(listing models, embedding, tokenizing) are retried with backoff on connection failures and
gateway errors; a completion is retried only when the connection was never made, so a request
the server may have started is never sent twice. No socket is opened until the first request.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any, Iterator

from ..errors import ServerError

RETRY_DELAYS = (0.5, 1.0)  # seconds before the 2nd and 3rd attempt of an idempotent request
_GATEWAY = {502, 503, 504}


@dataclass(frozen=True)
class Endpoint:
    """Where a server is and how a user names it in the config (for the error messages)."""

    base_url: str  # the API root as the openai client takes it, e.g. http://gpu-box:8080/v1
    what: str  # "model server", "embedding server"
    setting: str  # "[llm] base_url (RAGKIT_LLM_BASE_URL)"
    api_key_env: str | None = None
    timeout: float = 60.0

    @property
    def root(self) -> str:
        """The server root (base URL without ``/v1``): llama.cpp servers keep /tokenize and /props there."""
        base = self.base_url.rstrip("/")
        return base[:-3] if base.endswith("/v1") else base

    def headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        return {"Authorization": f"Bearer {key}"} if key else {}


class ServerClient:
    """JSON requests and server-sent-event streams to one ``Endpoint``."""

    def __init__(self, endpoint: Endpoint):
        import httpx

        self.endpoint = endpoint
        if not endpoint.base_url.startswith(("http://", "https://")):
            raise ServerError(f"{endpoint.setting} must be an http(s) URL like http://gpu-box:8080/v1, "
                              f"got {endpoint.base_url!r}")
        self._http = httpx.Client(timeout=httpx.Timeout(endpoint.timeout, connect=min(10.0, endpoint.timeout)),
                                  headers=endpoint.headers(), trust_env=False)

    def url(self, path: str, root: bool = False) -> str:
        return (self.endpoint.root if root else self.endpoint.base_url.rstrip("/")) + path

    def get(self, path: str, root: bool = False) -> Any:
        return self._request("GET", self.url(path, root), None, idempotent=True)

    def post(self, path: str, body: dict, idempotent: bool, root: bool = False) -> Any:
        return self._request("POST", self.url(path, root), body, idempotent)

    def _request(self, method: str, url: str, body: dict | None, idempotent: bool) -> Any:
        for attempt in range(len(RETRY_DELAYS) + 1):
            with self._translated(url):
                try:
                    response = self._http.request(method, url, json=body)
                except self._connect_errors():
                    if attempt == len(RETRY_DELAYS):
                        raise
                else:
                    if not (idempotent and response.status_code in _GATEWAY and attempt < len(RETRY_DELAYS)):
                        self._raise_for_status(response, url)
                        return response.json()
            time.sleep(RETRY_DELAYS[attempt])
        raise AssertionError("unreachable")

    def stream(self, path: str, body: dict) -> Iterator[dict]:
        """POST with ``stream: true`` and yield each server-sent event's JSON object."""
        url = self.url(path)
        for attempt in range(len(RETRY_DELAYS) + 1):
            with self._translated(url):
                try:
                    with self._http.stream("POST", url, json=dict(body, stream=True)) as response:
                        if response.status_code >= 400:
                            response.read()
                            self._raise_for_status(response, url)
                        for line in response.iter_lines():
                            data = line[5:].strip() if line.startswith("data:") else ""
                            if data == "[DONE]":
                                return
                            if data:
                                event = json.loads(data)
                                if "error" in event:
                                    raise ServerError(f"the {self.endpoint.what} at {url} failed: "
                                                      f"{_detail(event['error'])}")
                                yield event
                        return
                except self._connect_errors():  # the request never reached the server: safe to resend
                    if attempt == len(RETRY_DELAYS):
                        raise
            time.sleep(RETRY_DELAYS[attempt])

    @staticmethod
    def _connect_errors():
        import httpx

        return httpx.ConnectError

    def _translated(self, url: str):
        return _Translate(self.endpoint, url)

    def _raise_for_status(self, response, url: str) -> None:
        status = response.status_code
        if status < 400:
            return
        try:
            detail = _detail(response.json())
        except ValueError:
            detail = response.text.strip()[:200]
        ep = self.endpoint
        if status in (401, 403):
            key = (f"set the key in the environment variable {ep.api_key_env}" if ep.api_key_env else
                   f"name the environment variable holding the key in {ep.setting.split(' base_url')[0]} api_key_env")
            raise ServerError(f"the {ep.what} at {url} refused the request ({status} {detail}); {key}")
        if status == 404:
            raise ServerError(f"{url} answered 404 ({detail}): no OpenAI-compatible API there; {ep.setting} "
                              "should be the API root, like http://gpu-box:8080/v1")
        raise ServerError(f"the {ep.what} at {url} answered {status}: {detail}")

    def close(self) -> None:
        self._http.close()


class _Translate:
    """Turn httpx's transport errors into one-line ``ServerError``s naming the URL."""

    def __init__(self, endpoint: Endpoint, url: str):
        self.endpoint, self.url = endpoint, url

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        import httpx

        if exc is None or not isinstance(exc, httpx.HTTPError):
            return False
        ep = self.endpoint
        timeout = ep.setting.replace("base_url", "timeout").split(" (")[0]
        if isinstance(exc, httpx.TimeoutException):
            raise ServerError(f"the {ep.what} at {self.url} did not answer within {ep.timeout:g}s; check that it "
                              f"is not overloaded, or raise {timeout}") from None
        if isinstance(exc, (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)):
            raise ServerError(f"cannot reach the {ep.what} at {self.url} ({_reason(exc)}); check {ep.setting} "
                              "and that the server is running") from None
        raise ServerError(f"the {ep.what} at {self.url} failed ({_reason(exc)}); check {ep.setting}") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _detail(payload: Any) -> str:
    """The message inside an error body: OpenAI's {"error": {"message"}}, FastAPI's {"detail"}."""
    if isinstance(payload, dict):
        for key in ("error", "detail", "message"):
            if key in payload:
                return _detail(payload[key])
    return " ".join(str(payload).split())[:200]
