"""The sentence of a source that carries the answer: what the extractive reader quotes.

A small base model's bare span is often the wrong one (``社内システム`` for 何文字以上); the sentence
around the right span is useful even when the span is not. ``best_sentence`` scores each sentence of
the sources by the question's content words it covers (in match form, ``ragkit.query``), counting
the sentence before it as context (a list item ``・20万円以上：管理本部長`` follows the sentence that
names the subject), and keeps only sentences that hold an answer of the expected kind
(``ragkit.answer_types``); among equals it prefers the one holding the model's span.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ragkit.answer_types import has_kind
from ragkit.citations import content_chars
from ragkit.query import Query, chunk_words, found_words
from ragkit.text.japanese import split_sentences

CONTEXT_WEIGHT = 0.5  # a question word found only in the previous sentence counts half
SPAN_BONUS = 0.05  # breaks ties towards the sentence the model copied from
TOPIC_WINDOW = 2  # sentences before the quote that may name its subject (ragkit.abstain.missing_topic)
MAX_QUOTE_CHARS = 240  # a longer "sentence" (a page header run into the text, a table) is skipped
_UNIT_START = re.compile(r"^\s*(?:第[0-9一二三四五六七八九十百]+[条章節]|#)")  # an article or heading: a new subject
_ITEM = re.compile(r"^\s*(?:[-*+•・●○◆■□]|\d{1,2}[.)](?:\s|$)|[（(]\d{1,2}[)）])")


@dataclass(frozen=True)
class Quote:
    """``sentence`` of source ``source`` (index into the sources given), its question-word
    ``coverage`` (0..1, previous sentence counted at ``CONTEXT_WEIGHT``), whether it holds an
    answer of the expected kind (``typed``) and the model's span (``has_span``); ``context`` is the
    sentence with up to ``TOPIC_WINDOW`` sentences before it in the same article (第11条…) or
    section, where its subject may be named."""

    source: int
    sentence: str
    coverage: float
    typed: bool
    has_span: bool
    context: str = ""


def sentences(text: str) -> list[str]:
    """The sentences of a chunk, whitespace runs collapsed."""
    return [" ".join(text[a:b].split()) for a, b in split_sentences(text)]


def best_sentence(query: Query, kind: str | None, texts: list[str], span: str = "") -> Quote | None:
    """The sentence of ``texts`` that best answers ``query``: typed sentences first, then by
    coverage (+ ``SPAN_BONUS`` when it holds ``span``), earlier sources and sentences on ties.
    None when the texts have no sentence."""
    span_chars = content_chars(span)
    best: tuple[tuple, Quote] | None = None
    for i, text in enumerate(texts):
        prev_words: frozenset[str] = frozenset()
        lead, lead_words = "", frozenset()
        recent: list[str] = []
        for sentence in sentences(text):
            recent = [sentence] if _UNIT_START.match(sentence) else (recent + [sentence])[-(TOPIC_WINDOW + 1):]
            if len(sentence) > MAX_QUOTE_CHARS:  # a running page header or a table run, not a sentence
                continue
            words = chunk_words(sentence)
            if _is_item(sentence) and lead:
                prev_words = lead_words  # a list item reads with the sentence that introduces it
                shown = f"{lead} {sentence}"
            else:
                lead, lead_words, shown = sentence, words, sentence
            if query.words:
                have = found_words(query, sentence, words)
                own = len(have)
                context = len((query.words - have) & prev_words)
                coverage = (own + CONTEXT_WEIGHT * context) / len(query.words)
            else:
                coverage = 0.0
            prev_words = words
            has_span = bool(span_chars) and span_chars in content_chars(sentence)
            quote = Quote(i, shown[:MAX_QUOTE_CHARS], coverage, has_kind(kind, sentence, query.normalized),
                          has_span, " ".join(recent))
            key = (quote.typed, coverage + (SPAN_BONUS if has_span else 0.0))
            if best is None or key > best[0]:
                best = (key, quote)
    return best[1] if best else None


def _is_item(sentence: str) -> bool:
    """A list item (・, -, 1., ①): it continues the sentence before the list."""
    return bool(_ITEM.match(sentence))
