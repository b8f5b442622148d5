"""`ragkit eval`: retrieval recall@k and MRR over a QA set (the format of ../shared/data/README.md).

The corpus JSONL (``context_id``, ``title``, ``context``) becomes one text file per paragraph in a
cached folder and is ingested like any user's documents, so the figures measure the real pipeline
(loader, chunker, both indexes, fusion). The cache key covers the corpus bytes, the embedding model
and the chunk settings, so a re-run reuses the store and embeds nothing.

A question is answered by retrieval when a hit comes from its gold paragraph. Several chunks may
come from one paragraph: ranks are counted over distinct paragraphs in hit order.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from argparse import Namespace
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .config import MODES, load_settings
from .errors import ConfigError, RagkitError
from .pipeline import RAG

RETRIEVE_K = 10
DEFAULT_KS = (1, 5, 10)
_UNSAFE = re.compile(r"[^\w.-]")


# --- reading the QA format --------------------------------------------------------------------
def read_jsonl(path: str | Path, required: Sequence[str]) -> list[dict]:
    """Objects of a JSONL file; a ConfigError names the file and line of the first bad record."""
    path = Path(path)
    rows: list[dict] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror}); give an existing JSONL file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8; QA files must be UTF-8 JSONL") from None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
        missing = [k for k in required if k not in row]
        if missing:
            raise ConfigError(f"{path}:{n}: missing field(s) {', '.join(missing)} "
                              "(see the QA format in ../shared/data/README.md)")
        rows.append(row)
    if not rows:
        raise ConfigError(f"{path}: no records")
    return rows


def doc_stem(context_id: str) -> str:
    """A file name stem for a paragraph id (ids are mostly safe already; the rest is escaped)."""
    stem = _UNSAFE.sub("_", context_id)
    if stem != context_id:
        stem += "-" + hashlib.sha1(context_id.encode("utf-8")).hexdigest()[:8]
    return stem


def paragraph_text(row: dict) -> str:
    """What one paragraph file holds: the title (Wikipedia underscores as spaces), then the text."""
    title = str(row.get("title") or "").replace("_", " ").strip()
    return f"{title}\n{row['context']}" if title else str(row["context"])


# --- the cached eval store --------------------------------------------------------------------
def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ragkit-eval"


def code_fingerprint() -> str:
    """Hash of the code that turns text into chunks and lexical tokens: a store built by other
    code would mix old index tokens with new query tokens, so it must not be reused."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*(here / "text").glob("*.py"), *(here / "loaders").glob("*.py"),
                        here / "index" / "catalog.py", here / "pipeline.py"]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def cache_key(corpus_bytes: bytes, embed_model: str, chunk_settings: dict) -> str:
    """Hash of everything that decides the store's content (corpus, model, settings, code)."""
    digest = hashlib.sha256(corpus_bytes)
    digest.update(json.dumps({"embed": embed_model, "code": code_fingerprint(), **chunk_settings},
                             sort_keys=True).encode())
    return digest.hexdigest()[:16]


def write_docs(corpus: list[dict], folder: Path) -> dict[str, str]:
    """One UTF-8 file per paragraph (rewritten only when its text changed); returns stem → context_id."""
    folder.mkdir(parents=True, exist_ok=True)
    stems: dict[str, str] = {}
    for row in corpus:
        cid = str(row["context_id"])
        stem = doc_stem(cid)
        if stem in stems:
            raise ConfigError(f"corpus has context_id {cid!r} twice; ids must be unique")
        stems[stem] = cid
        path = folder / f"{stem}.txt"
        text = paragraph_text(row)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return stems


def build_eval_rag(corpus_path: str | Path, embed_model: str | None = None, cache: str | Path | None = None,
                   config: str | None = None, log: Callable[[str], None] | None = None) -> tuple[RAG, dict]:
    """A RAG over the corpus, ingested into a cached store; returns it with the stem → id map."""
    corpus_path = Path(corpus_path)
    corpus = read_jsonl(corpus_path, ("context_id", "context"))
    from .models import resolve_embedder

    s = load_settings(config, embed_model_path=embed_model)

    model = str(resolve_embedder(s.embed_model_path).resolve())
    from .index.embedder import resolve_dtype

    key = cache_key(corpus_path.read_bytes(), model, {"chunk_max_tokens": s.chunk_max_tokens,
                                                      "chunk_overlap_sentences": s.chunk_overlap_sentences,
                                                      "embed_dtype": resolve_dtype(s.embed_dtype)})
    root = Path(cache) if cache else default_cache()
    root = root.expanduser() / key
    stems = write_docs(corpus, root / "docs")
    rag = RAG(store=root / "store", settings=s)  # store= overrides the configured one
    started = time.perf_counter()
    report = rag.ingest([root / "docs"], prune=True)
    if report.failed:
        first = report.failed[0]
        raise RagkitError(f"{len(report.failed)} corpus paragraph(s) failed to ingest, "
                          f"e.g. {first['path']}: {first['reason']}")
    if log and (report.new or report.changed):
        log(f"eval store {root}: {report.chunks} chunks, {report.embedded} embedded "
            f"in {time.perf_counter() - started:.1f}s")
    return rag, stems


