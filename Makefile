# Two commands do everything on a fresh machine: `make report` and `make test`.
# Each creates .venv when it is missing or when pyproject.toml, uv.lock or this Makefile changed, and installs
# exactly the versions of uv.lock (python3 -m venv, pip installs uv, uv syncs the lock).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV_VERSION := 0.13.10
UV     := UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON_DOWNLOADS=never $(BIN)/uv
JOBS   ?=
SCHEDULE ?= schedules/default.yml
# JupyterLab refuses to start as root unless told to (containers, CI-like machines run as root).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

export MPLBACKEND := agg
export PYTHONHASHSEED := 0

.DEFAULT_GOAL := help
.PHONY: help venv lock data validate report test lab lint bench bench-national clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/uv: Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	@touch $@

$(STAMP): pyproject.toml uv.lock $(BIN)/uv
	$(UV) sync --quiet --locked --all-extras
	$(BIN)/python -m analysis kernel --install
	@touch $(STAMP)

venv: $(STAMP) ## Create or update .venv: exactly the versions of uv.lock, the package itself editable

lock: | $(BIN)/uv ## Update uv.lock to pyproject.toml (UPGRADE=1: newest allowed versions), pin environment.yml
	$(UV) lock $(if $(UPGRADE),--upgrade)
	$(MAKE) venv
	$(BIN)/python tools/pin_environment.py

data: $(STAMP) ## Rebuild data/processed from data/raw
	$(BIN)/python -m analysis build

validate: $(STAMP) ## Check data/raw and print flags and rejects (writes nothing)
	$(BIN)/python -m analysis validate

report: data ## Build the data, run the default report schedule, print where the index is
	$(BIN)/python -m analysis report $(SCHEDULE) $(if $(JOBS),--jobs $(JOBS))

test: $(STAMP) ## Run the test suite (unit, doctests, notebooks, runner, browser)
	$(BIN)/python -m pytest -q

lab: $(STAMP) ## Open JupyterLab on notebooks/explore.ipynb with the project's kernel (as root too)
	$(BIN)/jupyter lab $(ALLOW_ROOT) notebooks/explore.ipynb

lint: $(STAMP) ## Static checks: ruff lint and format check (pyproject.toml), notebooks stored without outputs
	$(BIN)/ruff check analysis tests benchmarks notebooks
	$(BIN)/ruff format --check analysis tests benchmarks notebooks
	$(BIN)/python -m analysis check-notebooks

bench: $(STAMP) ## Run the benchmarks and write benchmarks/results/latest.md
	$(BIN)/python benchmarks/run_all.py

bench-national: $(STAMP) ## The national report run (schedules/national.yml, ~890 jobs on the synthetic panel; minutes)
	mkdir -p benchmarks/results && $(BIN)/python benchmarks/bench_national.py --json benchmarks/results/national.json

clean: ## Remove generated data and reports (keeps .venv)
	rm -rf data/processed/* reports/* && touch data/processed/.gitkeep reports/.gitkeep
