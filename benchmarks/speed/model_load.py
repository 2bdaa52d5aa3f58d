"""Loading the embedded model: the GGUF conversion against the cached safetensors copy (memgap.model_cache).

Three loads in one process, each timed alone: the GGUF converted with the cache off (what every
audit paid before the cache), the first load with an empty cache (convert, then save the copy), and
a load from the copy; then checks that the copy's tensors equal the conversion's bit for bit.
Writes benchmarks/results/model_load.md.

    .venv/bin/python benchmarks/speed/model_load.py
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from memgap.atomic import write_text_atomic  # noqa: E402
from memgap.model_cache import converted_folder  # noqa: E402
from memgap.models import embedded_model_file, load_model  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "results" / "model_load.md"


def timed_load():
    started = time.perf_counter()
    loaded = load_model(None)
    return time.perf_counter() - started, loaded


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["MEMGAP_CACHE_DIR"] = "off"
        direct_s, direct = timed_load()
        os.environ["MEMGAP_CACHE_DIR"] = scratch
        first_s, _ = timed_load()
        cached_s, cached = timed_load()
        folder = converted_folder(embedded_model_file(), Path(scratch))
        size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
        a, b = direct.model.state_dict(), cached.model.state_dict()
        same = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    lines = [
        "# Loading the embedded model (`benchmarks/speed/model_load.py`)", "",
        "| load | seconds |", "|---|---|",
        f"| GGUF conversion, cache off | {direct_s:.1f} |",
        f"| first load with an empty cache (conversion + writing the copy) | {first_s:.1f} |",
        f"| from the cached safetensors copy | {cached_s:.2f} |", "",
        f"Copy on disk: {size_mb:.0f} MB. Tensors of the copy equal to the conversion's, bit for bit: {same}.",
        f"Ratio, cached against converted: {cached_s / direct_s:.3f}. {os.cpu_count()} CPUs; "
        f"load average (1 min) {os.getloadavg()[0]:.1f} at the end.",
    ]
    write_text_atomic(RESULTS, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
