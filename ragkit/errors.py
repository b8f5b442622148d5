"""One exception tree for the whole library; the CLI turns any of these into one clear line.

    RagkitError
    ├── ConfigError        a setting is invalid or a config file does not parse
    ├── UsageError         a call's arguments are unsafe or invalid (also a ValueError)
    │   └── CollectionNotFound   a named collection is not in the store
    ├── ModelNotFound      a model path does not exist or a bundled model is missing/corrupt
    ├── LoadError          one input file cannot be read (broken, encrypted, empty, binary, …)
    ├── StoreError         the store is unusable (built with another embedder, locked, damaged)
    │   ├── StoreLocked    another process is writing to the store
    │   └── EmptyStore     nothing is indexed yet (no store, or one without files)
    ├── GenerationError    the language model failed to load or to answer
    └── ServerError        a configured server (model, embedding, Chroma) is down, refused us or timed out
"""
from __future__ import annotations


class RagkitError(Exception):
    """Base of every error ragkit raises on purpose."""


class ConfigError(RagkitError):
    pass


class UsageError(RagkitError, ValueError):
    """Arguments that would do harm or make no sense (``remove ""``, ``k=0``); the CLI exits 2."""


class ModelNotFound(RagkitError):
    pass


class LoadError(RagkitError):
    """A single file could not be loaded; ``path`` names it and ``reason`` says why."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class StoreError(RagkitError):
    pass


class StoreLocked(StoreError):
    pass


class EmptyStore(StoreError):
    """Nothing is indexed yet: asking could only answer "not in the documents"."""


class GenerationError(RagkitError):
    pass


class CollectionNotFound(UsageError):
    """A named collection does not exist in the store (a service maps this to 404)."""


class ServerError(RagkitError):
    """A server the user configured (``[llm] base_url``, ``[embed] base_url``, ``[chroma] url``)
    could not be used; the message names its URL and what to check."""
