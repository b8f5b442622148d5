"""A question, read once: its normalised text, language and tokens, shared by every step of an answer.

Retrieval (BM25 query), the evidence check (abstention), the reader's chunk choice and the prompt
all look at the same question. ``make_query`` normalises it (NFKC), detects its language and runs
MeCab over it exactly once; the steps read the fields they need. Chunk tokens are cached for the
few answers in flight, because the evidence check and the chunk choice look at the same top chunks.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Sequence

from ragkit.errors import UsageError
from ragkit.text.japanese import analyze_forms, analyze_question, index_tokens
from ragkit.text.normalize import normalize
from ragkit.text.synonyms import alternatives
from ragkit.text.script import language_of


_KANJI_KANA = re.compile(r"[\u4e00-\u9fffぁ-ゖ々]+")
_HIRAGANA = re.compile(r"[ぁ-ゖ]")

# Words of the asking, not of the thing asked (…もらえますか, …ればいいですか, how long, 何分): a
# document does not contain them, so they would read as missing evidence. Measured on
# tests/answer_set.jsonl: answerable questions answered 0.78 → see ragkit.abstain.
ASKING_WORDS = frozenset(
    "いい 良い よい もらえる もらう 貰う 貰える くれる たつ 経つ とき まま しれる つく できる 出来る 使える 持てる "
    "取れる 働ける 買える 教える 知る 分かる わかる 必要 much many long often need mean".split())


@dataclass(frozen=True)
class Query:
    """``text`` as asked; ``normalized`` (NFKC, spaces collapsed) is what every step reads;
    ``tokens`` every index-form token in order; ``content_tokens`` the content words (all tokens
    when there are none), which BM25 searches; ``match_tokens`` the same content words in match
    form (``ragkit.text.japanese.match_form``: dictionary form, aliases such as 今年 → 年度), which
    the evidence check and the reader compare with documents."""

    text: str
    normalized: str
    language: str
    tokens: tuple[str, ...]
    content_tokens: tuple[str, ...]
    match_tokens: tuple[str, ...] = ()
    topic: tuple[str, ...] = ()  # the nouns of the phrase the question is about (``topic_of``)

    @cached_property
    def words(self) -> frozenset[str]:
        """Content words in match form, English inflection folded: what must occur in a chunk as
        evidence (``chunk_words``)."""
        return frozenset(w for w in fold_words(self.match_tokens or self.content_tokens)
                         if w not in ASKING_WORDS and not w.startswith("何")) or frozenset(
            fold_words(self.match_tokens or self.content_tokens))

    @cached_property
    def search_tokens(self) -> tuple[str, ...]:
        """What BM25 searches: the content tokens, then the index tokens of the words documents
        use for an everyday word of the question (``ragkit.text.synonyms``: 本 → 書籍), so the
        passage that says it formally is found too."""
        extra = [t for w in sorted(self.words) for alt in alternatives(w) for t in index_tokens(alt)]
        return tuple(dict.fromkeys([*self.content_tokens, *extra]))

    @cached_property
    def pairs(self) -> frozenset[tuple[str, str]]:
        """Adjacent token pairs, function words included: they carry the question's phrasing."""
        return frozenset(adjacent_pairs(self.tokens))


def make_query(question: str) -> Query:
    """Read ``question`` once (one MeCab pass); raises UsageError (a ValueError) when it has no text."""
    normalized = normalize(question, join=False)
    if not normalized:
        raise UsageError("the question is empty; ask something, e.g. ragkit ask \"経費の申請期限は？\"")
    analyzed, topic = analyze_question(normalized)
    content = [(tok, form) for tok, form, is_content in analyzed if is_content] or [
        (tok, form) for tok, form, _ in analyzed]
    return Query(text=question.strip(), normalized=normalized, language=language_of(normalized),
                 tokens=tuple(tok for tok, _, _ in analyzed), content_tokens=tuple(t for t, _ in content),
                 match_tokens=tuple(f for _, f in content), topic=topic)


def as_query(question: "str | Query") -> Query:
    """``question`` itself when it is already a Query, else ``make_query(question)``."""
    return question if isinstance(question, Query) else make_query(question)


def _stem(token: str) -> str:
    """Crude English suffix folding (replaced/replace, dishes/dish) so inflection does not read as
    missing evidence; Japanese tokens pass unchanged."""
    if token.isascii() and len(token) > 4:
        for suffix in ("ing", "ed", "es", "s", "e"):
            if token.endswith(suffix) and len(token) - len(suffix) >= 3:
                return token[: -len(suffix)]
    return token


def fold_words(tokens: Sequence[str]) -> set[str]:
    """Tokens with English inflection folded, as a set."""
    return {_stem(t) for t in tokens}


def adjacent_pairs(tokens: Sequence[str]) -> set[tuple[str, str]]:
    """Adjacent token pairs of a token sequence."""
    return set(zip(tokens, tokens[1:]))


@lru_cache(maxsize=256)
def _chunk_forms(text: str) -> tuple[tuple[str, ...], frozenset[str]]:
    analyzed = analyze_forms(text)
    return tuple(tok for tok, _, _ in analyzed), frozenset(fold_words([form for _, form, _ in analyzed]))


def chunk_tokens(text: str) -> tuple[str, ...]:
    """MeCab index tokens of a chunk (one pass, cached with ``chunk_words`` for the few answers
    in flight)."""
    return _chunk_forms(text)[0]


def chunk_words(text: str) -> frozenset[str]:
    """Every word of a chunk in match form, English inflection folded."""
    return _chunk_forms(text)[1]


def word_coverage(query: Query, text: str) -> float:
    """Share (0..1) of the query's content words that occur in ``text`` (both in match form);
    0 for a query without any."""
    if not query.words:
        return 0.0
    return len(found_words(query, text)) / len(query.words)


def found_words(query: Query, text: str, words: frozenset[str] | None = None) -> frozenset[str]:
    """The query's words that ``text`` holds: as words (``chunk_words``, or ``words`` when the
    caller has them), for an everyday word as one of the words documents use for it
    (``ragkit.text.synonyms``: 残業 → 時間外労働), or as a word with the same kanji
    (``kanji_stem``: 振り込む → 振込)."""
    words = chunk_words(text) if words is None else words
    found = query.words & words
    rest = [w for w in query.words - found if alternatives(w)]
    if rest:
        folded = unicodedata.normalize("NFKC", text).lower()
        found |= {w for w in rest if any(alt in folded for alt in alternatives(w))}
    stems = {w: kanji_stem(w) for w in query.words - found}
    if any(stems.values()):
        theirs = {kanji_stem(w) for w in words}
        found |= {w for w, stem in stems.items() if stem and stem in theirs}
    return found


def kanji_stem(word: str) -> str:
    """The kanji of a word written with okurigana (振り込む, 振込, 振り込み → 振込; 繰り越し → 繰越),
    so a verb matches its noun and either spelling matches the other; "" for a word with fewer than
    two kanji or any character other than kanji and hiragana (a name, a number, katakana)."""
    if not _KANJI_KANA.fullmatch(word):
        return ""
    stem = _HIRAGANA.sub("", word)
    return stem if len(stem) >= 2 else ""


def phrase_overlap(query: Query, text: str) -> float:
    """Share (0..1) of the query's adjacent token pairs that ``text`` also has."""
    if not query.pairs:
        return 0.0
    return len(query.pairs & adjacent_pairs(chunk_tokens(text))) / len(query.pairs)
