"""Japanese-aware sentence splitting and lexical tokens (fugashi + unidic-lite).

``split_sentences`` cuts text into sentence spans: at 。！？!?, at an English '.' that ends a sentence,
and at line breaks of line-structured text, never inside 「」『』()【】 and similar brackets. Brackets
are matched within a paragraph and at most ``_MAX_BRACKET`` characters, so an unclosed bracket cannot
swallow the rest of a document.

``index_tokens`` / ``query_tokens`` give the words the BM25 index stores and searches. The token form
(``TOKEN_FORM``) was chosen by measurement (``bench/lexical_tokens.py``, SQLite FTS5 bm25): MeCab
surfaces beat lemmas and dictionary forms on R@1 and MRR on every Japanese set (ja_dev R@1 0.870
vs lemma 0.857, R@5 0.950 vs 0.953; JaQuAD R@1 0.963 vs 0.953) and skip reading MeCab features,
which makes indexing about twice as fast. unidic lemmas turn proper nouns into katakana readings
(東京 → トウキョウ, 富士 → フジ), merging unrelated names. One tagger serves every thread, one parse
at a time (``_TAGGER_LOCK``): MeCab's nodes point into the tagger's last parse.
"""
from __future__ import annotations

import bisect
import re
import threading
import unicodedata
from typing import Any, Iterator

from ragkit.text.normalize import LIST_MARKER
from ragkit.text.script import is_cjk

# ---------------------------------------------------------------- sentences

_OPEN_TO_CLOSE = {
    "「": "」", "『": "』", "(": ")", "（": "）", "【": "】", "[": "]", "［": "］",
    "〔": "〕", "〈": "〉", "《": "》", "“": "”",
}
_CLOSE_TO_OPEN = {c: o for o, c in _OPEN_TO_CLOSE.items()}
_BRACKET_OR_PARA = re.compile(
    "[" + re.escape("".join(_OPEN_TO_CLOSE) + "".join(_CLOSE_TO_OPEN)) + r"]|\n[ \t\u3000]*\n"
)
_MAX_BRACKET = 500  # a "bracket" longer than this is taken as a stray opener, not a quote
_CLOSERS = set(_CLOSE_TO_OPEN) | {'"', "'", "’"}
_TERMINAL = re.compile(r"[。！？!?]+|[.．]+|\n")
_QUOTE_CONTINUES = ("と", "って")  # 「…。」と言った: the quote goes on as part of the sentence
_ABBREVIATIONS = frozenset(
    "e.g i.e etc cf vs mr mrs ms dr prof st jr sr no nos fig figs eq al approx dept inc ltd co corp "
    "jan feb mar apr jun jul aug sep sept oct nov dec vol pp p ed eds est min max ca a.m p.m".split()
)
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_LINE_NUMBER_BEFORE = re.compile(r"(?:^|\n)[ \t]*\d{1,3}$")


def _protected_spans(text: str) -> tuple[list[int], list[int]]:
    """Outermost matched bracket spans as parallel sorted lists of open and close positions."""
    stack: list[tuple[str, int]] = []
    spans: list[tuple[int, int]] = []
    for m in _BRACKET_OR_PARA.finditer(text):
        ch, pos = m.group(), m.start()
        if ch[0] == "\n":
            stack.clear()  # a paragraph break closes every open bracket
        elif ch in _OPEN_TO_CLOSE and not (ch == "(" and stack and stack[-1][0] == "“"):
            stack.append((ch, pos))
        elif ch in _CLOSE_TO_OPEN:
            opener = _CLOSE_TO_OPEN[ch]
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == opener:
                    start = stack[depth][1]
                    del stack[depth:]
                    if pos - start <= _MAX_BRACKET:
                        spans.append((start, pos))
                    break
    spans.sort()
    opens: list[int] = []
    closes: list[int] = []
    for start, end in spans:
        if closes and start < closes[-1]:
            closes[-1] = max(closes[-1], end)  # nested: keep the outermost
        else:
            opens.append(start)
            closes.append(end)
    return opens, closes


def _inside(cut: int, opens: list[int], closes: list[int]) -> bool:
    """True when cutting before ``cut`` would split a protected bracket span."""
    i = bisect.bisect_left(opens, cut) - 1
    return i >= 0 and cut <= closes[i]


