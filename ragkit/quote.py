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

from ragkit.answer_types import asked_amount, has_kind, in_band
from ragkit.citations import content_chars
from ragkit.query import Query, chunk_words, found_words
from ragkit.text.japanese import split_sentences

CONTEXT_WEIGHT = 0.5  # a question word found only in the previous sentence counts half
SPAN_BONUS = 0.05  # breaks ties towards the sentence the model copied from
TOPIC_WINDOW = 2  # sentences before the quote that may name its subject (ragkit.abstain.missing_topic)
MAX_QUOTE_CHARS = 240  # a longer "sentence" (a page header run into the text, a table) is skipped
_UNIT_START = re.compile(r"^\s*(?:第[0-9一二三四五六七八九十百]+[条章節]|#)")  # an article or heading: a new subject
_TITLE = re.compile(r"^\s*(?:第[0-9一二三四五六七八九十百]+[条章節]\s*[(（]([^)）]{1,40})[)）]|#+\s*(.{1,60}?)(?:\s{2,}|$))")
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
    None when the texts have no sentence.

    Context (counted at ``CONTEXT_WEIGHT``) is the sentence before and the title of the article or
    heading the sentence is under (第15条(繰越と保有上限) names the subject of every sentence of
    its article); it never crosses into the previous article. A question naming an amount (20万円を
    超える) does not find it in a band that excludes it (3万円以上20万円未満), though the band
    shares its words (``ragkit.answer_types.in_band``). A ``procedure`` quote goes on with
    the next sentence of its article: the step often follows the sentence that names the problem.
    """
    span_chars = content_chars(span)
    asked = asked_amount(query.normalized)
    amount_words = query.words & chunk_words(asked[1]) if asked else frozenset()
    best: tuple[tuple, Quote] | None = None
    for i, text in enumerate(texts):
        prev, prev_words = "", frozenset()
        title, title_words = "", frozenset()
        lead, lead_words = "", frozenset()
        recent: list[str] = []
        units = sentences(text)
        for n, sentence in enumerate(units):
            if _UNIT_START.match(sentence):
                recent, prev, prev_words, lead, lead_words = [sentence], "", frozenset(), "", frozenset()
                title = unit_title(sentence)
                title_words = chunk_words(title)
            else:
                recent = (recent + [sentence])[-(TOPIC_WINDOW + 1):]
            if len(sentence) > MAX_QUOTE_CHARS:  # a running page header or a table run, not a sentence
                continue
            words = chunk_words(sentence)
            if _is_item(sentence) and lead:
                prev, prev_words = lead, lead_words  # a list item reads with the sentence that introduces it
                shown = f"{lead} {sentence}"
            else:
                lead, lead_words, shown = sentence, words, sentence
            if kind == "procedure" and n + 1 < len(units) and not _UNIT_START.match(units[n + 1]):
                shown = f"{shown} {units[n + 1]}"
            if query.words:
                have = found_words(query, sentence, words)
                if amount_words and in_band(asked[0], sentence) is False:
                    have -= amount_words  # a band that excludes the asked amount does not hold its words
                own = len(have)
                context = len(found_words(query, f"{prev} {title}", prev_words | title_words) - have)
                coverage = (own + CONTEXT_WEIGHT * context) / len(query.words)
            else:
                coverage = 0.0
            prev, prev_words = sentence, words
            has_span = bool(span_chars) and span_chars in content_chars(shown)
            quote = Quote(i, shown[:MAX_QUOTE_CHARS], coverage, has_kind(kind, sentence, query.normalized),
                          has_span, " ".join(recent))
            key = (quote.typed, coverage + (SPAN_BONUS if has_span else 0.0))
            if best is None or key > best[0]:
                best = (key, quote)
    return best[1] if best else None


def unit_title(sentence: str) -> str:
    """The title of an article or heading that ``sentence`` opens (第15条(繰越と保有上限) …,
    ## English support): the words that name the subject of what follows; "" for other sentences."""
    m = _TITLE.match(sentence)
    return (m.group(1) or m.group(2) or "") if m else ""


def _is_item(sentence: str) -> bool:
    """A list item (・, -, 1., ①): it continues the sentence before the list."""
    return bool(_ITEM.match(sentence))
