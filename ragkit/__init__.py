"""ragkit: answer questions over your own documents, entirely on your own machine.

    import ragkit
    rag = ragkit.RAG(store=".ragkit")
    rag.ingest(["docs/"])
    answer = rag.ask("経費精算の締め切りはいつですか？")
    print(answer.text, answer.citations)

Heavy libraries (torch, chromadb, llama-cpp) load only when first needed.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .config import Settings, load_settings
from .errors import (CollectionNotFound, ConfigError, GenerationError, LoadError, ModelNotFound, RagkitError, StoreError,
                     StoreLocked, UsageError)
from .types import Answer, Chunk, Citation, Document, Hit


_LAZY = {"RAG": "pipeline", "IngestReport": "pipeline", "FileRecord": "index.catalog",
         "CollectionInfo": "index.catalog", "parse_where": "filters", "Filter": "filters",
         "AnswerStream": "streaming", "Query": "query", "make_query": "query"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)


__all__ = ["RAG", "IngestReport", "FileRecord", "CollectionInfo", "parse_where", "Filter", "CollectionNotFound", "AnswerStream", "Query", "make_query", "Settings", "load_settings", "Document", "Chunk", "Hit", "Citation",
           "Answer", "RagkitError", "ConfigError", "ModelNotFound", "LoadError", "StoreError", "StoreLocked",
           "GenerationError", "UsageError", "__version__"]
