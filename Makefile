# flexseg developer commands. `make demo` and `make test` work on a fresh clone:
# each creates .venv when absent and installs the project with the pinned versions.

PYTHON ?= python3
VENV ?= .venv
BACKENDS ?= tensorflow jax torch
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.flexseg-installed

.PHONY: install lint format test test-one bench-smoke demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when the project's requirements or pins change.
$(INSTALLED): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[all,dev]"
	touch $@

install: $(INSTALLED)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# JAX compiles every new shape (even a weight initializer) once per process; a persistent
# cache shared by all test processes (JAX workers of the cross-backend tests included) makes
# the second and later compilations of the same program free.
JAX_CACHE ?= $(CURDIR)/.cache/jax
# FLEXSEG_TEST_CACHE lets the three backend runs share the cross-backend workers' outputs.
TEST_CACHE ?= $(CURDIR)/.cache/tests
# XLA_FLAGS: tests run tiny models, so XLA compiles without its expensive optimizations
# (39 distinct weight initializers on JAX: 50 s -> 11 s on this CPU) and with its older CPU
# code generator, which compiles faster (efficient_unet_tiny's model checks on JAX, cold
# cache, AVX2 AMD EPYC: 53 s -> 34 s); benchmarks do neither.
TEST_ENV := JAX_COMPILATION_CACHE_DIR=$(JAX_CACHE) JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
	JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0 FLEXSEG_TEST_CACHE=$(TEST_CACHE) \
	XLA_FLAGS="--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true \
	--xla_cpu_use_fusion_emitters=false"
# Two test processes (pytest-xdist), one per CI core; a file's tests stay in one process, and
# files are handed out slowest first (conftest.py: SLOWEST_FILES); the ten slowest tests are
# listed, to see where CI time goes.
PARALLEL ?= -n 2 --dist loadfile --no-loadscope-reorder --durations=10

# The whole suite (tests and the docstring examples) once per Keras backend.
test: lint
	@rm -rf $(TEST_CACHE)
	@for backend in $(BACKENDS); do \
		echo "=== KERAS_BACKEND=$$backend ==="; \
		$(TEST_ENV) KERAS_BACKEND=$$backend $(PY) -m pytest -q -p no:cacheprovider $(PARALLEL) \
			tests flexseg --doctest-modules || exit 1; \
	done
	$(MAKE) --no-print-directory bench-smoke

# The backend benchmark end to end on a tiny model (about a minute): every code path, no timing claims.
bench-smoke: install
	$(PY) -m benchmarks.backends --smoke

# One backend only: make test-one BACKEND=jax
test-one: install
	$(TEST_ENV) KERAS_BACKEND=$(or $(BACKEND),tensorflow) $(PY) -m pytest -q tests flexseg --doctest-modules

# The demo installs only what its backend needs (KERAS_BACKEND, default tensorflow): the core
# and that backend's extra (sizes in benchmarks/results/install_size.md).
DEMO_BACKEND := $(or $(KERAS_BACKEND),tensorflow)
DEMO_INSTALLED := $(VENV)/.flexseg-demo-$(DEMO_BACKEND)

$(DEMO_INSTALLED): pyproject.toml constraints.txt | $(PY)
	@case "$(DEMO_BACKEND)" in tensorflow|jax|torch) ;; \
	  *) echo "KERAS_BACKEND=$(DEMO_BACKEND): the demo runs on tensorflow, jax or torch"; exit 2;; esac
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[$(DEMO_BACKEND)]"
	touch $@

demo: $(DEMO_INSTALLED)
	KERAS_BACKEND=$(DEMO_BACKEND) $(PY) -m flexseg.demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .cache build dist
