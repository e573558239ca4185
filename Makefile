# Every target sets itself up: the virtual environment is created on first use and
# reinstalled only when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint report clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check sclero_analysis tests benchmarks

test: lint
	$(BIN)/python -m pytest

# Execute the notebooks on the shipped synthetic registry into reports/ (DATA=path for your own).
report: $(STAMP)
	$(BIN)/sclero-analysis report --out reports $(if $(DATA),--data $(DATA))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info
