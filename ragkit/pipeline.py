"""The only place that knows the order of the steps: ``RAG.ingest`` and ``RAG.ask``."""
from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from .config import Settings, load_settings
from .errors import LoadError, RagkitError, UsageError
from .index.catalog import FileRecord
from .query import Query, as_query
from .store import FileUpdate, Store
from .streaming import AnswerStream
from .hashing import file_sha256
from .types import Answer, Chunk, Hit

if TYPE_CHECKING:
    from .index.embedder import EmbedderCard
    from .protocols import Embedder, Generator

# Chunks gathered across files before one embedding call. sentence-transformers sorts each call's
# texts by length, so a larger call pads less: ja_dev ingest (1,324 chunks, bfloat16) embedded in
# 16.0 s with 256, 12.6 s with 1,024 (raw encode of all at once: 13.4 s). A kill loses at most one
# call's embeddings (~30 s of work at float32 speed); memory per call is texts and vectors only.
EMBED_BATCH_CHUNKS = 1024
TEXTS_DIR = "texts"  # ingest_texts writes here, inside the store
MAX_QUESTION_CHARS = 2000  # a question, not a document: longer ones cannot fit a prompt with sources


@dataclass
class IngestReport:
    """What one ingest run did; ``failed`` lists every file that was skipped and why."""

    files: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    pages: int = 0
    chunks: int = 0
    embedded: int = 0
    removed: list[str] = field(default_factory=list)
    dry_run: bool = False
    failed: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    repaired: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return dict(self.__dict__, seconds=round(self.seconds, 3))


@dataclass
class _Prepared:
    update: FileUpdate
    old_ids: set[str]


