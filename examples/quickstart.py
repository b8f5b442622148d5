"""Ingest the sample corpus into a store and ask one question, using the library API.

    python examples/quickstart.py [STORE_DIR] [QUESTION]
"""
from __future__ import annotations

import sys
from pathlib import Path

import ragkit

HERE = Path(__file__).resolve().parent


def main() -> int:
    store = sys.argv[1] if len(sys.argv) > 1 else ".ragkit-example"
    question = sys.argv[2] if len(sys.argv) > 2 else "国内出張の日当は1日あたりいくらですか？"
    rag = ragkit.RAG(store=store)
    report = rag.ingest([HERE.parent / "corpora"])
    print(f"{report.files} files, {report.chunks} chunks written, {report.embedded} embedded", file=sys.stderr)
    answer = rag.ask(question)
    print(answer.text)
    for c in answer.citations:
        page = f" p.{c.page}" if c.page else ""
        print(f"[{c.n}] {Path(c.source).name}{page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
