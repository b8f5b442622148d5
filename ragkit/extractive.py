"""Extractive answers by construction: a llama-cpp logits processor that only lets the model copy.

A small base model (the bundled Gemma 3 270M) picks good answer spans far more often than it
writes good free text, and a copied span makes citation checking exact. ``SpanConstraint`` keeps
the set of source token positions whose preceding tokens equal what has been generated so far;
the next token must continue one of them (or, once something was copied, be a stop token such as
newline or EOS). Every answer is therefore a verbatim token span of at least one source, and the
constraint can say which sources contain it.

Per step the processor fills a reused output row with ``-inf`` and copies the allowed logits in
from llama-cpp's strided row; no vocabulary-sized array is allocated. With ``log_probs=True`` it
also computes the log-softmax normaliser (one strided read into a reused buffer, max, ``exp``,
sum) so that ``log_prob`` can be reported. Measured per step on a strided 262,144-entry float32
row like llama-cpp's, 400 source tokens, 2 shared cores (best of 5 rounds of 3 x 50 calls, runs
repeated 3-4 times): 0.12-0.21 ms without ``log_probs``, 0.58-0.92 ms with, 1.33-1.76 ms for the
first version, which built four temporary rows and always computed the normaliser. The reader
leaves it off: choosing between candidate answers by their log-probability lost F1 on ja_dev
(``ragkit.prompts.COMPLETION``).
"""
from __future__ import annotations

import unicodedata
from typing import Callable, Sequence

import numpy as np

_SEP = -1  # between sources: a span never crosses it


class SpanConstraint:
    """Restrict generation to a contiguous token span of one of ``sources`` (token id lists).

    ``prompt_len`` is the number of prompt tokens llama-cpp passes back in ``input_ids`` before
    the generated ones. ``stop_ids`` are allowed once at least one token was copied. ``first_ok``
    says whether a token may open a span (e.g. not punctuation or whitespace); all tokens may
    continue one. With ``log_probs``, ``log_prob`` sums the model's unconstrained log-probabilities
    of the copied tokens (it stays 0.0 otherwise; the normaliser costs a pass over the vocabulary).
    """

    def __init__(self, sources: Sequence[Sequence[int]], prompt_len: int, stop_ids: Sequence[int],
                 first_ok: Callable[[int], bool] | None = None, log_probs: bool = False):
        seq: list[int] = []
        owner: list[int] = []
        for i, toks in enumerate(sources):
            seq.extend(int(t) for t in toks)
            owner.extend([i] * len(toks))
            seq.append(_SEP)
            owner.append(i)
        self.seq = np.asarray(seq, dtype=np.int64)
        self.owner = np.asarray(owner, dtype=np.int64)
        self.prompt_len = prompt_len
        self.stop_ids = np.asarray(sorted(set(int(t) for t in stop_ids if t >= 0)), dtype=np.int64)
        starts = np.flatnonzero(self.seq != _SEP)
        if first_ok is not None:
            ok = {t: first_ok(t) for t in set(self.seq[starts].tolist())}
            starts = starts[[ok[t] for t in self.seq[starts].tolist()]]
        self._starts = starts
        self.positions = starts  # next token must equal seq[p] for some p here
        self.generated: list[int] = []
        self.log_probs = log_probs
        self.log_prob = 0.0
        self._out: np.ndarray | None = None  # reused output row
        self._buf: np.ndarray | None = None  # reused scratch row for the normaliser
        self._last_allowed = np.empty(0, dtype=np.int64)  # sorted ids allowed at the last step
        self._last_logits = np.empty(0, dtype=np.float32)  # their raw logits
        self._last_norm = 0.0  # log of the softmax denominator at the last step

    def _consume(self, token: int) -> None:
        if self.log_probs:
            i = int(np.searchsorted(self._last_allowed, token))
            if i < self._last_allowed.size and self._last_allowed[i] == token:
                self.log_prob += float(self._last_logits[i]) - self._last_norm
        self.generated.append(token)
        match = self.positions[self.seq[self.positions] == token]
        self.positions = match + 1

    def allowed(self) -> np.ndarray:
        """Token ids that may come next."""
        nxt = self.seq[self.positions]
        nxt = np.unique(nxt[nxt != _SEP])
        if self.generated:
            nxt = np.union1d(nxt, self.stop_ids)
        return nxt

    def _step(self, input_ids, scores: np.ndarray) -> np.ndarray:
        """Take in the tokens generated since the last step; the allowed ids (sorted)."""
        for token in input_ids[self.prompt_len + len(self.generated):]:
            self._consume(int(token))
        if self.log_probs:
            self._last_norm = self._log_normaliser(scores)
        allowed = self.allowed()  # sorted: np.unique / np.union1d
        self._last_allowed, self._last_logits = allowed, scores[allowed]
        return allowed

    def next_token(self, input_ids, scores: np.ndarray) -> int | None:
        """The greedy choice among the allowed tokens (None when nothing may follow): what
        llama-cpp would sample at temperature 0 from ``__call__``'s row, without building a
        vocabulary-sized row at all."""
        allowed = self._step(input_ids, scores)
        if not allowed.size:
            return None
        return int(allowed[int(np.argmax(self._last_logits))])

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """llama-cpp logits processor: ``scores`` with every disallowed token at ``-inf``."""
        if self._out is None or self._out.shape != scores.shape:
            self._out = np.empty(scores.shape, dtype=scores.dtype)
        allowed = self._step(input_ids, scores)
        out = self._out
        out.fill(-np.inf)
        out[allowed] = self._last_logits
        return out

    def _log_normaliser(self, scores: np.ndarray) -> float:
        """log(sum(exp(scores))), computed stably in a reused contiguous buffer."""
        if self._buf is None or self._buf.shape != scores.shape:
            self._buf = np.empty(scores.shape, dtype=scores.dtype)
        buf = self._buf
        np.copyto(buf, scores)  # llama-cpp's row is strided: read it once, then work contiguously
        top = float(buf.max())
        np.subtract(buf, top, out=buf)
        np.exp(buf, out=buf)
        return top + float(np.log(buf.sum()))

    def sources_containing(self) -> list[int]:
        """Indices of the sources in which the generated span occurs, in source order."""
        if not self.generated:
            return []
        return sorted(set(self.owner[self.positions - 1].tolist()))


