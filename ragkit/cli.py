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
from .errors import RagkitError, UsageError

EXIT_ERROR, EXIT_USAGE, EXIT_FILES_FAILED = 1, 2, 3


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _rag(args: argparse.Namespace, **overrides):
    from .pipeline import RAG

    return RAG(store=args.store, config=args.config, **overrides)


def _fmt_page(page: int | None) -> str:
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
            bar.set_postfix_str(path[-40:], refresh=False)
            bar.update(1)
    elif not args.json:
        def on_file(i: int, total: int, path: str) -> None:
            _err(f"[{i}/{total}] {path}")
    report = rag.ingest(args.paths, prune=args.prune, dry_run=args.dry_run, on_file=None if args.dry_run else on_file)
    if bar is not None:
        bar.close()
    if args.json:
        _print_json(report.to_json())
    elif args.dry_run:
        print(f"dry run: {report.files} file(s) found, nothing written")
        _print_removed(report.removed, "would remove")
    else:
        for w in report.warnings:
            _err(f"warning: {w['path']}{_fmt_page(w['page'])}: {w['reason']}")
        for f in report.failed:
            _err(f"failed: {f['path']}: {f['reason']}")
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
                print(f"{i}. {h.chunk.source}{_fmt_page(h.chunk.page)}  score={h.score:.4f}\n   {snippet}")
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
        print(f"[{c.n}] {c.source}{_fmt_page(c.page)}{flag}")
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

    from .loaders import inspect_pdf

    pages = inspect_pdf(Path(args.file), pdf_password=args.pdf_password)
    if args.json:
        _print_json({"file": args.file, "pages": pages})
    else:
        for p in pages:
            head = p["text"].replace("\n", " ")[: args.chars]
            print(f"p.{p['page']:>3}  {p['extractor']:<10} quality={p['quality']:.2f}  {head}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import run_cli

    return run_cli(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import run_cli

    return run_cli(args)


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ragkit", description="Ask questions about your own documents, fully offline.")
    p.add_argument("--version", action="version", version=f"ragkit {__version__}")
    p.add_argument("--store", help="store directory (env RAGKIT_STORE, default ./.ragkit)")
    p.add_argument("--config", help="config file (env RAGKIT_CONFIG, default ./ragkit.toml if present)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("ingest", help="index files and folders (incremental)")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--prune", action="store_true",
                   help="remove files that vanished from under PATH (refused when a PATH is missing or empty)")
    s.add_argument("--dry-run", action="store_true", help="write nothing; with --prune list what it would remove")
    s.add_argument("--pdf-password", help="password for encrypted PDFs")
    s.add_argument("--json", action="store_true", help="print one JSON summary")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("ask", help="answer a question with cited sources")
    s.add_argument("question")
    s.add_argument("-k", type=_positive_int, help="number of chunks to retrieve (default 5)")
    s.add_argument("--mode", choices=["dense", "lexical", "hybrid"], help="retrieval mode (default hybrid)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--no-stream", action="store_true", help="print the answer only when complete")
    s.add_argument("--retrieve-only", action="store_true", help="print the retrieved chunks, no generation")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("sources", help="list what is in the store")
    s.add_argument("--pages", action="store_true", help="one line per page: extractor and quality score")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_sources)

    s = sub.add_parser("remove", help="remove files (or folders) from the store")
    s.add_argument("paths", nargs="*", metavar="PATH")
    s.add_argument("--all", action="store_true", help="allow removing every file of the store")
    s.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_remove)

    s = sub.add_parser("check", help="verify that vectors, lexical index and manifest agree")
    s.add_argument("--repair", action="store_true", help="restore agreement (re-ingest to fill gaps)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("inspect", help="show how each page of a PDF is extracted")
    s.add_argument("file")
    s.add_argument("--pdf-password")
    s.add_argument("--chars", type=int, default=60, help="characters of text to show per page")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_inspect)

    s = sub.add_parser("eval", help="measure retrieval (and answers) on a QA set")
    s.add_argument("--corpus", required=True, help="corpus JSONL (context_id, title, context)")
    s.add_argument("--questions", required=True, help="questions JSONL (question, answers, context_id)")
    s.add_argument("--mode", default="dense,lexical,hybrid", help="comma-separated modes")
    s.add_argument("--embed-model", help="embedding model folder to evaluate")
    s.add_argument("--limit", type=int, help="only the first N questions")
    s.add_argument("--generate", action="store_true", help="also generate and score answers")
    s.add_argument("--unanswerable", action="store_true", help="also measure abstention")
    s.add_argument("--cache", help="where eval stores are cached (default ~/.cache/ragkit-eval)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("doctor", help="check the installation, models and store")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_doctor)
    return p


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