def _period_ends_sentence(text: str, start: int, after: int) -> bool:
    """An ASCII/full-width '.' run at ``start`` ends a sentence (``after`` = index past closers)."""
    nxt = text[after] if after < len(text) else ""
    prev = text[start - 1] if start else ""
    if prev and is_cjk(prev) and (not nxt or nxt.isspace() or is_cjk(nxt)):
        return True  # Japanese written with a full-width period (NFKC makes it '.')
    if nxt and not nxt.isspace():
        return False  # 3.5, e.g, example.com
    if after - start == 1 or text[start:after].strip(".") != "":
        head = text[max(0, start - 24):start]
        word = _WORD_BEFORE.search(head)
        if word and (word.group(1).lower() in _ABBREVIATIONS or len(word.group(1)) == 1):
            return False  # e.g. / Mr. / J. Smith
        if _LINE_NUMBER_BEFORE.search(head):
            return False  # "1. item" list number
    return True


def _line_break_ends(text: str, pos: int) -> bool:
    """A single line break ends a sentence unless it wraps an English sentence.

    Looks back from ``pos`` in place: copying ``text[:pos]`` per break made splitting quadratic."""
    end = pos
    while end > 0 and text[end - 1] in " \t\u3000":
        end -= 1
    after_pos = pos + 1
    while after_pos < len(text) and text[after_pos] in " \t\u3000":
        after_pos += 1
    if after_pos >= len(text) or text[after_pos] == "\n" or not end:
        return True
    nxt, last = text[after_pos], text[end - 1]
    line_start = text.rfind("\n", 0, end) + 1
    if LIST_MARKER.match(text, line_start) or LIST_MARKER.match(text, after_pos):
        return True
    return not (nxt.isascii() and nxt.islower() and (last.isalnum() or last in ",;-"))


def _closer_ends(text: str, end: int, after: int) -> bool:
    """After 。」 the sentence ends unless the quote goes on (「…。」と言った); after 。） only
    before a space, a line break, a new bracket or the end (（税込。）です goes on)."""
    if after >= len(text) or text[after].isspace() or text[after] in _OPEN_TO_CLOSE:
        return True
    if text[after - 1] in "」』":
        return not text.startswith(_QUOTE_CONTINUES, after)
    return False


