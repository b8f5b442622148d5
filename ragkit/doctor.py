"""`ragkit doctor`: is this installation ready to answer questions offline, and if not, what to do.

Checks, each ``{"name", "ok", "detail", "fix"}``: Python, the installed packages, the offline
switches, the language model (bundled Gemma: full sha256 against the package's recorded hash; a
user GGUF: magic bytes, an optional ``<file>.sha256`` sidecar, and a metadata-only load that
reports architecture, context length and chat template), the embedding model (package file hashes
from the wheel's RECORD, then a real load and one embedding), the store (no store yet is fine),
and that nothing tried to reach the network meanwhile. Nothing here downloads: the offline
switches are forced first and any outgoing connection is blocked and reported
(``ragkit.netguard``), except to the servers the settings name: with ``[llm] base_url`` the llm
check asks that server (reachable, model listed, a one-token completion) instead of loading a
GGUF; ``[embed] base_url`` and ``[chroma] url`` are checked by the embedder and store checks. ``diagnose`` returns a ``Report``; ``ragkit.cli`` prints it.
"""
from __future__ import annotations

import base64
import contextlib
import importlib.metadata as md
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

from . import __version__, netguard
from .hashing import file_sha256
from .models import (EMBED_SETTING, EMBEDDER_PACKAGE, GEMMA_PACKAGE, LLM_SETTING, is_bundled, read_sidecar,
                     set_offline_env)

VERSION_PACKAGES = ("torch", "sentence-transformers", "transformers", "chromadb", "llama-cpp-python",
                    "fugashi", "unidic-lite", "pypdf", "pypdfium2", "pdfminer.six", "numpy",
                    GEMMA_PACKAGE, EMBEDDER_PACKAGE)
OFFLINE_SWITCHES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY",
                    "ANONYMIZED_TELEMETRY")


@dataclass
class Check:
    """One line of the report; ``fix`` says what to do when ``ok`` is false."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    info: dict = field(default_factory=dict)


@dataclass
class Report:
    """Every check in order; ready to answer offline only when all of them pass."""

    checks: list[Check]
    versions: dict[str, str | None]

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.ok]

    @property
    def ok(self) -> bool:
        return not self.failed

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict:
        """The ``ragkit doctor --json`` object (shape documented in the README)."""
        return {"ok": self.ok, "ragkit": __version__, "failed": self.failed, "versions": self.versions,
                "checks": [asdict(c) for c in self.checks]}


# --- helpers ------------------------------------------------------------------------------------
def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages ragkit runs on (None = not installed); imports nothing."""
    found: dict[str, str | None] = {"python": platform.python_version(), "ragkit": __version__}
    for name in VERSION_PACKAGES:
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = None
    return found


@contextlib.contextmanager
def _quiet_fd2() -> Iterator[None]:
    """Silence C-level stderr (llama.cpp prints load chatter even with verbose=False)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def read_gguf_metadata(path: Path) -> dict:
    """Load only the vocabulary of a GGUF (cheap) and summarise its metadata.

    Raises ``ValueError``/``RuntimeError`` when llama.cpp cannot read the file.
    """
    from llama_cpp import Llama

    from .generate import summarize_metadata

    with _quiet_fd2():
        llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
    summary = summarize_metadata(llm.metadata)
    summary.pop("chat_template", None)
    llm.close()
    return summary


def verify_record(dist_name: str, under: str = "") -> list[str]:
    """Files of an installed wheel whose sha256 differs from its RECORD (or that are missing)."""
    bad = []
    for entry in md.distribution(dist_name).files or []:
        if entry.hash is None or entry.hash.mode != "sha256" or not str(entry).startswith(under):
            continue
        path = Path(entry.locate())
        if not path.is_file():
            bad.append(f"{path} (missing)")
            continue
        digest = base64.urlsafe_b64encode(bytes.fromhex(file_sha256(path))).rstrip(b"=").decode()
        if digest != entry.hash.value:
            bad.append(str(path))
    return bad


# --- checks -------------------------------------------------------------------------------------
def check_python() -> Check:
    ok = sys.version_info >= (3, 10)
    return Check("python", ok, f"Python {platform.python_version()} at {sys.executable}",
                 "" if ok else "use Python 3.10 or newer")


def check_packages(versions: dict[str, str | None]) -> Check:
    """Every dependency declared by ragkit's own metadata is installed."""
    try:
        from packaging.requirements import Requirement
        requires = [Requirement(r) for r in md.requires("ragkit") or []]
        names = [r.name for r in requires if r.marker is None or r.marker.evaluate({"extra": ""})]
    except (md.PackageNotFoundError, ImportError):  # running from a source tree without metadata
        names = [n for n in VERSION_PACKAGES if n not in ("transformers", "torch")]
    missing = []
    for name in names:
        try:
            md.version(name)
        except md.PackageNotFoundError:
            missing.append(name)
    shown = ", ".join(f"{k} {v}" for k, v in versions.items() if v)
    if missing:
        return Check("packages", False, f"not installed: {', '.join(missing)}",
                     "install them from the offline bundle: pip install --no-index --find-links "
                     "WHEELHOUSE " + " ".join(missing), {"versions": versions})
    return Check("packages", True, shown, info={"versions": versions})


