"""Does ingest time grow linearly with a file's size? (issue 17, defect 6)

    .venv/bin/python bench/ingest_scaling.py

Ingests one generated Japanese text file of 1 MB and one of 20 MB (the shared corpora's
sentences recombined, hard-wrapped at 40 characters into paragraphs), each into a fresh store,
and a one-page PDF of 30k short lines. The headline ``ingest_s_per_mb_20mb_over_1mb`` is the
time per MB at 20 MB over the time per MB at 1 MB: 1.0 is linear, the goal is <= 1.3.

The embedder is ``ragkit.testing.HashingEmbedder`` (the fake): the real one dominates the time
and is linear anyway (per chunk), so with it the ratio would say little about ragkit's own
loading, normalising, splitting, chunking, MeCab tokenising and store writes, which are what this
measures. Everything runs in this process; the figure is one run per size.
"""
from __future__ import annotations

import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import WORK, japanese_sentences, update_results  # noqa: E402
from ragkit.pipeline import RAG  # noqa: E402
from ragkit.testing import HashingEmbedder, many_lines_pdf  # noqa: E402

MB = 1024 * 1024
WRAP = 40


def write_japanese(path: Path, size: int, sentences: list[str], seed: int = 0) -> None:
    """About ``size`` bytes of paragraphs (8 sentences each) hard-wrapped at ``WRAP`` characters."""
    rng = random.Random(seed)
    parts, written = [], 0
    while written < size:
        para = "".join(rng.choice(sentences) for _ in range(8))
        block = "\n".join(para[i:i + WRAP] for i in range(0, len(para), WRAP)) + "\n\n"
        parts.append(block)
        written += len(block.encode("utf-8"))
    path.write_text("".join(parts), encoding="utf-8")


def time_ingest(path: Path, work: Path) -> float:
    """Seconds to ingest ``path`` into a fresh store with the fake embedder."""
    store = work / f"store-{path.stem}"
    shutil.rmtree(store, ignore_errors=True)
    rag = RAG(store=store, embedder=HashingEmbedder())
    started = time.perf_counter()
    report = rag.ingest([path])
    seconds = time.perf_counter() - started
    assert not report.failed, report.failed
    print(f"{path.name}: {path.stat().st_size / MB:.2f} MB, {report.chunks} chunks, {seconds:.1f} s", flush=True)
    return seconds


def main() -> None:
    work = WORK / "ingest_scaling"
    work.mkdir(parents=True, exist_ok=True)
    sentences = japanese_sentences()
    per_mb = {}
    for mb in (1, 20):
        path = work / f"ja_{mb}mb.txt"
        write_japanese(path, mb * MB, sentences)
        per_mb[mb] = time_ingest(path, work) / (path.stat().st_size / MB)
    pdf = work / "lines_30k.pdf"
    many_lines_pdf(pdf, 30_000)
    pdf_s = time_ingest(pdf, work)
    ratio = per_mb[20] / per_mb[1]
    print(f"s per MB: 1 MB {per_mb[1]:.2f}, 20 MB {per_mb[20]:.2f}")
    print(f"ingest_s_per_mb_20mb_over_1mb = {ratio:.2f} (goal <= 1.3)")
    print(f"30k-line PDF: {pdf_s:.1f} s")
    update_results({"ingest_scaling": {
        "embedder": "HashingEmbedder (fake)",
        "s_per_mb_1mb": round(per_mb[1], 3),
        "s_per_mb_20mb": round(per_mb[20], 3),
        "ingest_s_per_mb_20mb_over_1mb": round(ratio, 3),
        "pdf_30k_lines_s": round(pdf_s, 2),
    }})


if __name__ == "__main__":
    main()