class RAG:
    """Library entry point: ``RAG(store=".ragkit").ingest(["docs/"])`` then ``.ask("質問")``.

    Models load lazily on first need, so listing sources or retrieving lexically stays cheap.
    With ``llm_base_url`` / ``embed_base_url`` / ``chroma_url`` set, generation, embedding and the
    vectors go to those servers instead (``ragkit.remote``, ``ragkit.index.vectors``).
    ``embedder`` and ``generator`` replace the configured models (any object with the methods of
    ``ragkit.protocols.Embedder`` / ``Generator``; ``ragkit.testing`` has fakes).

    Threads may share one RAG: retrieval runs concurrently, and generation is serialised on the
    one model context (``Generator.stream`` holds its lock); the embedder, the MeCab tagger and
    the catalog connection have locks of their own. Writes by other processes are seen (the
    vector index reopens when the store's generation moves). A store this process cannot write
    opens read-only and still answers.
    """

    def __init__(self, store: str | Path | None = None, settings: Settings | None = None,
                 config: str | Path | None = None, embedder: "Embedder | None" = None,
                 generator: "Generator | None" = None, **overrides):
        base = settings or load_settings(config)
        self.settings = base.replace(store=str(store) if store is not None else None, **overrides)
        self._store: Store | None = None
        self._given = (embedder, generator)  # kept across close(): the caller owns them
        self._embedder = embedder
        self._generator = generator
        self._card: "EmbedderCard | None" = None
        self._store_checked = False
        self._lock = threading.RLock()  # lazy loading: one model per RAG even when threads race

    # --- lazily built parts -------------------------------------------------------------------
    def store(self, create: bool = False) -> Store:
        with self._lock:
            if self._store is None:
                from .index.vectors import ChromaServer

                self._store = Store(self.settings.store, create=create, server=ChromaServer.configured(self.settings))
            return self._store

    @property
    def embedder(self) -> "Embedder":
        with self._lock:
            if self._embedder is None and self.settings.embed_base_url:
                from .remote import remote_embedder

                self._embedder = remote_embedder(self.settings)
            if self._embedder is None:
                from .index.embedder import Embedder
                from .models import resolve_embedder

                self._embedder = Embedder(resolve_embedder(self.settings.embed_model_path),
                                          batch_size=self.settings.embed_batch_size,
                                          dtype=self.settings.embed_dtype)
            return self._embedder

    @property
    def generator(self) -> "Generator":
        with self._lock:
            if self._generator is None and self.settings.llm_base_url:
                from .remote import remote_generator

                self._generator = remote_generator(self.settings)
            if self._generator is None:
                from .generate import Generator
                from .models import resolve_gguf

                data_dir = Path(self.settings.data_dir) if self.settings.data_dir else None
                self._generator = Generator(resolve_gguf(self.settings.llm_model_path, data_dir),
                                            n_ctx=self.settings.llm_n_ctx, n_threads=self.settings.llm_n_threads,
                                            prompt_format=self.settings.llm_prompt_format)
            return self._generator

    def _embedder_facts(self) -> "Embedder | EmbedderCard":
        """Identity, token limit and vocabulary of the embedder without loading it: the loaded or
        injected embedder itself (or the server's, which loads nothing here), else the configured
        model folder's card (no torch)."""
        with self._lock:
            if self._embedder is not None or self.settings.embed_base_url:
                return self.embedder
            if self._card is None:
                from .index.embedder import EmbedderCard
                from .models import resolve_embedder

                self._card = EmbedderCard(resolve_embedder(self.settings.embed_model_path))
            return self._card

    def _check_store(self, store: Store) -> None:
        if not self._store_checked:
            store.check_built_with(self.built_with())
            self._store_checked = True

    def built_with(self) -> dict:
        """The settings a store must have been built with to be searched with this RAG."""
        from .text.japanese import TOKEN_FORM

        facts = self._embedder_facts()
        return {
            "embed_model": facts.model_id,
            "lexical_tokens": TOKEN_FORM,
            "chunk_max_tokens": min(self.settings.chunk_max_tokens, facts.max_tokens),
            "chunk_overlap_sentences": self.settings.chunk_overlap_sentences,
        }

    # --- ingest ---------------------------------------------------------------------------------
    def ingest(self, paths: Iterable[str | Path], prune: bool = False, dry_run: bool = False,
               on_file: Callable[[int, int, str], None] | None = None,
               follow_symlinks: bool = False) -> IngestReport:
        """Bring the store up to date with ``paths``: new and changed files are (re)indexed,
        unchanged ones skipped, broken ones reported in ``failed``; with ``prune`` files that
        vanished from under ``paths`` are removed (listed in ``removed``).

        ``prune`` refuses (UsageError, nothing removed) when a path is missing or holds no
        supported file: an unmounted share must not empty the store. With ``dry_run`` nothing is
        written; ``removed`` lists what ``prune`` would remove. Symbolic links that lead outside
        ``paths`` are skipped and reported unless ``follow_symlinks``.
        """
        from .loaders import discover

        started = time.perf_counter()
        report = IngestReport(dry_run=dry_run)
        paths = [str(p) for p in paths]
        if dry_run:
            files, _ = discover(paths)
            if prune:
                report.removed = _prune_list(self.store(), paths, files)
            report.files = len(files)
            report.seconds = time.perf_counter() - started
            return report
        store = self.store(create=True)
        with store.writer(self.settings.lock_timeout):
            repaired = store.reconcile()
            if repaired["orphan_vectors_deleted"] or repaired["files_forgotten"]:
                report.repaired = repaired
            files, problems = discover(paths, follow_symlinks=follow_symlinks,
                                       max_file_mb=self.settings.ingest_max_file_mb)
            gone = _prune_list(store, paths, files) if prune else []
            report.failed += [{"path": p, "reason": r} for p, r in problems]
            report.files = len(files)
            pending: list[_Prepared] = []
            for i, path in enumerate(files, start=1):
                if on_file:
                    on_file(i, len(files), str(path))
                try:
                    prepared = self._prepare(store, path, report)
                except LoadError as exc:
                    report.failed.append({"path": exc.path, "reason": exc.reason})
                    continue
                except OSError as exc:
                    report.failed.append({"path": str(path), "reason": _os_reason(exc)})
                    continue
                except RagkitError:
                    raise
                except Exception as exc:  # a parser bug must not end the whole run
                    report.failed.append({"path": str(path), "reason": f"unexpected error: {type(exc).__name__}: {exc}"})
                    continue
                if prepared is not None:
                    pending.append(prepared)
                    if sum(len(p.update.chunks) for p in pending) >= EMBED_BATCH_CHUNKS:
                        self._write(store, pending, report)
                        pending = []
            self._write(store, pending, report)
            store.remove(gone)
            report.removed = gone
        report.seconds = time.perf_counter() - started
        return report

    def _prepare(self, store: Store, path: Path, report: IngestReport) -> _Prepared | None:
        from .loaders import load, skip_reason
        from .loaders.quality import SUSPECT_BELOW
        from .text.chunker import chunk_document
        from .text.japanese import index_tokens

        source = str(path)
        stat = path.stat()
        old = store.file(source)
        if old and old.size == stat.st_size and old.mtime == stat.st_mtime:
            report.unchanged += 1
            return None
        sha = file_sha256(path)
        if old and old.sha256 == sha:
            report.unchanged += 1
            return None
        # The first file that needs indexing loads the embedder and checks the store was built
        # with it; a run where nothing changed never loads a model.
        self._check_store(store)
        documents = load(path, pdf_password=self.settings.pdf_password)
        warnings, kept = [], []
        for doc in documents:
            warnings += [{"path": source, "page": doc.page, "reason": w} for w in doc.warnings]
            if not doc.text.strip():
                warnings.append({"path": source, "page": doc.page, "location": doc.location,
                                 "reason": skip_reason(doc) or "no text layer (OCR is not supported)"})
            elif doc.quality is not None and doc.quality < SUSPECT_BELOW:
                warnings.append({"path": source, "page": doc.page,
                                 "reason": f"suspect text (quality {doc.quality:.2f}), not indexed"})
            else:
                kept.append(doc)
        report.warnings += warnings
        if not kept:
            raise LoadError(source, "no readable text on any page (" + warnings[0]["reason"] + ")"
                            if warnings else "no text")
        limit = min(self.settings.chunk_max_tokens, self.embedder.max_tokens)
        chunks = [c for doc in kept for c in chunk_document(doc, self.embedder.count_tokens, limit,
                                                             self.settings.chunk_overlap_sentences)]
        report.pages += len(kept)
        if old:
            report.changed += 1
        else:
            report.new += 1
        record = FileRecord(source=source, sha256=sha, size=stat.st_size, mtime=stat.st_mtime,
                            pages=len(kept), chunks=len(chunks), warnings=[w for w in warnings],
                            path=os.path.abspath(source))
        return _Prepared(FileUpdate(record, chunks, [index_tokens(c.text) for c in chunks]),
                         store.chunk_ids(source))

    def _write(self, store: Store, pending: list[_Prepared], report: IngestReport) -> None:
        """Embed the chunks that are new, then hand the batch to ``Store.write``."""
        if not pending:
            return
        fresh = [c for p in pending for c in p.update.chunks if c.id not in p.old_ids]
        vectors = self.embedder.embed_documents([c.text for c in fresh]) if fresh else None
        store.write([p.update for p in pending], fresh, vectors)
        report.chunks += sum(len(p.update.chunks) for p in pending)
        report.embedded += len(fresh)

    # --- ask ------------------------------------------------------------------------------------
    def retrieve(self, question: "str | Query", k: int | None = None, mode: str | None = None) -> list[Hit]:
        """Best chunks for ``question`` (no generation). The embedder loads only when the dense
        side can change the result."""
        from .retrieve import retrieve

        query = _checked_query(question)
        mode = mode or self.settings.retrieve_mode
        k = self.settings.retrieve_k if k is None else k
        if k < 1:
            raise UsageError(f"k must be at least 1, got {k}")
        store = self.store()
        if mode == "lexical":
            # BM25 alone needs no model; only the token form must match the store's
            from .text.japanese import TOKEN_FORM

            if store.built_with() is not None:
                store.check_built_with({"lexical_tokens": TOKEN_FORM})
        else:
            self._check_store(store)
        return retrieve(store, query, k=k, mode=mode,
                        dense_weight=self.settings.retrieve_dense_weight,
                        lexical_weight=self.settings.retrieve_lexical_weight,
                        coverage=self._embedder_facts().coverage,
                        embed_query=lambda text: self.embedder.embed_query(text))

    def ask(self, question: "str | Query", k: int | None = None, mode: str | None = None,
            on_token: Callable[[str], None] | None = None) -> Answer:
        """Answer ``question`` from the store with numbered citations (``ragkit.reader``)."""
        from .reader import answer

        query = _checked_query(question)
        hits = self.retrieve(query, k=k, mode=mode)
        return answer(self.generator, query, hits, on_token=on_token,
                      max_answer_tokens=self.settings.llm_max_answer_tokens)

    # --- maintenance ----------------------------------------------------------------------------
    def sources(self) -> list[FileRecord]:
        return self.store().files()

    def pages(self) -> list[dict]:
        """Per indexed page: source, page, extractor, quality and chunk count."""
        return self.store().pages()

    def remove(self, paths: Iterable[str | Path], all: bool = False, dry_run: bool = False) -> list[str]:
        """Remove files (or every file under a folder) from the store; returns what was (with
        ``dry_run``: would be) removed. Paths match by the source as listed or by absolute path.

        Raises UsageError (a ValueError) for an empty path, for no path without ``all``, and for
        paths that match every file of the store through a folder (``remove .``) without ``all``.
        """
        wanted = [str(p) for p in paths]
        if any(not w.strip() for w in wanted):
            raise UsageError("an empty path was given to remove (an unset variable?); nothing removed")
        if not wanted and not all:
            raise UsageError("name the files or folders to remove, or pass all=True (--all) to empty the store")
        store = self.store()
        if dry_run:
            return _removal(store.files(), wanted, all)
        with store.writer(self.settings.lock_timeout):
            gone = _removal(store.files(), wanted, all)
            store.remove(gone)
        return gone

    def check(self, repair: bool = False) -> dict:
        """Report whether catalog and vectors agree; with ``repair`` make them agree."""
        store = self.store()
        if not repair:
            return store.check()
        with store.writer(self.settings.lock_timeout):
            repaired = store.reconcile()
            result = store.check()
        result["repaired"] = repaired
        return result


    # --- streaming, async, texts without files, lifecycle ------------------------------------------
    def stream(self, question: "str | Query", k: int | None = None, mode: str | None = None) -> AnswerStream:
        """``ask`` as an iterator of text pieces (``ragkit.streaming``); the finished Answer is
        in the returned stream's ``answer`` once iterated."""
        query = as_query(question)
        return AnswerStream(lambda on_token: self.ask(query, k=k, mode=mode, on_token=on_token))

    async def aask(self, question: "str | Query", k: int | None = None, mode: str | None = None) -> Answer:
        """``ask`` for asyncio code: runs in a worker thread (generation stays serialised)."""
        return await asyncio.to_thread(self.ask, question, k, mode)

    async def aretrieve(self, question: "str | Query", k: int | None = None, mode: str | None = None) -> list[Hit]:
        """``retrieve`` for asyncio code, in a worker thread (retrievals run concurrently)."""
        return await asyncio.to_thread(self.retrieve, question, k, mode)

    def ingest_texts(self, texts: Mapping[str, str | bytes]) -> IngestReport:
        """Index text that does not live in files: ``{"faq/vpn.md": "...", "memo.txt": b"..."}``.

        Each name (a relative path with a supported suffix) is written under the store's own
        ``texts/`` folder and ingested like a file, so re-sending the same text embeds nothing and
        ``remove`` takes the same name."""
        root = Path(self.settings.store) / TEXTS_DIR
        written = []
        for name, content in texts.items():
            target = _inside(root, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
            if not target.is_file() or target.read_bytes() != data:
                target.write_bytes(data)
            written.append(target)
        return self.ingest(written)

    def close(self) -> None:
        """Release the store's files and the models it loaded (not the ones passed in); the RAG
        can be used again, it reopens what it needs."""
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store = None
            self._embedder, self._generator = self._given
            self._store_checked = False

    def __enter__(self) -> "RAG":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _inside(root: Path, name: str) -> Path:
    """``root / name`` for a relative ``name`` that stays inside ``root``; ValueError otherwise."""
    relative = Path(name)
    if not name.strip() or relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"text name {name!r} must be a relative path inside the store, like 'faq/vpn.md'")
    return root / relative