def check_offline() -> Check:
    """Report the hub/telemetry switches ragkit forces (and which inherited values it overrode)."""
    inherited = {k: os.environ.get(k) for k in OFFLINE_SWITCHES}
    set_offline_env()
    forced = {k: os.environ.get(k) for k in OFFLINE_SWITCHES}
    overridden = [k for k, v in inherited.items() if v is not None and v != forced[k]]
    detail = " ".join(f"{k}={v}" for k, v in forced.items())
    if overridden:
        detail += f" (ragkit overrides the environment's {', '.join(overridden)})"
    ok = forced["HF_HUB_OFFLINE"] == "1" and forced["TRANSFORMERS_OFFLINE"] == "1"
    return Check("offline", ok, detail, "ragkit.models.set_offline_env no longer forces HF_HUB_OFFLINE=1: "
                 "report it as a ragkit bug", info={"env": forced, "inherited": inherited})


def _model_facts(path: Path, sha_note: str, info: dict, settings) -> Check:
    """Load a GGUF's metadata and turn it into the llm check."""
    try:
        meta = read_gguf_metadata(path)
    except (ValueError, RuntimeError, OSError) as exc:
        return Check("llm", False, f"{path}: llama.cpp cannot load it ({exc})",
                     "the file is damaged or truncated, or this llama-cpp-python is too old for its "
                     f"architecture: copy the GGUF again (compare its sha256) or set {LLM_SETTING} "
                     "to another .gguf", {**info, "path": str(path)})
    info.update(meta, path=str(path))
    ctx = meta.get("context_length")
    template = "chat template present" if meta.get("has_chat_template") else "no chat template"
    detail = (f"{path}: {meta.get('architecture') or '?'} '{meta.get('name') or ''}', context length "
              f"{ctx or '?'}, {template}; {sha_note}")
    if ctx and settings.llm_n_ctx > ctx:
        detail += f"; note: llm.n_ctx {settings.llm_n_ctx} exceeds the model's {ctx}"
    return Check("llm", True, detail, info=info)


def _bundled_llm(settings) -> Check:
    """The bundled GGUF: full sha256 against its package's hash, assembled first if need be."""
    from .errors import RagkitError
    from .models import bundled_gguf_path, bundled_gguf_target

    data_dir = Path(settings.data_dir) if settings.data_dir else None
    try:
        target, expected = bundled_gguf_target(data_dir)
    except RagkitError as exc:
        return Check("llm", False, str(exc), f"install {GEMMA_PACKAGE} and its 4 part packages from the bundle "
                     f"wheelhouse, or set {LLM_SETTING} to a local .gguf")
    info = {"bundled": True, "expected_sha256": expected}
    if target.is_file():
        actual = file_sha256(target)
        info["sha256"] = actual
        if actual != expected:
            return Check("llm", False, f"{target}: sha256 mismatch (got {actual[:16]}…, expected "
                         f"{expected[:16]}…): the file is corrupted",
                         f"delete {target}; ragkit re-assembles it from the installed "
                         f"{GEMMA_PACKAGE} packages on next use", {**info, "path": str(target)})
        note = "sha256 matches the bundled package"
    else:
        try:  # assemble once from the installed packages (what the first `ask` would do)
            target = bundled_gguf_path(data_dir)
        except RagkitError as exc:
            return Check("llm", False, str(exc), f"reinstall {GEMMA_PACKAGE} from the bundle "
                         "wheelhouse, or set RAGKIT_HOME to a writable directory", info)
        note = "assembled now from the installed packages, sha256 verified"
    return _model_facts(target, note, info, settings)


