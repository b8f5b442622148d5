"""The `ragkit` command: a thin layer over ``ragkit.RAG``.

Exit codes: 0 success; 1 an error (one line on stderr, no traceback); 2 bad usage;
3 ingest finished but at least one file failed (listed in the summary).
Progress and messages go to stderr, results to stdout, so ``--json`` output can be piped.
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

EXIT_ERROR, EXIT_USAGE, EXIT_FILES_FAILED = 1, 2, 3


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _rag(args: argparse.Namespace, **overrides):
    from .pipeline import RAG

    return RAG(store=args.store, config=args.config, **overrides)


def _fmt_page(page: int | None, location: str | None = None) -> str:
    """Where in a file: the unit a person opens (``slide 7``, ``売上!A10:F25``), else the page."""
    if location:
        return f" {location}"
    return f" p.{page}" if page else ""


# --- commands ---------------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace) -> int:
    rag = _rag(args, pdf_password=args.pdf_password)
    bar = None
    on_file = None
    if not args.json and sys.stderr.isatty():
        from tqdm import tqdm

        def on_file(i: int, total: int, path: str) -> None:
            nonlocal bar
            if bar is None:
                bar = tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True)
            bar.set_postfix_str(display_path(path)[-40:], refresh=False)
            bar.update(1)
    elif not args.json:
        def on_file(i: int, total: int, path: str) -> None:
            _err(f"[{i}/{total}] {display_path(path)}")
    report = rag.ingest(args.paths, prune=args.prune, dry_run=args.dry_run,
                        on_file=None if args.dry_run else on_file, follow_symlinks=args.follow_symlinks)
    if bar is not None:
        bar.close()
    if args.json:
        _print_json(report.to_json())
    elif args.dry_run:
        print(f"dry run: {report.files} file(s) found, nothing written")
        _print_removed(report.removed, "would remove")
    else:
        for w in report.warnings:
            _err(f"warning: {display_path(w['path'])}{_fmt_page(w['page'], w.get('location'))}: {w['reason']}")
        for f in report.failed:
            _err(f"failed: {display_path(f['path'])}: {f['reason']}")
        if report.embedded == 0 and report.new == 0 and report.changed == 0:
            print(f"nothing changed: {report.unchanged} file(s) already up to date ({report.seconds:.1f}s)")
        else:
            print(f"ingested {report.new} new and {report.changed} changed file(s) "
                  f"({report.unchanged} unchanged): {report.pages} pages, {report.chunks} chunks, "
                  f"{report.embedded} embedded in {report.seconds:.1f}s")
        _print_removed(report.removed, "removed")
        if report.failed:
            print(f"{len(report.failed)} file(s) failed (see above)")
    return EXIT_FILES_FAILED if report.failed else 0


def cmd_ask(args: argparse.Namespace) -> int:
    rag = _rag(args)
    if args.retrieve_only:
        hits = rag.retrieve(args.question, k=args.k, mode=args.mode)
        if args.json:
            _print_json({"question": args.question, "mode": args.mode or rag.settings.retrieve_mode,
                         "hits": [h.to_json() for h in hits]})
        else:
            for i, h in enumerate(hits, start=1):
                snippet = h.chunk.text.replace("\n", " ")[:120]
                print(f"{i}. {h.chunk.source}{_fmt_page(h.chunk.page, h.chunk.location)}  score={h.score:.4f}\n   {snippet}")
        return 0
    stream = not args.json and not args.no_stream
    streamed: list[str] = []

    def on_token(piece: str) -> None:
        streamed.append(piece)
        print(piece, end="", flush=True)

    answer = rag.ask(args.question, k=args.k, mode=args.mode, on_token=on_token if stream else None)
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
        print(f"[{c.n}] {c.source}{_fmt_page(c.page, c.location)}{flag}")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    rag = _rag(args)
    if args.pages:
        pages = rag.pages()
        if args.json:
            _print_json(pages)
        else:
            for p in pages:
                quality = "-" if p["quality"] is None else f"{p['quality']:.2f}"
                print(f"{p['source']}{_fmt_page(p['page'])}  extractor={p['extractor']} quality={quality} "
                      f"chunks={p['chunks']}")
        return 0
    records = rag.sources()
    if args.json:
        _print_json([r.to_json() for r in records])
    else:
        for r in records:
            j = r.to_json()
            print(f"{r.source}  pages={r.pages} chunks={r.chunks} ingested={j['ingested_at']}")
        print(f"{len(records)} file(s), {sum(r.chunks for r in records)} chunk(s)")
    return 0


def _print_removed(sources: list[str], verb: str) -> None:
    for source in sources:
        print(f"{verb}: {source}")
    if sources:
        print(f"{verb} {len(sources)} file(s) that no longer exist")


def cmd_remove(args: argparse.Namespace) -> int:
    gone = _rag(args).remove(args.paths, all=args.all, dry_run=args.dry_run)
    if args.json:
        _print_json({"removed": gone, "dry_run": args.dry_run})
    elif not gone:
        print("nothing matched")
    else:
        verb = "would remove" if args.dry_run else "removed"
        print("\n".join(f"{verb}: {g}" for g in gone))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    result = _rag(args).check(repair=args.repair)
    if args.json:
        _print_json(result)
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0 if result["consistent"] else EXIT_ERROR


def cmd_inspect(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .loaders import inspect_file

    pages = inspect_file(Path(args.file), pdf_password=args.pdf_password)
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
                                form=args.answer_form, log=_err)
        _print_json(result) if args.json else print(format_answer_quality(result))
        return 0
    if not (args.corpus and args.questions):
        raise UsageError("ragkit eval needs --corpus and --questions, or --answers FILE")
    from .evaluate import run_eval

    result = run_eval(args.corpus, args.questions, args.mode, limit=args.limit,
                      generate=args.generate, unanswerable=args.unanswerable, cache=args.cache,
                      embed_model=args.embed_model, config=args.config, log=_err)
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

    s = command("ingest", "index files and folders (incremental)", cmd_ingest)
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--prune", action="store_true",
                   help="remove files that vanished from under PATH (refused when a PATH is missing or empty)")
    s.add_argument("--dry-run", action="store_true", help="write nothing; with --prune list what it would remove")
    s.add_argument("--pdf-password", help="password for encrypted PDFs")
    s.add_argument("--follow-symlinks", action="store_true",
                   help="also read symbolic links that lead outside PATH (skipped by default)")

    s = command("ask", "answer a question with cited sources", cmd_ask)
    s.add_argument("question")
    s.add_argument("-k", type=_positive_int, help="number of chunks to retrieve (default 5)")
    s.add_argument("--mode", choices=["dense", "lexical", "hybrid"], help="retrieval mode (default hybrid)")
    s.add_argument("--no-stream", action="store_true", help="print the answer only when complete")
    s.add_argument("--retrieve-only", action="store_true", help="print the retrieved chunks, no generation")

    s = command("sources", "list what is in the store", cmd_sources)
    s.add_argument("--pages", action="store_true", help="one line per page: extractor and quality score")

    s = command("remove", "remove files (or folders) from the store", cmd_remove)
    s.add_argument("paths", nargs="*", metavar="PATH")
    s.add_argument("--all", action="store_true", help="allow removing every file of the store")
    s.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")

    s = command("check", "verify that vectors, lexical index and manifest agree", cmd_check)
    s.add_argument("--repair", action="store_true", help="restore agreement (re-ingest to fill gaps)")

    s = command("inspect", "show each unit of a file (page, slide, sheet rows, section) as it will be indexed", cmd_inspect)
    s.add_argument("file")
    s.add_argument("--pdf-password")
    s.add_argument("--chars", type=int, default=60, help="characters of text to show per unit")

    s = command("eval", "measure retrieval (and answers) on a QA set", cmd_eval)
    s.add_argument("--corpus", help="corpus JSONL (context_id, title, context)")
    s.add_argument("--questions", help="questions JSONL (question, answers, context_id)")
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

    command("doctor", "check the installation, models and store", cmd_doctor)
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
    args = parser.parse_args(argv)
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
        _err(f"ragkit: error: {exc}")
        return EXIT_USAGE
    except RagkitError as exc:
        _err(f"ragkit: error: {exc}")
        return EXIT_ERROR
    except OSError as exc:  # the disk, not ragkit: say which file and what to do
        _err(f"ragkit: error: {_os_error(exc)}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("ragkit: interrupted")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
