"""The only place that knows the order of the steps: ``RAG.ingest`` and ``RAG.ask``."""
from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from . import docmeta
from .config import Settings, load_settings
from .errors import CollectionNotFound, LoadError, RagkitError, UsageError
from .filters import Scope, WhereSpec, parse_where
from .index.catalog import CollectionInfo, FileRecord
from .progress import LOADING_EMBEDDER, LOADING_GENERATOR, Progress, embed_in_steps, phase
from .query import Query, as_query
from .store import FileUpdate, Store
from .streaming import AnswerStream
from .hashing import file_sha256
from .identity import Place, Placer, under
from .types import DEFAULT_COLLECTION, Answer, Chunk, Hit

if TYPE_CHECKING:
    from .index.embedder import EmbedderCard
    from .index.failures import Failure
    from .protocols import Embedder, Generator

# Chunks gathered across files before one embedding call. sentence-transformers sorts each call's
# texts by length, so a larger call pads less: ja_dev ingest (1,324 chunks, bfloat16) embedded in
# 16.0 s with 256, 12.6 s with 1,024 (raw encode of all at once: 13.4 s). A kill loses at most one
# call's embeddings (~30 s of work at float32 speed); memory per call is texts and vectors only.
EMBED_BATCH_CHUNKS = 1024
TEXTS_DIR = "texts"  # ingest_texts writes here, inside the store
log = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 2000  # a question, not a document: longer ones cannot fit a prompt with sources


@dataclass
class IngestReport:
    """What one ingest run did: ``failed`` lists every file that could not be ingested and why
    (they make the CLI exit 3), ``skipped`` every path a rule left out (``{"path", "kind",
    "reason"}``, kinds in ``ragkit.loaders.entries.SKIP_KINDS``), ``warnings`` parts of files."""

    files: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    pages: int = 0
    chunks: int = 0
    embedded: int = 0
    moved: int = 0  # files found at a new path with the same content: re-pointed, nothing re-embedded
    collection: str = DEFAULT_COLLECTION
    removed: list[str] = field(default_factory=list)
    dry_run: bool = False
    failed: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    repaired: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return dict(self.__dict__, seconds=round(self.seconds, 3))