def check_llm(settings) -> Check:
    """The configured GGUF exists, has the right sha256 where one is known, and loads."""
    from .errors import RagkitError
    from .models import resolve_gguf

    configured = settings.llm_model_path
    if is_bundled(configured):
        return _bundled_llm(settings)
    try:
        model = resolve_gguf(configured)
    except RagkitError as exc:
        return Check("llm", False, str(exc), f"set {LLM_SETTING} to an existing .gguf file, or 'bundled'",
                     {"bundled": False, "path": str(configured)})
    info = {"bundled": False}
    expected = read_sidecar(model)
    if expected is None:
        note = f"no recorded sha256 (write `sha256sum` output to {model.name}.sha256 to have it checked)"
    else:
        actual = file_sha256(model)
        info.update(sha256=actual, expected_sha256=expected)
        if actual != expected:
            return Check("llm", False, f"{model}: sha256 mismatch with {model.name}.sha256 (got "
                         f"{actual[:16]}…, expected {expected[:16]}…): the file is corrupted",
                         "copy the GGUF again from its source and compare its sha256",
                         {**info, "path": str(model)})
        note = f"sha256 matches {model.name}.sha256"
    return _model_facts(model, note, info, settings)


def check_llm_server(settings) -> Check:
    """The configured model server answers: reachable, the model listed, a one-token completion."""
    import time

    from .errors import RagkitError
    from .remote import LLM_URL_SETTING, remote_generator

    url = settings.llm_base_url
    try:
        generator = remote_generator(settings)
        started = time.perf_counter()
        "".join(generator.stream("1, 2, 3,", 1, []))
        took = time.perf_counter() - started
    except RagkitError as exc:
        return Check("llm", False, str(exc), f"start the server or fix {LLM_URL_SETTING}, [llm] model and "
                     "[llm] api_key_env; or unset base_url to answer with a local GGUF", {"base_url": url})
    profile = generator.profile
    kind = "extractive" if profile.extractive else profile.kind
    detail = (f"{url}: model {generator.model} ({generator.family} server), prompt {profile.name} ({kind}); "
              f"a one-token completion took {took * 1000:.0f} ms")
    return Check("llm", True, detail, info={"base_url": url, "model": generator.model, "family": generator.family,
                                            "profile": profile.name, "n_ctx": generator.n_ctx})


def configured_hosts(settings) -> list[str]:
    """Hosts of the servers the settings name: the only ones ``diagnose`` may connect to."""
    from urllib.parse import urlsplit

    urls = (settings.llm_base_url, settings.embed_base_url, settings.chroma_url)
    return [host for host in (urlsplit(u).hostname for u in urls if u) if host]


def check_embedder(settings):
    """The embedding model folder exists, its files are intact, and it embeds a sentence (or the
    configured embedding server embeds one).

    Returns the check and the ``RAG`` whose embedder is loaded (or None), for the store check.
    """
    from .pipeline import RAG

    bundled = is_bundled(settings.embed_model_path) and not settings.embed_base_url
    try:
        rag = RAG(settings=settings)
        if bundled:
            bad = verify_record(EMBEDDER_PACKAGE)
            if bad:
                return Check("embedder", False, f"bundled embedding model files differ from the package "
                             f"record: {', '.join(bad[:3])}", f"reinstall {EMBEDDER_PACKAGE} from the "
                             "bundle wheelhouse (pip install --force-reinstall --no-index ...)"), None
        embedder = rag.embedder
        vector = embedder.embed_query("テスト test")
    except Exception as exc:  # any failure to load is the finding itself
        fix = ("start the embedding server or fix [embed] base_url / model / api_key_env" if settings.embed_base_url
               else f"set {EMBED_SETTING} to a local sentence-transformers folder, or reinstall {EMBEDDER_PACKAGE}")
        return Check("embedder", False, f"cannot load the embedding model: {exc}", fix), None
    detail = (f"{embedder.path}: {embedder.model_id}, dimension {len(vector)}, max {embedder.max_tokens} "
              f"tokens" + ("; package files match their recorded sha256" if bundled else ""))
    return Check("embedder", True, detail, info={"path": str(embedder.path), "model_id": embedder.model_id,
                                                   "dim": int(len(vector))}), rag


