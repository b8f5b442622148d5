"""Child process: the raw cost of `SentenceTransformer.encode` on a list of texts.

    python bench/raw_embed_child.py TEXTS.json MODEL_DIR [--batch 32] [--dtype float32] [--save VECTORS.npy]

One ``encode`` call over all texts, same batch size and model as ragkit; ``--dtype bfloat16``
casts the model as ragkit's ``embed.dtype`` does. The model load is not timed. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("texts")
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    ap.add_argument("--save")
    args = ap.parse_args()
    texts = json.loads(open(args.texts, encoding="utf-8").read())
    model = SentenceTransformer(args.model, device="cpu", local_files_only=True)
    if args.dtype != "float32":
        import torch

        model.to(getattr(torch, args.dtype))
    model.encode(texts[:8], batch_size=args.batch)  # warm-up
    t = time.perf_counter()
    vectors = model.encode(texts, batch_size=args.batch, normalize_embeddings=True, convert_to_numpy=True,
                           show_progress_bar=False)
    wall = time.perf_counter() - t
    if args.save:
        np.save(args.save, np.asarray(vectors, dtype=np.float32))
    print(json.dumps({"texts": len(texts), "wall_s": round(wall, 3),
                      "chunks_per_s": round(len(texts) / wall, 1), "batch_size": args.batch,
                      "dtype": args.dtype}))


if __name__ == "__main__":
    main()
