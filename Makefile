# Every target sets itself up: the virtual environment is created on first use and
# reinstalled only when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint report readme-figure kernels clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check sclero_analysis tests benchmarks

# One worker per core; --dist loadscope keeps a module's tests (and its shared fixtures) together.
test: lint
	$(BIN)/python -m pytest -n auto --dist loadscope

# Execute the notebooks on the shipped synthetic registry into reports/ (DATA=path for your own,
# ARGS="--dayfirst" or ARGS="--sheet patients=Pts" to read it; LITERATURE=path for the published
# evidence notebook 07 pools). reports/ is not tracked.
report: $(STAMP)
	$(BIN)/sclero-analysis report --out reports $(if $(DATA),--data $(DATA)) $(if $(LITERATURE),--literature $(LITERATURE)) $(ARGS)

# Refresh the README's figure (committed) from notebook 02 on the shipped registry.
readme-figure: $(STAMP)
	$(BIN)/sclero-analysis report --out build/readme-figure --only 02_time_to_relapse_by_tier
	mkdir -p docs/figures
	cp build/readme-figure/figures/02_km_by_tier.png docs/figures/km_by_tier.png

# Compile the kernels shipped with the package (portable to any CPU of this platform) after a
# kernel's source changes; once per Python version shipped (make kernels PYTHON=python3.12 VENV=.venv-3.12).
kernels: $(STAMP)
	$(BIN)/python -c "from sclero_analysis._compiled import ship_kernels; print(*ship_kernels(), sep='\n')"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info