# --- metrics ------------------------------------------------------------------------------------
def gold_rank(hit_ids: Iterable[str], gold: str) -> int | None:
    """1-based rank of ``gold`` among the distinct ids in hit order, or None."""
    seen: list[str] = []
    for cid in hit_ids:
        if cid not in seen:
            seen.append(cid)
            if cid == gold:
                return len(seen)
    return None


def score_ranks(ranks: Sequence[int | None], ks: Sequence[int] = DEFAULT_KS) -> dict:
    """recall@k for each k and MRR@max(k) over gold ranks (None = not found)."""
    n = len(ranks)
    top = max(ks)
    out: dict = {"n": n}
    for k in ks:
        out[f"recall@{k}"] = round(sum(1 for r in ranks if r is not None and r <= k) / n, 4) if n else 0.0
    out[f"mrr@{top}"] = round(sum(1.0 / r for r in ranks if r is not None and r <= top) / n, 4) if n else 0.0
    return out


def _stem_of(source: str) -> str:
    return Path(source).stem


def evaluate_retrieval(rag: RAG, questions: list[dict], modes: list[str], ks: Sequence[int] = DEFAULT_KS,
                       stems: dict[str, str] | None = None) -> dict:
    """Per mode: ``{"n", "recall@k"…, "mrr@K", "seconds"}`` with K = max(ks) chunks retrieved."""
    stems = stems or {}
    k = max(max(ks), 1)
    if any(m != "lexical" for m in modes):
        _embed_each_question_once(rag)
    result: dict = {"modes": {}}
    for mode in modes:
        started = time.perf_counter()
        ranks = []
        for q in questions:
            hits = rag.retrieve(q["question"], k=k, mode=mode)
            ids = [stems.get(_stem_of(h.chunk.source), _stem_of(h.chunk.source)) for h in hits]
            ranks.append(gold_rank(ids, str(q["context_id"])))
        metrics = score_ranks(ranks, ks)
        metrics["seconds"] = round(time.perf_counter() - started, 2)
        result["modes"][mode] = metrics
    return result


def _embed_each_question_once(rag: RAG) -> None:
    """Dense and hybrid embed the same questions: remember each vector for this eval run."""
    embedder = rag.embedder
    if getattr(embedder, "_eval_memo", False):
        return
    embed = embedder.embed_query
    memo: dict[str, object] = {}

    def embed_query(text: str):
        if text not in memo:
            memo[text] = embed(text)
        return memo[text]

    embedder.embed_query = embed_query  # type: ignore[method-assign]
    embedder._eval_memo = True  # type: ignore[attr-defined]


def parse_modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise ConfigError(f"--mode takes a comma-separated list of {', '.join(MODES)}; got {text!r}")
    return modes


def format_table(result: dict) -> str:
    """A fixed-width table of the retrieval metrics, one row per mode."""
    lines = [f"{'mode':<8} {'n':>5} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'sec':>7}"]
    for mode, m in result["modes"].items():
        lines.append(f"{mode:<8} {m['n']:>5} {m['recall@1']:>6.3f} {m['recall@5']:>6.3f} "
                     f"{m['recall@10']:>6.3f} {m['mrr@10']:>7.3f} {m['seconds']:>7.1f}")
    return "\n".join(lines)


def run_cli(args: Namespace) -> int:
    """`ragkit eval`: build (or reuse) the eval store, measure each mode, print a table or JSON."""
    modes = parse_modes(args.mode)
    questions = read_jsonl(args.questions, ("question", "context_id"))
    if args.limit is not None:
        if args.limit < 1:
            raise ConfigError("--limit must be at least 1")
        questions = questions[:args.limit]

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    rag, stems = build_eval_rag(args.corpus, embed_model=args.embed_model, cache=args.cache,
                                config=getattr(args, "config", None), log=log)
    known = set(stems.values())
    orphans = sorted({str(q["context_id"]) for q in questions} - known)
    if orphans:
        raise ConfigError(f"{args.questions}: {len(orphans)} question(s) name a context_id missing from "
                          f"{args.corpus}, e.g. {orphans[0]!r}")
    result = evaluate_retrieval(rag, questions, modes, stems=stems)
    answers = getattr(args, "generate", False) or getattr(args, "unanswerable", False)
    if answers:  # --unanswerable needs the generator too: abstention is the answer step's call
        from .answer_eval import evaluate_answers

        result.update(evaluate_answers(rag, questions, read_jsonl(args.corpus, ("context_id", "context")),
                                       unanswerable=getattr(args, "unanswerable", False), log=log))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(format_table(result))
        if answers:
            from .answer_eval import format_answer_table

            print(format_answer_table(result))
    return 0
