"""Embeddings through a real ``/v1/embeddings`` server: ``llama_cpp.server --embedding`` serving the
bundled MiniLM converted to GGUF by llama.cpp's own converter at install time
(``scripts/fetch_test_models.py``). Its vectors agree with the in-process model's, and a store
ingested through it records the server model's name and dimension."""
from __future__ import annotations

import numpy as np
import pytest

from servers import MINILM_GGUF, free_port, llama_server, model_file
from ragkit.errors import ServerError, StoreError
from ragkit.pipeline import RAG

pytestmark = pytest.mark.models
TEXTS = ["国内出張の日当は1日あたり2,000円とする。", "The VPN must be used on public Wi-Fi networks.",
         "Employees submit expense reports within 30 days, with receipts for anything over 50 dollars."]


@pytest.fixture(scope="module")
def embed_server(tmp_path_factory):
    with llama_server(model_file(MINILM_GGUF), tmp_path_factory.mktemp("embed"), "--embedding", "true",
                      "--n_ctx", "512") as server:
        yield server


def test_server_vectors_agree_with_in_process(embed_server, embedder):
    from ragkit.config import Settings
    from ragkit.remote import remote_embedder

    remote = remote_embedder(Settings(embed_base_url=embed_server.url))
    here, there = embedder.embed_documents(TEXTS), remote.embed_documents(TEXTS)
    assert there.shape == here.shape and there.dtype == np.float32
    cosines = np.sum(here * there, axis=1)
    assert cosines.min() >= 0.99, cosines
    assert float(remote.embed_query(TEXTS[1]) @ embedder.embed_query(TEXTS[1])) >= 0.99


def test_ingest_through_the_server_records_its_model(embed_server, tmp_path):
    rag = RAG(store=tmp_path / "store", embed_base_url=embed_server.url)
    report = rag.ingest_texts({"vpn.md": TEXTS[1], "expenses.md": TEXTS[2]})
    assert report.embedded == 2 and not report.failed
    recorded = rag.store().built_with()["embed_model"]
    assert recorded.startswith("remote:") and recorded.endswith(":384") and "MiniLM" in recorded
    hits = rag.retrieve("When do I have to use the VPN?", mode="dense")
    assert hits[0].chunk.source.endswith("vpn.md")
    with pytest.raises(StoreError, match="built with other settings"):  # never searched with another model
        RAG(store=tmp_path / "store").retrieve("VPN", mode="dense")


def test_embedding_server_down_is_one_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ServerError, match=f"cannot reach the embedding server at {url}/models"):
        RAG(store=tmp_path / "s", embed_base_url=url).ingest_texts({"a.md": "text"})
