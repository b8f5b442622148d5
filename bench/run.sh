#!/usr/bin/env bash
# Run every benchmark in turn and write bench/results.json (see bench/README.md).
#   bash bench/run.sh            or   make bench
# Env: BENCH_WORK (scratch dir, default /tmp/ragkit-bench), BENCH_SIZES (default 10000,100000),
#      BENCH_SKIP (comma list of: ingest,backends,scale,filtered,generation,office,scaling,remote,cold,serve) to rerun only some parts.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false ANONYMIZED_TELEMETRY=False
export BENCH_WORK="${BENCH_WORK:-/tmp/ragkit-bench}"
SIZES="${BENCH_SIZES:-10000,100000}"
SKIP=",${BENCH_SKIP:-},"
mkdir -p "$BENCH_WORK"
echo "== load before: $(uptime)"

if [[ "$SKIP" != *,ingest,* ]]; then
  echo "== ingest: ragkit vs raw encode vs LlamaIndex (ja_dev)"
  $PY bench/ingest.py
fi

if [[ "$SKIP" != *,backends,* ]]; then
  echo "== embedding backends: torch vs ONNX vs ONNX int8"
  if ! bench/.venv-onnx/bin/python -c "import optimum.onnxruntime" 2>/dev/null; then
    python3 -m venv bench/.venv-onnx
    bench/.venv-onnx/bin/pip install -q torch==2.13.0
    bench/.venv-onnx/bin/pip install -q "sentence-transformers[onnx]"
  fi
  bench/.venv-onnx/bin/python bench/embed_backends.py
fi

if [[ "$SKIP" != *,scale,* ]]; then
  echo "== scale: ingest RSS and retrieval latency at $SIZES chunks"
  $PY bench/scale.py --sizes "$SIZES"
fi

if [[ "$SKIP" != *,filtered,* ]]; then
  echo "== filtered: hybrid retrieval with a metadata filter / a collection (10% of 100k chunks) vs unfiltered"
  PYTHONPATH=. $PY bench/filtered.py
fi

if [[ "$SKIP" != *,generation,* ]]; then
  echo "== generation: ragkit vs llama_cpp direct"
  $PY bench/generation.py
fi

if [[ "$SKIP" != *,office,* ]]; then
  echo "== office: Word/Excel/PowerPoint/HTML/CSV ingest units/s, 50,000-row sheet peak RSS"
  $PY bench/office.py
fi

if [[ "$SKIP" != *,scaling,* ]]; then
  echo "== ingest time per MB: 1 MB vs 20 MB text, 30k-line PDF"
  PYTHONPATH=. $PY bench/ingest_scaling.py
fi

if [[ "$SKIP" != *,remote,* ]]; then
  echo "== shared engines on loopback: llama_cpp.server vs in process, chroma run vs on disk"
  PYTHONPATH=. $PY bench/remote.py
fi

if [[ "$SKIP" != *,cold,* ]]; then
  echo "== cold ragkit ask vs bare llama_cpp load + generate"
  $PY bench/cold_start.py
fi

if [[ "$SKIP" != *,serve,* ]]; then
  echo "== ragkit serve: answers/s and p50/p95 at 1, 4, 16 clients; warm server vs cold ragkit ask"
  $PY bench/serve.py
fi

[[ -f bench/pdf_extract.json ]] || $PY bench/pdf_extract.py
$PY bench/summary.py
echo "== load after: $(uptime)"
