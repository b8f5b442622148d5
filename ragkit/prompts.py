"""RAG prompts per model family: which format a model gets, and the prompt text itself.

A *profile* says how to talk to a model: a plain completion prompt (for small base models such as
the bundled Gemma 3 270M, which has no chat template and rambles in chat turns), Gemma turns,
ChatML (CALM3 and other qwen2/llama chat models), or the GGUF's own Jinja chat template. The
profile also carries the stop sequences and the default answer budget, because for a weak model
those decide quality as much as the wording does.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("completion", "gemma", "chatml", "gguf-template", "chat")
Message = dict  # {"role": "system" | "user", "content": str}
OVERRIDES = ("auto", "completion", "completion-free", "gemma", "chatml", "template")


@dataclass(frozen=True)
class PromptProfile:
    """How to prompt one model: format ``kind``, ``stop`` sequences, default ``answer_tokens``;
    ``extractive``: copy a source span (``ragkit.extractive``); ``max_sources``: at most this many
    sources in the prompt (None: as many as fit).

    ``template``, ``bos_token`` and ``eos_token`` are used by kind ``gguf-template`` only. Kind
    ``chat`` sends messages to a server, which applies the model's own template and stop tokens.
    """

    name: str
    kind: str
    stop: tuple[str, ...]
    answer_tokens: int
    template: str | None = None
    bos_token: str = ""
    eos_token: str = ""
    extractive: bool = False
    max_sources: int | None = None


# Base models copy a source span (ragkit.extractive): on 20 ja_dev questions with the gold paragraph,
# char F1 0.256 extractive vs 0.214 free completion vs 0.172 naive 資料/質問/答え prompt. Given 3
# retrieved paragraphs the 270M model copied from the wrong one so often that F1 fell to half of
# the gold-paragraph F1 (10 questions: 0.20 vs 0.42); it reads one: the first by
# ``ragkit.abstain.by_evidence``. Reading each of the top 3 separately and keeping the answer with
# the best span log-probability was measured on 50 spread ja_dev questions (every third): F1
# 0.343 reading only the first, 0.309 choosing by total log-prob, 0.209 by log-prob per token,
# at best 0.343 with 1-16 x coverage added, though the best of the three readings would reach
# 0.423: log-prob does not tell the right reading from the wrong ones, so one reading it is.
COMPLETION = PromptProfile("completion", "completion", ("\n", "質問:", "Question:"), 24, extractive=True,
                           max_sources=1)
FREE_COMPLETION = PromptProfile("completion-free", "completion", COMPLETION.stop, 64)
GEMMA = PromptProfile("gemma", "gemma", ("<end_of_turn>", "<start_of_turn>"), 256)
CHATML = PromptProfile("chatml", "chatml", ("<|im_end|>", "<|im_start|>"), 512)
CHAT = PromptProfile("chat", "chat", (), 512)
# model names that say "instruction-tuned": Qwen2.5-7B-Instruct, calm3-22b-chat, gemma-3-12b-it
_CHAT_NAME = re.compile(r"instruct|chat|(?:^|[-_.\s])it(?:$|[-_.\s])", re.IGNORECASE)


_TEXT = {
    "ja": {
        "system": "あなたは社内文書に基づいて質問に答えるアシスタントです。",
        "rules": "次の資料だけを根拠に、質問に日本語で簡潔に答えてください。"
        "根拠にした資料の番号を[1]のように文末に付けてください。"
        "資料に答えがなければ「資料からは分かりませんでした」と答えてください。",
        "extract": "次の資料から、質問の答えになる語句をそのまま抜き出してください。",
        "sources": "資料",
        "question": "質問",
        "answer": "答え",
    },
    "en": {
        "system": "You answer questions from the user's own documents.",
        "rules": "Answer the question briefly in English using only the sources below. "
        "Cite the sources you used with their number, like [1]. "
        "If the sources do not contain the answer, say that the documents do not say.",
        "extract": "Copy the words from the sources below that answer the question.",
        "sources": "Sources",
        "question": "Question",
        "answer": "Answer",
    },
}


def choose_profile(metadata: dict, override: str = "auto") -> PromptProfile:
    """Pick the prompt profile for a model from its GGUF metadata summary, unless ``override`` names one.

    ``metadata`` keys: ``architecture``, ``name``, ``chat_template`` (str or None), ``bos_token``,
    ``eos_token`` (see ``ragkit.generate.summarize_metadata``). Order in ``auto``: the GGUF's own
    chat template; ChatML for CALM3; no template (a base model such as the bundled Gemma 3 270M)
    → plain completion. Measured on 20 ja_dev questions with the gold paragraph, answer contains a
    gold string: completion 9/20 (2 ran to the token limit), naive 資料/質問/答え 7/20 (4),
    Gemma turns 6/20 (20 of 20 ran to the limit), one-shot completion 10/20 (5; leaks its example).
    """
    if override not in OVERRIDES:
        raise ValueError(f"unknown prompt format {override!r}; choose one of {', '.join(OVERRIDES)}")
    template = metadata.get("chat_template") or None
    if override == "completion":
        return COMPLETION
    if override == "completion-free":
        return FREE_COMPLETION
    if override == "gemma":
        return GEMMA
    if override == "chatml":
        return CHATML
    if override == "template":
        if not template:
            raise ValueError("prompt format 'template' needs a GGUF with a chat template; this one has none")
        return _template_profile(metadata, template)
    if template:
        return _template_profile(metadata, template)
    arch = str(metadata.get("architecture") or "").lower()
    name = str(metadata.get("name") or "").lower()
    if "calm3" in name and arch in ("qwen2", "llama"):
        return CHATML
    return COMPLETION


def remote_profile(model: str, chat_template: str | None = None, override: str = "auto") -> PromptProfile:
    """The prompt profile for a model behind an OpenAI-compatible server, from what the server
    tells: a chat template (llama-server's /props) or a model name that says instruction-tuned
    (``-Instruct``, ``-chat``, ``-it``) → ``chat`` (messages; the server applies the template);
    otherwise a base model → the extractive completion. ``template`` also means messages here."""
    if override == "template":
        return CHAT
    if override != "auto":
        return choose_profile({}, override)
    return CHAT if chat_template or _CHAT_NAME.search(model.rsplit("/", 1)[-1]) else COMPLETION


def _template_profile(metadata: dict, template: str) -> PromptProfile:
    eos = str(metadata.get("eos_token") or "")
    ends = [m for m in ("<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|end|>") if m in template]
    stop = tuple(dict.fromkeys([eos, *ends] if eos else ends))
    return PromptProfile("template", "gguf-template", stop, 512, template,
                         str(metadata.get("bos_token") or ""), eos)


def format_sources(sources: list[str]) -> str:
    """Number the sources ``[1]..[n]``, one block each, as the model will cite them."""
    return "\n\n".join(f"[{i}] {text.strip()}" for i, text in enumerate(sources, 1))


def build_prompt(profile: PromptProfile, question: str, sources: list[str], lang: str) -> "str | list[Message]":
    """The full prompt for ``profile``: instructions in ``lang``, numbered sources, the question.
    Text for every kind but ``chat``, which gets the system and user messages themselves."""
    t = _TEXT["ja" if lang == "ja" else "en"]
    body = f"{t['sources']}:\n{format_sources(sources)}\n\n{t['question']}: {question.strip()}"
    if profile.kind == "completion":
        return f"{t['extract' if profile.extractive else 'rules']}\n\n{body}\n{t['answer']}:"
    user = f"{t['rules']}\n\n{body}"
    if profile.kind == "chat":
        return [{"role": "system", "content": t["system"]}, {"role": "user", "content": user}]
    if profile.kind == "gemma":
        return f"<start_of_turn>user\n{t['system']}\n{user}<end_of_turn>\n<start_of_turn>model\n"
    if profile.kind == "chatml":
        return (f"<|im_start|>system\n{t['system']}<|im_end|>\n"
                f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")
    if profile.kind == "gguf-template":
        return render_template(profile, t["system"], user)
    raise ValueError(f"unknown prompt kind {profile.kind!r}")


def prompt_text(prompt: "str | list[Message]") -> str:
    """The text of a prompt, messages joined: what counts against the context window."""
    return prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt)


def render_template(profile: PromptProfile, system: str, user: str) -> str:
    """Render the GGUF's Jinja chat template (sandboxed) with a generation prompt.

    Templates that refuse a system turn (Gemma's raises) get the system text folded into the
    user turn instead.
    """
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    tmpl = env.from_string(profile.template or "")
    kwargs = dict(add_generation_prompt=True, bos_token=profile.bos_token, eos_token=profile.eos_token,
                  raise_exception=raise_exception)
    try:
        return tmpl.render(messages=[{"role": "system", "content": system},
                                     {"role": "user", "content": user}], **kwargs)
    except TemplateError:
        return tmpl.render(messages=[{"role": "user", "content": f"{system}\n\n{user}"}], **kwargs)


def naive_prompt(question: str, context: str) -> str:
    """The baseline prompt of issue 7 (``資料: … 質問: … 答え:``), for ``ragkit eval --generate``."""
    return f"資料: {context.strip()}\n質問: {question.strip()}\n答え:"
