"""The `ragkit` command: a thin layer over ``ragkit.RAG``.

Exit codes: 0 success; 1 an error (one line on stderr, no traceback); 2 bad usage;
3 ingest finished but at least one file failed (listed in the summary).
Progress and messages go to stderr (``ragkit.terminal``), results to stdout, so ``--json`` output
can be piped: always one JSON object, ``{"error", "exit_code"}`` when the command failed.
"""
from __future__ import annotations

import argparse
import errno
import json
import logging
import sys
from typing import Any

from . import __version__
from .display import display_path
from .errors import RagkitError, UsageError
from .terminal import failure_line, fmt_where, progress_for, skipped_lines, warning_line

EXIT_ERROR, EXIT_USAGE, EXIT_FILES_FAILED = 1, 2, 3


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _rag(args: argparse.Namespace, **overrides):
    """The RAG a command works with; its progress shows on stderr unless --quiet or --json."""
    from .pipeline import RAG

    return RAG(store=args.store, config=args.config, progress=progress_for(args.quiet or args.json), **overrides)


# --- commands ---------------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> int:
    rag = _rag(args, pdf_password=args.pdf_password)
    from .docmeta import parse_meta_args

    try:
        report = rag.ingest(args.paths, prune=args.prune, dry_run=args.dry_run,
                            follow_symlinks=args.follow_symlinks, retry_failed=args.retry_failed,
                            collection=args.collection, metadata=parse_meta_args(args.meta))
    finally:
        rag.progress.close()
    if args.json:
        _print_json(report.to_json())
        return EXIT_FILES_FAILED if report.failed else 0
    if args.dry_run:
        print(f"dry run: {report.files} file(s) found, nothing written")
        _print_removed(report.removed, "would remove")
    else:  # the problems again, all together, after the progress that showed them one by one
        for line in [*map(warning_line, report.warnings), *map(failure_line, report.failed)]:
            _err(line)
        if report.files == 0 and not report.failed:
            print("found no document to ingest" + (" (what was skipped is listed below)" if report.skipped else ""))
        elif report.embedded == 0 and report.new == 0 and report.changed == 0:
            print(f"nothing changed: {report.unchanged} file(s) already up to date ({report.seconds:.1f}s)")
        else:
            print(f"ingested {report.new} new and {report.changed} changed file(s) "
                  f"({report.unchanged} unchanged): {report.pages} pages, {report.chunks} chunks, "
                  f"{report.embedded} embedded in {report.seconds:.1f}s")
        _print_removed(report.removed, "removed")
    for line in skipped_lines(report.skipped):
        _err(line)
    if report.failed:
        print(f"{len(report.failed)} file(s) failed (see above); while unchanged they are skipped from now "
              "on (--retry-failed tries them again)")
    return EXIT_FILES_FAILED if report.failed else 0


def _in(collection: str) -> str:
    """``[総務] `` before a source outside the default collection."""
    from .types import DEFAULT_COLLECTION

    return "" if collection == DEFAULT_COLLECTION else f"[{collection}] "


