# Two entry points for a fresh clone (only Python 3.11 needed):
#   make run   -> create .venv, install, run the default job (quick benchmark on embedded data)
#   make test  -> create .venv, install with test extras, run the test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"

run: install
	$(BIN)/mtneuro bench --suite quick --out runs/quick

test: install
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) runs build dist src/*.egg-info
