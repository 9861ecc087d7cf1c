# Two entry points for a fresh clone (only Python 3.11 or newer needed, as `python3`):
#   make run   -> create .venv, install mtneuro with every extra, run the default job (quick benchmark)
#   make test  -> the same install plus the test tools, then the test suite
# Installs take CI's exact versions from constraints/ci.txt; `make test CONSTRAINTS=` resolves
# the ranges of pyproject.toml instead. Other targets: constraints (regenerate the pins),
# wheels-for-py312 (wheels to carry to an offline Python 3.12 machine, see
# benchmarks/run_suite_elsewhere.sh), clean.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS ?= constraints/ci.txt
PIP_CONSTRAINTS := $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
STAMP := $(VENV)/.mtneuro-installed
WHEEL_PLATFORMS := $(foreach p,manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014 manylinux1,--platform $(p)_x86_64)

.PHONY: run test install check-python constraints wheels-for-py312 clean

check-python:
	@command -v $(PYTHON) >/dev/null || { echo "mtneuro needs Python 3.11 or newer: '$(PYTHON)' not found (make PYTHON=/path/to/python3.11)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "mtneuro needs Python 3.11 or newer; $(PYTHON) is Python " + sys.version.split()[0] + " (make PYTHON=/path/to/python3.11)")'

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_CONSTRAINTS) --upgrade pip

$(STAMP): pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	@echo "Installing mtneuro[all,test] into $(VENV)$(if $(CONSTRAINTS), with the versions of $(CONSTRAINTS)):"
	@echo "about 6 GB, 5.3 GB of it torch with its CUDA libraries and triton (about 1.8 GB with CPU-only torch); 1.5-3 min from pip's cache, longer"
	@echo "when downloading. CPU-only torch wheels: README.md, 'Set up for development'."
	$(BIN)/python -m pip install $(PIP_CONSTRAINTS) -e ".[all,test]"
	@touch $@

install: $(STAMP)

run: install
	$(BIN)/mtneuro bench --suite quick --out runs/quick

test: install
	$(BIN)/python -m pytest -q -n 2

# Pins what an unconstrained install resolves today (a throw-away venv; about 6 GB while it runs).
constraints: check-python
	rm -rf .venv-constraints
	$(PYTHON) -m venv .venv-constraints
	.venv-constraints/bin/python -m pip install --upgrade pip
	.venv-constraints/bin/python -m pip install ".[all,test]"
	{ grep '^#' constraints/ci.txt; .venv-constraints/bin/python -m pip freeze --all --exclude mtneuro; } > constraints/ci.txt.new
	mv constraints/ci.txt.new constraints/ci.txt
	rm -rf .venv-constraints

# Wheels of what a Python 3.12 machine with its own torch lacks (constraints/py312-carry.txt), for
# benchmarks/run_suite_elsewhere.sh there. intern publishes no wheel: its pure-Python one is built here.
wheels-for-py312: check-python
	mkdir -p .whl
	grep -v -e '^#' -e '^intern==' constraints/py312-carry.txt > .whl/binary.txt
	$(PYTHON) -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		$(WHEEL_PLATFORMS) -d .whl -r .whl/binary.txt
	$(PYTHON) -m pip wheel --no-deps -w .whl $$(grep '^intern==' constraints/py312-carry.txt)
	rm .whl/binary.txt
	du -sh .whl

clean:
	rm -rf $(VENV) .venv-constraints runs build dist src/*.egg-info