def cmd_ask(args: argparse.Namespace) -> int:
    rag = _rag(args)
    scope = {"collections": args.collection, "where": args.where}
    if args.retrieve_only:
        hits = rag.retrieve(args.question, k=args.k, mode=args.mode, **scope)
        if args.json:
            _print_json({"question": args.question, "mode": args.mode or rag.settings.retrieve_mode,
                         "hits": [h.to_json() for h in hits]})
        else:
            for i, h in enumerate(hits, start=1):
                snippet = h.chunk.text.replace("\n", " ")[:120]
                print(f"{i}. {_in(h.collection)}{h.chunk.source}{fmt_where(h.chunk.page, h.chunk.location)}  "
                      f"score={h.score:.4f}\n   {snippet}")
        return 0
    stream = not args.json and not args.no_stream
    streamed: list[str] = []

    def on_token(piece: str) -> None:
        streamed.append(piece)
        print(piece, end="", flush=True)

    answer = rag.ask(args.question, k=args.k, mode=args.mode, on_token=on_token if stream else None, **scope)
    if args.json:
        _print_json(answer.to_json())
        return 0
    if stream:
        shown, final = "".join(streamed).strip(), answer.text.strip()
        if final.startswith(shown):
            print(final[len(shown):])  # the citation markers added after generation
        else:
            print(f"\n\n{final}")  # citations renumbered or text trimmed: show the final form
    else:
        print(answer.text)
    if answer.citations:
        print("\nClosest sources (they do not answer it):" if answer.abstained else "\nSources:")
    for c in answer.citations:
        flag = "" if answer.abstained or c.supported in (None, True) else "  (not verified)"
        print(f"[{c.n}] {_in(c.collection)}{c.source}{fmt_where(c.page, c.location)}{flag}")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    rag = _rag(args)
    if args.pages:
        pages = rag.pages()
        if args.json:
            _print_json({"pages": pages})
        else:
            for p in pages:
                quality = "-" if p["quality"] is None else f"{p['quality']:.2f}"
                print(f"{p['source']}{fmt_where(p['page'])}  extractor={p['extractor']} quality={quality} "
                      f"chunks={p['chunks']}")
        return 0
    records, failures = rag.sources(args.collection), rag.failures()
    if args.json:
        _print_json({"files": [r.to_json() for r in records], "failed": [f.to_json() for f in failures]})
        return 0
    for r in records:
        j = r.to_json()
        print(f"{_in(r.collection)}{r.source}  pages={r.pages} chunks={r.chunks} ingested={j['ingested_at']}")
    print(f"{len(records)} file(s), {sum(r.chunks for r in records)} chunk(s)")
    for f in failures:
        print(f"not indexed: {display_path(f.path)}: {f.reason}")
    if failures:
        print(f"{len(failures)} file(s) failed and are skipped while unchanged (`ragkit ingest --retry-failed` "
              "tries them again)")
    return 0


def _print_removed(sources: list[str], verb: str) -> None:
    for source in sources:
        print(f"{verb}: {source}")
    if sources:
        print(f"{verb} {len(sources)} file(s) that no longer exist")


def cmd_remove(args: argparse.Namespace) -> int:
    gone = _rag(args).remove(args.paths, all=args.all, dry_run=args.dry_run, collection=args.collection)
    if args.json:
        _print_json({"removed": gone, "dry_run": args.dry_run})
    elif not gone:
        print("nothing matched")
    else:
        verb = "would remove" if args.dry_run else "removed"
        print("\n".join(f"{verb}: {g}" for g in gone))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    result = _rag(args).check(repair=args.repair, collection=args.collection)
    if args.json:
        _print_json(result)
    else:
        print(format_check(result))
    return 0 if result["consistent"] else EXIT_ERROR


def cmd_collections(args: argparse.Namespace) -> int:
    rag = _rag(args)
    if args.action == "drop":
        if not args.name:
            raise UsageError("name the collection to drop: ragkit collections drop NAME")
        dropped = rag.drop_collection(args.name)
        if args.json:
            _print_json({"dropped": args.name, "files": dropped})
        else:
            print(f"dropped collection {args.name} ({dropped} file(s))")
        return 0
    if args.name:
        raise UsageError(f"unexpected {args.name!r}; to delete a collection: ragkit collections drop NAME")
    infos = rag.collections()
    if args.json:
        _print_json({"collections": [c.to_json() for c in infos]})
    else:
        for c in infos:
            print(f"{c.name}  files={c.files} chunks={c.chunks}")
        print(f"{len(infos)} collection(s)")
    return 0


def format_check(result: dict) -> str:
    """``key: value`` lines a person reads: lists as counts with their items, no Python reprs."""
    lines = []
    for key, value in result.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {k}: {_plain(v)}" for k, v in value.items()]
        else:
            lines.append(f"{key}: {_plain(value)}")
    return "\n".join(lines)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, set)):
        items = sorted(map(display_path, value))
        return f"{len(items)}" + (f" ({', '.join(items)})" if items else "")
    return str(value)


