"""Clients for shared servers a user configures: an OpenAI-compatible model server
(``[llm] base_url``) and embedding server (``[embed] base_url``). Nothing here connects until a
URL is set; ``ragkit.pipeline.RAG`` builds them from the settings."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .http import Endpoint

if TYPE_CHECKING:
    from ..config import Settings
    from .embedder import RemoteEmbedder
    from .generator import RemoteGenerator

LLM_URL_SETTING = "[llm] base_url (RAGKIT_LLM_BASE_URL)"
EMBED_URL_SETTING = "[embed] base_url (RAGKIT_EMBED_BASE_URL)"


def llm_endpoint(settings: "Settings") -> Endpoint:
    return Endpoint(str(settings.llm_base_url), "model server", LLM_URL_SETTING, settings.llm_api_key_env,
                    settings.llm_timeout)


def embed_endpoint(settings: "Settings") -> Endpoint:
    return Endpoint(str(settings.embed_base_url), "embedding server", EMBED_URL_SETTING,
                    settings.embed_api_key_env, settings.embed_timeout)


def remote_generator(settings: "Settings") -> "RemoteGenerator":
    """The generator for ``[llm] base_url``."""
    from .generator import RemoteGenerator

    return RemoteGenerator(llm_endpoint(settings), settings.llm_model, n_ctx=settings.llm_n_ctx,
                           prompt_format=settings.llm_prompt_format)


def remote_embedder(settings: "Settings") -> "RemoteEmbedder":
    """The embedder for ``[embed] base_url``."""
    from .embedder import RemoteEmbedder

    return RemoteEmbedder(embed_endpoint(settings), settings.embed_model, settings.embed_max_tokens,
                          settings.embed_batch_size)
