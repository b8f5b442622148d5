"""A model behind an OpenAI-compatible server: the remote implementation of the generator seam.

``RemoteGenerator`` streams greedy answers from ``/v1/completions`` (base models: the prompt
text) or ``/v1/chat/completions`` (chat models: messages, so the server applies the model's own
template and stop tokens). What the server is decides the rest, found out once on first use:

* llama-cpp-python's server (``/extras/tokenize``) and llama.cpp's ``llama-server`` (``/props``)
  count tokens exactly, take llama.cpp's sampling fields, a GBNF ``grammar`` and a ``logit_bias``:
  the extractive path sends ``ragkit.extractive.span_grammar`` and lifts the source's own tokens,
  so a base model copies a span exactly as the in-process span constraint lets it;
* any other server (vLLM, a hosted API) gets the standard fields only; the extractive answer is
  generated freely, its citation is checked afterwards, and tokens are estimated generously.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ..errors import ServerError
from ..extractive import is_content_token, span_grammar
from ..prompts import PromptProfile, remote_profile
from .http import Endpoint, ServerClient

LLAMA_FAMILY = ("llama-cpp-python", "llama.cpp")
EOS_TEXTS = ("<eos>", "</s>", "<|endoftext|>")  # end-of-text (not end-of-turn) in Gemma, Llama/Mistral, GPT-2/Qwen
# Added to the logits of the sources' own tokens: far above any logit a model produces, so the
# greedy choice is always one of them, while their order among themselves is unchanged.
SOURCE_TOKEN_BIAS = 100.0


@dataclass(frozen=True)
class SpanGrammar:
    """The extractive constraint for a llama.cpp-family server. The grammar keeps the answer a
    character span of a source; a grammar cannot say "in the source's own tokens", so
    ``logit_bias`` lifts those tokens (and newline and end-of-text) above all others. Without it
    the model may spell a span with a longer vocabulary token the source's tokenization never
    uses, and its greedy answer differs from the in-process one."""

    gbnf: str
    logit_bias: dict[str, float]


def _openings(text: str, pieces: list[str | None]) -> set[int] | None:
    """Character offsets in ``text`` where a content token among ``pieces`` (the model's tokens of
    ``text``, in order) begins; None when the pieces cannot be lined up with the text."""
    starts, cursor = set(), 0
    for piece in pieces:
        if not piece:  # a byte of a character split over tokens, or a special token
            continue
        at = text.find(piece, cursor)
        if at < 0:
            return None
        if is_content_token(piece):
            starts.add(at)
        cursor = at + len(piece)
    return starts


def estimate_tokens(text: str) -> int:
    """Tokens a text may take when the server cannot count them: one per character outside
    ASCII (a CJK character is at most one token in the tokenizers ragkit meets), one per three
    ASCII characters (English runs about four per token): generous, so prompts still fit."""
    ascii_chars = sum(1 for ch in text if ch.isascii())
    return (len(text) - ascii_chars) + -(-ascii_chars // 3)


class RemoteGenerator:
    """Answers from a model server; greedy and seeded so answers are reproducible."""

    def __init__(self, endpoint: Endpoint, model: str | None = None, n_ctx: int = 4096,
                 prompt_format: str = "auto", seed: int = 0):
        self.client = ServerClient(endpoint)
        self.endpoint = endpoint
        self.seed = seed
        listed = self.models()
        if model is not None and model not in listed:
            raise ServerError(f"the {endpoint.what} at {endpoint.base_url} does not serve model {model!r} "
                              f"(it lists {', '.join(listed) or 'none'}); fix [llm] model (RAGKIT_LLM_MODEL)")
        if not listed and model is None:
            raise ServerError(f"the {endpoint.what} at {endpoint.base_url} lists no model; "
                              "set [llm] model (RAGKIT_LLM_MODEL) to the name it serves")
        self.model = model or listed[0]
        self.family, props = self._probe()
        self._props = props
        server_ctx = (props.get("default_generation_settings") or {}).get("n_ctx")
        self.n_ctx = min(n_ctx, int(server_ctx)) if server_ctx else n_ctx
        try:
            self.profile: PromptProfile = remote_profile(self.model, props.get("chat_template"), prompt_format)
        except ValueError as exc:
            raise ServerError(f"{endpoint.base_url}: {exc}") from exc
        self.last_finish_reason: str | None = None
        self.last_token_count = 0
        self._counts: dict[str, int] = {}
        self._piece_text: dict[int, str | None] = {}
        self._eos_ids: set[int] | None = None

    def models(self) -> list[str]:
        """Model names the server lists at ``/models``."""
        listed = self.client.get("/models")
        return [str(m.get("id")) for m in (listed.get("data") or []) if isinstance(m, dict)]

    def _probe(self) -> tuple[str, dict]:
        """Which server this is (what it accepts), and llama-server's /props when it has them."""
        try:
            self.client.post("/extras/tokenize", {"input": "a", "model": self.model}, idempotent=True, root=True)
            return "llama-cpp-python", {}
        except ServerError:
            pass
        try:
            props = self.client.get("/props", root=True)
            if isinstance(props, dict) and "default_generation_settings" in props:
                return "llama.cpp", props
        except ServerError:
            pass
        return "other", {}

    # --- the generator seam --------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Model tokens in ``text``, counted by the server where it can (cached per text)."""
        if text not in self._counts:
            self._counts[text] = self._server_count(text)
        return self._counts[text]

    def _server_count(self, text: str) -> int:
        if self.family == "llama-cpp-python":
            got = self.client.post("/extras/tokenize", {"input": text, "model": self.model}, idempotent=True, root=True)
            return max(0, len(got["tokens"]) - 1)  # its tokenize adds BOS
        if self.family == "llama.cpp":
            got = self.client.post("/tokenize", {"content": text}, idempotent=True, root=True)
            return len(got["tokens"])
        return estimate_tokens(text)

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` within ``max_tokens`` tokens (binary search on characters)."""
        if self.count_tokens(text) <= max_tokens:
            return text
        low, high = 0, len(text)
        while low < high:
            mid = (low + high + 1) // 2
            if self.count_tokens(text[:mid]) <= max_tokens:
                low = mid
            else:
                high = mid - 1
        return text[:low]

    def span_constraint(self, sources: list[str]) -> SpanGrammar | None:
        """A grammar of the sources' spans for llama.cpp-family servers; None elsewhere (the answer
        is then checked against the sources by the citation step). Spans open only where one of
        the model's tokens of the source opens with a letter or digit, as in process."""
        if self.family not in LLAMA_FAMILY:
            return None
        openings, tokens = [], set(self._tokens("\n"))
        for source in sources:
            pieces = self._pieces(source.strip())
            openings.append(_openings(source.strip(), [p for _, p in pieces]))
            tokens.update(t for t, _ in pieces)
        bias = {str(t): SOURCE_TOKEN_BIAS for t in sorted(tokens | self._eos())}
        return SpanGrammar(span_grammar(sources, openings), bias)

    def _tokens(self, text: str) -> list[int]:
        """The server's token ids of ``text`` (no BOS)."""
        return [t for t, _ in self._pieces(text)]

    def _pieces(self, text: str) -> list[tuple[int, str | None]]:
        """(id, text) of each of the server's tokens of ``text``, BOS left out; the text is None
        where a token is not text alone (a byte of a character split over tokens)."""
        if self.family == "llama.cpp":
            got = self.client.post("/tokenize", {"content": text, "with_pieces": True}, idempotent=True, root=True)
            return [(int(t["id"]), t["piece"] if isinstance(t.get("piece"), str) else None) for t in got["tokens"]]
        ids = self.client.post("/extras/tokenize", {"input": text, "model": self.model}, idempotent=True,
                               root=True)["tokens"][1:]  # its tokenize adds BOS
        return [(i, self._piece(i)) for i in ids]

    def _eos(self) -> set[int]:
        """The end-of-text token: the EOS text llama-server reports, or the usual EOS texts, where
        the server's tokenizer makes one special token of it (cached)."""
        if self._eos_ids is None:
            texts = [t for t in (self._props.get("eos_token"), *EOS_TEXTS) if t]
            found = [self._tokens_special(t) for t in texts]
            self._eos_ids = {ids[0] for ids in found if len(ids) == 1}
        return self._eos_ids

    def _tokens_special(self, text: str) -> list[int]:
        if self.family == "llama.cpp":
            got = self.client.post("/tokenize", {"content": text, "parse_special": True}, idempotent=True, root=True)
            return [int(t) for t in got["tokens"]]
        return self.client.post("/extras/tokenize", {"input": text, "model": self.model}, idempotent=True,
                                root=True)["tokens"][1:]

    def _piece(self, token: int) -> str | None:
        """One token's text from llama-cpp-python's server (cached; None for a partial character)."""
        if token not in self._piece_text:
            try:
                got = self.client.post("/extras/detokenize", {"tokens": [token], "model": self.model},
                                       idempotent=True, root=True)
                self._piece_text[token] = got.get("text") or None
            except ServerError:  # its detokenize cannot decode a lone byte of a character
                self._piece_text[token] = None
        return self._piece_text[token]

    def stream(self, prompt: "str | list[dict]", max_tokens: int, stop: list[str],
               constrain: object | None = None) -> Iterator[str]:
        """Yield the answer as the server streams it (greedy); chat messages go to the chat API.

        After the iterator ends, ``last_finish_reason`` is the server's (``stop``/``length``) and
        ``last_token_count`` the number of streamed pieces (one per token on llama.cpp servers).
        """
        chat = not isinstance(prompt, str)
        body: dict = {"model": self.model, "max_tokens": max_tokens, "temperature": 0.0, "seed": self.seed}
        body["messages" if chat else "prompt"] = prompt
        if stop:
            body["stop"] = list(stop)
        if self.family in LLAMA_FAMILY:
            body.update(top_k=1, repeat_penalty=1.0)
            if isinstance(constrain, SpanGrammar):
                body.update(grammar=constrain.gbnf, logit_bias=constrain.logit_bias)
        self.last_finish_reason, self.last_token_count = None, 0
        for event in self.client.stream("/chat/completions" if chat else "/completions", body):
            choice = (event.get("choices") or [{}])[0]
            if choice.get("finish_reason"):
                self.last_finish_reason = choice["finish_reason"]
            piece = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
            if piece:
                self.last_token_count += 1
                yield piece

    def close(self) -> None:
        self.client.close()
