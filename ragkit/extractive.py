"""Extractive answers by construction: a llama-cpp logits processor that only lets the model copy.

A small base model (the bundled Gemma 3 270M) picks good answer spans far more often than it
writes good free text, and a copied span makes citation checking exact. ``SpanConstraint`` keeps
the set of source token positions whose preceding tokens equal what has been generated so far;
the next token must continue one of them (or, once something was copied, be a stop token such as
newline or EOS). Every answer is therefore a verbatim token span of at least one source, and the
constraint can say which sources contain it.

Masking is numpy work on the 262k-entry logits row: one ``-inf`` fill and one fancy-index copy
per step, well under a millisecond beside the model's own forward pass.
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
    continue one. ``log_prob`` sums the model's unconstrained log-probabilities of the copied
    tokens, a confidence signal for abstention.
    """

    def __init__(self, sources: Sequence[Sequence[int]], prompt_len: int, stop_ids: Sequence[int],
                 first_ok: Callable[[int], bool] | None = None):
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
        self.log_prob = 0.0
        self._last_logp: np.ndarray | None = None

    def _consume(self, token: int) -> None:
        if self._last_logp is not None:
            self.log_prob += float(self._last_logp[token])
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

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        for token in input_ids[self.prompt_len + len(self.generated):]:
            self._consume(int(token))
        top = float(np.max(scores))
        self._last_logp = scores - (top + float(np.log(np.sum(np.exp(scores - top)))))
        allowed = self.allowed()
        out = np.full_like(scores, -np.inf)
        if allowed.size:
            out[allowed] = scores[allowed]
        return out

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
