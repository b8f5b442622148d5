"""Prompt profile choice from GGUF metadata, and the prompt text each profile builds."""
from __future__ import annotations

import pytest

from ragkit.prompts import naive_prompt, build_prompt, choose_profile
from ragkit.text.script import language_of

GEMMA_BASE = {"architecture": "gemma3", "name": "Gemma 3 270m", "chat_template": None,
              "bos_token": "<bos>", "eos_token": "<eos>"}
CALM3 = {"architecture": "llama", "name": "calm3-22b-chat", "chat_template": None,
         "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}
# A Gemma-it-like template: refuses a system turn, as the real one does for non-alternating roles.
GEMMA_IT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "<start_of_turn>{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n"
    "{{ m['content'] | trim }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")
CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SOURCES = ["経費の締め日は毎月25日です。", "社員証の紛失は総務部へ。"]


@pytest.mark.parametrize("metadata, override, kind", [
    (GEMMA_BASE, "auto", "completion"),          # bundled base model: measured best
    (GEMMA_BASE, "gemma", "gemma"),
    (GEMMA_BASE, "chatml", "chatml"),
    (CALM3, "auto", "chatml"),
    ({**CALM3, "architecture": "qwen2", "name": "cyberagent calm3 22b"}, "auto", "chatml"),
    ({**CALM3, "name": "llama-3-8b"}, "auto", "completion"),
    ({**GEMMA_BASE, "chat_template": GEMMA_IT_TEMPLATE}, "auto", "gguf-template"),
    ({**CALM3, "chat_template": CHATML_TEMPLATE}, "auto", "gguf-template"),  # template wins
    ({**CALM3, "chat_template": CHATML_TEMPLATE}, "completion", "completion"),
    ({**GEMMA_BASE, "chat_template": GEMMA_IT_TEMPLATE}, "template", "gguf-template"),
])
def test_choose_profile(metadata, override, kind):
    assert choose_profile(metadata, override).kind == kind


def test_template_override_without_template_and_unknown_override_are_errors():
    with pytest.raises(ValueError, match="no chat template|has none"):
        choose_profile(GEMMA_BASE, "template")
    with pytest.raises(ValueError, match="unknown prompt format"):
        choose_profile(GEMMA_BASE, "alpaca")


def test_template_profile_stops_at_its_turn_end():
    profile = choose_profile({**GEMMA_BASE, "chat_template": GEMMA_IT_TEMPLATE})
    assert "<end_of_turn>" in profile.stop and "<eos>" in profile.stop


@pytest.mark.parametrize("override", ["completion-free", "gemma", "chatml"])
@pytest.mark.parametrize("lang, question", [("ja", "締め日はいつですか？"), ("en", "When is the deadline?")])
def test_prompt_has_numbered_sources_and_question(override, lang, question):
    prompt = build_prompt(choose_profile(GEMMA_BASE, override), question, SOURCES, lang)
    assert "[1] 経費の締め日は毎月25日です。" in prompt
    assert "[2] 社員証の紛失は総務部へ。" in prompt
    assert "[3]" not in prompt
    assert prompt.index("[1]") < prompt.index("[2]") < prompt.index(question)
    assert ("日本語" in prompt) == (lang == "ja")


def test_formats_end_where_the_model_should_start():
    ja = "締め日は？"
    assert build_prompt(choose_profile(GEMMA_BASE, "completion"), ja, SOURCES, "ja").endswith("質問: 締め日は？\n答え:")
    assert build_prompt(choose_profile(GEMMA_BASE, "gemma"), ja, SOURCES, "ja").endswith(
        "<end_of_turn>\n<start_of_turn>model\n")
    chatml = build_prompt(choose_profile(CALM3), ja, SOURCES, "ja")
    assert chatml.startswith("<|im_start|>system\n") and chatml.endswith("<|im_start|>assistant\n")


def test_gguf_template_folds_system_into_user_when_refused():
    profile = choose_profile({**GEMMA_BASE, "chat_template": GEMMA_IT_TEMPLATE})
    prompt = build_prompt(profile, "締め日は？", SOURCES, "ja")
    assert prompt.startswith("<bos><start_of_turn>user\n")
    assert prompt.count("<start_of_turn>") == 2 and prompt.endswith("<start_of_turn>model\n")
    assert "[1] 経費の締め日" in prompt


def test_gguf_template_keeps_system_turn_when_allowed():
    prompt = build_prompt(choose_profile({**CALM3, "chat_template": CHATML_TEMPLATE}), "締め日は？", SOURCES, "ja")
    assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n")


@pytest.mark.parametrize("text, lang", [
    ("締め日はいつ？", "ja"), ("カタカナ", "ja"), ("ひらがな", "ja"), ("東京", "ja"),
    ("When is the deadline?", "en"), ("VPN 2FA?", "en"), ("", "en"), ("１２３！", "en"),
])
def test_question_language(text, lang):
    assert language_of(text) == lang


def test_base_model_profile_is_extractive_with_a_copy_instruction():
    profile = choose_profile(GEMMA_BASE)
    assert profile.extractive and profile.answer_tokens <= 32 and "\n" in profile.stop
    assert not choose_profile(GEMMA_BASE, "completion-free").extractive
    assert not choose_profile(CALM3).extractive
    ja = build_prompt(profile, "締め日は？", SOURCES, "ja")
    assert ja.startswith("次の資料から、質問の答えになる語句をそのまま抜き出して") and ja.endswith("答え:")
    assert "[1]のように" not in ja  # a copied span carries no markers: the citation is computed
    assert build_prompt(profile, "When?", SOURCES, "en").startswith("Copy the words")


def test_naive_prompt_is_the_issue_baseline():
    assert naive_prompt("締め日は？", " 毎月25日。 ") == "資料: 毎月25日。\n質問: 締め日は？\n答え:"