def _cuts(text: str) -> list[int]:
    """Positions where a new sentence may start."""
    opens, closes = _protected_spans(text)
    cuts = []
    n = len(text)
    for m in _TERMINAL.finditer(text):
        start, end = m.start(), m.end()
        ch = m.group()[0]
        if ch == "\n":
            if _line_break_ends(text, start) and not _inside(end, opens, closes):
                cuts.append(end)
            continue
        after = end
        while after < n and text[after] in _CLOSERS:
            after += 1
        if ch in ".．":
            if not _period_ends_sentence(text, start, after):
                continue
        elif ch in "!?" and after < n and text[after].isascii() and (
            text[after].isalnum() or text[after] in "=&/_-%#.,:;"
        ):
            continue  # a.php?x=1, Yahoo!Japan
        if after > end and not _closer_ends(text, end, after):
            continue
        if not _inside(after, opens, closes):
            cuts.append(after)
    return cuts


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) into ``text``, in order, non-overlapping, stripped of surrounding
    whitespace, together covering every non-whitespace character of ``text``."""
    spans = []
    prev = 0
    for cut in [*_cuts(text), len(text)]:
        if cut <= prev:
            continue
        seg = text[prev:cut]
        left = len(seg) - len(seg.lstrip())
        right = len(seg.rstrip())
        if right > left:
            spans.append((prev + left, prev + right))
        prev = cut
    return spans


# ---------------------------------------------------------------- tokens

TOKEN_FORM = "surface"  # "surface" | "lemma" | "orth" or two joined by "+": see bench/lexical_tokens.py
_TAGGER: Any = None
_TAGGER_LOCK = threading.Lock()
_DROP_POS = frozenset({"助詞", "助動詞", "補助記号", "記号", "空白", "接続詞", "感動詞", "連体詞", "代名詞"})
_QUESTION_WORDS = frozenset(
    "何 なに なん どこ 何処 いつ 何時 誰 だれ どう どの どれ 何れ どちら どんな 如何 なぜ 何故 幾つ いくつ "
    "いくら 幾ら どのよう どれほど 何人 為る 有る 居る 成る 出来る 言う 思う 事 こと 物 もの 所 ところ "
    "よう 様 ため 為".split()
)
_EN_STOP = frozenset(
    "a an the and or not no nor but if then else of to in on at by for with from into onto over under "
    "about as is are was were be been being am do does did done doing have has had having will would "
    "shall should can could may might must it its it's this that these those there here what which who "
    "whom whose when where why how i me my we our you your he him his she her they them their "
    "so than too very s t just also any all each some such only own same other more most both few "
    "near up down out off again further once".split()
)
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


def _tagger() -> Any:
    """The one MeCab tagger, created on first use (loading the dictionary takes ~0.1 s)."""
    global _TAGGER
    if _TAGGER is None:
        import fugashi

        _TAGGER = fugashi.Tagger()
    return _TAGGER


def _is_symbol(token: str) -> bool:
    return all(unicodedata.category(ch)[0] in "PSZC" for ch in token)


def _word_forms(word: Any, surface: str, form: str) -> list[str]:
    """The token(s) ``form`` asks for, from one MeCab node (reading features is the slow part)."""
    forms: list[str] = []
    for name in form.split("+"):
        if name == "surface":
            tok = surface
        elif name == "lemma":  # "コンピューター-computer" → "コンピューター"; 東京 → トウキョウ
            tok = (word.feature.lemma or surface).split("-", 1)[0] or surface
        else:  # "orth": dictionary form in the original script (行っ → 行く, 東京 stays)
            tok = word.feature.orthBase
            tok = surface if not tok or tok == "*" else tok
        tok = tok.lower()
        if tok not in forms:
            forms.append(tok)
    return forms


def _is_function_word(word: Any, surface: str) -> bool:
    """Particles, auxiliaries, pronouns, question words and light verbs: noise in a query."""
    feature = word.feature
    lemma = (feature.lemma or surface).split("-", 1)[0]
    return feature.pos1 in _DROP_POS or lemma in _QUESTION_WORDS or surface in _QUESTION_WORDS


def analyze(text: str, form: str = TOKEN_FORM) -> list[tuple[str, bool]]:
    """One MeCab pass over NFKC ``text``: every token in ``form`` with whether it is a content
    word (not a particle, auxiliary, question word, light verb or English stop word). Symbols are
    dropped. A question is read once through this; ``ragkit.query`` keeps both views."""
    return list(_tokens(text, form, judge=True))


def tokenize(text: str, form: str = TOKEN_FORM, content_only: bool = False) -> list[str]:
    """MeCab tokens of NFKC ``text`` in ``form`` ("surface", "lemma", "orth", "surface+lemma"…),
    Latin words as lower-cased surfaces, symbols dropped; ``content_only`` keeps content words."""
    if content_only:
        return [tok for tok, content in _tokens(text, form, judge=True) if content]
    return [tok for tok, _ in _tokens(text, form, judge=False)]


def _tokens(text: str, form: str, judge: bool) -> list[tuple[str, bool]]:
    """(token, is content word); without ``judge`` every token is reported as content and no
    MeCab feature is read (indexing is about twice as fast that way)."""
    text = unicodedata.normalize("NFKC", text)
    with _TAGGER_LOCK:  # the nodes are read before another thread's parse replaces them
        return list(_word_tokens(_tagger()(text), form, judge))


def _word_tokens(words: Any, form: str, judge: bool) -> Iterator[tuple[str, bool]]:
    for word in words:
        surface = word.surface
        if surface.isascii():
            # Latin script and digits: lower-cased words; unidic's lemma of English is noise
            for tok in _LATIN_WORD.findall(surface.lower()):
                yield tok, not (judge and tok in _EN_STOP)
        elif _is_symbol(surface):
            continue
        else:
            content = not (judge and _is_function_word(word, surface))
            toks = [surface.lower()] if form == "surface" else _word_forms(word, surface, form)
            for tok in toks:
                yield tok, content


def index_tokens(text: str) -> list[str]:
    """Tokens to index a chunk for BM25: MeCab tokens for Japanese, lower-cased Latin words, NFKC,
    pure punctuation/symbol tokens dropped."""
    return tokenize(text, TOKEN_FORM)


def query_tokens(text: str) -> list[str]:
    """Content-word tokens of a question, normalised like ``index_tokens`` so they match; falls back
    to all tokens when the filter leaves nothing (``ragkit.query.Query`` reads a question once)."""
    return content_or_all(analyze(text))


def content_or_all(analyzed: list[tuple[str, bool]]) -> list[str]:
    """The content words of an ``analyze`` result, or every token when there are none."""
    return [tok for tok, content in analyzed if content] or [tok for tok, _ in analyzed]


# ---------------------------------------------------------------- match forms

# Words a question and a document spell differently for the same thing (after NFKC and lemma):
# 今年 ↔ 今年度 (年度), ノートPC ↔ ノートパソコン. Keys and values are match forms.
MATCH_ALIASES = {"今年": "年度", "本年": "年度", "今年度": "年度", "pc": "パソコン", "テレワーク": "在宅",
                 "か月": "月", "ヶ月": "月", "カ月": "月", "ケ月": "月", "箇月": "月"}
_INFLECTING = frozenset({"動詞", "形容詞", "形状詞"})


def match_form(word: Any, surface: str) -> str:
    """The form two texts are matched in: the dictionary form (unidic ``orthBase``) for inflecting
    words (受け取り → 受け取る), the surface for nouns (unidic lemmas turn names into readings),
    lower case, then ``MATCH_ALIASES``."""
    form = surface
    if word is not None and word.feature.pos1 in _INFLECTING:
        base = word.feature.orthBase
        form = surface if not base or base == "*" else base
    form = form.lower()
    return MATCH_ALIASES.get(form, form)


def analyze_forms(text: str) -> list[tuple[str, str, bool]]:
    """One MeCab pass over NFKC ``text``: (index token, match form, is content word) per token,
    with the same tokens and content flags as ``analyze``; ``match_form`` says what the second is."""
    return analyze_question(text)[0]


def analyze_question(text: str) -> tuple[list[tuple[str, str, bool]], tuple[str, ...]]:
    """``analyze_forms`` and, from the same MeCab pass, the question's topic (``topic_of``)."""
    out: list[tuple[str, str, bool]] = []
    text = unicodedata.normalize("NFKC", text)
    words = _tagger()(text)
    for word in words:
        surface = word.surface
        if surface.isascii():
            out.extend((tok, MATCH_ALIASES.get(tok, tok), tok not in _EN_STOP)
                       for tok in _LATIN_WORD.findall(surface.lower()))
        elif not _is_symbol(surface):
            out.append((surface.lower(), match_form(word, surface), not _is_function_word(word, surface)))
    return out, topic_of(words)