@dataclass
class _Prepared:
    update: FileUpdate
    old_ids: set[str]

    @property
    def fresh(self) -> list[Chunk]:
        """The chunks whose vectors are not stored yet."""
        return [c for c in self.update.chunks if c.id not in self.old_ids]


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

    ``progress`` (a ``ragkit.progress.Progress``) hears what ingest and model loading are doing
    as it happens. The models are properties (``embedder``, ``generator``: loaded on first use);
    the store is a method, ``store(create=False)``, because opening it may create it on disk.
    """

    def __init__(self, store: str | Path | None = None, settings: Settings | None = None,
                 config: str | Path | None = None, embedder: "Embedder | None" = None,
                 generator: "Generator | None" = None, progress: Progress | None = None, **overrides):
        self.progress = progress or Progress()
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
        """The store, opened on first use (``create``: make it when missing; else StoreError)."""
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

                with phase(self.progress, LOADING_EMBEDDER):
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
                with phase(self.progress, LOADING_GENERATOR):
                    self._generator = Generator(resolve_gguf(self.settings.llm_model_path, data_dir),
                                                n_ctx=self.settings.llm_n_ctx,
                                                n_threads=self.settings.llm_n_threads,
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
               follow_symlinks: bool = False, retry_failed: bool = False, *,
               collection: str | None = None,
               metadata: Mapping[str, str | int | float] | None = None) -> IngestReport:
        """Bring ``collection`` (default: the configured one, else ``default``) up to date with
        ``paths``: new and changed files are (re)indexed, unchanged ones skipped, broken ones
        reported in ``failed``; with ``prune`` files that vanished from under ``paths`` are removed
        (listed in ``removed``). ``metadata`` is given to every file (``ragkit.docmeta``: it joins
        the automatic fields and any ``ragkit-meta.toml`` fields).

        A file is the same document however its path is spelled (``docs/``, ``./docs``, the
        absolute path, from any directory): its identity is its resolved absolute path. A file
        found at a new path with the content of a document whose file is gone is re-pointed
        (``moved``), not re-embedded.

        A file that failed is remembered: while it stays unchanged, later runs list it in
        ``skipped`` ("failed_before") without reading it, unless ``retry_failed``
        (``ragkit.index.failures``). Paths the rules leave out (not documents, hidden, too large,
        links to outside ``paths``, a root's ``.ragkitignore``) are listed in ``skipped`` too.

        ``prune`` refuses (UsageError, nothing removed) when a path is missing or holds no
        supported file: an unmounted share must not empty the store. With ``dry_run`` nothing is
        written; ``removed`` lists what ``prune`` would remove. Symbolic links that lead outside
        ``paths`` are skipped unless ``follow_symlinks``. ``on_file(i, total, path)`` is the
        older, per-file form of ``self.progress.file_started``.
        """
        return self._ingest([str(p) for p in paths], prune, dry_run, on_file, follow_symlinks, retry_failed,
                            self._collection_for_writing(collection), docmeta.checked(metadata))

    def _ingest(self, paths: list[str], prune: bool, dry_run: bool, on_file: Callable[[int, int, str], None] | None,
                follow_symlinks: bool, retry_failed: bool, collection: str, given: dict,
                display_base: str | None = None) -> IngestReport:
        from . import __version__
        from .index.failures import FailureMemory
        from .loaders import find

        started = time.perf_counter()
        report = IngestReport(dry_run=dry_run, collection=collection)
        limit_mb = self.settings.ingest_max_file_mb
        if dry_run:
            found = find(paths, follow_symlinks=follow_symlinks, max_file_mb=limit_mb)
            if prune:
                report.removed = [r.source for r in _prune_list(self.store(), paths, found.files, collection)]
            report.files = len(found.files)
            report.skipped = [s.to_json() for s in found.skipped]
            report.seconds = time.perf_counter() - started
            return report
        store = self.store(create=True)
        with store.writer(self.settings.lock_timeout):
            repaired = store.reconcile()
            if repaired["orphan_vectors_deleted"] or repaired["files_forgotten"]:
                report.repaired = repaired
            found = find(paths, follow_symlinks=follow_symlinks, max_file_mb=limit_mb)
            files = found.files
            gone = _prune_list(store, paths, files, collection) if prune else []
            for skipped in found.skipped:
                self._skip(report, skipped.to_json())
            for path, reason in found.problems:
                self._fail(report, {"path": path, "reason": reason})
            report.files = len(files)
            self.progress.files_found(len(files))
            memory = FailureMemory(store.failures, __version__, retry=retry_failed)
            placer = Placer(store, collection, paths, given, display_base)
            pending: list[_Prepared] = []
            for i, path in enumerate(files, start=1):
                if on_file:
                    on_file(i, len(files), str(path))
                self.progress.file_started(str(path), i, len(files))
                known = memory.still_failing(path)
                if known:
                    self._skip(report, {"path": str(path), "kind": "failed_before", "reason": known.reason})
                    continue
                try:
                    prepared = self._prepare(store, placer.place(path), report)
                except Exception as exc:  # a parser bug must not end the whole run either
                    if isinstance(exc, RagkitError) and not isinstance(exc, LoadError):
                        raise
                    failure = _failure(exc, path)
                    memory.failed(path, failure["reason"])
                    self._fail(report, failure)
                    continue
                memory.loaded(path)
                if prepared is not None:
                    pending.append(prepared)
                    self.progress.chunks_queued(str(path), len(prepared.fresh))
                    if sum(len(p.update.chunks) for p in pending) >= EMBED_BATCH_CHUNKS:
                        self._write(store, pending, report)
                        pending = []
            self._write(store, pending, report)
            gone = [r for r in gone if r.id not in placer.moved]  # re-pointed, not gone
            store.remove([r.id for r in gone])
            report.removed = [r.source for r in gone]
        report.seconds = time.perf_counter() - started
        return report

    def _skip(self, report: IngestReport, item: dict) -> None:
        report.skipped.append(item)
        self.progress.skipped(item)

    def _fail(self, report: IngestReport, item: dict) -> None:
        report.failed.append(item)
        self.progress.file_failed(item)

    def _prepare(self, store: Store, place: "Place", report: IngestReport) -> _Prepared | None:
        from .loaders import load, skip_reason
        from .loaders.quality import SUSPECT_BELOW
        from .text.chunker import chunk_document
        from .text.japanese import index_tokens

        path, source = place.path, place.source
        stat = path.stat()
        old = place.old
        if old and old.size == stat.st_size and old.mtime == stat.st_mtime and old.given == place.given:
            report.unchanged += 1
            return None
        sha = file_sha256(path)
        if old is None:
            old = place.moved_from(sha)
            if old is not None:
                store.repoint(old, place.real, source, stat.st_mtime)
                report.moved += 1
                old = dataclasses.replace(old, path=place.real, source=source, mtime=stat.st_mtime)
        if old and old.sha256 == sha and old.given == place.given:
            report.unchanged += 1
            return None
        # The first file that needs indexing loads the embedder and checks the store was built
        # with it; a run where nothing changed never loads a model.
        self._check_store(store)
        documents = [dataclasses.replace(d, source=source)
                     for d in load(path, pdf_password=self.settings.pdf_password)]
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
        for warning in warnings:
            self.progress.warning(warning)
        if not kept:
            raise LoadError(str(path), "no readable text on any page (" + warnings[0]["reason"] + ")"
                            if warnings else "no text")
        doc_id = old.id if old else store.catalog.new_doc_id(place.collection, place.real)
        key = old.chunk_key if old else doc_id
        limit = min(self.settings.chunk_max_tokens, self.embedder.max_tokens)
        chunks = [c for doc in kept for c in chunk_document(doc, self.embedder.count_tokens, limit,
                                                             self.settings.chunk_overlap_sentences,
                                                             key=key, doc_id=doc_id)]
        report.pages += len(kept)
        if old:
            report.changed += 1
        else:
            report.new += 1
        record = FileRecord(id=doc_id, collection=place.collection, source=source, sha256=sha, size=stat.st_size,
                            mtime=stat.st_mtime, pages=len(kept), chunks=len(chunks), warnings=warnings,
                            path=place.real, metadata={**docmeta.automatic(path, stat.st_mtime, kept), **place.given},
                            given=place.given, chunk_key=key)
        return _Prepared(FileUpdate(record, chunks, [index_tokens(c.text) for c in chunks]),
                         store.chunk_ids(doc_id) if old else set())

    def _write(self, store: Store, pending: list[_Prepared], report: IngestReport) -> None:
        """Embed the chunks that are new, then hand the batch to ``Store.write``."""
        if not pending:
            return
        fresh = [c for p in pending for c in p.fresh]
        vectors = embed_in_steps(self.embedder.embed_documents, fresh, self.progress) if fresh else None
        store.write([p.update for p in pending], fresh, vectors)
        report.chunks += sum(len(p.update.chunks) for p in pending)
        report.embedded += len(fresh)

    # --- ask ------------------------------------------------------------------------------------
    def retrieve(self, question: "str | Query", k: int | None = None, mode: str | None = None, *,
                 collections: Sequence[str] | None = None, where: "WhereSpec" = None) -> list[Hit]:
        """Best chunks for ``question`` (no generation). The embedder loads only when the dense
        side can change the result.

        ``collections``: search only these (even one; CollectionNotFound for a name the store
        lacks); None: the configured collection, else every collection. ``where``: a metadata
        filter (``ragkit.filters``: a dict or ``["dept=総務", "year>=2023"]``). Both restrict
        what is ranked, before ranking, on the lexical and the dense side: this is the access
        hook for a service that grants each caller some collections."""
        from .retrieve import retrieve

        query = _checked_query(question)
        mode = mode or self.settings.retrieve_mode
        k = self.settings.retrieve_k if k is None else k
        if k < 1:
            raise UsageError(f"k must be at least 1, got {k}")
        store = self.store()
        store.require_content()
        scope = self._scope(store, collections, where)
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
                        embed_query=lambda text: self.embedder.embed_query(text), scope=scope)

    def ask(self, question: "str | Query", k: int | None = None, mode: str | None = None,
            on_token: Callable[[str], None] | None = None, *, collections: Sequence[str] | None = None,
            where: "WhereSpec" = None) -> Answer:
        """Answer ``question`` from the store with numbered citations (``ragkit.reader``);
        ``collections`` and ``where`` as in ``retrieve``."""
        from .reader import answer

        query = _checked_query(question)
        hits = self.retrieve(query, k=k, mode=mode, collections=collections, where=where)
        return answer(self.generator, query, hits, on_token=on_token,
                      max_answer_tokens=self.settings.llm_max_answer_tokens)

    def _scope(self, store: Store, collections: Sequence[str] | None, where: "WhereSpec") -> Scope:
        """What a retrieval may see; CollectionNotFound for an unknown collection, a warning (on
        stderr in the CLI) for filter fields no document has: they match nothing."""
        names = self._collections_for_reading(store, collections)
        condition = parse_where(where)
        if condition is not None:
            unknown = sorted(condition.fields - store.catalog.known_fields(condition.fields))
            if unknown:
                log.warning("no document has the field%s %s; the filter matches nothing",
                            "s" if len(unknown) > 1 else "", ", ".join(unknown))
        return Scope(collections=names, filter=condition)

    def _collections_for_reading(self, store: Store, collections: Sequence[str] | str | None) -> tuple[str, ...] | None:
        if collections is None:
            if self.settings.collection is None:
                return None
            collections = [self.settings.collection]
        names = [collections] if isinstance(collections, str) else list(collections)  # [] allows nothing
        known = {c.name for c in store.collections()}
        for name in names:
            if name not in known:
                raise CollectionNotFound(f"no collection {name!r} in {store.path}; `ragkit collections` lists "
                                         f"them ({', '.join(sorted(known)) or 'none yet'})")
        return tuple(dict.fromkeys(names))

    def _collection_for_writing(self, collection: str | None) -> str:
        return docmeta.collection_name(collection or self.settings.collection or DEFAULT_COLLECTION)

    # --- maintenance ----------------------------------------------------------------------------
    def sources(self, collection: str | None = None) -> list[FileRecord]:
        """The documents of ``collection`` (default: the configured one, else every collection)."""
        store = self.store()
        names = self._collections_for_reading(store, collection)
        return [r for r in store.files() if names is None or r.collection in names]

    def collections(self) -> list[CollectionInfo]:
        """Every collection of the store with its file and chunk counts."""
        return self.store().collections()

    def drop_collection(self, name: str) -> int:
        """Delete collection ``name`` whole (its documents, chunks and vectors); returns how many
        documents it held. CollectionNotFound when there is none."""
        store = self.store()
        with store.writer(self.settings.lock_timeout):
            self._collections_for_reading(store, [name])
            return store.drop_collection(name)

    def failures(self) -> list["Failure"]:
        """Files that failed to load and are skipped while unchanged (``ingest(retry_failed=True)``
        tries them again)."""
        return self.store().failures.all()

    def pages(self) -> list[dict]:
        """Per indexed page: source, page, extractor, quality and chunk count."""
        return self.store().pages()

    def remove(self, paths: Iterable[str | Path], all: bool = False, dry_run: bool = False,
               collection: str | None = None) -> list[str]:
        """Remove files (or every file under a folder) from ``collection`` (default: the
        configured one, else every collection); returns the sources that were (with ``dry_run``:
        would be) removed. A path matches in any spelling (relative, ``./``, absolute: it is
        resolved), by the source as listed, or by document id.

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
            return [r.source for r in _removal(self.sources(collection), wanted, all)]
        with store.writer(self.settings.lock_timeout):
            gone = _removal(self.sources(collection), wanted, all)
            store.remove([r.id for r in gone])
        return [r.source for r in gone]

    def check(self, repair: bool = False, collection: str | None = None) -> dict:
        """Report whether catalog and vectors agree (counts for ``collection`` when given); with
        ``repair`` make them agree."""
        store = self.store()
        if collection is not None:
            self._collections_for_reading(store, [collection])
        if not repair:
            return store.check(collection)
        with store.writer(self.settings.lock_timeout):
            repaired = store.reconcile()
            result = store.check(collection)
        result["repaired"] = repaired
        return result

    # --- streaming, async, texts without files, lifecycle ------------------------------------------
    def stream(self, question: "str | Query", k: int | None = None, mode: str | None = None, *,
               collections: Sequence[str] | None = None, where: "WhereSpec" = None) -> AnswerStream:
        """``ask`` as an iterator of text pieces (``ragkit.streaming``); the finished Answer is
        in the returned stream's ``answer`` once iterated."""
        query = as_query(question)
        return AnswerStream(lambda on_token: self.ask(query, k=k, mode=mode, on_token=on_token,
                                                      collections=collections, where=where))

    async def aask(self, question: "str | Query", k: int | None = None, mode: str | None = None, *,
                   collections: Sequence[str] | None = None, where: "WhereSpec" = None) -> Answer:
        """``ask`` for asyncio code: runs in a worker thread (generation stays serialised)."""
        return await asyncio.to_thread(functools.partial(self.ask, question, k, mode, collections=collections,
                                                         where=where))

    async def aretrieve(self, question: "str | Query", k: int | None = None, mode: str | None = None, *,
                        collections: Sequence[str] | None = None, where: "WhereSpec" = None) -> list[Hit]:
        """``retrieve`` for asyncio code, in a worker thread (retrievals run concurrently)."""
        return await asyncio.to_thread(functools.partial(self.retrieve, question, k, mode,
                                                         collections=collections, where=where))

    def ingest_texts(self, texts: Mapping[str, str | bytes], *, collection: str | None = None,
                     metadata: Mapping[str, str | int | float] | None = None) -> IngestReport:
        """Index text that does not live in files: ``{"faq/vpn.md": "...", "memo.txt": b"..."}``.

        Each name (a relative path with a supported suffix) is written under the store's own
        ``texts/`` folder (``texts/.collections/NAME/`` for a collection other than ``default``)
        and ingested like a file, listed under that name, so re-sending the same text embeds
        nothing and ``remove`` takes the same name."""
        name = self._collection_for_writing(collection)
        root = Path(self.settings.store).absolute() / TEXTS_DIR
        if name != DEFAULT_COLLECTION:
            root = root / ".collections" / name
        written = []
        for text_name, content in texts.items():
            target = _inside(root, text_name)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
            if not target.is_file() or target.read_bytes() != data:
                target.write_bytes(data)
            written.append(str(target))
        return self._ingest(written, False, False, None, False, False, name, docmeta.checked(metadata),
                            display_base=str(root))

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


def _checked_query(question: "str | Query") -> Query:
    """The question read once, refused (UsageError) when too long to be a question."""
    text = question.text if isinstance(question, Query) else question
    if len(text) > MAX_QUESTION_CHARS:
        raise UsageError(f"question too long: {len(text):,} characters, at most {MAX_QUESTION_CHARS:,}; "
                         "ask about one thing at a time")
    return as_query(question)


def _removal(records: list[FileRecord], wanted: list[str], all: bool) -> list[FileRecord]:
    """The documents ``remove(wanted)`` takes: named by id or source exactly, or by a path in any
    spelling (resolved, so ``docs/a.txt``, ``./docs/a.txt`` and the absolute path are one file),
    or under a named folder (``.`` is the current folder, not everything). Matching the whole
    store through a folder needs ``all``."""
    if all:
        return list(records)
    exact = set(wanted)
    roots = {os.path.abspath(w) for w in wanted} | {os.path.realpath(w) for w in wanted}
    gone = [r for r in records if r.source in exact or r.id in exact
            or any(under(r.abspath, root) for root in roots)]
    if len(records) > 1 and len(gone) == len(records) and not {r.source for r in gone} <= exact:
        raise UsageError(f"{' '.join(wanted)} matches every file in the store ({len(records)}); "
                         "pass --all (all=True) to remove them all, or name fewer files")
    return gone


def _prune_list(store: Store, roots: list[str], seen: list[Path], collection: str) -> list[FileRecord]:
    """Documents of ``collection`` under ``roots`` that this run did not find and whose files no
    longer exist.

    Refuses (UsageError) when a root is missing or holds no supported file: an unmounted share
    looks exactly like a folder whose files were all deleted."""
    found_given = {os.path.abspath(f) for f in seen}
    found = {os.path.realpath(f) for f in seen}
    for given in roots:
        if not any(under(f, os.path.abspath(given)) for f in found_given):
            raise UsageError(f"{given} is missing or empty; not pruning (nothing removed)")
    resolved = {os.path.abspath(r) for r in roots} | {os.path.realpath(r) for r in roots}
    return [r for r in store.files(collection)
            if r.abspath not in found and any(under(r.abspath, root) for root in resolved)
            and not os.path.exists(r.abspath)]


def _failure(exc: Exception, path: Path) -> dict:
    """``{"path", "reason"}`` for a file whose ingest raised ``exc``."""
    if isinstance(exc, LoadError):
        return {"path": exc.path, "reason": exc.reason}
    if isinstance(exc, OSError):
        return {"path": str(path), "reason": _os_reason(exc)}
    return {"path": str(path), "reason": f"unexpected error: {type(exc).__name__}: {exc}"}


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file vanished during ingest"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)