def check_store(settings, rag) -> Check:
    """The store is consistent and was built with the configured embedder; no store yet is fine."""
    from .store import CATALOG_FILE, Store

    path = Path(settings.store)
    if not (path / CATALOG_FILE).is_file():
        return Check("store", True, f"no store yet at {path.resolve()} (create one with `ragkit ingest PATH...`)",
                     info={"path": str(path), "exists": False})
    try:
        from .index.vectors import ChromaServer

        store = Store(path, server=ChromaServer.configured(settings))
        state = store.check()
        built_with = store.built_with()
    except Exception as exc:
        return Check("store", False, f"{path}: cannot open the store ({exc})",
                     "run `ragkit check --repair`, or move the folder away and re-ingest",
                     {"path": str(path), "exists": True})
    info = {"path": str(path), "exists": True, **state, "built_with": built_with}
    detail = f"{path}: {state['files']} file(s), {state['chunks']} chunk(s)"
    if not state["consistent"]:
        return Check("store", False, detail + "; vectors, lexical index and manifest disagree",
                     f"run `ragkit --store {path} check --repair`", info)
    if rag is not None and built_with:
        wanted = rag.built_with()
        diffs = [k for k, v in wanted.items() if built_with.get(k) != v]
        if diffs:
            return Check("store", False, detail + f"; built with other settings ({', '.join(diffs)}: "
                         f"{[built_with.get(k) for k in diffs]} vs {[wanted[k] for k in diffs]})",
                         "use the embedding model and chunk settings the store was built with, or "
                         "ingest into a new --store", info)
    return Check("store", True, detail + ", consistent", info=info)


def check_store_permissions(settings) -> Check:
    """The store folder and its files are readable by their owner only: they hold the documents'
    text. Fails on any group/world access (a store from before 0700/0600, or a loose chmod)."""
    path = Path(settings.store)
    if not path.is_dir():
        return Check("store permissions", True, f"no store yet at {path}")
    loose = [p for p in [path, *path.rglob("*")] if p.stat(follow_symlinks=False).st_mode & 0o077]
    if not loose:
        return Check("store permissions", True, f"{path} is private (owner only)")
    return Check("store permissions", False,
                 f"{len(loose)} path(s) in {path} are readable by other users (e.g. {loose[0]})",
                 f"chmod -R go-rwx {path}  (unless sharing it is intended)", {"loose": [str(p) for p in loose[:20]]})


# --- report -------------------------------------------------------------------------------------
def diagnose(settings) -> Report:
    """Run every check with the network blocked; ``Report.ok`` is true only when all of them pass."""
    set_offline_env()
    versions = package_versions()
    checks = [check_python(), check_packages(versions), check_offline()]
    with netguard.blocked(allow=(*netguard.LOOPBACK, *configured_hosts(settings))) as attempts:
        checks.append(check_llm_server(settings) if settings.llm_base_url else check_llm(settings))
        embed_check, rag = check_embedder(settings)
        checks.append(embed_check)
        checks.append(check_store(settings, rag))
        checks.append(check_store_permissions(settings))
    checks.append(Check("network", not attempts,
                        "no connection was attempted during the checks" if not attempts
                        else f"blocked connection attempts: {', '.join(attempts)}",
                        "" if not attempts else "something tried to go online: report it as a ragkit bug",
                        {"attempts": list(attempts)}))
    return Report(checks, versions)