# The question's topic: the noun phrase that は/が/を/って marks (海外出張の宿泊費の上限は…). A
# near miss names a neighbour of what the documents hold (海外 where only 国内 is written, 来客用 where
# only 社員用): its other words all match, so only the topic tells it apart (ragkit.abstain).
_TOPIC_MARKERS = frozenset({"は", "が", "を", "って"})
_PHRASE_POS = frozenset({"名詞", "接頭辞", "接尾辞"})
_FORMAL_NOUNS = frozenset({"こと", "もの", "とき", "ため", "場合", "方", "ところ", "際", "ほう"})


def topic_of(words: Any) -> tuple[str, ...]:
    """Match forms of the nouns of the noun phrase (joined by の) that the question is about: the
    first one marked by を (the thing asked about: ノートパソコン in 新入社員はノートパソコンを…受け取り
    ますか), else the first marked by は/が/って. Numbers, formal nouns (こと) and time words that
    documents write as dates (今年, 朝) are left out; () when there is no such phrase."""
    phrase: list[Any] = []
    marked: list[tuple[str, tuple[str, ...]]] = []
    for word in words:
        if word.feature.pos1 in _PHRASE_POS or (word.surface == "の" and phrase):
            phrase.append(word)
            continue
        if word.surface in _TOPIC_MARKERS and phrase:
            nouns = tuple(match_form(w, w.surface) for w in phrase
                          if w.feature.pos1 == "名詞" and w.feature.pos2 != "数詞"
                          and w.feature.pos3 != "副詞可能" and w.surface not in _FORMAL_NOUNS
                          and not w.surface.isascii())
            if nouns:
                marked.append((word.surface, nouns))
        phrase = []
    objects = [nouns for marker, nouns in marked if marker == "を"]
    return (objects or [nouns for _, nouns in marked] or [()])[0]
