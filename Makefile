# Two commands for a fresh clone:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test install bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch unless a GPU is present (an unpinned torch pulls a multi-GB CUDA build).
	if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then \
	  $(PY) -m pip install --quiet "torch>=2.2"; \
	else \
	  $(PY) -m pip install --quiet torch==2.13.0 || \
	  $(PY) -m pip install --quiet "torch>=2.2" --index-url https://download.pytorch.org/whl/cpu; \
	fi
	$(PY) -m pip install --quiet -e ".[test,distributed,parquet]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/genrekit demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/extract_speed.py

clean:
	rm -rf $(VENV) *.egg-info