def is_content_token(text: str) -> bool:
    """Whether a token's text may open an answer: it has a letter or digit (not just punctuation
    or whitespace) and does not start with a space (answers start at a word, mid-text tokens
    of Japanese sources carry no leading space anyway)."""
    text = unicodedata.normalize("NFKC", text)
    return bool(text) and not text[0].isspace() and any(unicodedata.category(c)[0] in "LN" for c in text)


def span_grammar(sources: Sequence[str], openings: Sequence[set[int] | None] | None = None) -> str:
    """A GBNF grammar (llama.cpp's grammar format) whose sentences are exactly the substrings of
    the (stripped) ``sources`` that open where a span may open, optionally ended by a newline:
    the same "copy a span" rule as ``SpanConstraint``, in characters instead of tokens, for a
    server that takes a grammar but not a logits processor.

    ``openings[j]``: the character offsets in source ``j`` where a span may open (where the
    model's tokens of it begin, for the token constraint's start rule); None: at any letter or
    digit that is not inside a Latin word. Linear in the sources' length: one rule per character
    position, each optionally followed by the rule of the next, and one alternative per opening.
    """
    rules, starts = [], []
    for j, source in enumerate(sources):
        text = source.strip()
        allowed = openings[j] if openings is not None else None
        for i, ch in enumerate(text):
            tail = f" s{j}p{i + 1}?" if i + 1 < len(text) else ""
            rules.append(f's{j}p{i} ::= "{_gbnf_char(ch)}"{tail}')
            if allowed is not None:
                if i in allowed:
                    starts.append(f"s{j}p{i}")
            elif is_content_token(ch) and not (i and _latin_alnum(text[i - 1]) and _latin_alnum(ch)):
                starts.append(f"s{j}p{i}")
    if not starts:
        return 'root ::= "\\n"'
    return "\n".join([f'root ::= ({" | ".join(starts)}) "\\n"?', *rules])


def _latin_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _gbnf_char(ch: str) -> str:
    """One character inside a GBNF string literal."""
    if ch in '"\\':
        return "\\" + ch
    if ch in "\n\r\t":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch]
    if ord(ch) < 0x20 or ord(ch) == 0x7F:
        return f"\\x{ord(ch):02X}"
    return ch
