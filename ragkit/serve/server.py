"""``ragkit serve``: check the address, build the app, run uvicorn until SIGTERM / Ctrl-C.

On a stop signal uvicorn stops accepting connections and lets the answers in flight finish
(up to ``GRACE`` seconds); then the ingest worker gets ``ServeOptions.shutdown_job_wait`` seconds
to finish its job (an unfinished one resumes on the next start; the store's write protocol keeps
it consistent either way).
"""
from __future__ import annotations

import ipaddress
import logging
import sys

from ..errors import UsageError
from ..pipeline import RAG
from .app import ServeOptions, create_app
from .middleware import AccessLog, BodyLimit

GRACE = 60  # seconds in-flight requests get to finish after a stop signal


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build(rag: RAG, options: ServeOptions):
    """The app with its body limit and access log: what uvicorn (or a test) runs."""
    app = create_app(rag, options)
    return AccessLog(BodyLimit(app, int(rag.settings.serve_max_body_mb * 1_000_000)))


def run(rag: RAG, host: str = "127.0.0.1", port: int = 8000, auth: bool = True) -> None:
    """Serve ``rag`` on ``host:port`` until stopped. ``auth=False`` is refused off loopback."""
    import uvicorn

    if not auth and not is_loopback(host):
        raise UsageError(f"--no-auth serves every document to anyone who can reach {host}; it is only "
                         "allowed on 127.0.0.1 / ::1 / localhost. Create keys with `ragkit keys add` instead")
    settings = rag.settings
    options = ServeOptions(auth=auth, generation_slots=settings.serve_generation_slots,
                           generation_queue=settings.serve_generation_queue)
    handler = logging.StreamHandler(sys.stderr)
    access = logging.getLogger("ragkit.serve.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False
    logging.getLogger("ragkit").setLevel(logging.INFO)
    _announce(rag, host, port, auth)
    uvicorn.run(build(rag, options), host=host, port=port, access_log=False, lifespan="on",
                timeout_graceful_shutdown=GRACE, log_level="info")


def _announce(rag: RAG, host: str, port: int, auth: bool) -> None:
    """Say what is served where, and warn when no key could get in yet."""
    from .db import ServeDB
    from .keys import KeyRing

    log = logging.getLogger("ragkit.serve")
    log.info("serving store %s on http://%s:%d (%s)", rag.settings.store, host, port,
             "API keys required" if auth else "no authentication: loopback only")
    if auth and not any(not k["revoked"] for k in KeyRing(ServeDB(rag.settings.store)).list()):
        log.warning("no API keys yet: every request but /health will get 401; create one with "
                    "`ragkit --store %s keys add NAME --collections '*'`", rag.settings.store)
