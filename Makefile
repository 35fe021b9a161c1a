# Two commands for a fresh clone:  `make demo`  and  `make test`.
# `make test-min` runs the tests at the minimum versions setup.cfg declares (CI runs both).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS := test,distributed,parquet
# The minimum-versions environment: every `name>=X` of setup.cfg installed as `name==X`, except
# torch, whose one build at hand on the CI machine is the CPU build 2.13.0 (any other version
# pulls a multi-GB CUDA build), so torch's own minimum is not tested there.
MIN_VENV  ?= .venv-min
MIN_PY    := $(MIN_VENV)/bin/python
MIN_STAMP := $(MIN_VENV)/.installed
MIN_TORCH ?= 2.13.0

.PHONY: demo test test-min install install-min bench clean weights

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch unless a GPU is present (an unpinned torch pulls a multi-GB CUDA build).
	if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then \
	  $(PY) -m pip install --quiet "torch>=2.3"; \
	else \
	  $(PY) -m pip install --quiet torch==2.13.0 || \
	  $(PY) -m pip install --quiet "torch>=2.3" --index-url https://download.pytorch.org/whl/cpu; \
	fi
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

$(MIN_STAMP): setup.cfg pyproject.toml .ci/min_versions.py
	rm -rf $(MIN_VENV)
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_PY) -m pip install --quiet --upgrade pip
	$(MIN_PY) -m pip install --quiet torch==$(MIN_TORCH)
	$(MIN_PY) .ci/min_versions.py --extras $(EXTRAS) --override torch==$(MIN_TORCH) > $(MIN_VENV)/min-versions.txt
	$(MIN_PY) -m pip install --quiet -c $(MIN_VENV)/min-versions.txt -e ".[$(EXTRAS)]"
	$(MIN_PY) -m pip check
	touch $(MIN_STAMP)

install: $(STAMP)

install-min: $(MIN_STAMP)

demo: $(STAMP)
	$(VENV)/bin/genrekit demo

# musicnn's pretrained weights (29 MB wheel from PyPI, checksummed) for the tests that need them;
# when the download fails the line below says so and those tests are skipped.
WEIGHTS_FAILED := echo "make: could not fetch musicnn weights (genrekit weights fetch); their tests will be skipped"

weights: $(STAMP)
	$(PY) -m genrekit weights fetch || $(WEIGHTS_FAILED)

test: $(STAMP)
	$(PY) -m genrekit weights fetch || $(WEIGHTS_FAILED)
	$(PY) -m pytest -q

test-min: $(MIN_STAMP)
	$(MIN_PY) -m genrekit weights fetch || $(WEIGHTS_FAILED)
	$(MIN_PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/extract_speed.py

clean:
	rm -rf $(VENV) $(MIN_VENV) *.egg-info
