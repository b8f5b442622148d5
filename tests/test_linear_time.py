"""Text handling grows linearly with input size (issue 17, defect 6).

Each case times the same work at n and 4n and compares: linear code takes ~4x, the quadratic
code it replaced 16x or more. The best of three runs damps noise from a shared machine.
"""
from __future__ import annotations

import time
from typing import Callable

import pytest

from ragkit.loaders.pdf import load_pdf
from ragkit.testing import HashingEmbedder, many_lines_pdf
from ragkit.text.chunker import chunk_document
from ragkit.text.japanese import split_sentences
from ragkit.text.normalize import normalize
from ragkit.types import Document

LINEAR_AT_MOST = 8.0  # the time ratio for 4x the input; quadratic would be ~16


def _best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def _ratio(make: Callable[[int], object], work: Callable[[object], object], n: int) -> float:
    small, large = make(n), make(4 * n)
    return _best_of(3, lambda: work(large)) / _best_of(3, lambda: work(small))


def _wrapped_ja(lines: int) -> str:
    return "\n".join(["日本語の文章です日本語の文章です日本語の文章です"] * lines)  # one hard-wrapped paragraph, no 。


def _wrapped_en(lines: int) -> str:
    return "\n".join(["this is a wrapped english line"] * lines)


@pytest.mark.parametrize("make", [_wrapped_ja, _wrapped_en], ids=["ja", "en"])
def test_split_sentences_is_linear(make):
    assert _ratio(make, split_sentences, 10_000) < LINEAR_AT_MOST


@pytest.mark.parametrize("make", [_wrapped_ja, _wrapped_en], ids=["ja", "en"])
def test_normalize_is_linear(make):
    assert _ratio(make, normalize, 10_000) < LINEAR_AT_MOST


def test_hyphenated_lines_join_linearly():
    make = lambda n: "\n".join(["a long english line that ends in a hyph-"] * n + ["end"])  # noqa: E731
    assert _ratio(make, normalize, 10_000) < LINEAR_AT_MOST
    assert normalize("a hyphen-\nated word") == "a hyphenated word"


def test_chunking_a_line_without_punctuation_is_linear():
    embedder = HashingEmbedder()
    make = lambda n: Document("x.txt", normalize(_wrapped_ja(n)))  # noqa: E731
    work = lambda doc: chunk_document(doc, embedder.count_tokens, 256)  # noqa: E731
    assert _ratio(make, work, 2_500) < LINEAR_AT_MOST
    doc = make(2_500)
    assert "".join(c.text for c in work(doc)) == doc.text  # no overlap when no sentences


def test_pdf_with_many_lines_is_linear(tmp_path):
    paths = {}

    def make(n: int):
        paths[n] = tmp_path / f"lines{n}.pdf"
        many_lines_pdf(paths[n], n)
        return paths[n]

    small, large = make(5_000), make(20_000)
    ratio = _best_of(2, lambda: load_pdf(large)) / _best_of(2, lambda: load_pdf(small))
    assert ratio < LINEAR_AT_MOST
    assert "l96" in load_pdf(large)[0].text
