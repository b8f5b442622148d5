"""A local GGUF model (llama-cpp-python): the in-process implementation of the generator seam.

``Generator`` wraps one loaded model: its metadata, the prompt profile chosen from it, token
counting and greedy streaming. The answer sequence that uses it lives in ``ragkit.reader``.
llama_cpp is imported only when a model is loaded, so ``import ragkit`` and ``ragkit --help``
stay fast. One llama context serves one generation at a time: ``stream`` holds ``lock`` while it
runs, so threads sharing a ``RAG`` queue for the model instead of corrupting its state.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ragkit.errors import GenerationError
from ragkit.extractive import SpanConstraint, is_content_token
from ragkit.prompts import PromptProfile, choose_profile


def summarize_metadata(raw: dict, bos_token: str = "", eos_token: str = "") -> dict:
    """The GGUF metadata that prompt choice needs, from llama.cpp's flat ``key -> str`` dict."""
    arch = raw.get("general.architecture", "")
    ctx = raw.get(f"{arch}.context_length")
    template = raw.get("tokenizer.chat_template") or None
    return {
        "architecture": arch,
        "name": raw.get("general.name", ""),
        "context_length": int(ctx) if ctx else None,
        "chat_template": template,
        "has_chat_template": template is not None,
        "bos_token": bos_token,
        "eos_token": eos_token,
    }


_LOG_CALLBACK = None  # kept referenced: llama.cpp calls it from C for the life of the process


