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
# the build tools (e.g. SETUPTOOLS_SPEC='setuptools==78.1.1 wheel' to try an older one)
SETUPTOOLS_SPEC ?= setuptools wheel
STAMP := $(VENV)/.cpabmm-installed
EXT_SOURCES := $(shell find cpabmm/ops/csrc -name '*.cpp' -o -name '*.cu' -o -name '*.h' -o -name '*.cuh' 2>/dev/null)
DEMO_OUT ?= outputs/demo
# the model-zoo checkpoints bundled in model_zoo/ (tools/download.py --list),
# animated side by side
DEMO_MODELS ?= fomm-lite tpsmm-lite cpabmm-lite

.PHONY: setup demo test clean

setup: $(STAMP)

$(STAMP): setup.py pyproject.toml $(wildcard requirements/*.txt) $(EXT_SOURCES)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "cpabmm needs Python 3.10 or newer"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(SETUPTOOLS_SPEC)
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -r requirements/runtime.txt -r requirements/tests.txt \
		-r requirements/onnx.txt -r requirements/webui.txt
	$(PY) -m pip install -q --no-deps -r requirements/faces.txt
	$(PY) -m pip install -q --no-build-isolation -e .
	@# the compiled op imports and agrees with the reference (CPABMM_WITH_OPS=0: not required)
	$(PY) -m cpabmm.utils.collect_env $(if $(filter 0,$(CPABMM_WITH_OPS)),,--require-ops)
	@touch $@

test: setup
	$(PY) -m pytest -rs $(PYTEST_ARGS)

demo: setup
	$(PY) tools/demo.py --source demo/source.png --driving demo/driving.mp4 \
		--compare $(DEMO_MODELS) --keypoints --output $(DEMO_OUT)/compare.mp4
	@echo "Result:  $(DEMO_OUT)/compare.mp4 (source | driving | $(DEMO_MODELS), with keypoints)"
	@echo "The bundled checkpoints are small and trained briefly on synthetic videos only:"
	@echo "see docs/results.md for how they compare and model_zoo/README.md for full models."

clean:
	rm -rf build *.egg-info cpabmm/*.so $(DEMO_OUT)
