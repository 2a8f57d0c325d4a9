# Two entry points for a fresh machine: `make demo` (set up, then generate a small dataset on the embedded model)
# and `make test` (set up, then run the whole test suite). Setup is idempotent and reruns when pyproject.toml or the
# llama.cpp build script changes.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup sandbox-tool demo test lint benchmark

setup: sandbox-tool $(VENV)/.installed

# Generated code runs only inside bubblewrap (README "Sandbox"). Installed here when missing and we are root with
# apt-get; anywhere else setup warns and goes on: code execution is then refused, never run unsandboxed.
sandbox-tool:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq bubblewrap >/dev/null 2>&1 \
	      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq bubblewrap >/dev/null 2>&1; }; \
	  fi; \
	  command -v bwrap >/dev/null 2>&1 || echo "agentinstruct: warning: bubblewrap (bwrap) is missing and could not be \
	installed here; generated code will not be run until it is: apt-get install bubblewrap (dnf, pacman, apk: \
	bubblewrap)" >&2; }

$(VENV)/.installed: pyproject.toml agentinstruct/llama_build.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned to the CPU build: a bare requirement elsewhere would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# llama-cpp-python built by us, portable and AMX-free, never a wheel pip cached from another build (README).
	$(BIN)/python agentinstruct/llama_build.py
	# setuptools notes every editable install of a package-dir layout ("Editable installation ..."): not news here.
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e ".[dev,embeddings,optimizers,ray]"
	# Load the embedded model and generate in a child process: a build this CPU cannot run fails here, in one line.
	$(BIN)/agentinstruct doctor
	touch $@

demo: setup
	$(BIN)/agentinstruct generate --skill reading_comprehension --seeds bundled --n 5 --out outputs/rc-demo

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

benchmark: setup
	$(BIN)/python benchmarks/embedded_lm.py