def _silence_llama_log() -> None:
    """llama.cpp logs some load messages even with verbose=False; keep the terminal for answers
    (load failures still raise with their reason)."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is None:
        import llama_cpp

        _LOG_CALLBACK = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(_LOG_CALLBACK, None)


class Generator:
    """One loaded GGUF model, greedy (temperature 0) and seeded so answers are reproducible."""

    def __init__(self, model_path: Path, n_ctx: int = 4096, n_threads: int | None = None,
                 prompt_format: str = "auto", seed: int = 0):
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise GenerationError("llama-cpp-python is not installed; pip install llama-cpp-python") from exc
        self.model_path = Path(model_path)
        self.seed = seed
        _silence_llama_log()
        try:
            self.llm = Llama(model_path=str(self.model_path), n_ctx=n_ctx, seed=seed, verbose=False,
                             n_threads=n_threads or os.cpu_count() or 1)
        except (ValueError, RuntimeError) as exc:
            raise GenerationError(f"cannot load the language model {self.model_path}: {exc}; "
                                  "check that it is a complete GGUF file this llama.cpp supports") from exc
        self.metadata = summarize_metadata(self.llm.metadata, self._token_text(self.llm.token_bos()),
                                           self._token_text(self.llm.token_eos()))
        try:
            self.profile: PromptProfile = choose_profile(self.metadata, prompt_format)
        except ValueError as exc:
            raise GenerationError(f"{self.model_path}: {exc}") from exc
        self.n_ctx = self.llm.n_ctx()
        self.last_finish_reason: str | None = None
        self.last_token_count = 0
        self.last_processor: object | None = None
        self._content_token: dict[int, bool] = {}
        self.lock = threading.RLock()

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self.llm.detokenize([token], special=True).decode("utf-8", errors="ignore")

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a prompt, BOS included once even when the text itself starts with it."""
        tokens = self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
        bos = self.llm.token_bos()
        if len(tokens) > 1 and tokens[0] == tokens[1] == bos:
            tokens = tokens[1:]
        return tokens

    def span_constraint(self, sources: list[str]) -> Callable[[list[int]], SpanConstraint]:
        """A ``constrain`` for ``stream``: the answer must copy a token span of one of ``sources``
        and ends at a newline or EOS."""
        with self.lock:
            source_tokens = [self.llm.tokenize(s.strip().encode("utf-8"), add_bos=False, special=False)
                             for s in sources]
            stops = [*self.llm.tokenize(b"\n", add_bos=False, special=False), self.llm.token_eos()]

        def first_ok(token: int) -> bool:
            if token not in self._content_token:
                self._content_token[token] = is_content_token(self._token_text(token))
            return self._content_token[token]

        return lambda prompt: SpanConstraint(source_tokens, len(prompt), stops, first_ok)

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in ``text`` (no BOS)."""
        with self.lock:  # every use of the llama objects holds the lock (threads share a RAG)
            return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` that fits in ``max_tokens`` tokens."""
        with self.lock:
            tokens = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
            if len(tokens) <= max_tokens:
                return text
            return self.llm.detokenize(tokens[:max(0, max_tokens)]).decode("utf-8", errors="ignore")

    def stream(self, prompt: str, max_tokens: int, stop: list[str],
               constrain: Callable[[list[int]], object] | None = None) -> Iterator[str]:
        """Yield the answer piece by piece (greedy); stops at EOS, a stop string or ``max_tokens``.

        ``constrain(prompt_tokens)`` may return a llama-cpp logits processor for this call (see
        ``ragkit.extractive``); it is kept in ``last_processor``.

        After the iterator ends, ``last_finish_reason`` is ``"stop"`` or ``"length"`` and
        ``last_token_count`` the number of tokens in the generated text.
        """
        with self.lock:  # one llama context: one generation at a time
            yield from self._stream(prompt, max_tokens, stop, constrain)

    def _stream(self, prompt: str, max_tokens: int, stop: list[str],
                constrain: Callable[[list[int]], object] | None) -> Iterator[str]:
        tokens = self.tokenize(prompt)
        if len(tokens) + max_tokens > self.n_ctx:
            raise GenerationError(f"prompt of {len(tokens)} tokens + {max_tokens} answer tokens exceeds "
                                  f"the context window n_ctx={self.n_ctx}; lower k or raise llm.n_ctx")
        self.last_finish_reason, self.last_token_count = None, 0
        self.last_processor = constrain(tokens) if constrain is not None else None
        self.llm.reset()
        if hasattr(self.last_processor, "next_token"):
            pieces_iter = self._greedy_constrained(tokens, max_tokens, stop or [], self.last_processor)
        else:
            pieces_iter = self._completion(tokens, max_tokens, stop or [], self.last_processor)
        pieces = []
        for piece in pieces_iter:
            pieces.append(piece)
            yield piece
        self.last_token_count = self.count_tokens("".join(pieces))

    def _completion(self, tokens: list[int], max_tokens: int, stop: list[str], processor) -> Iterator[str]:
        """llama-cpp's own completion loop (greedy), with ``processor`` as logits processor if any."""
        extra = {"logits_processor": [processor]} if processor is not None else {}
        chunks = self.llm.create_completion(tokens, max_tokens=max_tokens, temperature=0.0, top_k=1,
                                            repeat_penalty=1.0, seed=self.seed, stop=stop,
                                            stream=True, **extra)
        for chunk in chunks:
            choice = chunk["choices"][0]
            if choice.get("finish_reason"):
                self.last_finish_reason = choice["finish_reason"]
            if choice.get("text"):
                yield choice["text"]

    def _greedy_constrained(self, tokens: list[int], max_tokens: int, stop: list[str], constraint) -> Iterator[str]:
        """Greedy decoding where ``constraint.next_token`` picks each token from the raw logits.

        The same choice llama-cpp makes at temperature 0 with the constraint as logits processor,
        without its per-token round trip through a vocabulary-sized candidate array (262k entries
        for Gemma 3): that cost ragkit 11% of direct llama_cpp's decode speed (bench/README.md).
        Stop strings end the text as in llama-cpp, and text that may begin one is held back.
        """
        import llama_cpp

        llm = self.llm
        n_vocab = llm.n_vocab()
        eos = llm.token_eos()
        ids = list(tokens)
        generated: list[int] = []
        emitted = 0
        self.last_finish_reason = "length"
        llm.eval(ids)
        for _ in range(max_tokens):
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(n_vocab,))
            token = constraint.next_token(ids, logits)
            if token is None or token == eos:
                self.last_finish_reason = "stop"
                break
            ids.append(token)
            generated.append(token)
            text = llm.detokenize(generated, prev_tokens=tokens).decode("utf-8", errors="ignore")
            cut = _first_stop(text, stop)
            if cut is not None:
                if cut > emitted:
                    yield text[emitted:cut]
                self.last_finish_reason = "stop"
                return
            safe = len(text) - _held_back(text, stop)
            if safe > emitted:
                yield text[emitted:safe]
                emitted = safe
            llm.eval([token])
        text = llm.detokenize(generated, prev_tokens=tokens).decode("utf-8", errors="ignore")
        if len(text) > emitted:
            yield text[emitted:]


def _first_stop(text: str, stop: list[str]) -> int | None:
    """Where the first stop string in ``text`` begins, or None."""
    found = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return min(found) if found else None


def _held_back(text: str, stop: list[str]) -> int:
    """Length of the longest end of ``text`` that is the start of a stop string."""
    return max((n for s in stop if s for n in range(min(len(s) - 1, len(text)), 0, -1)
                if text.endswith(s[:n])), default=0)