def _under(source: str, roots: Iterable[str]) -> bool:
    src = os.path.normpath(source)
    for root in roots:
        root = os.path.normpath(root)
        if src == root or src.startswith(root.rstrip(os.sep) + os.sep) or root == ".":
            return True
    return False
def _checked_query(question: "str | Query") -> Query:
    """The question read once, refused (UsageError) when too long to be a question."""
    text = question.text if isinstance(question, Query) else question
    if len(text) > MAX_QUESTION_CHARS:
        raise UsageError(f"question too long: {len(text):,} characters, at most {MAX_QUESTION_CHARS:,}; "
                         "ask about one thing at a time")
    return as_query(question)


def _under(path: str, root: str) -> bool:
    """True when absolute ``path`` is ``root`` or inside it (both absolute and normalised)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _removal(records: list[FileRecord], wanted: list[str], all: bool) -> list[str]:
    """The sources ``remove(wanted)`` takes: named exactly, or under a named folder (compared as
    absolute paths, so ``.`` is the current folder, not everything). Matching the whole store
    through a folder needs ``all``."""
    if all:
        return [r.source for r in records]
    exact = set(wanted)
    roots = [os.path.abspath(w) for w in wanted]
    gone = [r.source for r in records if r.source in exact or any(_under(r.abspath, root) for root in roots)]
    if len(records) > 1 and len(gone) == len(records) and not set(gone) <= exact:
        raise UsageError(f"{' '.join(wanted)} matches every file in the store ({len(records)}); "
                         "pass --all (all=True) to remove them all, or name fewer files")
    return gone


def _prune_list(store: Store, roots: list[str], seen: list[Path]) -> list[str]:
    """Sources under the resolved ``roots`` that this run did not find and that no longer exist.

    Refuses (UsageError) when a root is missing or holds no supported file: an unmounted share
    looks exactly like a folder whose files were all deleted."""
    resolved = [os.path.abspath(r) for r in roots]
    found = {os.path.abspath(f) for f in seen}
    for given, root in zip(roots, resolved):
        if not any(_under(f, root) for f in found):
            raise UsageError(f"{given} is missing or empty; not pruning (nothing removed)")
    return [r.source for r in store.files()
            if r.abspath not in found and any(_under(r.abspath, root) for root in resolved)
            and not os.path.exists(r.abspath)]


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file vanished during ingest"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)
