# The template's own workflow: its tests, a demo of the generated project, the registry-free
# base images and the benchmark. Each target installs what it needs into $(VENV).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV ?= .venv
# Scratch space for baked projects; ignored by git.
BUILD_DIR ?= build
PYTEST_ARGS ?=
# The stand-ins make offline-images builds; empty: all of them (bash offline-images/build.sh --list).
OFFLINE_IMAGES ?=
DEMO := $(BUILD_DIR)/demo/todobackend

BIN := $(VENV)/bin
INFO := @bash -c 'if [ -t 1 ]; then printf "\033[1;33m=> %s\033[0m\n" "$$1"; else echo "=> $$1"; fi' INFO

.PHONY: help venv docker-engine test test-fast test-docker demo offline-images bench lint clean

help: ## Show the targets and what they do
	@echo "Usage: make <target> [VARIABLE=value ...]"
	@echo
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{ printf "  %-15s %s\n", $$1, $$2 }'

# The stamp is the venv's own pytest: rebuilt only when the requirements change.
$(BIN)/pytest: requirements-dev.txt {{cookiecutter.project_slug}}/src/requirements-test.txt
	${INFO} "Installing the template's dev dependencies into $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet -r {{cookiecutter.project_slug}}/src/requirements-test.txt
	touch $@

venv: $(BIN)/pytest ## Create the virtualenv with the template's dev dependencies

test: venv ## Run the template's whole test suite: the fast layer, then the Docker layer
	${INFO} "Fast layer (no Docker)"
	$(BIN)/pytest -m "not docker" $(PYTEST_ARGS)
	${INFO} "Docker layer (bakes projects and runs their make test on a real engine)"
	$(BIN)/pytest -m docker $(PYTEST_ARGS)

test-fast: venv ## Run only the fast layer: bakes, hooks, lint, the baked project's tests on SQLite
	$(BIN)/pytest -m "not docker" $(PYTEST_ARGS)

test-docker: venv ## Run only the Docker layer (needs an engine and the offline or public images)
	$(BIN)/pytest -m docker $(PYTEST_ARGS)

lint: venv ## Lint the template's own code
	$(BIN)/ruff check hooks tests bench local_extensions.py
	$(BIN)/ruff format --check hooks tests bench local_extensions.py

# Starts an engine only where none answers and we may install one (root on Debian), like CI.
docker-engine:
	@if docker info >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then \
	  echo "=> No Docker engine answers: installing and starting one (.ci/install-docker.sh)"; \
	  bash .ci/install-docker.sh; \
	else \
	  echo "No Docker engine answers ('docker info' failed): install Docker and Compose, then retry." >&2; exit 1; \
	fi

demo: venv docker-engine ## Bake the default project into build/demo, run its make test, then its make clean
	${INFO} "Baking the default project into $(BUILD_DIR)/demo"
	rm -rf $(BUILD_DIR)/demo
	$(BIN)/cookiecutter --no-input --output-dir $(BUILD_DIR)/demo .
	@# The images are the baked project's own defaults (or PYTHON_IMAGE, DB_IMAGE given to make).
	@images=$$($(MAKE) -s -C $(DEMO) --eval 'demo-images: ; @echo $$(PYTHON_IMAGE) $$(DB_IMAGE)' demo-images); \
	missing=; for image in $$images; do \
	  docker image inspect $$image >/dev/null 2>&1 || docker pull --quiet $$image >/dev/null 2>&1 || missing="$$missing $$image"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "=> Neither on the engine nor in a registry:$$missing; building stand-ins from Debian packages"; \
	  $(MAKE) offline-images OFFLINE_IMAGES="$$missing"; \
	fi
	@status=0; $(MAKE) -C $(DEMO) test || status=$$?; $(MAKE) -C $(DEMO) clean; exit $$status

offline-images: ## Build stand-ins for the public base images from Debian packages (no registry needed)
	bash offline-images/build.sh $(OFFLINE_IMAGES)

bench: venv ## Measure the generated workflow (cold, warm, floor, rebuild, agent overhead, sizes)
	$(BIN)/python bench/bench.py

clean: ## Remove the virtualenv, baked projects and caches
	rm -rf $(VENV) $(BUILD_DIR) .pytest_cache .ruff_cache
