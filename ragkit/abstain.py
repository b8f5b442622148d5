"""Say "not in the documents" when the retrieved evidence is too weak to answer from.

The evidence score is the share of the question's content words (``Query.words``: MeCab tokens
for Japanese, lower-cased words for English) that occur in the best of the top 3 retrieved chunks. It needs no
model and is comparable across stores, unlike raw BM25 scores, which grow with corpus statistics.

Calibrated with ``ragkit eval`` retrieval on all 300 ja_dev questions (lexical top hit), against
the unanswerable set built by dropping each question's gold article from the hits:

    threshold  answered (answerable)  abstained (unanswerable)
    0.5        0.980                  0.757
    0.6        0.957                  0.910   <- chosen
    0.7        0.907                  0.963
    (top hit only: 0.950 / 0.917 at 0.6, less robust when the best chunk is ranked second)
    BM25 of the top hit reached at most 0.84 abstention at 0.9 answered.
"""
from __future__ import annotations

import re
import unicodedata

from ragkit.answer_types import TYPED, expected_kind
from ragkit.query import Query, as_query, found_words, word_coverage
from ragkit.types import Citation, Hit

MIN_EVIDENCE = 0.6  # Japanese questions (table above)
# English questions: XQuAD en (240), hybrid top 3, unanswerable set built the same way:
#   threshold  answered  abstained
#   0.4        0.971     0.738
#   0.5        0.942     0.858   <- chosen
#   0.6        0.808     0.946   (English questions carry more content words that paraphrase)
MIN_EVIDENCE_EN = 0.5
# The extractive reader's sentence check (ragkit.reader.quoted_answer): the quoted sentence (its
# lead sentence counted half) must cover this share of the question's words, else it abstains;
# a citation is supported from SUPPORT_EVIDENCE on.
# tests/answer_set.jsonl (65 answerable, 13 near misses), bundled models, MIN_SENTENCE / SUPPORT:
#   0.2-0.3 / 0.8: answered 0.908, false support 0.038; 0.4: answered 0.892; 0.5: 0.877 (abstained
#   0.31 / 0.38 / 0.54 without the identifier rule); SUPPORT 0.5 / 0.6 / 0.7: false support 0.167 /
#   0.141 / 0.077. Near misses cover the quote as well as paraphrased real questions do (来客 vs
#   社員用駐車場 0.83, 賞与 0.5 vs 弁当代 0.5): coverage cannot tell them apart.
MIN_SENTENCE_EVIDENCE = 0.3
SUPPORT_EVIDENCE = 0.8
_IDENTIFIER = re.compile(r"[A-Za-z]+-?[0-9]+[A-Za-z0-9-]*")  # PX-8, E-45: a name, not a quantity


def missing_identifiers(question: "str | Query", text: str) -> list[str]:
    """Model numbers and codes of the question (PX-8, E-45) that ``text`` does not contain: a
    different code is a different thing, however many other words match (PX-8 warranty vs the
    PX-7 manual)."""
    have = unicodedata.normalize("NFKC", text).lower().replace(" ", "")
    return [i for i in _IDENTIFIER.findall(as_query(question).normalized) if i.lower() not in have]


def missing_topic(question: "str | Query", context: str) -> list[str]:
    """Words of the question's topic (``Query.topic``: 海外/出張/宿泊 in 海外出張の宿泊費は…) that
    ``context`` (the quoted sentence and the sentences before it) holds neither as a word (or a
    listed synonym, or the same kanji: ``ragkit.query.found_words``) nor as text (two characters or
    more: 新入社員 inside a compound). Any missing word means the sentence is about something else.
    The reader passes the document's title with the context (経費精算規程 names what its 第6条 is
    about). The last noun of a topic of several (略称 in 国際連合休戦監視機構の略称は) names what is
    asked, not what it is asked about, and need not be there unless the question wants a typed
    answer (住所 in 新横浜第二工場の住所は must be, or 第二工場's start date would answer it).
    On all 300 ja_dev questions (no model, the quote chosen without a span): answered 0.893 →
    0.900 with the title → 0.923 with the last noun optional; their near misses abstained 0.953 →
    0.953 → 0.947; tests/answer_set.jsonl unchanged (its near misses all abstain).

    tests/answer_set.jsonl, Japanese questions, bundled models, topic words looked for in the quote
    alone / with one / two sentences before it: near misses caught 9 / 9 / 9 of 9, answerable
    questions turned away 11 / 5 / 4 (the four were answered wrongly or abstained without the
    rule). With it the whole set went from abstention 0.46 to 0.92 at answer rate 0.91."""
    query = as_query(question)
    if not query.topic:
        return []
    found = found_words(query, context)
    text = unicodedata.normalize("NFKC", context).lower()
    # the last noun of a longer topic names what is asked (…の略称, …の割合): the answer often
    # says it in its own way ((UNTSO), 20-40%), unless the question wants a typed answer
    needed = query.topic[:-1] if len(query.topic) > 1 and expected_kind(query) not in TYPED else query.topic
    return [w for w in needed if w not in found and not (len(w) > 1 and w in text)]


EVIDENCE_DEPTH = 3  # the prompt's sources (k=3 for the bundled model); best of them counts
CLOSEST_SOURCES = 3  # listed with an abstention so the user can still look


def evidence(question: "str | Query", hits: list[Hit], depth: int = EVIDENCE_DEPTH) -> float:
    """Largest share (0..1) of the question's content tokens found in one of the first ``depth``
    hits' texts; 0 without hits."""
    query = as_query(question)
    if not hits or not query.words:
        return 0.0
    return max(word_coverage(query, h.chunk.text) for h in hits[:depth])


def min_evidence_for(question: "str | Query") -> float:
    """The calibrated threshold for the question's language."""
    return MIN_EVIDENCE if as_query(question).language == "ja" else MIN_EVIDENCE_EN


def should_abstain(question: "str | Query", hits: list[Hit], min_evidence: float | None = None) -> bool:
    """True when the evidence for ``question`` in ``hits`` is below ``min_evidence`` (default:
    the threshold for the question's language)."""
    query = as_query(question)
    if min_evidence is None:
        min_evidence = min_evidence_for(query)
    return evidence(query, hits) < min_evidence


def closest_sources(hits: list[Hit], n: int = CLOSEST_SOURCES) -> list[Citation]:
    """The best ``n`` hits as citations flagged ``supported=False``: shown beside an abstention,
    not vouching for any answer."""
    return [Citation.of(i, h, " ".join(h.chunk.text.split())[:200], supported=False)
            for i, h in enumerate(hits[:n], 1)]
