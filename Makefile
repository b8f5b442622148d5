# The two entry points: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch first, pinned: on these machines 2.13.0 is the CPU wheel on local disk; a plain
# `torch` from sentence-transformers' requirements would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed
DEMO_STORE ?= .ragkit-demo
DEMO_QUESTION ?= 出張の日当はいくらですか？

.PHONY: install demo test bench bundle bundle-test clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/ragkit --store $(DEMO_STORE) ingest corpora/
	$(BIN)/ragkit --store $(DEMO_STORE) ask "$(DEMO_QUESTION)"

test: install
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(DEMO_STORE) .ragkit .pytest_cache dist
