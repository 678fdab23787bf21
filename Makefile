# Switchboard — `make run` serves the demo on the embedded default; `make test` runs the tests.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: run test lint bench evals clean chromium

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel

# llama.cpp compiles on install. Its default build targets the building CPU (-march=native),
# and on a CPU with AMX (Intel Sapphire Rapids) that build crashes decoding Gemma 3
# (llama-cpp-python 0.3.36: segmentation fault in the first decode). The portable AVX2 build
# runs on any x86-64 CPU since 2013. It is built without pip's wheel cache, which would hand
# back a native build made earlier on the same machine. LLAMA_CMAKE_ARGS= builds the default.
ifeq ($(shell uname -m),x86_64)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
endif
LLAMA_PIN = $(shell grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml | head -1)

# torch first, pinned, so nothing pulls a CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q --no-cache-dir "$(LLAMA_PIN)"
	$(BIN)/pip install -q -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[test]'
	touch $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/switchboard run

# The browser tests need Chromium: installed here when missing and we are root (Debian's
# package), otherwise one line says what to run.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Chromium for the browser tests (apt-get install chromium)…"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is missing for the browser tests: run 'sudo apt-get install -y chromium'."; exit 1; \
	  fi; \
	fi

test: $(TEST_STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/mypy core knowledge bot copilot analytics
	$(BIN)/python -m pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy core knowledge bot copilot analytics

bench: $(STAMP)
	$(BIN)/python -m bench $(NAME)

# Evaluators: the smoke suite by default, e.g. `make evals SUITE=handoff`.
SUITE ?= smoke
EVALS_STAMP := $(VENV)/.installed-evals
$(EVALS_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[evals]'
	touch $(EVALS_STAMP)

evals: $(EVALS_STAMP)
	$(BIN)/switchboard evals run $(SUITE)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
