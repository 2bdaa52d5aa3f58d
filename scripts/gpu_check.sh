#!/usr/bin/env bash
# The GPU check: install memgap on a machine that has torch, transformers, PEFT and accelerate but no
# network, then run the tests marked `cuda` (tests/test_cuda.py) and the precision tests there.
#
#   make gpu-wheels                 # here, with network: the few pure-Python wheels the GPU machine lacks, into .whl/
#   bash scripts/gpu_check.sh       # there, from the repository root, with .whl/ beside it
#
# Prints the device, the versions and pytest's summary; exits with pytest's status. About a minute on one GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
SITE=${MEMGAP_GPU_SITE:-/tmp/memgap-site}

if compgen -G ".whl/*.whl" >/dev/null; then
  # --no-deps: each wheel was chosen to fill one gap; nothing may reach for the network.
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl || exit 2
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
# memgap itself, from this checkout; without build isolation pip uses the machine's setuptools.
if ! "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation -e . ; then
  echo "editable install failed; running from the source tree" >&2
  export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
fi
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
"$PYTHON" - <<'PY'
import importlib.metadata as m, torch
print("device:", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device",
      "| bf16:", torch.cuda.is_available() and torch.cuda.is_bf16_supported())
for name in ("torch", "transformers", "peft", "accelerate", "jsonschema"):
    try:
        print(f"{name} {m.version(name)}")
    except m.PackageNotFoundError:
        print(f"{name} absent")
PY
# The cuda tests, then the precision tests (their CPU part: resolution, run vs audit bit for bit).
"$PYTHON" -m pytest -q -p no:cacheprovider -rs tests/test_cuda.py tests/test_precision.py "$@"