def cmd_inspect(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .loaders import inspect_file

    pages = inspect_file(Path(args.file), pdf_password=args.pdf_password)  # LoadError: one line
    if args.json:
        _print_json({"file": args.file, "pages": pages})
    else:
        for p in pages:
            where = p["location"] or (f"p.{p['page']:>3}" if p["page"] else "-")
            head = (p.get("skipped") or p["text"]).replace("\n", " ")[: args.chars]
            quality = "" if p["quality"] is None else f" quality={p['quality']:.2f}"
            print(f"{where}  {p['extractor']:<10}{quality}  {head}")
    return 0


def format_eval_table(result: dict) -> str:
    """A fixed-width table of the retrieval metrics, one row per mode."""
    lines = [f"{'mode':<8} {'n':>5} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'sec':>7}"]
    for mode, m in result["modes"].items():
        lines.append(f"{mode:<8} {m['n']:>5} {m['recall@1']:>6.3f} {m['recall@5']:>6.3f} "
                     f"{m['recall@10']:>6.3f} {m['mrr@10']:>7.3f} {m['seconds']:>7.1f}")
    return "\n".join(lines)


def format_answer_table(result: dict) -> str:
    """Fixed-width lines for the answer metrics (and abstention, when measured)."""
    a = result["answers"]
    lines = [f"{'answers':<12} {'n':>5} {'EM':>6} {'F1':>6} {'ceiling':>8} {'naive':>6} {'cite':>6} {'answered':>9}",
             f"{'':<12} {a['n']:>5} {a['exact']:>6.3f} {a['f1']:>6.3f} {a['reader_ceiling_f1']:>8.3f} "
             f"{a['naive_prompt_f1']:>6.3f} {a['citation_accuracy']:>6.3f} {a['answer_rate']:>9.3f}"]
    if "unanswerable" in result:
        u = result["unanswerable"]
        lines.append(f"{'unanswerable':<12} {u['n']:>5} abstained {u['abstention_rate']:.3f}")
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    if args.answers:
        from .answer_quality import format_answer_quality, run_answer_set

        result = run_answer_set(args.answers, store=args.store, config=args.config, limit=args.limit,
                                form=args.answer_form, log=None if args.quiet else _err)
        _print_json(result) if args.json else print(format_answer_quality(result))
        return 0
    if not (args.corpus and args.questions):
        raise UsageError("ragkit eval needs --corpus and --questions, or --answers FILE")
    from .evaluate import run_eval

    result = run_eval(args.corpus, args.questions, args.mode, limit=args.limit,
                      generate=args.generate, unanswerable=args.unanswerable, cache=args.cache,
                      embed_model=args.embed_model, config=args.config, log=None if args.quiet else _err,
                      collection=args.collection)
    if args.json:
        _print_json(result)
    else:
        print(format_eval_table(result))
        if "answers" in result:
            print(format_answer_table(result))
    return 0


def format_doctor_report(report: dict) -> str:
    """Human-readable doctor report: one line per check, the fix under each failure, the verdict."""
    lines = [f"ragkit doctor — ragkit {report['ragkit']}, Python {report['versions']['python']}"]
    for c in report["checks"]:
        lines.append(f"[{' ok ' if c['ok'] else 'FAIL'}] {c['name']}: {c['detail']}")
        if not c["ok"] and c["fix"]:
            lines.append(f"       fix: {c['fix']}")
    verdict = ("OK: ready to answer questions offline" if report["ok"]
               else f"NOT OK: {len(report['failed'])} problem(s): {', '.join(report['failed'])}")
    lines.append(f"verdict: {verdict}")
    return "\n".join(lines)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Exit 0 when everything is ready, 1 otherwise."""
    from .config import load_settings
    from .doctor import diagnose

    report = diagnose(load_settings(args.config, store=args.store)).to_json()
    if args.json:
        _print_json(report)
    else:
        print(format_doctor_report(report))
    return 0 if report["ok"] else EXIT_ERROR


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve.server import run

    run(_rag(args), host=args.host, port=args.port, auth=not args.no_auth)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """``keys add NAME --collections A,B [--write]`` prints the new key once; ``list``; ``revoke NAME``."""
    from .config import load_settings
    from .serve.db import ServeDB
    from .serve.keys import KeyRing

    if args.action in ("add", "revoke") and not args.name:
        raise UsageError(f"keys {args.action} needs a NAME")
    ring = KeyRing(ServeDB(load_settings(args.config, store=args.store).store))
    if args.action == "add":
        key = ring.add(args.name, (args.collections or "").split(","), write=args.write)
        if args.json:
            _print_json({"name": args.name, "key": key})
        else:
            print(key)
            _err(f"key {args.name!r} created; it is shown only this once, store it safely")
    elif args.action == "revoke":
        ring.revoke(args.name)
        if args.json:
            _print_json({"revoked": args.name})
        else:
            print(f"revoked: {args.name}")
    elif args.json:
        _print_json({"keys": ring.list()})
    else:
        for k in ring.list():
            state = "revoked" if k["revoked"] else ("read+write" if k["write"] else "read")
            print(f"{k['name']}  collections={','.join(k['collections'])}  {state}  created={k['created_at']}")
    return 0


# --- parser -----------------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    """argparse type: an integer of at least 1 (``-k 0`` used to mean the default)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_global_options(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("--store", default=default, help="store directory (env RAGKIT_STORE, default ./.ragkit)")
    parser.add_argument("--config", default=default,
                        help="config file (env RAGKIT_CONFIG, default ./ragkit.toml if present)")
    parser.add_argument("-q", "--quiet", action="store_true", default=False if default is None else default,
                        help="no progress on stderr (results, problems and the summary still show)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ragkit", description="Ask questions about your own documents, fully offline.")
    p.add_argument("--version", action="version", version=f"ragkit {__version__}")
    _add_global_options(p, default=None)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    shared = argparse.ArgumentParser(add_help=False)  # the same options after the command too
    _add_global_options(shared, default=argparse.SUPPRESS)

    def command(name: str, help: str, func, json_help: str = "print one JSON object") -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help, parents=[shared])
        parser.add_argument("--json", action="store_true", help=json_help)
        parser.set_defaults(func=func)
        return parser

    def collection_option(parser: argparse.ArgumentParser, what: str, many: bool = False) -> None:
        parser.add_argument("--collection", metavar="NAME", action="append" if many else "store",
                            help=f"{what} (env RAGKIT_COLLECTION)")

    s = command("ingest", "index files and folders (incremental)", cmd_ingest)
    s.add_argument("paths", nargs="+", metavar="PATH")
    collection_option(s, "the collection to ingest into (default: default)")
    s.add_argument("--meta", action="append", default=[], metavar="FIELD=VALUE",
                   help="metadata for every file, repeatable: --meta dept=総務 --meta year=2024")
    s.add_argument("--prune", action="store_true",
                   help="remove files that vanished from under PATH (refused when a PATH is missing or empty)")
    s.add_argument("--dry-run", action="store_true", help="write nothing; with --prune list what it would remove")
    s.add_argument("--pdf-password", help="password for encrypted PDFs")
    s.add_argument("--follow-symlinks", action="store_true",
                   help="also read symbolic links that lead outside PATH (skipped by default)")
    s.add_argument("--retry-failed", action="store_true",
                   help="try again files that failed before and have not changed since (skipped by default)")

    s = command("ask", "answer a question with cited sources", cmd_ask)
    s.add_argument("question")
    s.add_argument("-k", type=_positive_int, help="number of chunks to retrieve (default 5)")
    s.add_argument("--mode", choices=["dense", "lexical", "hybrid"], help="retrieval mode (default hybrid)")
    s.add_argument("--no-stream", action="store_true", help="print the answer only when complete")
    s.add_argument("--retrieve-only", action="store_true", help="print the retrieved chunks, no generation")
    collection_option(s, "search only this collection; repeat for several (default: every collection)", many=True)
    s.add_argument("--where", action="append", metavar="EXPR",
                   help="metadata filter, repeatable (all must hold): 'dept=総務', 'year>=2023', 'dept in 総務,人事'; "
                        "operators = != < <= > >= in")

    s = command("sources", "list what is in the store", cmd_sources)
    s.add_argument("--pages", action="store_true", help="one line per page: extractor and quality score")
    collection_option(s, "list only this collection (default: every collection)")

    s = command("remove", "remove files (or folders) from the store", cmd_remove)
    s.add_argument("paths", nargs="*", metavar="PATH")
    s.add_argument("--all", action="store_true", help="allow removing every file of the store")
    s.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    collection_option(s, "remove only from this collection (default: every collection)")

    s = command("check", "verify that vectors, lexical index and manifest agree", cmd_check)
    s.add_argument("--repair", action="store_true", help="restore agreement (re-ingest to fill gaps)")
    collection_option(s, "count only this collection")

    s = command("collections", "list collections with their counts, or drop one: collections drop NAME",
                cmd_collections, json_help="print a JSON list")
    s.add_argument("action", nargs="?", choices=["list", "drop"], default="list")
    s.add_argument("name", nargs="?", metavar="NAME")

    s = command("inspect", "show each unit of a file (page, slide, sheet rows, section) as it will be indexed", cmd_inspect)
    s.add_argument("file")
    s.add_argument("--pdf-password")
    s.add_argument("--chars", type=int, default=60, help="characters of text to show per unit")

    s = command("eval", "measure retrieval (and answers) on a QA set", cmd_eval)
    s.add_argument("--corpus", help="corpus JSONL (context_id, title, context)")
    s.add_argument("--questions",
                   help="questions JSONL: question and context_id; answers too with --generate/--unanswerable "
                        "(the gold paragraph's text comes from --corpus)")
    s.add_argument("--mode", default="dense,lexical,hybrid", help="comma-separated modes")
    s.add_argument("--embed-model", help="embedding model folder to evaluate")
    s.add_argument("--limit", type=int, help="only the first N questions")
    s.add_argument("--generate", action="store_true", help="also generate and score answers")
    s.add_argument("--unanswerable", action="store_true", help="also measure abstention")
    s.add_argument("--answers", metavar="FILE", help="ask a user-level answer set (JSONL: question, answers, "
                   "kind) of the store in --store; e.g. tests/answer_set.jsonl")
    s.add_argument("--answer-form", choices=["sentence", "span"], help="extractive answers: quote the "
                   "sentence (default) or give the bare span")
    s.add_argument("--cache", help="where eval stores are cached (default ~/.cache/ragkit-eval)")
    collection_option(s, "ingest the corpus into this collection and search only it")

    command("doctor", "check the installation, models and store", cmd_doctor)

    s = command("serve", "serve the store over HTTP (OpenAI-compatible chat, retrieval, uploads)", cmd_serve)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=_positive_int, default=8000, help="port (default 8000)")
    s.add_argument("--no-auth", action="store_true", help="no API keys (refused unless --host is loopback)")

    s = command("keys", "manage the API keys of `ragkit serve`", cmd_keys)
    s.add_argument("action", choices=["add", "list", "revoke"])
    s.add_argument("name", nargs="?", help="the key's name (a person or a tool)")
    s.add_argument("--collections", help="collections the key may read, comma-separated ('*': all)")
    s.add_argument("--write", action="store_true", help="the key may also upload and delete documents")
    return p


