"""Child process run in bench/.venv-llamaindex: the LlamaIndex way of ingesting the same folder.

    bench/.venv-llamaindex/bin/python bench/llamaindex_child.py DOCS STORE MODEL_DIR [--dtype float32]

``SimpleDirectoryReader`` → ``SentenceSplitter`` (256 tokens of the same MiniLM tokenizer, 32-token
overlap) → ``HuggingFaceEmbedding`` (same local model, batch 32) → ``ChromaVectorStore``
(persistent, cosine). File metadata is switched off so the embedded texts are the chunk texts
alone, as in ragkit. ``--dtype bfloat16`` casts the embedding model as ragkit's ``embed.dtype``
does (LlamaIndex's default is float32). The model load is not timed. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

import chromadb  # noqa: E402
from chromadb.config import Settings  # noqa: E402
from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex  # noqa: E402
from llama_index.core.node_parser import SentenceSplitter  # noqa: E402
from llama_index.embeddings.huggingface import HuggingFaceEmbedding  # noqa: E402
from llama_index.vector_stores.chroma import ChromaVectorStore  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("docs")
    ap.add_argument("store")
    ap.add_argument("model")
    ap.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    args = ap.parse_args()
    embed = HuggingFaceEmbedding(model_name=args.model, device="cpu", embed_batch_size=32)
    if args.dtype != "float32":
        import torch

        embed._model.to(getattr(torch, args.dtype))
    embed.get_text_embedding("準備")  # warm-up
    tokenizer = embed._model.tokenizer
    splitter = SentenceSplitter(chunk_size=256, chunk_overlap=32,
                                tokenizer=lambda text: tokenizer.encode(text, add_special_tokens=False))
    client = chromadb.PersistentClient(path=args.store, settings=Settings(anonymized_telemetry=False))
    collection = client.get_or_create_collection("llamaindex", metadata={"hnsw:space": "cosine"})
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))

    t0 = time.perf_counter()
    docs = SimpleDirectoryReader(args.docs, recursive=True, file_metadata=lambda path: {}).load_data()
    t1 = time.perf_counter()
    VectorStoreIndex.from_documents(docs, storage_context=storage, embed_model=embed,
                                    transformations=[splitter], show_progress=False)
    t2 = time.perf_counter()
    chunks = collection.count()
    print(json.dumps({"files": len(docs), "chunks": chunks, "wall_s": round(t2 - t0, 3),
                      "load_s": round(t1 - t0, 3), "index_s": round(t2 - t1, 3),
                      "chunks_per_s": round(chunks / (t2 - t0), 1), "dtype": args.dtype}))


if __name__ == "__main__":
    main()
