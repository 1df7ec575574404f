# whale-notebooks: `make help` lists every target.
# The first target that needs Python creates .venv from requirements.lock; it reinstalls
# only when the lock (or pyproject.toml) changes.

PYTHON  ?= python3
# The Keras backend: tensorflow (.venv, requirements.lock), jax or torch (.venv-BACKEND,
# requirements-BACKEND.lock); KERAS_BACKEND, if set, chooses it too.
BACKENDS := tensorflow jax torch
BACKEND ?= $(or $(KERAS_BACKEND),tensorflow)
ifeq ($(filter $(BACKEND),$(BACKENDS)),)
$(error BACKEND=$(BACKEND) is not a Keras backend of the series: say one of $(BACKENDS))
endif
export KERAS_BACKEND := $(BACKEND)
VENV    ?= $(if $(filter tensorflow,$(BACKEND)),.venv,.venv-$(BACKEND))
LOCK    := $(if $(filter tensorflow,$(BACKEND)),requirements.lock,requirements-$(BACKEND).lock)
# PyTorch's CPU build comes from PyTorch's own index (pip looks there after PyPI);
# TORCH_INDEX= (empty) where pip's own configuration already finds that wheel.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PROFILE ?= default
JOBS    ?= 2
NB      ?=
SPLIT   ?=
SCHEDULER ?=
SOLUTIONS ?=
SEED    ?=
OUT     := outputs/$(PROFILE)$(if $(SPLIT),-$(SPLIT))$(if $(SOLUTIONS),-solutions)$(if $(SEED),-seed$(SEED))$(if $(filter-out tensorflow,$(BACKEND)),-$(BACKEND))
empty   :=
PROFILES := $(subst $(empty) $(empty),|,$(sort $(basename $(notdir $(wildcard notebooks/params/*.yaml)))))

export PYTHONWARNINGS ?= ignore::DeprecationWarning
export TF_CPP_MIN_LOG_LEVEL = 3

.DEFAULT_GOAL := help
.PHONY: help env lab data data-kaggle run-all run lint test test-compat backends test-backends report readme-results html screenshots stats gallery bench golden sync lock clean assignment grade

help: ## list the targets
	@echo "whale-notebooks: make TARGET [PROFILE=$(PROFILES)] [BACKEND=tensorflow|jax|torch] [SPLIT=last-rows|known] [NB=03] [JOBS=2] [SOLUTIONS=1]"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

$(STAMP): $(LOCK) pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(LOCK) \
	  $(if $(and $(filter torch,$(BACKEND)),$(TORCH_INDEX)),--extra-index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

env: $(STAMP) ## create or update the virtual environment (.venv; BACKEND=jax|torch: .venv-BACKEND)

lab: $(STAMP) ## open the notebooks in JupyterLab, on the kernel of .venv
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

data: $(STAMP) ## generate the synthetic data of PROFILE (data/synthetic/PROFILE)
	$(PY) -m whale_series.series data --profile $(PROFILE)

run-all: $(STAMP) ## execute every notebook of PROFILE into outputs/PROFILE/
	$(PY) -m whale_series.series run --profile $(PROFILE) --jobs $(JOBS) $(if $(SPLIT),--split $(SPLIT)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(SOLUTIONS),--solutions) $(if $(SEED),--seed $(SEED))

run: $(STAMP) ## execute one notebook: make run NB=03 [PROFILE=...]
	@test -n "$(NB)" || { echo "error: say which notebook, e.g. make run NB=03"; exit 2; }
	$(PY) -m whale_series.series run --profile $(PROFILE) --nb $(NB) --jobs $(JOBS) $(if $(SPLIT),--split $(SPLIT)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(SOLUTIONS),--solutions) $(if $(SEED),--seed $(SEED))

lint: $(STAMP) ## ruff over the whole tree (rules in pyproject.toml)
	$(VENV)/bin/ruff check .

test: $(STAMP) lint ## lint, unit tests, notebook sync checks and nbval over the golden notebooks
	$(PY) -m whale_series.series data --profile smoke
	$(PY) -m pytest tests --nbval-lax --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg

test-compat: ## the package in a Colab-like environment (newest TensorFlow, scikit-learn...): .venv-compat
	$(PYTHON) tools/test_compat.py

report: $(STAMP) ## results table (Markdown, CSV) and chart of PROFILE: outputs/PROFILE/report/
	$(PY) -m whale_series.report $(OUT)

readme-results: $(STAMP) ## replace README.md's results table with outputs/default's (after make run-all)
	$(PY) -m whale_series.report outputs/default --readme README.md

html: $(STAMP) ## render notebooks and report of PROFILE as a site: outputs/PROFILE/html/
	$(PY) -m whale_series.book $(OUT)

screenshots: $(STAMP) ## redraw docs/book-*.png from the default run's book (after make run-all)
	$(PY) -m whale_series.browser outputs/default docs

data-kaggle: $(STAMP) ## download (once) and verify the competition's photos, where DATA_DIR = "kaggle" finds them (or OUT=folder)
	$(PY) -m whale_utils.data.competition $(if $(OUT),--out $(OUT))

assignment: $(STAMP) ## an Otter-Grader assignment of each notebook (student notebook, autograder): outputs/assignment/
	$(PY) -m whale_series.assignment $(if $(NB),--nb $(NB))

grade: $(STAMP) ## grade a folder of submitted notebooks with Otter, each walled off: make grade SUBMISSIONS=folder [JOBS=2]
	@test -n "$(SUBMISSIONS)" || { echo "error: say which folder, e.g. make grade SUBMISSIONS=submitted/"; exit 2; }
	$(PY) -m whale_series.grade $(SUBMISSIONS) --jobs $(JOBS)

stats: $(STAMP) ## statistics of PROFILE's synthetic data next to the real data's
	$(PY) -m whale_series.series data --profile $(PROFILE) --stats

gallery: $(STAMP) ## a grid of synthetic photos, several per whale: docs/gallery.png
	$(PY) -m whale_series.series data --profile $(PROFILE) --gallery docs/gallery.png

bench: $(STAMP) ## the student's way against ours, same images, same machine (about 10 min)
	$(PY) benchmarks/bench.py $(BENCH_ARGS)

backends: $(STAMP) ## PROFILE on TensorFlow, JAX and PyTorch (and TensorFlow with SEED=1): MAP@5 and seconds side by side
	$(MAKE) run-all BACKEND=tensorflow PROFILE=$(PROFILE) JOBS=$(JOBS)
	$(MAKE) run-all BACKEND=tensorflow PROFILE=$(PROFILE) JOBS=$(JOBS) SEED=1
	$(MAKE) run-all BACKEND=jax PROFILE=$(PROFILE) JOBS=$(JOBS)
	$(MAKE) run-all BACKEND=torch PROFILE=$(PROFILE) JOBS=$(JOBS)
	$(PY) -m whale_series.backends --profile $(PROFILE) --matmul "$$($(PY) benchmarks/bench.py --matmul)" \
	  $(if $(filter default,$(PROFILE)),--write docs/keras-backends.md)

test-backends: ## the backends' own tests, and every notebook's smoke run on JAX and on PyTorch, each in its environment
	$(MAKE) env BACKEND=jax
	$(MAKE) env BACKEND=torch
	KERAS_BACKEND=jax .venv-jax/bin/python -m pytest -q tests/test_backends.py
	KERAS_BACKEND=torch .venv-torch/bin/python -m pytest -q tests/test_backends.py
	$(MAKE) run-all BACKEND=jax PROFILE=smoke
	$(MAKE) run-all BACKEND=torch PROFILE=smoke

golden: $(STAMP) ## re-execute the golden notebooks (tests/golden/) with the smoke profile [NB=07]
	$(PY) -m whale_series.series golden $(if $(NB),--nb $(NB))

sync: $(STAMP) ## pair every notebooks/NN_name.py with its .ipynb (jupytext); Colab links; export cells -> whale_utils/lessons.py
	$(PY) -m whale_series.links --links
	$(VENV)/bin/jupytext --set-kernel python3 --sync notebooks/[0-9][0-9]_*.py
	$(PY) -m whale_series.export

UV_COMPILE := pyproject.toml tools/lock.in --extra dev --extra teach --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --no-emit-package tensorflow --generate-hashes
# Where uv finds PyTorch's CPU wheel for requirements-torch.lock (a folder of wheels will do).
TORCH_WHEELS ?= https://download.pytorch.org/whl/cpu/torch/

lock: $(STAMP) ## compile requirements.lock (pinned, hashed) with uv, the backends' locks on its pins, environment.yml
	$(VENV)/bin/uv pip compile $(UV_COMPILE) --quiet -o requirements.lock
	$(VENV)/bin/uv pip compile $(UV_COMPILE) --extra jax -c requirements.lock --quiet \
	  -o requirements-jax.lock
	$(VENV)/bin/uv pip compile $(UV_COMPILE) tools/lock-torch.in --extra torch -c requirements.lock \
	  --find-links $(TORCH_WHEELS) --quiet -o requirements-torch.lock
	{ echo "# conda users: conda env create -f environment.yml (same pins as requirements.lock,"; \
	  echo "# written from it by make lock)"; \
	  echo "name: whale-notebooks"; echo "channels: [conda-forge]"; echo "dependencies:"; \
	  echo "  - python=3.11"; echo "  - pip"; echo "  - pip:"; \
	  grep -oE '^[A-Za-z0-9_.-]+==[^ ]+' requirements.lock | sed 's/^/      - /'; \
	  echo "      - -e ."; } > environment.yml
	@touch $(STAMP)

clean: ## delete outputs/ and generated synthetic data (never the real photos)
	rm -rf outputs
	@for d in data/synthetic/*/; do \
	  if [ -f "$$d/.whale_synthetic.json" ]; then rm -rf "$$d"; echo "removed $$d"; \
	  elif [ -d "$$d" ]; then echo "kept $$d (not made by whale_utils.data.synthetic)"; fi; done
