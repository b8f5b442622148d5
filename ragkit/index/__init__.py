"""Index stages: the embedder, the Chroma vector index and the SQLite catalog (manifest + BM25)."""
