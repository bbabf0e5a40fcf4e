# The two commands of the README:
#   make demo   set up the environment, then animate the bundled example
#   make test   set up the environment, then run the whole test suite
# Both create (or reuse) the virtual environment $(VENV); a second run only
# reinstalls what changed.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The torch release this project is tested with (pip takes it from the local
# disk where a machine has it); override to use another build.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.cpabmm-installed
EXT_SOURCES := $(shell find cpabmm/ops/csrc -name '*.cpp' -o -name '*.cu' -o -name '*.h' -o -name '*.cuh' 2>/dev/null)
DEMO_OUT ?= outputs/demo

.PHONY: setup demo test clean

setup: $(STAMP)

$(STAMP): setup.py $(wildcard requirements/*.txt) $(EXT_SOURCES)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "cpabmm needs Python 3.10 or newer"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q setuptools wheel
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -r requirements/runtime.txt -r requirements/tests.txt
	$(PY) -m pip install -q --no-deps -r requirements/faces.txt
	$(PY) -m pip install -q --no-build-isolation -e .
	@touch $@

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

demo: setup
	$(PY) tools/demo.py --out-dir $(DEMO_OUT)

clean:
	rm -rf build *.egg-info cpabmm/*.so $(DEMO_OUT)