def _show_library_messages() -> None:
    """The library logs (e.g. "waiting for another ragkit process ..."); the CLI shows them on stderr."""
    logger = logging.getLogger("ragkit")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("ragkit: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)


def _os_error(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return f"{where}the disk is full; free space and run the command again"
    return f"{where}{exc.strerror or exc}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed the usage and why; a --json caller gets an object too
        if exc.code == EXIT_USAGE and "--json" in (sys.argv[1:] if argv is None else argv):
            _print_json({"error": "invalid command line (the reason is on stderr)", "exit_code": EXIT_USAGE})
        raise
    # pypdf reports recoverable oddities of real-world PDFs as warnings; the loaders already
    # score each page's text and report bad pages, so keep the terminal for ragkit's own messages
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    _show_library_messages()
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except UsageError as exc:
        return _fail(args, str(exc), EXIT_USAGE)
    except RagkitError as exc:
        return _fail(args, str(exc), EXIT_ERROR)
    except OSError as exc:  # the disk, not ragkit: say which file and what to do
        if isinstance(exc, BrokenPipeError):
            return 0
        return _fail(args, _os_error(exc), EXIT_ERROR)
    except KeyboardInterrupt:
        return _fail(args, "interrupted", 130)


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    """One line on stderr; with --json also the error as the one JSON object on stdout."""
    _err(f"ragkit: error: {message}" if code != 130 else "ragkit: interrupted")
    if getattr(args, "json", False):
        _print_json({"error": message, "exit_code": code})
    return code


if __name__ == "__main__":
    sys.exit(main())
